#include "portmatrix/matrix_view.hpp"

#include <fmt/format.h>

#include "portmatrix/texttable.hpp"

namespace portmatrix {

std::string protocols_label(const ProtocolSet& p) {
  if (p.unknown()) return "unknown";
  std::string s;
  for (auto x : p.list()) {
    if (!s.empty()) s += '/';
    s += to_string(x);
  }
  return s;
}

namespace {
std::string notes_label(const std::vector<int>& n) {
  std::string s;
  for (int x : n) {
    if (!s.empty()) s += ',';
    s += std::to_string(x);
  }
  return s;
}
std::string yes_no(bool b) { return b ? "yes" : "no"; }

}  // namespace

const std::vector<std::string>& matrix_columns() {
  static const std::vector<std::string> columns = {
      "id",       "source",     "source port", "destination", "destination port", "protocol", "application",
      "optional", "state",      "firewalled",  "add-on",      "symmetric",        "notes",    "description"};
  return columns;
}

std::vector<std::string> matrix_cells(const Flow& f) {
  return {f.id,
          join(f.sources, ", "),
          f.source_ports.to_string(),
          join(f.destinations, ", "),
          f.destination_ports.to_string(),
          protocols_label(f.protocols),
          f.application,
          yes_no(f.optional),
          std::string(to_string(f.state)),
          std::string(to_string(f.when_firewalled)),
          yes_no(f.addon),
          yes_no(f.symmetric),
          notes_label(f.notes),
          f.description};
}

std::string matrix_table(const Matrix& m) {
  TextTable t({"ID", "SOURCE", "SPORT", "DESTINATION", "DPORT", "PROTO", "APPLICATION", "OPT", "STATE", "FIREWALLED",
               "NOTES"});
  for (const auto& f : m.flows) {
    std::string fw(to_string(f.when_firewalled));
    if (f.addon) fw += " (add-on)";
    if (f.symmetric) fw += " (both ways)";
    t.add({f.id, join(f.sources, ", "), f.source_ports.to_string(), join(f.destinations, ", "),
           f.destination_ports.to_string(), protocols_label(f.protocols), f.application, yes_no(f.optional),
           std::string(to_string(f.state)), fw, notes_label(f.notes)});
  }
  std::string out = m.title.empty() ? m.name + "\n\n" : fmt::format("{} ({})\n\n", printable(m.title), m.name);
  out += t.render();
  if (!m.notes.empty()) {
    out += "\nNotes:\n";
    for (const auto& n : m.notes) out += fmt::format("  {}. {}\n", n.id, printable(n.text));
  }
  return out;
}

std::string matrix_csv(const Matrix& m) {
  std::string out = csv_line(matrix_columns());
  for (const auto& f : m.flows) out += csv_line(matrix_cells(f));
  return out;
}

std::string markdown_title(const Matrix& m) {
  return fmt::format("# {}\n", markdown_cell(m.title.empty() ? m.name : m.title));
}

std::string markdown_notes(const Matrix& m) {
  if (m.notes.empty()) return "";
  std::string out = "## Notes\n\n";
  for (const auto& n : m.notes) out += fmt::format("{}. {}\n", n.id, markdown_cell(n.text));
  return out;
}

std::string matrix_markdown(const Matrix& m) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : m.flows) rows.push_back(matrix_cells(f));
  std::string out = markdown_title(m) + "\n" + markdown_table(matrix_columns(), rows);
  if (!m.notes.empty()) out += "\n" + markdown_notes(m);
  return out;
}

}  // namespace portmatrix
