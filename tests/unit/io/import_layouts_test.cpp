// The three layout readers, layout detection, and what malformed input reports
// (severity, line and column).
#include <gtest/gtest.h>

#include "io/import/document.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/import.hpp"
#include "support/testing.hpp"

using namespace portmatrix;
using namespace portmatrix::importer;

namespace {

const std::string kHeader =
    "Source\t\tDestination\t\tNetwork / Application Protocol\tOptionally Enabled / Disabled?\tDefault Port "
    "State\tDescription\n"
    "System\tPort (Configurable Range)\tSystem\tPort (Configurable Range)\t\t\t\t\n";

Parsed<Matrix> import_text(const std::string& body, bool strict = false) {
  ImportOptions o;
  o.strict = strict;
  return import_table(kHeader + body, "t.txt", ImportFormat::text, o);
}

// The first diagnostic of the given severity, formatted.
std::string first(const Diagnostics& d, Severity s) {
  for (const auto& item : d.items())
    if (item.severity == s) return item.format();
  return "";
}

}  // namespace

TEST(ImportDetect, ByContentAndName) {
  EXPECT_EQ(detect_import_format("a\tb\tc\nd\te\tf\n", "x"), ImportFormat::text);
  EXPECT_EQ(detect_import_format("a,b,c\nd,e,f\n", "x"), ImportFormat::csv);
  EXPECT_EQ(detect_import_format("| a | b |\n|---|---|\n| 1 | 2 |\n", "x"), ImportFormat::markdown);
  EXPECT_EQ(detect_import_format("a\tb\tc\nd\te\tf\n", "table.csv"), ImportFormat::csv);
  EXPECT_EQ(detect_import_format("anything", "table.md"), ImportFormat::markdown);
  EXPECT_EQ(detect_import_format("just prose\n", "x"), std::nullopt);
  auto p = import_table("just prose\n", "x.txt");
  EXPECT_FALSE(p);
  EXPECT_NE(first(p.diags, Severity::error).find("cannot tell the layout"), std::string::npos);
}

TEST(ImportCsv, Rfc4180Cells) {
  Diagnostics d;
  auto doc = read_csv_layout("a,\"b, with comma\",\"say \"\"hi\"\"\"\r\n\"two\r\nlines\",x\r\nlast,\"\"", "t.csv", d);
  EXPECT_TRUE(d.empty());
  ASSERT_EQ(doc.records.size(), 3u);
  const auto& r0 = doc.records[0].cells;
  ASSERT_EQ(r0.size(), 3u);
  EXPECT_EQ(r0[1].text, "b, with comma");
  EXPECT_EQ(r0[1].loc.column, 4);  // after the opening quote
  EXPECT_EQ(r0[2].text, "say \"hi\"");
  const auto& r1 = doc.records[1];
  EXPECT_EQ(r1.loc.line, 2);
  EXPECT_EQ(r1.cells[0].text, "two\nlines");
  EXPECT_EQ(r1.cells[1].loc.line, 3);  // the quoted line break moved it to the next line
  EXPECT_EQ(r1.cells[1].loc.column, 8);
  EXPECT_EQ(doc.records[2].loc.line, 4);
  EXPECT_EQ(doc.records[2].cells[1].text, "");
}

TEST(ImportCsv, LoneCarriageReturnsEndLines) {
  Diagnostics d;
  auto doc = read_csv_layout("a,b\rc,d\r", "t.csv", d);
  ASSERT_EQ(doc.records.size(), 2u);
  EXPECT_EQ(doc.records[1].loc.line, 2);
  EXPECT_EQ(doc.records[1].cells[1].text, "d");
}

TEST(ImportCsv, MalformedQuotes) {
  Diagnostics d;
  read_csv_layout("a,b\nc,\"open\nstill open", "t.csv", d);
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.items()[0].format(), "t.csv:2:3: error: unterminated quoted cell: the closing '\"' is missing");

  Diagnostics d2;
  read_csv_layout("\"a\"x,b\n", "t.csv", d2);
  ASSERT_TRUE(d2.has_errors());
  EXPECT_EQ(d2.items()[0].loc.line, 1);
  EXPECT_EQ(d2.items()[0].loc.column, 4);

  Diagnostics d3;
  auto doc = read_csv_layout("a,b\"c\n", "t.csv", d3);
  EXPECT_FALSE(d3.has_errors());
  ASSERT_EQ(d3.items().size(), 1u);
  EXPECT_EQ(d3.items()[0].loc.column, 4);
  EXPECT_EQ(doc.records[0].cells[1].text, "b\"c");
}

TEST(ImportMarkdown, EscapedPipesAndLineBreaks) {
  Diagnostics d;
  auto doc = read_markdown_layout("# T\n\n| a | b \\| c | d<br>e |\n|---|---|---|\n|x|y\n", "t.md", d);
  EXPECT_TRUE(d.empty());
  ASSERT_EQ(doc.records.size(), 4u);
  EXPECT_EQ(doc.records[0].kind, Record::Kind::text);
  const auto& row = doc.records[2].cells;
  ASSERT_EQ(row.size(), 3u);
  EXPECT_EQ(row[1].text, "b | c");
  EXPECT_EQ(row[1].loc.column, 7);
  EXPECT_EQ(row[2].text, "d\ne");
  EXPECT_EQ(doc.records[3].loc.line, 5);  // the separator row is not a record
  EXPECT_EQ(doc.records[3].cells.size(), 2u);
}

// Regression: character references (which portmatrix's own Markdown output
// writes for '&', '<' and '>') stayed in the text, so "R&D lab" came back as a
// system named "R&amp;D lab"; code spans and bold markers stayed part of ports
// ("`443`" was not a port) and names ("**Recorder**").
TEST(ImportMarkdown, EntitiesCodeSpansAndBold) {
  Diagnostics d;
  auto doc = read_markdown_layout("| R&amp;D lab | `443` | **Recorder** | &lt;-&gt; | a &amp;lt; b | 2 \\* 3 |\n", "t.md", d);
  ASSERT_EQ(doc.records.size(), 1u);
  const auto& row = doc.records[0].cells;
  ASSERT_EQ(row.size(), 6u);
  EXPECT_EQ(row[0].text, "R&D lab");
  EXPECT_EQ(row[1].text, "443");
  EXPECT_EQ(row[1].loc.column, 18);  // the content, past the backtick
  EXPECT_EQ(row[2].text, "Recorder");
  EXPECT_EQ(row[3].text, "<->");
  EXPECT_EQ(row[4].text, "a &lt; b");
  EXPECT_EQ(row[5].text, "2 * 3");  // an escaped '*' is kept
}

TEST(ImportMarkdown, MissingSeparatorIsAWarning) {
  Diagnostics d;
  read_markdown_layout("| a | b |\n| 1 | 2 |\n", "t.md", d);
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].severity, Severity::warning);
  EXPECT_EQ(d.items()[0].loc.line, 1);
}

TEST(ImportText, BadCellsAreReportedAtLineAndColumn) {
  auto p = import_text("A\tEphemeral\tB\t70000\tTCP\tYes\tOpen\tx\nC\tEphemeral\tD\t80\tTCP\tPerhaps\tOpen\tx\n");
  EXPECT_FALSE(p);
  ASSERT_EQ(p.diags.error_count(), 2u);
  EXPECT_EQ(p.diags.items()[0].format(), "t.txt:3:15: error: port 70000 is outside 0-65535");
  EXPECT_EQ(p.diags.items()[1].format(), "t.txt:4:22: error: 'Perhaps' is not Yes or No");
}

TEST(ImportText, ShortRowsAndMissingHeaders) {
  auto p = import_text("A\tEphemeral\tB\n");
  EXPECT_FALSE(p);
  EXPECT_EQ(first(p.diags, Severity::error), "t.txt:3:1: error: the row has 3 cells but the table header (line 1) has 8 columns");

  auto none = import_table("Component\tInterface\tDescription\nX\tEth0\ty\n", "t.txt", ImportFormat::text);
  EXPECT_FALSE(none);
  EXPECT_NE(first(none.diags, Severity::error).find("no port table found"), std::string::npos);

  auto no_port = import_table("Source System\tSource Port\tDestination System\tProtocol\tOptional\n", "t.txt",
                              ImportFormat::text);
  EXPECT_FALSE(no_port);
  EXPECT_EQ(first(no_port.diags, Severity::error), "t.txt:1:1: error: the port table header has no destination port column");
}

namespace {
std::string all_diags(const Diagnostics& d) {
  std::string s;
  for (const auto& item : d.items()) s += item.format() + "\n";
  return s;
}

Parsed<Matrix> import_data(const char* path) {
  auto text = read_file(pmtest::source_path(path));
  EXPECT_TRUE(text) << path;
  return import_table(text ? *text : "", path, ImportFormat::automatic);
}
}  // namespace

// Regression: tables from vendors other than Avaya rarely have the source port,
// "optionally enabled" and default state columns, and name the listening port
// "Port(s)"; such a table was refused for lack of columns that have a default.
TEST(ImportCsv, OtherVendorTableWithoutOptionalColumns) {
  auto p = import_data("tests/data/import/other-vendor.csv");
  ASSERT_TRUE(p) << all_diags(p.diags);
  const Matrix& m = *p.value;
  ASSERT_EQ(m.flows.size(), 5u);
  const Flow& web = m.flows[0];
  EXPECT_EQ(web.sources, std::vector<std::string>{"Management workstation"});
  EXPECT_EQ(web.destinations, std::vector<std::string>{"Recorder"});
  EXPECT_EQ(web.destination_ports.to_string(), "443");
  EXPECT_EQ(web.source_ports.to_string(), "ephemeral");
  EXPECT_FALSE(web.optional);
  EXPECT_EQ(web.state, PortState::open);
  EXPECT_EQ(m.flows[1].protocols, (ProtocolSet{Protocol::tcp, Protocol::udp}));
  EXPECT_EQ(m.flows[1].application, "DNS");
  EXPECT_EQ(m.flows[3].destination_ports.to_string(), "445, 2049");
  // The service column names the application, unless the protocol cell does.
  EXPECT_EQ(web.application, "Admin console");
  EXPECT_EQ(web.id, "admin-console");
  EXPECT_EQ(m.flows[3].application, "SMB / NFS");
  EXPECT_FALSE(m.flows[2].symmetric);  // "→"
  EXPECT_TRUE(m.flows[4].symmetric);   // "Bidirectional"
  // The defaults are said, and a column that is not read is not passed over silently.
  std::string all = all_diags(p.diags);
  EXPECT_NE(all.find("other-vendor.csv:3:1: note: the port table header has no source port column"), std::string::npos)
      << all;
  EXPECT_NE(all.find("other-vendor.csv:3:67: warning: column 'Change ticket' is not one portmatrix reads"), std::string::npos) << all;
}

// Regression: a CSV file saved by a spreadsheet in a comma-decimal locale
// separates cells with ';'; every record was one cell, so no table was found.
TEST(ImportCsv, SemicolonSeparatedWithBomAndCrlf) {
  auto p = import_data("tests/data/import/other-vendor-semicolon.csv");
  ASSERT_TRUE(p) << all_diags(p.diags);
  const Matrix& m = *p.value;
  ASSERT_EQ(m.flows.size(), 3u);
  EXPECT_EQ(m.flows[0].description, "Admin console, HTTPS");
  EXPECT_EQ(m.flows[1].description, "Events; alarms");
  EXPECT_EQ(m.flows[1].protocols, ProtocolSet{Protocol::udp});
  EXPECT_EQ(m.flows[2].destination_ports.to_string(), "445, 2049");
  EXPECT_EQ(csv_separator("a,b,c\nd;e,f,g\n"), ',');
  EXPECT_EQ(csv_separator("a;b;\"c;d\"\n1;2, 3;4\n"), ';');
  EXPECT_EQ(detect_import_format("a;b;c\nd;e;f\n", "x"), ImportFormat::csv);
}

TEST(ImportText, UndefinedNoteIsAWarningAndAnErrorWhenStrict) {
  std::string body = "A\tEphemeral\tB\t80\tTCP/HTTP\tYes\tOpen\tSee Note 7.\n";
  auto p = import_text(body);
  ASSERT_TRUE(p);
  EXPECT_EQ(first(p.diags, Severity::warning), "t.txt:3:45: warning: the row refers to note 7, which the document does not define");
  EXPECT_EQ(p.value->flows[0].notes, std::vector<int>{7});
  auto strict = import_text(body, true);
  EXPECT_FALSE(strict);
  EXPECT_EQ(strict.diags.error_count(), 1u);
}

TEST(ImportText, StrayRowsAndExtraCellsAreNotDroppedSilently) {
  auto p = import_table("Before\tthe\ttable\n" + kHeader + "A\tEphemeral\tB\t80\tTCP\tYes\tOpen\tx\textra\n", "t.txt",
                        ImportFormat::text);
  ASSERT_TRUE(p);
  ASSERT_EQ(p.diags.items().size(), 2u);
  EXPECT_EQ(p.diags.items()[0].format(),
            "t.txt:1:1: warning: a table row outside any recognised table (no header row before it) is ignored");
  EXPECT_EQ(p.diags.items()[1].loc.line, 4);
  EXPECT_EQ(p.diags.items()[1].loc.column, 33);
}

TEST(ImportText, NotesGiveFactsAndConflictsAreErrors) {
  std::string notes =
      "\nNOTES:\n- 1 Telnet can be restricted to only localhost connections.\n"
      "- 2 When the firewall is activated, port 23 will be closed.\n"
      "- 3 Listener ports are configurable in the admin menu.\n";
  auto ok = import_text("A\tEphemeral (Note 3)\tB\t23\tTCP/Telnet\tNo (Note 1)\tOpen\tx\n" + notes);
  ASSERT_TRUE(ok);
  const Flow& f = ok.value->flows[0];
  EXPECT_EQ(f.when_firewalled, FirewallAction::localhost_only);
  EXPECT_TRUE(f.source_ports.configurable);  // note 3 cited in the source port cell
  EXPECT_FALSE(f.destination_ports.configurable);
  EXPECT_EQ(f.notes, (std::vector<int>{1, 3}));

  auto clash = import_text("A\tEphemeral\tB\t23\tTCP/Telnet\tNo (Note 1)\tOpen (Note 2)\tx\n" + notes);
  EXPECT_FALSE(clash);
  EXPECT_NE(first(clash.diags, Severity::error).find("different firewall behaviour"), std::string::npos);

  // Note 2 names port 23; a row on port 80 citing it does not get closed.
  auto other = import_text("A\tEphemeral\tB\t80\tTCP\tNo\tOpen\tSee note 2\n" + notes);
  ASSERT_TRUE(other);
  EXPECT_EQ(other.value->flows[0].when_firewalled, FirewallAction::allow);
  EXPECT_NE(first(other.diags, Severity::warning).find("names a port this row does not have"), std::string::npos);
}

TEST(ImportText, IdsAreUniqueAndValid) {
  auto p = import_text(
      "A\tEphemeral\tB\t22\tTCP/SSH\tNo\tOpen\tx\n"
      "C\tEphemeral\tD\t22\tTCP/SSH\tNo\tOpen\tx\n"
      "C\tEphemeral\tD\t2222\tTCP/SSH\tNo\tOpen\tx\n"
      "E\tEphemeral\tF G\t80\tTCP\tNo\tOpen\tx\n");
  ASSERT_TRUE(p) << first(p.diags, Severity::error);
  std::vector<std::string> ids;
  for (const auto& f : p.value->flows) ids.push_back(f.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"ssh", "ssh-d", "ssh-2", "f-g"}));
}

// Repeated ids take the next free "-N" for their base, skipping ones taken
// another way, exactly as the one-by-one search did.
TEST(ImportText, RepeatedIdsTakeTheNextFreeSuffix) {
  const std::string ssh = "C\tEphemeral\tD\t22\tTCP/SSH\tNo\tOpen\tx\n";
  const std::string ssh3 = "C\tEphemeral\tD\t23\tTCP/SSH-3\tNo\tOpen\tx\n";
  auto p = import_text(ssh + ssh + ssh3 + ssh + ssh + ssh + ssh3 + ssh3 + "A\tEphemeral\tD\t22\tTCP/SSH\tNo\tOpen\tx\n");
  ASSERT_TRUE(p) << first(p.diags, Severity::error);
  std::vector<std::string> ids;
  for (const auto& f : p.value->flows) ids.push_back(f.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"ssh", "ssh-c", "ssh-3", "ssh-2", "ssh-4", "ssh-5", "ssh-3-c", "ssh-3-2",
                                           "ssh-a"}));
}

// Thousands of rows with one base id: the suffix search must not start over
// at 2 for every row (4,000 rows took 6.9 s).
TEST(ImportText, ManyRowsWithOneBaseIdAreNumberedInOrder) {
  std::string body;
  const int n = 5000;
  for (int i = 0; i < n; ++i) body += "C\tEphemeral\tD\t" + std::to_string(1000 + i) + "\tTCP/SSH\tNo\tOpen\tx\n";
  auto p = import_text(body);
  ASSERT_TRUE(p) << first(p.diags, Severity::error);
  ASSERT_EQ(p.value->flows.size(), std::size_t(n));
  EXPECT_EQ(p.value->flows[0].id, "ssh");
  EXPECT_EQ(p.value->flows[1].id, "ssh-d");  // C and D are named equally often: C is taken for the product
  for (int i = 2; i < n; ++i) ASSERT_EQ(p.value->flows[std::size_t(i)].id, "ssh-" + std::to_string(i)) << i;
}

TEST(ImportText, PageFurnitureAndRepeatedHeadersBetweenRows) {
  std::string footer = "**Vendor - Confidential**\n";
  auto p = import_table(footer + kHeader + "A\tEphemeral\tB\t22\tTCP\tNo\tOpen\tx\n\n" + footer + "\n" + kHeader +
                            "A\tEphemeral\tB\t23\tTCP\tNo\tOpen\tx\n",
                        "t.txt", ImportFormat::text);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p.diags.empty());
  ASSERT_EQ(p.value->flows.size(), 2u);
  EXPECT_EQ(p.value->flows[1].origin.line, 10);
}

TEST(ImportText, ProseEndsTheTable) {
  auto p = import_text("A\tEphemeral\tB\t22\tTCP\tNo\tOpen\tx\nSome prose about the table.\n"
                       "A\tEphemeral\tB\t23\tTCP\tNo\tOpen\tx\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p.value->flows.size(), 1u);
  EXPECT_EQ(first(p.diags, Severity::warning).substr(0, 9), "t.txt:5:1");
}

TEST(ImportText, InputMustBeUtf8Text) {
  // Found by fuzz_import: such bytes came out of the YAML writer changed (tests/regression/import/).
  auto p = import_table(kHeader + "A\tEphemeral\tB\xdfo\t22\tTCP\tNo\tOpen\tx\nC\x01\tEphemeral\n", "t.txt",
                        ImportFormat::text);
  EXPECT_FALSE(p);
  ASSERT_EQ(p.diags.items().size(), 2u);
  EXPECT_EQ(p.diags.items()[0].format(),
            "t.txt:3:14: error: byte 0xDF is not UTF-8 text (a control character or an invalid UTF-8 sequence)");
  EXPECT_EQ(p.diags.items()[1].loc.line, 4);
  EXPECT_EQ(p.diags.items()[1].loc.column, 2);
  // Valid multi-byte text (an en dash, a BOM at the start) is fine.
  EXPECT_TRUE(import_table("\xEF\xBB\xBF" + kHeader + "A\tEphemeral\tB\t5001\u20135002\tTCP\tNo\tOpen\tx\n", "t.txt"));
}

TEST(ImportText, InvisibleCharactersAndBadOptionsAreRefused) {
  // Found by fuzz_import: import wrote matrices with U+FEFF, U+200B or U+202E in a
  // name, and its own matrix reader then refused them.
  auto p = import_table(kHeader + "A\tEphemeral\tB\xE2\x80\x8B\t22\tTCP\tNo\tOpen\tx\n", "t.txt", ImportFormat::text);
  EXPECT_FALSE(p);
  ASSERT_FALSE(p.diags.items().empty());
  EXPECT_EQ(p.diags.items()[0].format(),
            "t.txt:3:14: error: U+200B is an invisible character that changes how the text around it shows");
  std::string good = kHeader + "A\tEphemeral\tB\t22\tTCP\tNo\tOpen\tx\n";
  ASSERT_TRUE(import_table(good, "t.txt", ImportFormat::text));
  ImportOptions o;
  o.name = "a\nb";
  EXPECT_FALSE(import_table(good, "t.txt", ImportFormat::text, o));
  o = {};
  o.aliases = {{"CMS", "C\x01MS"}};
  auto q = import_table(good, "t.txt", ImportFormat::text, o);
  EXPECT_FALSE(q);
  ASSERT_FALSE(q.diags.items().empty());
  EXPECT_EQ(q.diags.items()[0].format(), "error: the system of alias 'CMS' contains the control character U+0001");
}

// Regression: a spreadsheet row with only its first cell filled ("Inbound to
// the gateway", a section label over the rows below it) ended the port table,
// so every row after it was dropped with a warning, and the import succeeded
// without them.
TEST(ImportCsv, SectionRowsInsideATable) {
  for (const char* path : {"tests/data/import/section-rows.csv", "tests/data/import/section-rows.md"}) {
    auto p = import_data(path);
    ASSERT_TRUE(p) << all_diags(p.diags);
    EXPECT_EQ(p.value->flows.size(), std::string_view(path).ends_with(".csv") ? 3u : 2u) << path;
    EXPECT_EQ(p.value->flows.back().destination_ports.to_string(), "514") << path;
    std::string all = all_diags(p.diags);
    EXPECT_EQ(all.find("warning"), std::string::npos) << all;
    EXPECT_NE(all.find("is read as a section label inside the port table"), std::string::npos) << all;
  }
  auto csv = import_data("tests/data/import/section-rows.csv");
  ASSERT_TRUE(csv);
  ASSERT_EQ(csv.value->notes.size(), 1u);  // "Notes" still ends the table
}

// Regression: a header with nothing under it (or only rows that were dropped
// with a warning) imported as a matrix without flows, exit 0.
TEST(ImportText, PortTableWithoutRowsIsAnError) {
  auto p = import_text("");
  EXPECT_FALSE(p);
  EXPECT_EQ(first(p.diags, Severity::error), "t.txt: error: the port table has no rows: nothing to import");
}

// Regression: a table naming its ends "From" and "To" was not found at all
// ("no port table found").
TEST(ImportMarkdown, FromAndToHeadings) {
  auto p = import_table("| From | To | To port | Protocol |\n|---|---|---|---|\n| Console | Gateway | 443 | TCP |\n"
                        "| Gateway | Syslog | 514 | UDP |\n",
                        "t.md", ImportFormat::markdown);
  ASSERT_TRUE(p) << all_diags(p.diags);
  ASSERT_EQ(p.value->flows.size(), 2u);
  EXPECT_EQ(p.value->flows[0].sources, std::vector<std::string>{"Console"});
  EXPECT_EQ(p.value->flows[0].destinations, std::vector<std::string>{"Gateway"});
  EXPECT_EQ(p.value->flows[1].destination_ports.to_string(), "514");
}

// An ID column keeps the table's ids, made valid: before the id column was
// read, they were ignored; taken as written, "FW-01" would fail check_matrix.
TEST(ImportMarkdown, IdColumnKeepsTheTablesIds) {
  auto p = import_table("| ID | From | To | Port | Protocol |\n|---|---|---|---|---|\n| FW-01 | A | B | 443 | TCP |\n"
                        "| Rule 7 | B | C | 514 | UDP |\n| | C | D | 22 | TCP |\n| ha_sync.v2 | D | E | 80 | TCP |\n",
                        "t.md", ImportFormat::markdown);
  ASSERT_TRUE(p) << all_diags(p.diags);
  ASSERT_EQ(p.value->flows.size(), 4u);
  EXPECT_EQ(p.value->flows[0].id, "fw-01");
  EXPECT_EQ(p.value->flows[1].id, "rule-7");
  EXPECT_EQ(p.value->flows[2].id, "d");  // none given: generated
  EXPECT_EQ(p.value->flows[3].id, "ha_sync.v2");
}

// Regression: footnote marks ("22¹", "7000 [3]") made the port cell an error
// ("'22¹' is not a port"), and footnotes under the table ("[1] text", "³ text")
// were prose, so the rows could not cite them.
TEST(ImportMarkdown, FootnoteMarksAndFootnotes) {
  auto p = import_data("tests/data/import/footnotes.md");
  ASSERT_TRUE(p) << all_diags(p.diags);
  const Matrix& m = *p.value;
  ASSERT_EQ(m.flows.size(), 3u);
  EXPECT_EQ(m.flows[0].destination_ports.to_string(), "22");
  EXPECT_EQ(m.flows[0].notes, (std::vector<int>{1, 2}));
  EXPECT_EQ(m.flows[0].description, "Shell [2]");  // the description is kept as written
  EXPECT_EQ(m.flows[1].destination_ports.to_string(), "7000 (configurable)");  // note 3's fact
  EXPECT_EQ(m.flows[2].notes, std::vector<int>{2});
  ASSERT_EQ(m.notes.size(), 3u);
  EXPECT_EQ(m.notes[2].text, "Port 7000 is configurable.");
  std::string all = all_diags(p.diags);
  EXPECT_EQ(all.find("warning"), std::string::npos) << all;
}

// Regression: a table without a protocol column, whose port cells name the
// transport ("TCP 443", "161/udp"), was refused ("no protocol column").
TEST(ImportMarkdown, PortCellsNamingTheTransport) {
  auto p = import_data("tests/data/import/port-with-transport.md");
  ASSERT_TRUE(p) << all_diags(p.diags);
  const Matrix& m = *p.value;
  ASSERT_EQ(m.flows.size(), 4u);
  EXPECT_EQ(m.flows[0].destination_ports.to_string(), "80, 443");
  EXPECT_EQ(m.flows[0].protocols, ProtocolSet{Protocol::tcp});
  EXPECT_EQ(m.flows[1].protocols, (ProtocolSet{Protocol::tcp, Protocol::udp}));
  EXPECT_EQ(m.flows[2].destination_ports.to_string(), "161");
  EXPECT_EQ(m.flows[2].protocols, ProtocolSet{Protocol::udp});
  EXPECT_EQ(m.flows[3].destination_ports.to_string(), "1433-1434");
  // Never a transport guessed or spread over ports it was not written for.
  // A "#" column numbers the rows: not worth a warning.
  auto numbered = import_table("| # | From | To | Port |\n|---|---|---|---|\n| 1 | A | B | TCP 22 |\n", "t.md",
                               ImportFormat::markdown);
  ASSERT_TRUE(numbered);
  EXPECT_EQ(first(numbered.diags, Severity::warning), "");
  auto mixed = import_table("| From | To | Port |\n|---|---|---|\n| A | B | TCP 80, UDP 53 |\n| A | C | 123 |\n", "t.md",
                            ImportFormat::markdown);
  EXPECT_FALSE(mixed);
  EXPECT_EQ(first(mixed.diags, Severity::error),
            "t.md:3:19: error: the items of this port cell name different transports: write one row per transport, "
            "or add a protocol column");
  EXPECT_EQ(mixed.diags.error_count(), 2u);
}
