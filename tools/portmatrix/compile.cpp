// portmatrix compile: matrix + site -> firewall configuration for a target.
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "portmatrix/backend.hpp"
#include "portmatrix/fileio.hpp"

namespace pmcli {
namespace {

struct CompileOptions {
  std::string matrix, site, target = "nftables", output;
  bool list = false;
};

int run_compile(const CompileOptions& o) {
  if (o.list) {
    for (const auto* b : portmatrix::backends()) std::cout << fmt::format("{:<12} {}\n", b->name(), b->summary());
    return kOk;
  }
  const portmatrix::Backend* b = portmatrix::find_backend(o.target);
  if (!b) {
    std::cerr << fmt::format("portmatrix: error: unknown target '{}' (see --list-targets)\n", o.target);
    return kUsage;
  }
  auto lp = load_policy_args(o.matrix, o.site);
  if (!lp) return kUsage;
  auto r = b->compile(lp->policy);
  print_diags(r.warnings);
  if (r.files.size() == 1) return emit(o.output, r.files[0].content);
  if (o.output.empty() || o.output == "-") {
    for (const auto& f : r.files) std::cout << fmt::format("# ==> {} <==\n{}", f.name, f.content);
    return kOk;
  }
  // All the files or none: a firewall configuration half old and half new is worse than the old one.
  // File names may name subdirectories (firewalld's zones/ and policies/).
  std::vector<portmatrix::OutputFile> files;
  for (const auto& f : r.files) files.push_back({o.output + "/" + f.name, f.content});
  if (auto err = portmatrix::write_files_atomic(files)) return report(*err);
  return kOk;
}

void setup_compile(CLI::App& app) {
  auto o = std::make_shared<CompileOptions>();
  auto* sub = app.add_subcommand("compile", "Compile matrix + site into a firewall configuration");
  add_policy_options(sub, o->matrix, o->site);
  sub->add_option("-t,--target", o->target, "Firewall target (see --list-targets)")->capture_default_str();
  sub->add_option("-o,--output", o->output, "Write to FILE (a directory for targets with several files), atomically");
  sub->add_flag("--list-targets", o->list, "List the targets and exit");
  sub->callback([o] { set_exit(run_compile(*o)); });
}

const Registrar register_compile(30, setup_compile);

}  // namespace
}  // namespace pmcli
