// The HTML report in a real browser: Debian's Chromium, headless, loads the
// generated file (file://), runs its script, and the test reads the resulting
// DOM (--dump-dom): rows, filters set by the URL fragment, sorting, the inline
// SVG, and that the page logs nothing (no script error, no CSP violation).
// Through the DevTools protocol, the test also uses the page as a person does:
// typing into a filter, clicking a column header and a box of the diagram.
// Screenshots are kept under the build directory as test artifacts.
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "portmatrix/matrix_io.hpp"
#include "portmatrix/report.hpp"
#include "portmatrix/site.hpp"
#include "support/cli.hpp"
#include "support/devtools.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using namespace portmatrix;

namespace {

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= dirs.size();) {
      auto end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  return "";
}

// Runs headless Chromium on one URL with a fresh profile, no network activity of its own.
RunResult chromium(const std::vector<std::string>& extra, const std::string& url) {
  std::string profile = ::testing::TempDir() + "/chromium-profile-XXXXXX";
  if (!::mkdtemp(profile.data())) return RunResult{-1, false, "", "mkdtemp failed"};
  std::vector<std::string> args = {find_chromium(),
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--user-data-dir=" + profile,
                                   "--enable-logging=stderr",
                                   "--v=0"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  RunOptions o;
  o.timeout = std::chrono::milliseconds(120000);
  auto r = run_command(args, o);
  std::error_code ec;
  fs::remove_all(profile, ec);
  if (!r) return RunResult{-1, false, "", r.error().message};
  return *r;
}

// The console messages the page logged (Chromium prints them as ":CONSOLE" lines).
std::vector<std::string> console_lines(const std::string& err) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < err.size()) {
    auto end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string line = err.substr(start, end - start);
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

struct HtmlDocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

// The DOM as Chromium serialised it, queried with XPath.
class Dom {
 public:
  explicit Dom(const std::string& html)
      : doc_(htmlReadMemory(html.data(), static_cast<int>(html.size()), "dom.html", "utf-8",
                            HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET)) {}
  bool ok() const { return doc_ != nullptr; }

  template <class F>
  void each(const char* xpath, F f) const {
    xmlXPathContext* ctx = xmlXPathNewContext(doc_.get());
    xmlXPathObject* res = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
    if (res && res->nodesetval)
      for (int i = 0; i < res->nodesetval->nodeNr; ++i) f(res->nodesetval->nodeTab[i]);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
  }
  std::size_t count(const char* xpath) const {
    std::size_t n = 0;
    each(xpath, [&](xmlNode*) { ++n; });
    return n;
  }
  std::vector<std::string> attrs(const char* xpath, const char* name) const {
    std::vector<std::string> out;
    each(xpath, [&](xmlNode* node) {
      xmlChar* v = xmlGetProp(node, BAD_CAST name);
      out.emplace_back(v ? reinterpret_cast<const char*>(v) : "");
      xmlFree(v);
    });
    return out;
  }
  std::string text(const char* xpath) const {
    std::string out;
    each(xpath, [&](xmlNode* node) {
      xmlChar* c = xmlNodeGetContent(node);
      out += c ? reinterpret_cast<const char*>(c) : "";
      xmlFree(c);
    });
    return out;
  }
  // Row ids ("ssh", ...) of the flows table in DOM order; visible ones only if asked.
  std::vector<std::string> rows(bool visible_only) const {
    auto ids = attrs(visible_only ? "//table[@id='flows-table']/tbody/tr[not(@hidden)]"
                                  : "//table[@id='flows-table']/tbody/tr",
                     "id");
    for (auto& id : ids) id = id.substr(4);  // "row-"
    return ids;
  }

 private:
  std::unique_ptr<xmlDoc, HtmlDocDeleter> doc_;
};

class ReportInBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/report-browser-" + std::to_string(::getpid());
    fs::create_directories(dir_);
    auto r = pmtest::pm({"render", "--format", "html", "-o", dir_ + "/report.html"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void SetUp() override {
    PM_REQUIRE(!find_chromium().empty(), "chromium is not installed (apt-get install chromium)");
    auto lp = load_policy("cms-r20", "cms-site");
    ASSERT_TRUE(lp);
    policy_ = std::move(*lp.value);
  }

  // Loads the report with a URL fragment and returns the DOM after its script ran.
  Dom open(const std::string& fragment, const std::string& file = "report.html") {
    auto r = chromium({"--dump-dom"}, "file://" + dir_ + "/" + file + fragment);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(console_lines(r.err).empty()) << "the page logged to the console:\n" << r.err;
    Dom dom(r.out);
    EXPECT_TRUE(dom.ok());
    return dom;
  }

  // Row ids, in matrix order, of the rows a predicate keeps.
  template <class Pred>
  std::vector<std::string> expected(Pred keep) {
    std::vector<std::string> out;
    report::Input in;
    in.matrix = &policy_.matrix;
    in.site = &policy_.site;
    in.policy = &policy_.policy;
    for (const auto& r : report::rows(in))
      if (keep(r)) out.push_back(r.flow->id);
    return out;
  }

  static std::string artifacts() {
    std::string d = std::string(PM_ARTIFACT_DIR) + "/browser";
    fs::create_directories(d);
    return d;
  }

  static inline std::string dir_;
  LoadedPolicy policy_;
};

TEST_F(ReportInBrowser, AllRowsAndTheDiagram) {
  Dom dom = open("");
  EXPECT_EQ(dom.rows(false).size(), policy_.matrix.flows.size());
  EXPECT_EQ(dom.rows(true).size(), 15u);
  EXPECT_EQ(dom.text("//output[@id='flow-count']"), "15 of 15 flows");
  EXPECT_EQ(dom.count("//section[@id='diagram']//svg"), 1u);
  EXPECT_EQ(dom.count("//section[@id='diagram']//svg//g[contains(concat(' ', @class, ' '), ' system ')]"),
            policy_.matrix.systems.size());
  EXPECT_EQ(dom.count("//script"), 1u);
  EXPECT_EQ(dom.count("//*[@src]"), 0u);
}

TEST_F(ReportInBrowser, FragmentFiltersByPortAndProtocol) {
  Dom dom = open("#port=22&proto=tcp");
  auto want = expected([](const report::Row& r) {
    return r.dports.contains(22) && r.flow->protocols.has(Protocol::tcp);
  });
  EXPECT_EQ(want.size(), 3u);
  EXPECT_EQ(dom.rows(true), want);
  EXPECT_EQ(dom.rows(false).size(), 15u);  // the others are hidden, not removed
  EXPECT_EQ(dom.text("//output[@id='flow-count']"), std::to_string(want.size()) + " of 15 flows");
}

TEST_F(ReportInBrowser, FragmentFiltersBySystemAndDimsTheDiagram) {
  Dom dom = open("#system=CM");
  auto want = expected([](const report::Row& r) {
    const auto& f = *r.flow;
    return std::count(f.sources.begin(), f.sources.end(), "CM") + std::count(f.destinations.begin(), f.destinations.end(), "CM") > 0;
  });
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(dom.rows(true), want);
  // Edges of the hidden rows are dimmed; the CM box is picked out.
  std::size_t edges = dom.count("//svg//g[contains(concat(' ', @class, ' '), ' flow ')]");
  std::size_t dimmed = dom.count("//svg//g[contains(concat(' ', @class, ' '), ' flow ') and contains(concat(' ', @class, ' '), ' dim ')]");
  EXPECT_EQ(edges - dimmed, want.size());
  EXPECT_EQ(dom.count("//svg//g[contains(concat(' ', @class, ' '), ' picked ')]"), 1u);
}

TEST_F(ReportInBrowser, FragmentFiltersByFirewallStateAndText) {
  EXPECT_EQ(open("#state=localhost-only").rows(true),
            expected([](const report::Row& r) { return r.fate == report::Fate::localhost_only; }));
  auto has = [](std::string hay) {
    std::transform(hay.begin(), hay.end(), hay.begin(), [](unsigned char c) { return std::tolower(c); });
    return hay.find("supervisor") != std::string::npos;
  };
  EXPECT_EQ(open("#q=Supervisor").rows(true), expected([&](const report::Row& r) {
              const auto& f = *r.flow;
              bool any = has(f.id) || has(f.application) || has(f.description);
              for (const auto& s : f.sources) any |= has(s);
              for (const auto& s : f.destinations) any |= has(s);
              return any;
            }));
}

TEST_F(ReportInBrowser, FragmentSortsAndBadInputFiltersNothing) {
  Dom dom = open("#sort=port&dir=desc");
  auto rows = expected([](const report::Row&) { return true; });
  std::map<std::string, int> first;
  report::Input in;
  in.matrix = &policy_.matrix;
  in.policy = &policy_.policy;
  for (const auto& r : report::rows(in)) first[r.flow->id] = r.dports.ranges().front().lo;
  std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return first[a] > first[b]; });
  EXPECT_EQ(dom.rows(false), rows);
  EXPECT_EQ(dom.attrs("//th[@data-key='port']", "aria-sort"), std::vector<std::string>{"descending"});

  Dom bad = open("#port=http");
  EXPECT_EQ(bad.rows(true).size(), 15u);
  EXPECT_EQ(bad.attrs("//input[@name='port']", "aria-invalid"), std::vector<std::string>{"true"});
}

TEST_F(ReportInBrowser, HostileMatrixStaysText) {
  Matrix m;
  m.name = "hostile";
  m.title = "<img src=x onerror=alert(1)>";
  m.systems = {{"<script>alert(1)</script>", "\"><b>x</b>", {}}, {"B&amp;<i>", "'; alert(2); '", {}}};
  Flow f;
  f.id = "evil";
  f.sources = {m.systems[0].name};
  f.destinations = {m.systems[1].name};
  f.source_ports.ephemeral = true;
  f.destination_ports.ports = PortSet::single(443);
  f.protocols = {Protocol::tcp};
  f.application = "</td></tr></table><h1>owned</h1>";
  f.description = "<svg onload=alert(3)>";
  m.flows.push_back(f);
  std::ofstream(dir_ + "/hostile.yaml") << write_matrix_yaml(m);
  auto r = pmtest::pm({"render", "--no-site", "--matrix", dir_ + "/hostile.yaml", "-o", dir_ + "/hostile.html"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Dom dom = open("", "hostile.html");
  EXPECT_EQ(dom.count("//script"), 1u);
  EXPECT_EQ(dom.count("//img | //b | //i"), 0u);
  EXPECT_EQ(dom.count("//h1"), 1u);  // the page's own title
  EXPECT_EQ(dom.count("//svg"), 1u);  // only the diagram
  EXPECT_EQ(dom.rows(true), std::vector<std::string>{"evil"});
  EXPECT_NE(dom.text("//h1").find("<img src=x onerror=alert(1)>"), std::string::npos);
}

// Typing, clicking and reading the live DOM through the DevTools protocol.
TEST_F(ReportInBrowser, DevToolsTypingAndClickingFilterAndSort) {
  std::string error;
  auto page = pmtest::DevTools::launch(find_chromium(), &error);
  ASSERT_TRUE(page) << error;
  const std::string url = "file://" + dir_ + "/report.html";
  ASSERT_TRUE(page->open(url)) << page->last_error();
  auto visible = [&] {
    auto v = page->evaluate(
        "Array.from(document.querySelectorAll('#flows-table tbody tr'))"
        ".filter(r => !r.hidden && r.getClientRects().length > 0).map(r => r.id.slice(4))");
    EXPECT_TRUE(v.is_array()) << page->last_error();
    return v.is_array() ? v.get<std::vector<std::string>>() : std::vector<std::string>{};
  };
  auto all = expected([](const report::Row&) { return true; });
  EXPECT_EQ(visible(), all);
  EXPECT_EQ(page->evaluate("document.querySelectorAll('#diagram svg g.node.system').length"),
            policy_.matrix.systems.size());

  // Type "22" into the port filter: key events into the focused box.
  page->evaluate("document.querySelector(\"input[name='port']\").focus()");
  page->call("Input.insertText", {{"text", "22"}});
  auto port22 = expected([](const report::Row& r) { return r.dports.contains(22); });
  EXPECT_EQ(visible(), port22);
  EXPECT_EQ(page->evaluate("document.getElementById('flow-count').textContent"),
            std::to_string(port22.size()) + " of 15 flows");
  EXPECT_EQ(page->evaluate("location.hash"), std::string("#port=22"));

  // The Clear button empties the filters again.
  auto centre = [&](const std::string& selector) {
    auto box = page->evaluate("(() => { const e = document.querySelector(" + nlohmann::json(selector).dump() +
                              "); e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                              " return [r.x + r.width / 2, r.y + r.height / 2]; })()");
    EXPECT_TRUE(box.is_array()) << selector << ": " << page->last_error();
    return box.is_array() ? std::pair<double, double>{box[0], box[1]} : std::pair<double, double>{-1, -1};
  };
  auto [cx, cy] = centre("#filters button[type=reset]");
  page->click(cx, cy);
  ::usleep(200000);  // the page updates after the form's reset event
  EXPECT_EQ(visible(), all);

  // Click the "port" column header twice: ascending, then descending.
  std::map<std::string, int> first;
  report::Input in;
  in.matrix = &policy_.matrix;
  in.policy = &policy_.policy;
  for (const auto& r : report::rows(in)) first[r.flow->id] = r.dports.ranges().front().lo;
  auto by_port = all;
  std::stable_sort(by_port.begin(), by_port.end(), [&](const auto& a, const auto& b) { return first[a] < first[b]; });
  auto [hx, hy] = centre("th[data-key=port] button");
  page->click(hx, hy);
  EXPECT_EQ(visible(), by_port);
  auto [hx2, hy2] = centre("th[data-key=port] button");
  page->click(hx2, hy2);
  auto desc = all;
  std::stable_sort(desc.begin(), desc.end(), [&](const auto& a, const auto& b) { return first[a] > first[b]; });
  EXPECT_EQ(visible(), desc);

  // Click the CM box in the diagram: the table keeps CM's flows.
  auto i = page->evaluate("document.querySelector(\"select[name='system'] option[value='CM']\").dataset.i");
  ASSERT_TRUE(i.is_string()) << page->last_error();
  auto [sx, sy] = centre("#sys-" + i.get<std::string>());
  page->click(sx, sy);
  auto cm = expected([](const report::Row& r) {
    const auto& f = *r.flow;
    return std::count(f.sources.begin(), f.sources.end(), "CM") + std::count(f.destinations.begin(), f.destinations.end(), "CM") > 0;
  });
  auto shown = visible();
  std::sort(shown.begin(), shown.end());
  std::sort(cm.begin(), cm.end());
  EXPECT_EQ(shown, cm);
  EXPECT_EQ(page->evaluate("document.querySelector(\"select[name='system']\").value"), std::string("CM"));

  EXPECT_TRUE(page->console().empty()) << "the page logged: " << page->console().front();
}

// Regression: a report opened from a filtered link (#port=22) printed only the
// rows the filter kept, with the filters and the count hidden by the print
// style, so the paper looked complete; and the collapsed list of every verify
// probe was left out of the print.
TEST_F(ReportInBrowser, PrintShowsEveryRowAndEveryProbe) {
  // A report with a verify section (its results as data: the kernel part is
  // tests/netns/render_verify_test.cpp), written next to the others.
  VerifyReport v;
  v.target = "nftables";
  ProbeResult pr;
  pr.probe.row = "ssh";
  pr.probe.kind = "allowed";
  pr.probe.from = "Admin terminal";
  pr.probe.to = "CMS";
  pr.probe.src = *parse_ip("198.51.100.1");
  pr.probe.dst = *parse_ip("192.0.2.1");
  pr.probe.sport = 40000;
  pr.probe.dport = 22;
  pr.probe.predicted.action = Action::accept;
  pr.connected = true;
  pr.pass = true;
  pr.detail = "echoed";
  v.results.push_back(pr);
  report::Input in;
  in.matrix = &policy_.matrix;
  in.site = &policy_.site;
  in.policy = &policy_.policy;
  in.verify = &v;
  auto html = report::render_html(in);
  ASSERT_TRUE(html) << html.error().message;
  std::ofstream(dir_ + "/verified.html") << *html;

  std::string error;
  auto page = pmtest::DevTools::launch(find_chromium(), &error);
  ASSERT_TRUE(page) << error;
  const std::string url = "file://" + dir_ + "/verified.html#port=22";
  ASSERT_TRUE(page->open(url)) << page->last_error();
  const std::string visible_rows =
      "Array.from(document.querySelectorAll('#flows-table tbody tr')).filter(r => r.getClientRects().length > 0).length";
  auto port22 = expected([](const report::Row& r) { return r.dports.contains(22); });
  EXPECT_EQ(page->evaluate(visible_rows), port22.size()) << "on screen, the link's filter applies";
  // Without the fade (headless Chromium may not advance transitions), the arrows' opacity is final at once.
  page->evaluate("document.querySelectorAll('#diagram g.edge').forEach(e => { e.style.transition = 'none'; })");
  const std::string dimmed = "getComputedStyle(document.querySelector('#diagram g.edge.flow.dim')).opacity";
  EXPECT_EQ(page->evaluate(dimmed), "0.1") << "on screen, other rows' arrows are dimmed";

  page->call("Emulation.setEmulatedMedia", {{"media", "print"}});
  EXPECT_EQ(page->evaluate(visible_rows), policy_.matrix.flows.size()) << "on paper, every row";
  EXPECT_EQ(page->evaluate(dimmed), "1") << "on paper, every arrow";

  // Printing (to PDF here) opens the collapsed list of all probes; afterwards it is closed again.
  const std::string probes_open = "document.querySelector('#verify details').open";
  EXPECT_EQ(page->evaluate(probes_open), false);
  page->evaluate("window.seenOpen = null; window.addEventListener('beforeprint', () => { window.seenOpen = "
                 "document.querySelector('#verify details').open; })");
  auto pdf = page->call("Page.printToPDF");
  EXPECT_TRUE(pdf.contains("data")) << page->last_error();
  EXPECT_EQ(page->evaluate("window.seenOpen"), true) << "the probes were not open when the page was printed";
  EXPECT_EQ(page->evaluate(probes_open), false);
  EXPECT_TRUE(page->console().empty()) << "the page logged: " << page->console().front();
}

TEST_F(ReportInBrowser, Screenshots) {
  for (const auto& [name, fragment] : {std::pair<std::string, std::string>{"report.png", ""},
                                       {"report-port-22.png", "#port=22&proto=tcp"}}) {
    std::string png = artifacts() + "/" + name;
    fs::remove(png);
    auto r = chromium({"--window-size=1400,2400", "--hide-scrollbars", "--screenshot=" + png},
                      "file://" + dir_ + "/report.html" + fragment);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(console_lines(r.err).empty()) << r.err;
    std::ifstream in(png, std::ios::binary);
    ASSERT_TRUE(in) << "no screenshot at " << png;
    std::string head(8, '\0');
    in.read(head.data(), 8);
    EXPECT_EQ(head, "\x89PNG\r\n\x1a\n");
    EXPECT_GT(fs::file_size(png), 20000u) << "a blank page compresses to less";
    std::cout << "screenshot: " << png << "\n";
  }
}

}  // namespace
