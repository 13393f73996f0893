// portmatrix: turn a vendor port matrix into a firewall that is proven, enforced and audited.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <unistd.h>

#include "cli.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/text.hpp"

namespace pmcli {

std::vector<std::pair<int, Setup>>& registry() {
  static std::vector<std::pair<int, Setup>> r;
  return r;
}
Registrar::Registrar(int order, Setup setup) { registry().emplace_back(order, setup); }

namespace {
int g_exit = kOk;
}
void set_exit(int code) { g_exit = code; }
int exit_code() { return g_exit; }

void print_diags(const portmatrix::Diagnostics& d) {
  for (const auto& item : d.items()) std::cerr << "portmatrix: " << item.format() << "\n";
}

int report(const portmatrix::Error& e) {
  std::cerr << "portmatrix: error: " << portmatrix::text::visible(e.message) << "\n";
  switch (e.kind) {
    case portmatrix::Error::Kind::input:
    case portmatrix::Error::Kind::io: return kUsage;
    default: return kFindings;
  }
}

int emit(const std::string& path, std::string_view content) {
  if (auto err = portmatrix::write_file_atomic(path.empty() ? "-" : path, content)) return report(*err);
  return kOk;
}

bool stdout_is_tty() { return ::isatty(1) == 1; }
bool stderr_is_tty() { return ::isatty(2) == 1; }

}  // namespace pmcli

int main(int argc, char** argv) {
  CLI::App app{"portmatrix: turn a vendor port matrix into a firewall that is proven, enforced and audited"};
  app.name("portmatrix");
  app.set_version_flag("--version", std::string("portmatrix ") + PORTMATRIX_VERSION_STRING);
  app.require_subcommand(1);
  // Usage errors look like every other error, and say where the help is.
  app.failure_message([](const CLI::App* failed, const CLI::Error& e) {
    std::string where = "portmatrix";
    for (const CLI::App* at = failed; !at->get_subcommands().empty();) {
      at = at->get_subcommands().front();
      where += " " + at->get_name();
    }
    return fmt::format("portmatrix: error: {} (see {} --help)\n", portmatrix::text::visible(e.what()), where);
  });
  auto& reg = pmcli::registry();
  std::stable_sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [order, setup] : reg) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a missing subcommand before the words it did not know: name the unknown word instead.
    if (app.get_subcommands().empty()) {
      for (const auto& word : app.remaining()) {
        if (word == "--") continue;
        std::cerr << "portmatrix: error: unknown " << (word.starts_with('-') ? "option" : "command") << " '" << word
                  << "' (see portmatrix --help)\n";
        return pmcli::kUsage;
      }
    }
    app.exit(e, std::cout, std::cerr);
    return pmcli::kUsage;
  }
  return pmcli::exit_code();
}
