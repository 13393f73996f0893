// portmatrix import: read a vendor port-matrix table (text, CSV or Markdown)
// and write it as a native YAML matrix.
#include <fmt/format.h>

#include "cli.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/import.hpp"
#include "portmatrix/matrix_io.hpp"

namespace pmcli {
namespace {

struct ImportCliOptions {
  std::string file;
  std::string format;
  std::string output;
  std::string name;
  std::string title;
  std::vector<std::string> aliases;
  bool strict = false;
};

int run_import(const ImportCliOptions& o) {
  portmatrix::ImportOptions io;
  io.name = o.name;
  io.title = o.title;
  io.strict = o.strict;
  for (const auto& a : o.aliases) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == a.size()) {
      std::cerr << fmt::format("portmatrix: error: --alias '{}': expected FROM=TO\n", a);
      return kUsage;
    }
    io.aliases.push_back({a.substr(0, eq), a.substr(eq + 1)});
  }
  auto text = portmatrix::read_file(o.file);
  if (!text) return report(text.error());
  auto parsed = portmatrix::import_table(*text, o.file == "-" ? "<stdin>" : o.file,
                                         *portmatrix::parse_import_format(o.format), io);
  print_diags(parsed.diags);
  if (!parsed) return kUsage;
  return emit(o.output, portmatrix::write_matrix_yaml(*parsed.value));
}

void setup_import(CLI::App& app) {
  auto o = std::make_shared<ImportCliOptions>();
  auto* sub = app.add_subcommand("import", "Read a vendor port-matrix table (text, CSV, Markdown) into a YAML matrix");
  sub->add_option("FILE", o->file, "The vendor table ('-' reads standard input)")->required();
  sub->add_option("-f,--format", o->format, "Layout of FILE")
      ->check(CLI::IsMember({"auto", "text", "csv", "markdown"}))
      ->default_val("auto")
      ->capture_default_str();
  sub->add_option("-o,--output", o->output, "Write the matrix to FILE (atomically) instead of standard output");
  sub->add_flag("--strict", o->strict, "Treat every warning as an error (exit 2)");
  sub->add_option("--name", o->name, "Matrix name (default: from the file name)");
  sub->add_option("--title", o->title, "Matrix title (default: the document's title heading)");
  // One value per --alias, so an alias never swallows FILE.
  sub->add_option("--alias", o->aliases, "Map a system name as written to a system, FROM=TO (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->callback([o] { set_exit(run_import(*o)); });
}

const Registrar register_import(30, setup_import);

}  // namespace
}  // namespace pmcli
