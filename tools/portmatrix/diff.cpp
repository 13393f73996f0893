// portmatrix diff: rows added, removed and changed between two matrices.
#include <iostream>

#include "cli.hpp"
#include "portmatrix/matrix_diff.hpp"

namespace pmcli {
namespace {

struct DiffOptions {
  std::string a, b, format;
};

int run_diff(const DiffOptions& o) {
  auto a = load_matrix_arg(o.a);
  auto b = load_matrix_arg(o.b);
  if (!a || !b) return kUsage;
  auto d = portmatrix::diff_matrices(*a, *b);
  std::cout << (o.format == "json" ? portmatrix::diff_json(d) : portmatrix::diff_text(d));
  return d.empty() ? kOk : kFindings;
}

void setup_diff(CLI::App& app) {
  auto o = std::make_shared<DiffOptions>();
  auto* sub = app.add_subcommand("diff", "Compare two matrices row by row, matched by content (exit 1 when they differ)");
  sub->add_option("a", o->a, "First matrix (bundled name or file), e.g. the documented one")->required();
  sub->add_option("b", o->b, "Second matrix, e.g. the one learned from a capture")->required();
  add_format_option(sub, o->format, {"text", "json"});
  sub->callback([o] { set_exit(run_diff(*o)); });
}

const Registrar register_diff(85, setup_diff);

}  // namespace
}  // namespace pmcli
