// The HTML report: one self-contained file. Every input text goes through
// html_escape(); the only script and style are ours, allowed by their SHA-256
// hashes in the Content-Security-Policy, so even a text that slipped through
// unescaped could not run anything.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "html_assets.hpp"
#include "portmatrix/matrix_view.hpp"
#include "portmatrix/report.hpp"
#include "portmatrix/texttable.hpp"

namespace portmatrix::report {
namespace {

std::string h(std::string_view s) { return html_escape(s); }

// "'sha256-<base64>'" for a CSP source list.
std::string csp_hash(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> b64{};
  int n = EVP_EncodeBlock(b64.data(), md.data(), static_cast<int>(len));
  return fmt::format("'sha256-{}'", std::string_view(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n)));
}

// Ranges as the script's port filter reads them: "22", "1556,13724", "5001-64500".
std::string ports_attr(const PortSet& p) {
  std::string s;
  for (const auto& r : p.ranges())
    s += (s.empty() ? "" : ",") + (r.lo == r.hi ? std::to_string(r.lo) : fmt::format("{}-{}", r.lo, r.hi));
  return s;
}

std::string first_port(const PortSet& p) { return p.empty() ? "-1" : std::to_string(p.ranges().front().lo); }

std::string badge(Fate f) { return fmt::format(R"(<span class="badge fate-{}">{}</span>)", to_string(f), h(describe(f))); }

struct Page {
  const Input& in;
  const Matrix& m;
  std::vector<Row> rows;
  std::map<std::string, std::size_t, std::less<>> system_index;
  std::string out;

  explicit Page(const Input& input) : in(input), m(*input.matrix), rows(report::rows(input)) {
    for (std::size_t i = 0; i < m.systems.size(); ++i) system_index.emplace(m.systems[i].name, i);
  }

  std::string title() const { return m.title.empty() ? m.name : m.title; }

  void header() {
    out += "<header class=\"top\">\n<p class=\"eyebrow\">Port matrix report</p>\n";
    out += fmt::format("<h1>{}</h1>\n<p class=\"meta\">matrix <code>{}</code>", h(title()), h(m.name));
    if (in.site && in.policy) {
      out += fmt::format(" &middot; site <code>{}</code> &middot; firewall of <strong>{}</strong> &middot; default {}",
                         h(in.site->file), h(in.policy->host), to_string(in.policy->default_action));
      if (in.policy->log_dropped) out += ", logged";
    } else {
      out += " &middot; no site: the matrix as documented (add-ons off)";
    }
    out += "</p>\n</header>\n";
  }

  void toc(bool diagram) {
    out += "<nav class=\"toc\" aria-label=\"Sections\">";
    out += "<a href=\"#summary\">Summary</a>";
    if (diagram) out += "<a href=\"#diagram\">Diagram</a>";
    out += "<a href=\"#flows\">Flows</a>";
    if (!m.notes.empty()) out += "<a href=\"#notes\">Notes</a>";
    out += "<a href=\"#port-classes\">Port classes</a>";
    if (in.ruleset) out += "<a href=\"#ruleset\">Ruleset</a>";
    if (in.verify) out += "<a href=\"#verify\">Verify</a>";
    if (in.replay) out += "<a href=\"#replay\">Replay</a>";
    if (in.audit && in.firewall) out += "<a href=\"#audit\">Audit</a>";
    out += "</nav>\n";
  }

  void summary() {
    out += "<section id=\"summary\" class=\"cards\" aria-label=\"Summary\">\n";
    out += fmt::format(R"(<div class="card"><span class="n">{}</span><span class="what">flows</span></div>)", rows.size());
    out += "\n";
    out += fmt::format(R"(<div class="card"><span class="n">{}</span><span class="what">systems</span></div>)",
                       m.systems.size());
    out += "\n";
    for (Fate f : all_fates()) {
      auto n = std::count_if(rows.begin(), rows.end(), [&](const Row& r) { return r.fate == f; });
      if (n == 0) continue;
      out += fmt::format(R"(<div class="card fate-{}"><span class="n">{}</span><span class="what">{}</span></div>)",
                         to_string(f), n, h(describe(f)));
      out += "\n";
    }
    if (in.verify) {
      const auto& v = *in.verify;
      out += fmt::format(
          R"(<div class="card {}"><span class="n">{}/{}</span><span class="what">probes passed (verify)</span></div>)",
          v.ok() ? "fate-allowed" : "fate-closed", v.results.size() - v.failures - v.harness_failures, v.results.size());
      out += "\n";
    }
    if (in.replay) {
      const auto& r = in.replay->summary;
      out += fmt::format(
          R"(<div class="card {}"><span class="n">{}</span><span class="what">of {} captured connections would be blocked</span></div>)",
          r.blocked ? "fate-closed" : "fate-allowed", r.blocked, r.connections);
      out += "\n";
    }
    if (in.audit && in.firewall) {
      out += fmt::format(
          R"(<div class="card {}"><span class="n">{}</span><span class="what">audit findings (firewall {})</span></div>)",
          in.audit->clean() ? "fate-allowed" : "fate-closed", in.audit->findings.size(),
          audit::to_string(in.firewall->state));
      out += "\n";
    }
    out += "</section>\n";
  }

  void diagram(const std::string& svg) {
    out += "<section id=\"diagram\">\n<h2>Flow diagram</h2>\n";
    out += "<p class=\"lead\">Arrows go from the system that opens the connection to the one that listens. ";
    if (in.policy) out += "Systems are grouped by the host interface the site reaches them over. ";
    out += "Click a system to filter the flows table by it.</p>\n";
    out += "<div class=\"toolbar\"><button type=\"button\" id=\"diagram-size\">Actual size</button></div>\n";
    // Graphviz's XML declaration and doctype do not belong inside HTML.
    auto start = svg.find("<svg");
    std::string body = start == std::string::npos ? svg : svg.substr(start);
    // Graphviz gives the drawing no accessible name (its <title> sits in a group); the
    // text alternative says what it shows and where the same content is as text.
    if (body.rfind("<svg", 0) == 0)
      body.insert(4, fmt::format(" role=\"img\" aria-label=\"{}\"",
                                 h(fmt::format("Flow diagram: {} systems and an arrow for each flow of the {} rows, from the "
                                               "system that opens the connection to the one that listens; the Flows "
                                               "table below lists the same flows as text.",
                                               m.systems.size(), rows.size()))));
    out += "<div class=\"diagram\">\n" + body + "</div>\n</section>\n";
  }

  void filters() {
    out += "<form id=\"filters\" class=\"filters\" role=\"search\" aria-controls=\"flows-table\">\n";
    out += "<label>Search<input type=\"search\" name=\"q\" placeholder=\"row, system, application...\"></label>\n";
    out += "<label>System<select name=\"system\"><option value=\"\">any</option>";
    for (std::size_t i = 0; i < m.systems.size(); ++i)
      out += fmt::format("<option value=\"{}\" data-i=\"{}\">{}</option>", h(m.systems[i].name), i, h(m.systems[i].name));
    out += "</select></label>\n";
    out += "<label>Port<input type=\"text\" name=\"port\" inputmode=\"numeric\" placeholder=\"e.g. 22\" "
           "title=\"rows whose listening ports include this port\"></label>\n";
    out += "<label>Protocol<select name=\"proto\"><option value=\"\">any</option>";
    for (std::string_view p : {"tcp", "udp", "icmp", "icmpv6", "unknown"}) out += fmt::format("<option>{}</option>", p);
    out += "</select></label>\n";
    out += "<label>Firewall<select name=\"state\"><option value=\"\">any</option>";
    for (Fate f : all_fates()) out += fmt::format("<option value=\"{}\">{}</option>", to_string(f), h(describe(f)));
    out += "</select></label>\n";
    out += "<button type=\"reset\">Clear</button>\n";
    out += fmt::format("<output id=\"flow-count\" aria-live=\"polite\">{0} of {0} flows</output>\n", rows.size());
    out += "</form>\n";
  }

  std::string systems_cell(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += fmt::format("<span>{}</span>", h(n));
    return s;
  }

  std::string ports_cell(const PortSpec& spec, const PortSet& at_site, bool bound) {
    std::string s = h(spec.to_string());
    std::string site = at_site.to_string();
    if (bound && site != spec.to_string() && !at_site.empty())
      s += fmt::format("<span class=\"sub\">at this site: {}</span>", h(site));
    return s;
  }

  void flows_table() {
    const bool bound = in.policy != nullptr;
    out += "<section id=\"flows\">\n<h2>Flows</h2>\n";
    out += "<p class=\"lead\">The rows of the matrix";
    if (bound) out += " as the site binds them";
    out += fmt::format(". Source ports are ephemeral ({}) unless the row says otherwise. Sort by a column header; "
                       "the filters are kept in the address, so a filtered view can be linked (for example "
                       "<code>#port=22&amp;proto=tcp</code>).</p>\n",
                       bound ? fmt::format("{}-{} at this site", in.policy->ephemeral.lo, in.policy->ephemeral.hi)
                             : fmt::format("{}-{} unless a site says otherwise", kDefaultEphemeral.lo, kDefaultEphemeral.hi));
    filters();
    out += "<div class=\"table-wrap\">\n<table id=\"flows-table\">\n<thead><tr>";
    struct Col {
      std::string_view key, type, label;
    };
    static constexpr std::array<Col, 11> cols = {{{"id", "text", "Row"},
                                                  {"from", "text", "From"},
                                                  {"to", "text", "To"},
                                                  {"port", "num", "Port"},
                                                  {"proto", "text", "Protocol"},
                                                  {"app", "text", "Application"},
                                                  {"class", "text", "Port class"},
                                                  {"state", "text", "Default"},
                                                  {"fate", "num", "Firewall"},
                                                  {"notes", "num", "Notes"},
                                                  {"desc", "text", "Description"}}};
    for (const auto& c : cols)
      out += fmt::format(R"(<th scope="col" data-key="{}" data-type="{}" aria-sort="none"><button type="button">{}</button></th>)",
                         c.key, c.type, c.label);
    out += "</tr></thead>\n<tbody>\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const Row& row = rows[r];
      const Flow& f = *row.flow;
      std::vector<std::string> sys;
      for (const auto* list : {&f.sources, &f.destinations})
        for (const auto& n : *list)
          if (auto it = system_index.find(n); it != system_index.end()) {
            std::string i = std::to_string(it->second);
            if (std::find(sys.begin(), sys.end(), i) == sys.end()) sys.push_back(i);
          }
      std::vector<std::string> protos;
      for (Protocol p : f.protocols.list()) protos.emplace_back(to_string(p));
      if (protos.empty()) protos.emplace_back("unknown");
      // The protocols the firewall uses for the row, when the site sets or narrows them.
      std::string site_protos;
      if (row.binding && !row.binding->protocols.empty()) {
        std::vector<std::string> bound_protos;
        for (Protocol p : row.binding->protocols) bound_protos.emplace_back(to_string(p));
        if (bound_protos != protos) site_protos = join(bound_protos, "/");
        for (const auto& p : bound_protos)
          if (std::find(protos.begin(), protos.end(), p) == protos.end()) protos.push_back(p);
      }
      bool off = row.fate == Fate::addon_off || row.fate == Fate::site_off;
      out += fmt::format(R"(<tr id="row-{}" data-r="{}" data-fate="{}" data-proto="{}" data-ports="{}" data-sys="{}"{}>)",
                         h(f.id), r, to_string(row.fate), join(protos, " "), ports_attr(row.dports), join(sys, " "),
                         off ? " class=\"off\"" : "");
      out += fmt::format("<td><code>{}</code></td>", h(f.id));
      // Source ports are ephemeral in most rows; the lead paragraph says so, the cell only when it differs.
      std::string from = systems_cell(f.sources);
      if (!(f.source_ports.ephemeral && f.source_ports.ports.empty()))
        from += fmt::format("<span class=\"sub\">source port {}</span>", h(f.source_ports.to_string()));
      if (bound && !row.sports.empty() && row.sports != f.source_ports.resolve(in.policy->ephemeral))
        from += fmt::format("<span class=\"sub\">source port at this site: {}</span>", h(row.sports.to_string()));
      out += fmt::format("<td class=\"systems\">{}</td>", from);
      out += fmt::format("<td class=\"systems\">{}</td>", systems_cell(f.destinations));
      out += fmt::format("<td class=\"ports\" data-sort=\"{}\">{}</td>", first_port(row.dports),
                         ports_cell(f.destination_ports, row.dports, bound));
      std::string proto_cell = h(protocols_label(f.protocols));
      if (!site_protos.empty()) proto_cell += fmt::format("<span class=\"sub\">at this site: {}</span>", h(site_protos));
      out += fmt::format("<td>{}</td>", proto_cell);
      out += fmt::format("<td>{}</td>", h(f.application));
      std::string classes;
      for (PortClass c : port_classes(row.dports)) classes += fmt::format("<span class=\"tag\">{}</span>", to_string(c));
      out += fmt::format("<td>{}</td>", classes);
      std::string state(to_string(f.state));
      if (f.optional) state += "<span class=\"sub\">optional</span>";
      if (f.symmetric) state += "<span class=\"sub\">both ways</span>";
      out += fmt::format("<td>{}</td>", state);
      std::string fate = badge(row.fate);
      // The badge already says why a row is off, except when neither end is the host.
      if (row.fate == Fate::not_here) fate += fmt::format("<span class=\"sub\">{}</span>", h(row.reason));
      out += fmt::format("<td class=\"fate\" data-sort=\"{}\">{}</td>", static_cast<int>(row.fate), fate);
      std::string notes;
      for (int n : f.notes) notes += fmt::format("<a href=\"#note-{0}\">{0}</a> ", n);
      out += fmt::format("<td data-sort=\"{}\">{}</td>", f.notes.empty() ? 0 : f.notes.front(), notes);
      out += fmt::format("<td class=\"desc\">{}</td>", h(f.description));
      out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n</div>\n<p id=\"no-match\" hidden>No flow matches these filters.</p>\n</section>\n";
  }

  void notes() {
    if (m.notes.empty()) return;
    out += "<section id=\"notes\">\n<h2>Notes</h2>\n<ol class=\"notes\">\n";
    for (const auto& n : m.notes) {
      std::string used;
      for (const auto& f : m.flows)
        if (std::count(f.notes.begin(), f.notes.end(), n.id))
          used += fmt::format(" <a href=\"#row-{0}\" class=\"tag\">{0}</a>", h(f.id));
      out += fmt::format("<li id=\"note-{0}\" value=\"{0}\">{1}{2}</li>\n", n.id, h(n.text), used);
    }
    out += "</ol>\n</section>\n";
  }

  // Each listening port range of every row, split at the IANA class boundaries.
  void port_class_section() {
    out += "<section id=\"port-classes\">\n<h2>Port classes</h2>\n";
    out += "<p class=\"lead\">IANA's ranges: well-known ports (0-1023) need root to listen on; registered ports "
           "(1024-49151) are assigned to services but used freely; dynamic ports (49152-65535) are for temporary use, "
           "such as the source ports of clients.</p>\n";
    out += "<table>\n<thead><tr><th scope=\"col\">Class</th><th scope=\"col\">Range</th><th scope=\"col\">Listening ports "
           "of the flows</th></tr></thead>\n<tbody>\n";
    struct Bounds {
      PortClass c;
      PortRange range;
    };
    for (Bounds b : {Bounds{PortClass::well_known, {0, 1023}}, Bounds{PortClass::registered, {1024, 49151}},
                     Bounds{PortClass::dynamic, {49152, 65535}}}) {
      // Ports of this class, each with the rows that listen on it.
      std::map<PortRange, std::vector<std::string>> uses;
      for (const Row& row : rows) {
        PortSet in_class = row.dports.intersect(PortSet({b.range}));
        for (const auto& r : in_class.ranges()) uses[r].push_back(row.flow->id);
      }
      std::string cell;
      for (const auto& [r, ids] : uses) {
        std::string links;
        for (const auto& id : ids) links += fmt::format(" <a href=\"#row-{0}\">{0}</a>", h(id));
        cell += fmt::format("<span class=\"tag\">{}{}</span> ",
                            r.lo == r.hi ? std::to_string(r.lo) : fmt::format("{}-{}", r.lo, r.hi), links);
      }
      if (cell.empty()) cell = "<span class=\"sub\">none</span>";
      out += fmt::format("<tr><td>{}</td><td>{}-{}</td><td>{}</td></tr>\n", to_string(b.c), b.range.lo, b.range.hi, cell);
    }
    out += "</tbody>\n</table>\n</section>\n";
  }

  void ruleset() {
    if (!in.ruleset) return;
    const Ruleset& rs = *in.ruleset;
    out += fmt::format("<section id=\"ruleset\">\n<h2>Compiled ruleset: {}</h2>\n", h(rs.target));
    out += "<p class=\"lead\">What <code>portmatrix compile</code> generates for this site.</p>\n";
    if (!rs.rendered.warnings.empty()) {
      out += "<ul class=\"warnings\">\n";
      for (const auto& w : rs.rendered.warnings.items()) out += fmt::format("<li>{}</li>\n", h(w.format()));
      out += "</ul>\n";
    }
    for (const auto& f : rs.rendered.files) {
      auto lines = std::count(f.content.begin(), f.content.end(), '\n');
      out += fmt::format("<details open><summary><code>{}</code> ({} lines)</summary><pre><code>{}</code></pre></details>\n",
                         h(f.name), lines, h(f.content));
    }
    out += "</section>\n";
  }

  void verify_rows(const std::vector<const ProbeResult*>& results) {
    out += "<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">Row</th><th scope=\"col\">Probe</th>"
           "<th scope=\"col\">Expected</th><th scope=\"col\">Observed</th><th scope=\"col\">Result</th></tr></thead>\n<tbody>\n";
    for (const ProbeResult* x : results) {
      std::string expected = x->probe.expect_connect() ? "connect" : "blocked";
      if (!x->probe.predicted.row.empty() && x->probe.predicted.row != x->probe.row)
        expected += " (row " + x->probe.predicted.row + ")";
      std::string result = x->pass ? "<span class=\"pass\">PASS</span>" : "<span class=\"fail\">FAIL</span>";
      if (!x->pass && !x->problem.empty()) result += fmt::format("<span class=\"sub\">{}</span>", h(x->problem));
      out += fmt::format("<tr><td><code>{}</code></td><td>{} {}</td><td>{}</td><td>{} ({})</td><td>{}</td></tr>\n",
                         h(x->probe.row.empty() ? "-" : x->probe.row), h(x->probe.kind), h(x->probe.describe()),
                         h(expected), x->connected ? "connect" : "blocked", h(x->detail), result);
    }
    out += "</tbody>\n</table></div>\n";
  }

  void verify() {
    if (!in.verify) return;
    const VerifyReport& v = *in.verify;
    std::size_t passed = v.results.size() - v.failures - v.harness_failures;
    out += fmt::format("<section id=\"verify\">\n<h2>Verify: {}</h2>\n", h(v.target));
    out += "<p class=\"lead\">Real connections through the Linux kernel in network namespaces, firewall on and off; "
           "each must do what the reference evaluator predicts (<code>portmatrix verify</code>).</p>\n";
    out += fmt::format("<p class=\"verdict {}\">{} probes, {} passed, {} failed{} in {:.1f} s</p>\n",
                       v.ok() ? "ok" : "fail", v.results.size(), passed, v.failures,
                       v.harness_failures ? fmt::format(", {} harness failures", v.harness_failures) : "", v.seconds);
    std::vector<const ProbeResult*> failed, all;
    for (const auto& x : v.results) {
      all.push_back(&x);
      if (!x.pass) failed.push_back(&x);
    }
    if (!failed.empty()) {
      out += "<h3>Failures</h3>\n";
      verify_rows(failed);
    }
    if (!v.notes.empty()) {
      out += "<ul class=\"warnings\">\n";
      for (const auto& n : v.notes) out += fmt::format("<li>{}</li>\n", h(n));
      out += "</ul>\n";
    }
    out += fmt::format("<details><summary>All {} probes</summary>\n", all.size());
    verify_rows(all);
    out += "</details>\n</section>\n";
  }
  void replay() {
    if (!in.replay) return;
    const ReplaySummary& s = in.replay->summary;
    std::string names;
    for (const auto& c : in.replay->engine.captures) names += (names.empty() ? "" : ", ") + fmt::format("<code>{}</code>", h(c.name));
    out += "<section id=\"replay\">\n<h2>Replay</h2>\n";
    out += fmt::format("<p class=\"lead\">What this policy would do with every connection in {} "
                       "(<code>portmatrix replay</code>): each connection's first packet, judged by the reference "
                       "evaluator.</p>\n",
                       names.empty() ? "the captures" : names);
    out += fmt::format("<p class=\"verdict {}\">{} connections: {} allowed, {} would be blocked, {} not to or from the "
                       "host ({} with the initiator inferred)</p>\n",
                       s.blocked ? "fail" : "ok", s.connections, s.allowed, s.blocked, s.not_host, s.inferred);
    if (!s.blocked_groups.empty()) {
      out += "<h3>Would be blocked</h3>\n<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">From</th>"
             "<th scope=\"col\">To</th><th scope=\"col\">Protocol</th><th scope=\"col\">Port</th>"
             "<th scope=\"col\">Connections</th><th scope=\"col\">Packets</th><th scope=\"col\">Bytes</th></tr></thead>\n<tbody>\n";
      for (const auto& g : s.blocked_groups)
        out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                           h(g.src_system), h(g.dst_system), h(g.protocol), g.port, g.connections, g.packets, g.bytes);
      out += "</tbody>\n</table></div>\n";
    }
    if (!s.allowed_by_row.empty()) {
      out += "<h3>Allowed, by row</h3>\n<table>\n<thead><tr><th scope=\"col\">Row</th><th scope=\"col\">Connections</th>"
             "</tr></thead>\n<tbody>\n";
      for (const auto& [row, n] : s.allowed_by_row)
        out += fmt::format("<tr><td><a href=\"#row-{0}\"><code>{0}</code></a></td><td>{1}</td></tr>\n", h(row), n);
      out += "</tbody>\n</table>\n";
    }
    out += "</section>\n";
  }

  void audit_section() {
    if (!in.audit || !in.firewall) return;
    const audit::Report& a = *in.audit;
    const audit::Firewall& fw = *in.firewall;
    out += "<section id=\"audit\">\n<h2>Audit</h2>\n";
    out += "<p class=\"lead\">This host as it runs, against the policy (<code>portmatrix audit</code>): its listening "
           "sockets, who the policy lets reach them, and whether the active firewall is the compiled one.</p>\n";
    std::string state(audit::to_string(fw.state));
    if (!fw.error.empty()) state += ": " + fw.error;
    out += fmt::format("<p>Firewall: <strong>{}</strong></p>\n", h(state));
    out += fmt::format("<p class=\"verdict {}\">{}</p>\n", a.clean() ? "ok" : "fail",
                       a.clean() ? std::string("No findings: the host matches the policy.")
                                 : fmt::format("{} finding(s)", a.findings.size()));
    if (!a.findings.empty()) {
      out += "<ul class=\"warnings\">\n";
      for (const auto& f : a.findings) out += fmt::format("<li><code>{}</code> {}</li>\n", h(f.code), h(f.message));
      out += "</ul>\n";
    }
    out += "<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">Protocol</th><th scope=\"col\">Local</th>"
           "<th scope=\"col\">Process</th><th scope=\"col\">Row</th><th scope=\"col\">Reach</th>"
           "<th scope=\"col\">Finding</th></tr></thead>\n<tbody>\n";
    for (const auto& lr : a.listeners) {
      const auto& l = lr.listener;
      std::string process;
      for (const auto& o : l.owners) process += fmt::format("{}{}[{}]", process.empty() ? "" : ", ", o.command, o.pid);
      std::string row = lr.row.empty() ? "-" : lr.row + (lr.row_enabled ? "" : " (disabled)");
      std::string finding = lr.finding.empty() ? fmt::format("<span class=\"sub\">{}</span>", h(lr.note))
                                               : fmt::format("<span class=\"fail\">{}</span>", h(lr.finding));
      out += fmt::format("<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                         to_string(l.protocol), h(l.endpoint()), h(process.empty() ? "-" : process), h(row),
                         h(lr.reach_text.empty() ? std::string(audit::to_string(lr.reach)) : lr.reach_text), finding);
    }
    out += "</tbody>\n</table></div>\n";
    for (const auto& n : a.notes) out += fmt::format("<p class=\"sub\">note: {}</p>\n", h(n));
    out += "</section>\n";
  }
};

}  // namespace

Expected<std::string> render_html(const Input& in) {
  PM_ASSERT(in.matrix, "a report needs a matrix");
  auto svg = render_svg(in);
  if (!svg) return svg.error();
  Page page(in);
  std::string& out = page.out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // Only our own inline style and script, by hash; nothing from anywhere, not even this file's directory.
  out += fmt::format(
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; script-src {}; "
      "img-src data:; base-uri 'none'; form-action 'none'\">\n",
      csp_hash(assets::kStyle), csp_hash(assets::kScript));
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  if (!in.generator.empty()) out += fmt::format("<meta name=\"generator\" content=\"{}\">\n", h(in.generator));
  out += fmt::format("<title>{}: port matrix report</title>\n", h(page.title()));
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n", assets::kStyle);
  page.header();
  page.toc(true);
  out += "<main>\n";
  page.summary();
  page.diagram(*svg);
  page.flows_table();
  page.notes();
  page.port_class_section();
  page.ruleset();
  page.verify();
  page.replay();
  page.audit_section();
  out += "</main>\n<footer>";
  if (!in.generator.empty()) out += fmt::format("Generated by {}. ", h(in.generator));
  out += "This page is self-contained: it loads nothing, from the network or from disk.</footer>\n";
  out += fmt::format("<script>{}</script>\n</body>\n</html>\n", assets::kScript);
  return out;
}

}  // namespace portmatrix::report
