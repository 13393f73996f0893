// The flow diagram as Graphviz DOT. Node and edge ids are generated ("sys-3",
// "f5-1"), never taken from the input, and every input text goes through
// dot_quoted() or dot_html_text(): names can style nothing and add nothing.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "portmatrix/matrix_view.hpp"
#include "portmatrix/report.hpp"
#include "portmatrix/texttable.hpp"

namespace portmatrix::report {
namespace {

// How an arrow of each fate looks. The HTML report's CSS uses the same colours.
struct EdgeStyle {
  std::string_view color, style, arrowhead, penwidth;
};
EdgeStyle edge_style(Fate f) {
  switch (f) {
    case Fate::allowed: return {"#2e7d32", "solid", "normal", "1.6"};
    case Fate::localhost_only: return {"#e65100", "dashed", "odot", "1.4"};
    case Fate::closed: return {"#c62828", "bold", "tee", "1.4"};
    case Fate::addon_off: return {"#9e9e9e", "dotted", "empty", "1.2"};
    case Fate::site_off: return {"#9e9e9e", "dashed", "empty", "1.2"};
    case Fate::not_here: return {"#1565c0", "solid", "normal", "1.0"};
  }
  return {"#000000", "solid", "normal", "1"};
}

// The inside of a quoted DOT string, for labels that join input text with "\n".
std::string quoted_inner(std::string_view s) {
  std::string q = dot_quoted(s);
  return q.substr(1, q.size() - 2);
}

// A quoted tooltip. Graphviz 2.42 unescapes a tooltip twice (as a label, then
// again for the SVG anchor), so each backslash is doubled once more than in labels.
std::string tooltip_quoted(std::string_view s) {
  std::string q = dot_quoted(s), out;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (q[i] == '\\' && i + 1 < q.size()) {
      out += q[i + 1] == '\\' ? "\\\\\\\\" : q.substr(i, 2);  // "\\" becomes four backslashes; "\"" stays
      ++i;
    } else {
      out += q[i];
    }
  }
  return out;
}

std::string node_label(const System& s, bool is_host, const SystemBinding* b, bool bound) {
  std::string detail;
  if (bound) {
    if (!b || b->addresses.empty()) {
      detail = "no addresses at this site";
    } else {
      std::string addrs = b->addresses.to_string();
      detail = addrs == "any" ? "any address" : addrs;
    }
  }
  std::string label = fmt::format("<B>{}</B>", dot_html_text(s.name));
  if (is_host) label += R"(<BR/><FONT POINT-SIZE="9">this host: its firewall</FONT>)";
  if (!detail.empty()) label += fmt::format(R"(<BR/><FONT POINT-SIZE="9" COLOR="#555555">{}</FONT>)", dot_html_text(detail));
  if (b && b->interfaces.size() > 1)
    label += fmt::format(R"(<BR/><FONT POINT-SIZE="9" COLOR="#555555">via {}</FONT>)", dot_html_text(join(b->interfaces)));
  return "<" + label + ">";
}

std::string edge_label(const Row& r) {
  const Flow& f = *r.flow;
  std::string ports = r.binding ? r.dports.to_string() : f.destination_ports.to_string();
  std::string label = quoted_inner(f.id) + "\\n" + quoted_inner(protocols_label(f.protocols) + " " + ports);
  if (r.fate != Fate::allowed) label += "\\n(" + quoted_inner(describe(r.fate)) + ")";
  return "\"" + label + "\"";
}

}  // namespace

std::string render_dot(const Input& in) {
  PM_ASSERT(in.matrix, "a report needs a matrix");
  const Matrix& m = *in.matrix;
  const Policy* p = in.policy;
  const std::vector<Row> rs = rows(in);

  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < m.systems.size(); ++i) index.emplace(m.systems[i].name, i);

  std::string out = "digraph portmatrix {\n";
  std::string title = m.title.empty() ? m.name : m.title;
  std::string subtitle = p ? fmt::format("firewall of {}: flows as the site binds them", p->host) : "flows of the matrix";
  out += fmt::format(
      "  graph [rankdir=LR, newrank=true, nodesep=0.3, ranksep=1.0, pad=0.3, fontname=\"Helvetica\", fontsize=12, "
      "labelloc=t, labeljust=l, label=<<B>{}</B><BR/><FONT POINT-SIZE=\"10\">{}</FONT>>];\n",
      dot_html_text(title), dot_html_text(subtitle));
  out += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#455a64\", fontname=\"Helvetica\", "
         "fontsize=11, margin=\"0.15,0.06\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.8];\n";

  // Which cluster each system goes in: the host stands alone, the others in the
  // first interface the site reaches them over, or in "not at this site" when
  // the site gives them no addresses. Systems the site ties to no interface stay
  // outside clusters, so the layout can put initiators and listeners apart.
  auto node = [&](std::size_t i, std::string_view indent = "  ") {
    const System& s = m.systems[i];
    const SystemBinding* b = p ? p->find_system(s.name) : nullptr;
    bool host = p && s.name == p->host;
    bool absent = p && (!b || b->addresses.empty());
    std::string attrs = fmt::format("id=\"sys-{}\", class=\"{}\", label={}, tooltip={}", i,
                                    host ? "system host" : "system", node_label(s, host, b, p != nullptr),
                                    tooltip_quoted(s.description.empty() ? s.name : s.name + ": " + s.description));
    if (host) attrs += ", fillcolor=\"#e3f2fd\", color=\"#1565c0\", penwidth=2";
    if (absent) attrs += ", style=\"rounded,dashed\", fontcolor=\"#757575\"";
    return fmt::format("{}sys{} [{}];\n", indent, i, attrs);
  };
  if (!p) {
    for (std::size_t i = 0; i < m.systems.size(); ++i) out += node(i);
  } else {
    std::vector<std::vector<std::size_t>> members(p->interfaces.size());
    std::vector<std::size_t> anywhere, absent;
    for (std::size_t i = 0; i < m.systems.size(); ++i) {
      const System& s = m.systems[i];
      const SystemBinding* b = p->find_system(s.name);
      if (s.name == p->host) {
        out += node(i);
        continue;
      }
      if (!b || b->addresses.empty()) {
        absent.push_back(i);
        continue;
      }
      std::size_t k = p->interfaces.size();
      for (std::size_t j = 0; j < p->interfaces.size() && k == p->interfaces.size(); ++j)
        if (!b->interfaces.empty() && b->interfaces.front() == p->interfaces[j]) k = j;
      if (k < p->interfaces.size()) members[k].push_back(i);
      else anywhere.push_back(i);
    }
    auto cluster = [&](std::string_view id, const std::string& html_label, const std::vector<std::size_t>& ids,
                       std::string_view style) {
      if (ids.empty()) return;
      out += fmt::format("  subgraph cluster_{} {{\n    label=<{}>; {};\n", id, html_label, style);
      for (std::size_t i : ids) out += node(i, "    ");
      out += "  }\n";
    };
    const std::string if_style = "style=\"rounded,filled\"; fillcolor=\"#f5f7fa\"; color=\"#90a4ae\"; fontsize=11";
    for (std::size_t j = 0; j < p->interfaces.size(); ++j)
      cluster(fmt::format("if{}", j), fmt::format("<B>{}</B> <FONT POINT-SIZE=\"9\">interface of {}</FONT>",
                                                  dot_html_text(p->interfaces[j]), dot_html_text(p->host)),
              members[j], if_style);
    for (std::size_t i : anywhere) out += node(i);
    cluster("absent", "<B>not at this site</B>", absent,
            "style=\"rounded,dashed\"; color=\"#bdbdbd\"; fontcolor=\"#757575\"; fontsize=11");
  }

  std::vector<Fate> used;
  for (std::size_t r = 0; r < rs.size(); ++r) {
    const Row& row = rs[r];
    const Flow& f = *row.flow;
    EdgeStyle st = edge_style(row.fate);
    if (std::find(used.begin(), used.end(), row.fate) == used.end()) used.push_back(row.fate);
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    for (const auto& s : f.sources)
      for (const auto& d : f.destinations) {
        auto si = index.find(s), di = index.find(d);
        if (si == index.end() || di == index.end()) continue;  // check_matrix reports unknown systems
        pairs.emplace_back(si->second, di->second);
        if (f.symmetric) pairs.emplace_back(di->second, si->second);
      }
    std::string tooltip = f.description.empty() ? f.id : f.id + ": " + f.description;
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      // A row from a system to itself loops below the node, where its label does not cover the name.
      bool loop = pairs[k].first == pairs[k].second;
      out += fmt::format(
          "  sys{} -> sys{} [id=\"f{}-{}\", class=\"flow r{} fate-{}\", label={}, tooltip={}, color=\"{}\", "
          "fontcolor=\"{}\", style={}, arrowhead={}, penwidth={}{}];\n",
          pairs[k].first, pairs[k].second, r, k, r, to_string(row.fate), edge_label(row), tooltip_quoted(tooltip), st.color,
          st.color, st.style, st.arrowhead, st.penwidth, loop ? ", tailport=s, headport=s" : "");
    }
  }

  // The legend: one short arrow per fate that occurs, between invisible points.
  std::sort(used.begin(), used.end());
  if (!used.empty()) {
    out += "  subgraph cluster_legend {\n    label=<<B>Legend</B>>; style=\"rounded\"; color=\"#bdbdbd\"; fontsize=10;\n";
    out += "    node [shape=point, style=invis, width=0.01, height=0.01, label=\"\"];\n";
    for (Fate f : used) {
      EdgeStyle st = edge_style(f);
      auto n = static_cast<int>(f);
      out += fmt::format(
          "    legend{0}a -> legend{0}b [class=\"legend fate-{1}\", label={2}, color=\"{3}\", fontcolor=\"{3}\", "
          "style={4}, arrowhead={5}, penwidth={6}, minlen=1];\n",
          n, to_string(f), dot_quoted(describe(f)), st.color, st.style, st.arrowhead, st.penwidth);
    }
    out += "  }\n";
  }
  out += "}\n";
  return out;
}

}  // namespace portmatrix::report
