// Markdown and CSV reports: the matrix views of matrix_view.hpp, plus columns
// for the site when the matrix is bound to one.
#include <fmt/format.h>

#include "portmatrix/matrix_view.hpp"
#include "portmatrix/report.hpp"
#include "portmatrix/texttable.hpp"

namespace portmatrix::report {
namespace {

const std::vector<std::string>& site_columns() {
  static const std::vector<std::string> columns = {"at site", "site source ports", "site destination ports",
                                                   "site protocols", "port class", "firewall", "reason"};
  return columns;
}

// The protocols the firewall uses for the row ("tcp/udp" for a closed row the matrix leaves unknown).
std::string site_protocols(const Row& r) {
  std::string s;
  if (r.binding)
    for (Protocol p : r.binding->protocols) s += (s.empty() ? "" : "/") + std::string(to_string(p));
  return s;
}

std::vector<std::string> site_cells(const Row& r) {
  return {r.binding && r.binding->enabled ? "enabled" : "disabled",
          r.sports.to_string(),
          r.dports.to_string(),
          site_protocols(r),
          port_classes_label(r.dports),
          std::string(describe(r.fate)),
          r.reason};
}

// The matrix's columns and cells, with the site's after them.
std::pair<std::vector<std::string>, std::vector<std::vector<std::string>>> table(const Input& in) {
  std::vector<std::string> header = matrix_columns();
  header.insert(header.end(), site_columns().begin(), site_columns().end());
  std::vector<std::vector<std::string>> body;
  for (const Row& r : rows(in)) {
    auto cells = matrix_cells(*r.flow);
    auto extra = site_cells(r);
    cells.insert(cells.end(), extra.begin(), extra.end());
    body.push_back(std::move(cells));
  }
  return {std::move(header), std::move(body)};
}

}  // namespace

std::string render_markdown(const Input& in) {
  PM_ASSERT(in.matrix, "a report needs a matrix");
  if (!in.policy) return matrix_markdown(*in.matrix);
  auto [header, body] = table(in);
  std::string out = markdown_title(*in.matrix) + "\n";
  out += fmt::format("Site {}: firewall of {}, default {}.\n\n", markdown_cell(in.site ? in.site->file : ""),
                     markdown_cell(in.policy->host), to_string(in.policy->default_action));
  out += markdown_table(header, body);
  std::string notes = markdown_notes(*in.matrix);
  if (!notes.empty()) out += "\n" + notes;
  return out;
}

std::string render_csv(const Input& in) {
  PM_ASSERT(in.matrix, "a report needs a matrix");
  if (!in.policy) return matrix_csv(*in.matrix);
  auto [header, body] = table(in);
  std::string out = csv_line(header);
  for (const auto& cells : body) out += csv_line(cells);
  return out;
}

}  // namespace portmatrix::report
