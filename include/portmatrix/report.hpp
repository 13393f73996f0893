// Reports for people: a matrix, optionally bound to a site, with the results of
// compile, verify, replay and audit, rendered as one self-contained HTML page, as Markdown or
// CSV tables, and as a flow diagram in Graphviz DOT or SVG laid out by libgvc
// (docs/render.md). Every text from the inputs is escaped for its output, so a
// name can never change a document's structure.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/audit.hpp"
#include "portmatrix/backend.hpp"
#include "portmatrix/model.hpp"
#include "portmatrix/policy.hpp"
#include "portmatrix/replay.hpp"
#include "portmatrix/site.hpp"
#include "portmatrix/verify.hpp"

namespace portmatrix::report {

// What the host firewall does with a row: its column in the tables and the
// style of its arrows in the diagram.
enum class Fate : std::uint8_t {
  allowed,         // accepted between the row's systems
  localhost_only,  // accepted from the host itself only
  closed,          // refused to everyone, the host included
  addon_off,       // an add-on the site has not enabled
  site_off,        // an optional row the site turned off
  not_here,        // neither end is the host: this firewall never sees it
};
// "allowed", "localhost-only", "closed", "add-on-off", "disabled", "not-here" (stable: used in URLs and CSS).
std::string_view to_string(Fate f);
// A short phrase for legends, e.g. "localhost only".
std::string_view describe(Fate f);
// Every fate, in the order above.
const std::vector<Fate>& all_fates();

// A compiled ruleset to show: the target and what its backend rendered.
struct Ruleset {
  std::string target;
  Rendered rendered;
};

// Everything a report can show. Only the matrix is required; the rest adds
// columns and sections. Pointers are borrowed and must outlive the call.
struct Input {
  const Matrix* matrix = nullptr;
  const Site* site = nullptr;          // with policy: site columns, interface clusters, addresses
  const Policy* policy = nullptr;      // the matrix bound to site
  const Ruleset* ruleset = nullptr;    // the "Compiled ruleset" section
  const VerifyReport* verify = nullptr;  // the "Verify" section
  const ReplayResult* replay = nullptr;  // the "Replay" section
  const audit::Report* audit = nullptr;  // with firewall: the "Audit" section
  const audit::Firewall* firewall = nullptr;
  std::string generator;               // shown in footers, e.g. "portmatrix 0.1.0"
};

// One matrix row as a report shows it.
struct Row {
  const Flow* flow = nullptr;
  const RowBinding* binding = nullptr;  // nullptr without a site
  Fate fate = Fate::allowed;
  PortSet dports;      // listening ports: the site's (overrides applied), else the matrix's with the default ephemeral range
  PortSet sports;      // source ports, resolved the same way
  std::string reason;  // why the row is off at the site, "" when it is on
};
// The fate of a row: from its binding at a site, or from the matrix alone (add-ons off) without one.
Fate fate_of(const Flow& f, const RowBinding* binding);
// The matrix's rows in matrix order, with their binding when the input has a policy.
std::vector<Row> rows(const Input& in);

// The IANA port classes a set of ports spans, in the order well-known, registered, dynamic.
std::vector<PortClass> port_classes(const PortSet& ports);
// "well-known", "registered + dynamic", "" for an empty set.
std::string port_classes_label(const PortSet& ports);

// Text for HTML content and quoted attribute values: & < > " ' become entities,
// control characters other than tab and newline and invalid UTF-8 become U+FFFD.
std::string html_escape(std::string_view s);
// A DOT double-quoted string, quotes included: '"' and '\' escaped, '&' as an entity
// (Graphviz decodes entities in labels), line breaks and control characters neutralised.
std::string dot_quoted(std::string_view s);
// Text for a DOT HTML-like label (<...>): & < > " as entities, backslashes doubled
// (Graphviz substitutes "\N" and "\G" there too), line breaks as spaces.
std::string dot_html_text(std::string_view s);

// The flow diagram as Graphviz source: one node per system (grouped in clusters
// by the host interface the site reaches it over), one edge per row, initiator
// and listener (both ways for symmetric rows), styled by fate, and a legend.
std::string render_dot(const Input& in);
// Lays DOT source out with libgvc's dot engine and renders it as SVG.
Expected<std::string> svg_from_dot(std::string_view dot);
// render_dot() laid out as SVG.
Expected<std::string> render_svg(const Input& in);
// The self-contained HTML report: summary, diagram (inline SVG), sortable and
// filterable flows table, notes, port classes, and the optional sections.
Expected<std::string> render_html(const Input& in);
// The flows as a Markdown document (matrix_markdown() plus site columns when bound).
std::string render_markdown(const Input& in);
// The flows as CSV (matrix_csv() plus site columns when bound).
std::string render_csv(const Input& in);

}  // namespace portmatrix::report
