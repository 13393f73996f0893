#include "portmatrix/report.hpp"

#include <graphviz/cgraph.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "portmatrix/matrix_io.hpp"
#include "portmatrix/matrix_view.hpp"
#include "support/golden.hpp"
#include "support/testing.hpp"

using namespace portmatrix;
using namespace portmatrix::report;

namespace {

LoadedPolicy example() {
  auto lp = load_policy("cms-r20", "cms-site");
  EXPECT_TRUE(lp) << (lp.diags.items().empty() ? "" : lp.diags.items()[0].format());
  return std::move(*lp.value);
}

Input input_of(const LoadedPolicy& lp) {
  Input in;
  in.matrix = &lp.matrix;
  in.site = &lp.site;
  in.policy = &lp.policy;
  return in;
}

std::size_t count(const std::string& hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

// Names that would change a DOT graph, an HTML page or an SVG document if they
// were pasted in unescaped.
const std::vector<std::string> kHostile = {
    R"(evil"]; sys0 -> sys1 [label="pwned)",
    "<b>bold</b> & <script>alert(1)</script>",
    R"(back\slash \N \G \l)",
    "line\nbreak",
    "&lt;entity&gt; &amp;",
    "} digraph x { // /* --",
    "caf\xC3\xA9 \xE2\x86\x92 ok",
};

// A matrix whose systems carry the hostile names, with flows between them
// (one symmetric) and the hostile names in every text field.
Matrix hostile_matrix() {
  Matrix m;
  m.name = "hostile";
  m.title = kHostile[1];
  for (const auto& n : kHostile) m.systems.push_back({n, kHostile[0], {}});
  for (std::size_t i = 0; i + 1 < kHostile.size(); ++i) {
    Flow f;
    f.id = "f" + std::to_string(i);
    f.sources = {kHostile[i]};
    f.destinations = {kHostile[i + 1]};
    f.destination_ports.ports = PortSet::single(static_cast<std::uint16_t>(1000 + i));
    f.source_ports.ephemeral = true;
    f.protocols = {Protocol::tcp};
    f.application = kHostile[(i + 2) % kHostile.size()];
    f.description = kHostile[(i + 3) % kHostile.size()];
    f.symmetric = i == 2;
    f.addon = i == 4;
    f.notes = {1};
    m.flows.push_back(f);
  }
  m.notes.push_back({1, kHostile[1], {}});
  return m;
}

// What an SVG <text> shows of a name: line breaks become spaces.
std::string shown(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

struct XmlDocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocDeleter>;

XmlDoc parse_xml(const std::string& text) {
  return XmlDoc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "diagram.svg", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

// The text content of every node an XPath expression selects.
std::vector<std::string> xpath_texts(xmlDoc* doc, const char* expr) {
  std::vector<std::string> out;
  xmlXPathContext* ctx = xmlXPathNewContext(doc);
  xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
  xmlXPathRegisterNs(ctx, BAD_CAST "xlink", BAD_CAST "http://www.w3.org/1999/xlink");
  xmlXPathObject* res = xmlXPathEvalExpression(BAD_CAST expr, ctx);
  if (res && res->nodesetval)
    for (int i = 0; i < res->nodesetval->nodeNr; ++i) {
      xmlChar* c = xmlNodeGetContent(res->nodesetval->nodeTab[i]);
      out.emplace_back(c ? reinterpret_cast<const char*>(c) : "");
      xmlFree(c);
    }
  xmlXPathFreeObject(res);
  xmlXPathFreeContext(ctx);
  return out;
}

// Nodes and edges of a DOT graph as cgraph reads it, by their class attribute.
struct DotCounts {
  int nodes = 0, systems = 0, flows = 0, legend = 0;
  std::set<std::string> edge_ids;
};
DotCounts parse_dot(const std::string& dot) {
  DotCounts c;
  Agraph_t* g = agmemread(dot.c_str());
  EXPECT_NE(g, nullptr) << "cgraph cannot read the DOT";
  if (!g) return c;
  auto cls = [](void* obj) {
    const char* v = agget(obj, const_cast<char*>("class"));
    return std::string(v ? v : "");
  };
  c.nodes = agnnodes(g);
  for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n)) {
    if (cls(n).rfind("system", 0) == 0) ++c.systems;
    for (Agedge_t* e = agfstout(g, n); e; e = agnxtout(g, e)) {
      std::string k = cls(e);
      if (k.rfind("flow ", 0) == 0) {
        ++c.flows;
        c.edge_ids.insert(agget(e, const_cast<char*>("id")));
      } else if (k.rfind("legend ", 0) == 0) {
        ++c.legend;
      }
    }
  }
  agclose(g);
  return c;
}

}  // namespace

TEST(ReportEscape, Html) {
  EXPECT_EQ(html_escape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape("tab\tand\nnewline"), "tab\tand\nnewline");
  EXPECT_EQ(html_escape(std::string("nul\0bell\a", 9)), "nul\xEF\xBF\xBD" "bell\xEF\xBF\xBD");
  EXPECT_EQ(html_escape("caf\xC3\xA9"), "caf\xC3\xA9");
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong '<', a surrogate.
  EXPECT_EQ(html_escape("a\x80" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(html_escape("\xE2\x86"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(html_escape("\xC0\xBC"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(html_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ReportEscape, Dot) {
  EXPECT_EQ(dot_quoted(R"(say "hi" \N & go)"), R"("say \"hi\" \\N &amp; go")");
  EXPECT_EQ(dot_quoted("two\nlines\r\n"), "\"two lines  \"");
  EXPECT_EQ(dot_quoted(R"(ends in \)"), R"("ends in \\")");  // cannot escape the closing quote
  EXPECT_EQ(dot_html_text(R"(<B>x</B> & "y")"), "&lt;B&gt;x&lt;/B&gt; &amp; &quot;y&quot;");
  EXPECT_EQ(dot_html_text("a\nb"), "a b");
}

TEST(ReportRows, FatesAtTheExampleSite) {
  auto lp = example();
  auto rs = rows(input_of(lp));
  ASSERT_EQ(rs.size(), 15u);
  std::map<std::string, Fate> fate;
  for (const auto& r : rs) fate[r.flow->id] = r.fate;
  EXPECT_EQ(fate["ssh"], Fate::allowed);
  EXPECT_EQ(fate["telnet"], Fate::localhost_only);
  EXPECT_EQ(fate["web-internal"], Fate::closed);
  EXPECT_EQ(fate["hp-printers"], Fate::allowed);  // an add-on the example site enables
  EXPECT_EQ(fate["ha-sync"], Fate::addon_off);
  const Row& spi = rs[7];
  ASSERT_EQ(spi.flow->id, "spi");
  EXPECT_EQ(spi.dports.to_string(), "5001-5002");  // the site's configured ports, not 5001-64500
}

TEST(ReportRows, SiteDisabledAndNoSite) {
  auto lp = load_policy("", pmtest::source_path("tests/data/sites/cms-optional-off.yaml"));
  ASSERT_TRUE(lp);
  auto rs = rows(input_of(*lp.value));
  EXPECT_EQ(rs[4].flow->id, "web");
  EXPECT_EQ(rs[4].fate, Fate::site_off);
  EXPECT_EQ(rs[4].reason, "disabled by the site");

  Input bare;
  bare.matrix = &lp.value->matrix;
  auto plain = rows(bare);
  EXPECT_EQ(plain[4].fate, Fate::allowed);
  EXPECT_EQ(plain[10].flow->id, "hp-printers");
  EXPECT_EQ(plain[10].fate, Fate::addon_off);
  EXPECT_EQ(plain[7].dports.to_string(), "5001-64500");
}

TEST(ReportRows, PortClasses) {
  EXPECT_EQ(port_classes_label(PortSet::single(22)), "well-known");
  EXPECT_EQ(port_classes_label(PortSet({{5001, 64500}})), "registered + dynamic");
  EXPECT_EQ(port_classes_label(PortSet({{1023, 1024}})), "well-known + registered");
  EXPECT_EQ(port_classes_label(PortSet({{80, 80}, {60000, 60001}})), "well-known + dynamic");
  EXPECT_EQ(port_classes_label(PortSet::full()), "well-known + registered + dynamic");
  EXPECT_EQ(port_classes_label(PortSet()), "");
}

TEST(ReportDot, OneNodePerSystemOneEdgePerFlowDirection) {
  auto lp = example();
  std::string dot = render_dot(input_of(lp));
  auto c = parse_dot(dot);
  EXPECT_EQ(c.systems, static_cast<int>(lp.matrix.systems.size()));
  int expected = 0;
  for (const auto& f : lp.matrix.flows)
    expected += static_cast<int>(f.sources.size() * f.destinations.size()) * (f.symmetric ? 2 : 1);
  EXPECT_EQ(c.flows, expected);
  EXPECT_EQ(c.edge_ids.size(), static_cast<std::size_t>(expected));  // ids are unique
  EXPECT_EQ(c.legend, 4);  // allowed, localhost only, closed, add-on not enabled
  // Systems sit in one cluster per host interface of the site.
  EXPECT_NE(dot.find("subgraph cluster_if0"), std::string::npos);
  EXPECT_NE(dot.find("subgraph cluster_if1"), std::string::npos);
  EXPECT_NE(dot.find("<B>eth0</B>"), std::string::npos);
}

TEST(ReportDot, HostileNamesCannotChangeTheGraph) {
  Matrix m = hostile_matrix();
  Input in;
  in.matrix = &m;
  std::string dot = render_dot(in);
  auto c = parse_dot(dot);
  EXPECT_EQ(c.systems, static_cast<int>(kHostile.size()));
  EXPECT_EQ(c.flows, static_cast<int>(m.flows.size()) + 1);  // one symmetric row: two edges
  EXPECT_EQ(c.nodes, c.systems + 2 * c.legend);                // nothing but systems and the legend's points
}

TEST(ReportSvg, ParsesAsXmlAndHoldsEverySystemName) {
  auto lp = example();
  auto svg = render_svg(input_of(lp));
  ASSERT_TRUE(svg) << svg.error().message;
  XmlDoc doc = parse_xml(*svg);
  ASSERT_TRUE(doc) << "the SVG is not well-formed XML";
  auto texts = xpath_texts(doc.get(), "//s:text");
  for (const auto& s : lp.matrix.systems)
    EXPECT_NE(std::find(texts.begin(), texts.end(), s.name), texts.end()) << s.name;
  EXPECT_EQ(xpath_texts(doc.get(), "//s:g[contains(concat(' ', @class, ' '), ' system ')]").size(),
            lp.matrix.systems.size());
}

TEST(ReportSvg, HostileNamesAreShownAsWritten) {
  Matrix m = hostile_matrix();
  Input in;
  in.matrix = &m;
  auto svg = render_svg(in);
  ASSERT_TRUE(svg) << svg.error().message;
  XmlDoc doc = parse_xml(*svg);
  ASSERT_TRUE(doc) << "the SVG is not well-formed XML";
  auto texts = xpath_texts(doc.get(), "//s:text");
  for (const auto& name : kHostile)
    EXPECT_NE(std::find(texts.begin(), texts.end(), shown(name)), texts.end()) << name;
  auto titles = xpath_texts(doc.get(), "//s:a/@xlink:title");
  for (const auto& name : kHostile)
    EXPECT_NE(std::find(titles.begin(), titles.end(), shown(name) + ": " + kHostile[0]), titles.end()) << name;
  EXPECT_TRUE(xpath_texts(doc.get(), "//s:script").empty());
  EXPECT_EQ(xpath_texts(doc.get(), "//s:g[contains(concat(' ', @class, ' '), ' flow ')]").size(), m.flows.size() + 1);
}

TEST(ReportSvg, BrokenDotIsAnError) {
  auto r = svg_from_dot("digraph { a -> }");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("graphviz"), std::string::npos);
}

TEST(ReportHtml, SelfContainedWithOurScriptOnly) {
  auto lp = example();
  Input in = input_of(lp);
  in.generator = "portmatrix test";
  auto html = render_html(in);
  ASSERT_TRUE(html) << html.error().message;
  EXPECT_EQ(count(*html, "<tr id=\"row-"), 15u);
  EXPECT_EQ(count(*html, "<svg"), 1u);
  EXPECT_EQ(count(*html, "<?xml"), 0u);
  EXPECT_EQ(count(*html, "<script"), 1u);
  EXPECT_EQ(count(*html, "<link"), 0u);
  EXPECT_EQ(count(*html, " src="), 0u);
  EXPECT_EQ(count(*html, "url("), 0u);
  EXPECT_NE(html->find("<li id=\"note-6\" value=\"6\">"), std::string::npos);
  EXPECT_NE(html->find("data-fate=\"localhost-only\""), std::string::npos);
  EXPECT_NE(html->find("at this site: 5001-5002"), std::string::npos);
  EXPECT_EQ(html->find("id=\"ruleset\""), std::string::npos);  // optional sections only when asked for
  EXPECT_EQ(html->find("id=\"verify\""), std::string::npos);
}

TEST(ReportHtml, CspAllowsExactlyTheInlineScriptAndStyle) {
  auto lp = example();
  auto html = render_html(input_of(lp));
  ASSERT_TRUE(html);
  auto between = [&](std::string_view open, std::string_view close) {
    auto a = html->find(open);
    auto b = html->find(close, a);
    EXPECT_NE(a, std::string::npos);
    return html->substr(a + open.size(), b - a - open.size());
  };
  auto hash = [](const std::string& text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
    std::array<unsigned char, 64> b64{};
    int n = EVP_EncodeBlock(b64.data(), md.data(), static_cast<int>(len));
    return "'sha256-" + std::string(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n)) + "'";
  };
  std::string csp = between("http-equiv=\"Content-Security-Policy\" content=\"", "\"");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src " + hash(between("<script>", "</script>"))), std::string::npos) << csp;
  EXPECT_NE(csp.find("style-src " + hash(between("<style>", "</style>"))), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
}

TEST(ReportHtml, HostileTextIsEscapedEverywhere) {
  Matrix m = hostile_matrix();
  Input in;
  in.matrix = &m;
  in.generator = "<script>gen</script>";
  auto html = render_html(in);
  ASSERT_TRUE(html) << html.error().message;
  EXPECT_EQ(count(*html, "<script"), 1u);
  EXPECT_EQ(count(*html, "<b>bold"), 0u);
  EXPECT_NE(html->find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html->find("&amp;lt;entity&amp;gt;"), std::string::npos);
  // Attribute values stay attribute values: every option of the system filter is closed where it should be.
  EXPECT_EQ(count(*html, "<option value=\"evil&quot;]; sys0 -&gt; sys1 [label=&quot;pwned\" data-i=\"0\">"), 1u);
}

TEST(ReportHtml, OptionalSections) {
  auto lp = example();
  Input in = input_of(lp);
  Ruleset rs{"nftables", find_backend("nftables")->compile(lp.policy)};
  VerifyReport vr;
  vr.target = "nftables";
  ProbeResult ok;
  ok.probe.row = "ssh";
  ok.probe.kind = "allowed";
  ok.probe.predicted.action = Action::accept;
  ok.connected = true;
  ok.pass = true;
  ProbeResult bad = ok;
  bad.probe.row = "telnet";
  bad.pass = false;
  bad.problem = "kernel <allowed> what the evaluator drops";
  vr.results = {ok, bad};
  vr.failures = 1;
  in.ruleset = &rs;
  in.verify = &vr;
  auto html = render_html(in);
  ASSERT_TRUE(html);
  EXPECT_NE(html->find("id=\"ruleset\""), std::string::npos);
  EXPECT_NE(html->find("table inet portmatrix"), std::string::npos);
  EXPECT_NE(html->find("<p class=\"verdict fail\">2 probes, 1 passed, 1 failed"), std::string::npos);
  EXPECT_NE(html->find("kernel &lt;allowed&gt; what"), std::string::npos);
}

TEST(ReportHtml, ReplayAndAuditSections) {
  auto lp = example();
  Input in = input_of(lp);
  ReplayResult rr;
  rr.summary.connections = 5;
  rr.summary.allowed = 3;
  rr.summary.blocked = 2;
  rr.summary.allowed_by_row = {{"ssh", 2}, {"weblm", 1}};
  rr.summary.blocked_groups.push_back({"Admin terminal", "CMS", "tcp", 23, 2, 4, 240});
  rr.engine.captures.push_back({"<day>.pcap", CaptureFormat::pcap, {}});
  audit::Report ar;
  audit::ListenerReport lr;
  lr.listener.protocol = Protocol::tcp;
  lr.listener.address = *parse_ip("0.0.0.0");
  lr.listener.port = 4444;
  lr.listener.owners = {{42, "<nc>"}};
  lr.finding = "unexpected-listener";
  lr.reach = audit::Reach::loopback;
  ar.listeners.push_back(lr);
  ar.findings.push_back({"unexpected-listener", "no row explains tcp port 4444", "", 0});
  audit::Firewall fw;
  fw.state = audit::FirewallState::off;
  in.replay = &rr;
  in.audit = &ar;
  in.firewall = &fw;
  auto html = render_html(in);
  ASSERT_TRUE(html) << html.error().message;
  EXPECT_NE(html->find("<a href=\"#replay\">Replay</a>"), std::string::npos);
  EXPECT_NE(html->find("<code>&lt;day&gt;.pcap</code>"), std::string::npos);
  EXPECT_NE(html->find("5 connections: 3 allowed, 2 would be blocked"), std::string::npos);
  EXPECT_NE(html->find("<tr><td>Admin terminal</td><td>CMS</td><td>tcp</td><td>23</td><td>2</td><td>4</td><td>240</td></tr>"),
            std::string::npos);
  EXPECT_NE(html->find("<a href=\"#audit\">Audit</a>"), std::string::npos);
  EXPECT_NE(html->find("Firewall: <strong>off</strong>"), std::string::npos);
  EXPECT_NE(html->find("<code>0.0.0.0:4444</code></td><td>&lt;nc&gt;[42]</td>"), std::string::npos);
  EXPECT_NE(html->find("<span class=\"n\">2</span><span class=\"what\">of 5 captured connections would be blocked"),
            std::string::npos);
}

TEST(ReportTables, MarkdownAndCsvAddSiteColumns) {
  auto lp = example();
  Input in = input_of(lp);
  std::string csv = render_csv(in);
  EXPECT_EQ(count(csv, "\r\n"), 16u);
  EXPECT_EQ(csv.rfind("id,source,", 0), 0u);
  EXPECT_NE(csv.find(",at site,site source ports,site destination ports,site protocols,port class,firewall,reason\r\n"),
            std::string::npos);
  EXPECT_NE(csv.find(",enabled,32768-65535,5001-5002,tcp,registered,allowed,\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",disabled,3077-3079,3077-3079,tcp,registered,\"add-on, not enabled\",\"add-on, not enabled by the site\"\r\n"),
            std::string::npos);

  std::string md = render_markdown(in);
  EXPECT_NE(md.find("| at site | site source ports |"), std::string::npos);
  EXPECT_NE(md.find("Site cms-site (bundled): firewall of CMS, default drop."), std::string::npos);
  EXPECT_NE(md.find("## Notes"), std::string::npos);

  Input bare;
  bare.matrix = &lp.matrix;
  EXPECT_EQ(render_markdown(bare), matrix_markdown(lp.matrix));
  EXPECT_EQ(render_csv(bare), matrix_csv(lp.matrix));
}

// Regression: the site's source ports and protocols were shown nowhere in the
// HTML report, and the tables had no column for the protocols, so a reader saw
// the matrix's 3077-3079 and tcp/udp where the firewall uses 3077 and tcp.
TEST(ReportSiteOverrides, SourcePortsAndProtocolsAsTheSiteConfiguresThem) {
  auto lp = load_policy("", pmtest::source_path("tests/data/sites/cms-overrides.yaml"));
  ASSERT_TRUE(lp) << (lp.diags.items().empty() ? "" : lp.diags.items()[0].format());
  Input in = input_of(*lp.value);
  auto html = render_html(in);
  ASSERT_TRUE(html) << html.error().message;
  auto row_of = [&](std::string_view id) {
    auto at = html->find(fmt::format("<tr id=\"row-{}\"", id));
    EXPECT_NE(at, std::string::npos) << id;
    return at == std::string::npos ? std::string() : html->substr(at, html->find("</tr>", at) - at);
  };
  std::string ha = row_of("ha-sync");
  EXPECT_NE(ha.find("source port at this site: 3077<"), std::string::npos) << ha;
  EXPECT_NE(ha.find("at this site: 3078<"), std::string::npos) << ha;
  std::string rt = row_of("rt-connectors");
  EXPECT_NE(rt.find("<td>tcp/udp<span class=\"sub\">at this site: tcp</span></td>"), std::string::npos) << rt;
  std::string closed = row_of("web-internal");
  EXPECT_NE(closed.find("data-proto=\"unknown tcp udp\""), std::string::npos) << closed;
  EXPECT_NE(closed.find("at this site: tcp/udp"), std::string::npos) << closed;
  std::string ssh = row_of("ssh");
  EXPECT_EQ(ssh.find("at this site"), std::string::npos) << ssh;

  std::string csv = render_csv(in);
  EXPECT_NE(csv.find(",at site,site source ports,site destination ports,site protocols,port class,firewall,reason\r\n"),
            std::string::npos);
  EXPECT_NE(csv.find(",enabled,3077,3078,tcp,registered,allowed,\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",enabled,32768-65535,6000-7000,tcp,registered,allowed,\r\n"), std::string::npos) << csv;
  EXPECT_NE(render_markdown(in).find("| site destination ports | site protocols |"), std::string::npos);
}

// Regression: the inline diagram had no text alternative (Graphviz's <title> is
// inside a group, not a name for the drawing), so a screen reader announced nothing.
TEST(ReportHtml, DiagramHasATextAlternative) {
  auto lp = example();
  auto html = render_html(input_of(lp));
  ASSERT_TRUE(html) << html.error().message;
  auto at = html->find("<div class=\"diagram\">\n<svg ");
  ASSERT_NE(at, std::string::npos);
  at = html->find("<svg ", at);
  std::string tag = html->substr(at, html->find('>', at) - at);
  EXPECT_NE(tag.find("role=\"img\""), std::string::npos) << tag;
  EXPECT_NE(tag.find("aria-label=\"Flow diagram: 17 systems and an arrow for each flow of the 15 rows"), std::string::npos)
      << tag;
}

TEST(ReportTables, MarkdownCellsKeepTheirText) {
  Matrix m = hostile_matrix();
  Input in;
  in.matrix = &m;
  std::string md = render_markdown(in);
  EXPECT_NE(md.find("&amp;lt;entity&amp;gt; &amp;amp;"), std::string::npos);
  EXPECT_EQ(md.find("<b>"), std::string::npos);
}

TEST(ReportGolden, DotOfTheBundledMatrix) {
  auto lp = example();
  pmtest::expect_golden(pmtest::source_path("tests/golden/render/cms-site.dot"), render_dot(input_of(lp)));
  Input bare;
  bare.matrix = &lp.matrix;
  pmtest::expect_golden(pmtest::source_path("tests/golden/render/cms-r20.dot"), render_dot(bare));
}
