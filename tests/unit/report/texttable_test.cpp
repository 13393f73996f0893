// CSV and Markdown escaping (texttable.hpp): a cell a spreadsheet would run as a
// formula stays text; text put into Markdown shows as written, checked against
// cmark-gfm (GitHub's renderer) when it is installed.
#include "portmatrix/texttable.hpp"

#include <unistd.h>

#include <regex>

#include <gtest/gtest.h>

#include "portmatrix/process.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

// Text that Markdown would turn into something else than the text.
const std::vector<std::string> kMarkdownHostile = {
    "Admin ![](https://x.example/b.png)",
    "[t](u) **b** __b__ *i* _i_ ~~s~~ `c` ``c``",
    "# heading",
    "## heading ##",
    "  # indented heading",
    "      indented code",
    "1. item",
    "12) item",
    "- item",
    "+ item",
    "* item",
    "= setext",
    "> quote",
    "***",
    "---",
    "```",
    "~~~",
    "[^1] [x]: http://e.example",
    "- [ ] task",
    "back\\slash at the end\\",
    "pipe | in a cell",
    "<b>html</b> &amp; &copy;",
    "Version #",
    "Version ## \t",
};

bool have_cmark() { return ::access("/usr/bin/cmark-gfm", X_OK) == 0; }

// cmark-gfm's HTML for a Markdown document, with GitHub's extensions.
std::string cmark(const std::string& markdown) {
  RunOptions o;
  o.input = markdown;
  auto r = run_command({"cmark-gfm", "-e", "table", "-e", "strikethrough", "-e", "autolink", "-e", "tasklist"}, o);
  EXPECT_TRUE(r && r->exit_code == 0);
  return r ? r->out : "";
}

// The text HTML shows: entities decoded, and a bare URL that GitHub makes a link
// to itself (its autolink extension) counted as its text.
std::string shown(const std::string& html) {
  std::string s = std::regex_replace(html, std::regex("<a href=\"([^\"]*)\">\\1</a>"), "$1");
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}})
    for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += std::string_view(to).size())
      s.replace(at, std::string_view(from).size(), to);
  return s;
}

}  // namespace

TEST(TextTableCsv, RegressionFormulaInjection) {
  EXPECT_EQ(csv_field("=1+2"), "\"'=1+2\"");
  EXPECT_EQ(csv_field("+5"), "\"'+5\"");
  EXPECT_EQ(csv_field("-2+3"), "\"'-2+3\"");
  EXPECT_EQ(csv_field("@SUM(A1:A2)"), "\"'@SUM(A1:A2)\"");
  EXPECT_EQ(csv_field("\t=1"), "\"'\t=1\"");
  EXPECT_EQ(csv_field("\r=1"), "\"'\r=1\"");
  EXPECT_EQ(csv_field("=HYPERLINK(\"http://x.example\",\"a,b\")"), "\"'=HYPERLINK(\"\"http://x.example\"\",\"\"a,b\"\")\"");
  // What no spreadsheet runs stays as it was.
  EXPECT_EQ(csv_field("-"), "-");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("5001-64500"), "5001-64500");
  EXPECT_EQ(csv_field("a=b"), "a=b");
  EXPECT_EQ(csv_field("a, b"), "\"a, b\"");
  EXPECT_EQ(csv_line({"=cmd", "ok"}), "\"'=cmd\",ok\r\n");
}

TEST(TextTableMarkdown, RegressionInlineSyntaxIsEscaped) {
  EXPECT_EQ(markdown_cell("Admin ![](https://x.example/b.png)"), "Admin \\!\\[\\](https://x.example/b.png)");
  EXPECT_EQ(markdown_cell("[t](u) **b** _i_ ~~s~~ `c`"), "\\[t\\](u) \\*\\*b\\*\\* \\_i\\_ \\~\\~s\\~\\~ \\`c\\`");
  EXPECT_EQ(markdown_cell("a | b \\ c"), "a \\| b \\\\ c");
  EXPECT_EQ(markdown_cell("<b> & &amp;"), "&lt;b&gt; &amp; &amp;amp;");
  EXPECT_EQ(markdown_cell("line\r\nbreak\nx"), "line<br>break<br>x");
  // Block syntax only where it counts: at the start (after blanks) and a heading's closing #s.
  EXPECT_EQ(markdown_cell("# heading"), "\\# heading");
  EXPECT_EQ(markdown_cell("  # heading"), "\\# heading");
  EXPECT_EQ(markdown_cell("+ a"), "\\+ a");
  EXPECT_EQ(markdown_cell("- a"), "\\- a");
  EXPECT_EQ(markdown_cell("= a"), "\\= a");
  EXPECT_EQ(markdown_cell("> a"), "&gt; a");
  EXPECT_EQ(markdown_cell("1. a"), "1\\. a");
  EXPECT_EQ(markdown_cell("123) a"), "123\\) a");
  EXPECT_EQ(markdown_cell("Version ##"), "Version \\##");
  EXPECT_EQ(markdown_cell("Version # "), "Version \\# ");
  EXPECT_EQ(markdown_cell("C#"), "C#");
  // Ordinary text stays readable.
  EXPECT_EQ(markdown_cell("5001-64500"), "5001-64500");
  EXPECT_EQ(markdown_cell("CMS HA peer (C# + F#), 10-20"), "CMS HA peer (C# + F#), 10-20");
  EXPECT_EQ(markdown_cell("tcp/udp: 49152-65535"), "tcp/udp: 49152-65535");
}

TEST(TextTableMarkdown, CmarkShowsEveryHostileTextAsWritten) {
  PM_REQUIRE(have_cmark(), "cmark-gfm is not installed (scripts/install-deps installs it)");
  // Where the reports put text: a table cell, the title, a note.
  const std::vector<std::pair<std::string, std::regex>> places = {
      {"| h |\n|---|\n| {} |\n", std::regex("<td>(.*)</td>")},
      {"# {}\n", std::regex("^<h1>(.*)</h1>\n$")},
      {"3. {}\n", std::regex("^<ol start=\"3\">\n<li>(.*)</li>\n</ol>\n$")},
  };
  for (const auto& text : kMarkdownHostile) {
    SCOPED_TRACE(text);
    const std::string expected = std::regex_replace(text, std::regex("^[ \t]+|[ \t]+$"), "");  // blanks around mean nothing
    for (const auto& [doc, shape] : places) {
      std::string md = doc;
      md.replace(md.find("{}"), 2, markdown_cell(text));
      const std::string html = cmark(md);
      std::smatch m;
      ASSERT_TRUE(std::regex_search(html, m, shape)) << md << html;
      EXPECT_EQ(shown(m[1].str()), expected) << md << html;
    }
  }
}

TEST(TextTablePrintable, NothingReachesTheTerminalThatCouldSteerOrDisguiseIt) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(printable("Admin\tterminal \xC3\xA9"), "Admin\tterminal \xC3\xA9");
  EXPECT_EQ(printable("a\x1b[2K\rb"), "a" + r + "[2K" + r + "b");
  EXPECT_EQ(printable("a\xC2\x9B" "2J"), "a" + r + "2J");           // C1 CSI
  EXPECT_EQ(printable("Admin\xE2\x80\xAE" "12345"), "Admin" + r + "12345");  // right-to-left override
  EXPECT_EQ(printable("x\xFFy"), "x" + r + "y");
}
