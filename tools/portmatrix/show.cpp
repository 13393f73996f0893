// portmatrix show: print a matrix as a table, JSON, YAML, CSV or Markdown.
#include "cli.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/matrix_view.hpp"

namespace pmcli {
namespace {

struct ShowOptions {
  std::string matrix;
  std::string format;
  std::string output;
};

int run_show(const ShowOptions& o) {
  auto m = load_matrix_arg(o.matrix);
  if (!m) return kUsage;
  std::string text;
  if (o.format == "table") text = portmatrix::matrix_table(*m);
  else if (o.format == "json") text = portmatrix::write_matrix_json(*m);
  else if (o.format == "yaml") text = portmatrix::write_matrix_yaml(*m);
  else if (o.format == "csv") text = portmatrix::matrix_csv(*m);
  else text = portmatrix::matrix_markdown(*m);
  return emit(o.output, text);
}

void setup_show(CLI::App& app) {
  auto o = std::make_shared<ShowOptions>();
  auto* sub = app.add_subcommand("show", "Print a port matrix (bundled or from a file)");
  add_matrix_option(sub, o->matrix);
  add_format_option(sub, o->format, {"table", "json", "yaml", "csv", "markdown"});
  sub->add_option("-o,--output", o->output, "Write to FILE (atomically) instead of standard output");
  sub->callback([o] { set_exit(run_show(*o)); });
}

const Registrar register_show(10, setup_show);

}  // namespace
}  // namespace pmcli
