// portmatrix lint: report mistakes and questionable entries in a matrix.
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "portmatrix/lint.hpp"

namespace pmcli {
namespace {

struct LintCliOptions {
  std::string matrix;
  std::string format;
  bool no_services = false;
  unsigned wide = 1024;
};

int run_lint(const LintCliOptions& o) {
  portmatrix::LintOptions lo;
  lo.services_db = !o.no_services;
  lo.wide_range = o.wide;
  auto res = portmatrix::lint_source(o.matrix, lo);
  if (res.errors.has_errors()) {
    print_diags(res.errors);
    return kUsage;
  }
  if (o.format == "json") {
    std::cout << portmatrix::lint_to_json(res.findings);
  } else {
    for (const auto& f : res.findings) {
      portmatrix::Diagnostic d{f.severity, f.loc, f.row.empty() ? f.message : fmt::format("{}: {}", f.row, f.message), {}};
      std::cout << d.format() << " [" << f.code << "]\n";
    }
    std::cout << fmt::format("{} finding{}\n", res.findings.size(), res.findings.size() == 1 ? "" : "s");
  }
  return res.findings.empty() ? kOk : kFindings;
}

void setup_lint(CLI::App& app) {
  auto o = std::make_shared<LintCliOptions>();
  auto* sub = app.add_subcommand("lint", "Check a matrix for mistakes and entries worth a second look (exit 1 on findings)");
  add_matrix_option(sub, o->matrix);
  add_format_option(sub, o->format, {"text", "json"});
  sub->add_option("--wide", o->wide, "Report port sets larger than this many ports")->capture_default_str();
  sub->add_flag("--no-services", o->no_services, "Do not compare with the system's services database");
  sub->callback([o] { set_exit(run_lint(*o)); });
}

const Registrar register_lint(20, setup_lint);

}  // namespace
}  // namespace pmcli
