#include "portmatrix/matrix_io.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include "portmatrix/bundled.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {
Matrix bundled_cms() {
  auto p = load_matrix("cms-r20");
  for (const auto& d : p.diags.items()) ADD_FAILURE() << d.format();
  EXPECT_TRUE(p.value);
  return *p.value;
}

std::string first_error(const Parsed<Matrix>& p) {
  for (const auto& d : p.diags.items())
    if (d.severity == Severity::error) return d.format();
  return "";
}

const char* kMinimal = R"(portmatrix: 1
name: t
systems:
  - name: A
  - name: B
flows:
  - id: f
    sources: [A]
    destinations: [B]
    destination_ports: [22]
    protocols: [tcp]
)";
}  // namespace

TEST(MatrixIo, BundledCmsR20HasTheDocumentsRows) {
  Matrix m = bundled_cms();
  EXPECT_EQ(m.name, "cms-r20");
  ASSERT_EQ(m.flows.size(), 15u);
  ASSERT_EQ(m.notes.size(), 6u);
  const char* ids[] = {"ssh", "telnet", "weblm", "web-internal", "web", "odbc-jdbc", "netbackup", "spi",
                       "ntp", "snmp-trap", "hp-printers", "ha-sync", "ech", "rt-connectors", "hist-connectors"};
  for (std::size_t i = 0; i < 15; ++i) EXPECT_EQ(m.flows[i].id, ids[i]);
  const Flow* telnet = m.find_flow("telnet");
  EXPECT_EQ(telnet->when_firewalled, FirewallAction::localhost_only);
  EXPECT_EQ(telnet->destination_ports.ports, PortSet::single(23));
  const Flow* web_internal = m.find_flow("web-internal");
  EXPECT_TRUE(web_internal->protocols.unknown());
  EXPECT_EQ(web_internal->when_firewalled, FirewallAction::closed);
  const Flow* spi = m.find_flow("spi");
  EXPECT_TRUE(spi->destination_ports.configurable);
  EXPECT_EQ(spi->destination_ports.ports, PortSet({{5001, 64500}}));
  const Flow* ha = m.find_flow("ha-sync");
  EXPECT_TRUE(ha->symmetric);
  EXPECT_TRUE(ha->addon);
  EXPECT_EQ(ha->source_ports.ports, PortSet({{3077, 3079}}));
  EXPECT_FALSE(ha->source_ports.ephemeral);
  const Flow* ech = m.find_flow("ech");
  EXPECT_TRUE(ech->source_ports.ephemeral);
  EXPECT_TRUE(ech->source_ports.ports.contains(22));
  const Flow* hp = m.find_flow("hp-printers");
  EXPECT_TRUE(hp->protocols.has(Protocol::tcp));
  EXPECT_TRUE(hp->protocols.has(Protocol::udp));
  EXPECT_EQ(m.find_flow("snmp-trap")->destinations, (std::vector<std::string>{"SNMP NMS", "SAL Gateway"}));
  EXPECT_EQ(m.find_flow("rt-connectors")->notes, (std::vector<int>{2, 4}));
  int addons = 0;
  for (const auto& f : m.flows) addons += f.addon;
  EXPECT_EQ(addons, 5);
}

TEST(MatrixIo, RoundTripIsLosslessAndStable) {
  Matrix m = bundled_cms();
  std::string once = write_matrix_yaml(m);
  auto back = read_matrix_yaml(once, "roundtrip.yaml");
  ASSERT_TRUE(back) << first_error(back);
  ASSERT_EQ(back.value->flows.size(), m.flows.size());
  for (std::size_t i = 0; i < m.flows.size(); ++i) {
    EXPECT_TRUE(back.value->flows[i].same_facts(m.flows[i])) << m.flows[i].id;
    EXPECT_EQ(back.value->flows[i].id, m.flows[i].id);
    EXPECT_EQ(back.value->flows[i].description, m.flows[i].description);
  }
  EXPECT_EQ(back.value->systems, m.systems);
  EXPECT_EQ(back.value->components, m.components);
  EXPECT_EQ(back.value->notes, m.notes);
  EXPECT_EQ(write_matrix_yaml(*back.value), once);
}

TEST(MatrixIo, HostileStringsRoundTrip) {
  auto p = read_matrix_yaml(kMinimal, "t.yaml");
  ASSERT_TRUE(p) << first_error(p);
  Matrix m = *p.value;
  const std::string nasty[] = {"yes", "no", "null", "~", "123", "0x1F", "- item", "a: b", "#comment", "'q'", "\"dq\"",
                               "line1\nline2", "tab\there", "{x}", "[y]", "&anchor", "*alias", "!tag", "%pct", "@at",
                               "`tick`", "日本語", " leading", "trailing ", ""};
  for (const auto& s : nasty) {
    m.flows[0].description = s;
    m.flows[0].application = s;
    m.title = s;
    auto back = read_matrix_yaml(write_matrix_yaml(m), "t.yaml");
    ASSERT_TRUE(back) << "'" << s << "': " << first_error(back);
    EXPECT_EQ(back.value->flows[0].description, s);
    EXPECT_EQ(back.value->flows[0].application, s);
    EXPECT_EQ(back.value->title, s);
  }
}

TEST(MatrixIo, ErrorsCarryLineAndColumn) {
  std::string text = kMinimal;
  text += "    colour: blue\n";
  auto p = read_matrix_yaml(text, "bad.yaml");
  EXPECT_FALSE(p);
  EXPECT_EQ(first_error(p).rfind("bad.yaml:12:5: error: flow: unknown key 'colour'", 0), 0u) << first_error(p);
}

TEST(MatrixIo, ReportsEveryProblemNotJustTheFirst) {
  std::string text = kMinimal;
  text.replace(text.find("[22]"), 4, "[70000, 30-20, ssh]");
  text.replace(text.find("[tcp]"), 5, "[tcp, sctp]");
  auto p = read_matrix_yaml(text, "bad.yaml");
  EXPECT_FALSE(p);
  EXPECT_EQ(p.diags.error_count(), 4u);
  std::string all;
  for (const auto& d : p.diags.items()) all += d.format() + "\n";
  EXPECT_NE(all.find("bad.yaml:10:25: error: 'destination_ports': port '70000' is outside 0-65535"), std::string::npos) << all;
  EXPECT_NE(all.find("reversed port range '30-20'"), std::string::npos) << all;
  EXPECT_NE(all.find("'ssh' is not a port"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown protocol 'sctp'"), std::string::npos) << all;
}

TEST(MatrixIo, LenientValuesBecomeWarnings) {
  std::string text = kMinimal;
  text.replace(text.find("[22]"), 4, "[22, 70000]");
  MatrixReadOptions o;
  o.lenient_values = true;
  auto p = read_matrix_yaml(text, "bad.yaml", o);
  ASSERT_TRUE(p);
  ASSERT_EQ(p.diags.items().size(), 1u);
  EXPECT_EQ(p.diags.items()[0].code, "port-range");
  EXPECT_EQ(p.value->flows[0].destination_ports.ports, PortSet::single(22));
}

TEST(MatrixIo, StructuralErrors) {
  EXPECT_NE(first_error(read_matrix_yaml("portmatrix: 2\nname: x\nflows: []\n", "v.yaml")).find("version 2"), std::string::npos);
  EXPECT_NE(first_error(read_matrix_yaml("name: x\nflows: []\n", "v.yaml")).find("missing required key 'portmatrix'"),
            std::string::npos);
  EXPECT_NE(first_error(read_matrix_yaml("portmatrix: 1\nname: [x\n", "v.yaml")).find("v.yaml:"), std::string::npos);
  EXPECT_NE(first_error(read_matrix_yaml("- a\n- b\n", "v.yaml")).find("must be a mapping"), std::string::npos);
  std::string undeclared = kMinimal;
  undeclared.replace(undeclared.find("sources: [A]"), 12, "sources: [Z]");
  EXPECT_NE(first_error(read_matrix_yaml(undeclared, "v.yaml")).find("names system 'Z'"), std::string::npos);
  std::string dup = std::string(kMinimal) + "  - id: f\n    sources: [A]\n    destinations: [B]\n    destination_ports: [23]\n    protocols: [tcp]\n";
  EXPECT_NE(first_error(read_matrix_yaml(dup, "v.yaml")).find("flow id 'f' is used twice"), std::string::npos);
  std::string dupkey = std::string(kMinimal) + "    id: g\n";
  EXPECT_NE(first_error(read_matrix_yaml(dupkey, "v.yaml")).find("duplicate key 'id'"), std::string::npos);
}

TEST(MatrixIo, JsonShape) {
  std::string j = write_matrix_json(bundled_cms());
  EXPECT_NE(j.find("\"destination_ports\": {\n        \"ranges\": [\n          [\n            5001,\n            64500"),
            std::string::npos);
  EXPECT_NE(j.find("\"when_firewalled\": \"localhost-only\""), std::string::npos);
}

TEST(MatrixIo, LoadMatrixReportsUnknownNames) {
  auto p = load_matrix("no-such-matrix");
  EXPECT_FALSE(p);
  EXPECT_NE(first_error(p).find("bundled: cms-r20"), std::string::npos);
  EXPECT_EQ(bundled_matrix_names(), std::vector<std::string>{"cms-r20"});
}

TEST(MatrixIo, TextMustBePlainText) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string t = kMinimal;
    t.replace(t.find(from), from.size(), to);
    return first_error(read_matrix_yaml(t, "v.yaml"));
  };
  EXPECT_EQ(with("  - name: B", "  - name: \"B\\u202E\""), "v.yaml:5:11: error: 'name' contains U+202E, an invisible "
                                                            "character that changes how the text around it shows");
  EXPECT_EQ(with("  - name: B", "  - name: \"B\\e[8m\""), "v.yaml:5:11: error: 'name' contains the control character U+001B");
  EXPECT_EQ(with("  - name: B", "  - name: \"B\\nC\""), "v.yaml:5:11: error: 'name' contains a line break (only "
                                                        "descriptions and notes may)");
  EXPECT_EQ(with("  - name: B", "  - name: \"\xff\""), "v.yaml:5:11: error: 'name' is not UTF-8 text (byte 0xFF at byte 1)");
  EXPECT_EQ(with("sources: [A]", "sources: [\"A\\t\"]"), "v.yaml:8:15: error: 'sources' contains a tab (only "
                                                          "descriptions and notes may)");
  // Descriptions may have several lines; the C1 control U+009B (a terminal's CSI) is refused there too.
  EXPECT_EQ(with("  - name: B", "  - name: B\n    description: \"two\\nlines\\tand a tab\""), "");
  EXPECT_EQ(with("  - name: B", "  - name: B\n    description: \"x\\u009B2J\""),
            "v.yaml:6:18: error: 'description' contains the control character U+009B");
}

TEST(MatrixIo, EveryErrorHasALine) {
  std::string t = std::string(kMinimal);
  t.replace(t.find("  - name: B"), 11, "  - name: A");
  auto p = read_matrix_yaml(t + "notes:\n  - {id: 1, text: a}\n  - {id: 1, text: b}\n", "v.yaml");
  std::string all;
  for (const auto& d : p.diags.items()) all += d.format() + "\n";
  EXPECT_NE(all.find("v.yaml:5:5: error: system 'A' is declared twice"), std::string::npos) << all;
  EXPECT_NE(all.find("v.yaml:14:5: error: note 1 is declared twice"), std::string::npos) << all;
  for (const auto& d : p.diags.items()) EXPECT_GT(d.loc.line, 0) << d.format();
}

TEST(MatrixIo, AnAliasBombIsRefusedNotExpanded) {
  // Nine levels of nine aliases: 387 million nodes if expanded.
  std::string t = "portmatrix: 1\nname: t\nflows: []\nx0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    t += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) t += (k ? ", *a" : "*a") + std::to_string(i - 1);
    t += "]\n";
  }
  auto p = read_matrix_yaml(t, "bomb.yaml");
  EXPECT_FALSE(p);
  EXPECT_NE(first_error(p).find("more than 1000000 nodes"), std::string::npos) << first_error(p);
}

TEST(MatrixIo, ABundledNameIsNeverShadowedByAFile) {
  // A file named cms-r20 in the current directory used to replace the bundled matrix.
  pmtest::ScratchDir dir;
  dir.write("cms-r20", kMinimal);
  char old[4096];
  ASSERT_NE(::getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  auto bundled = load_matrix("cms-r20");
  auto local = load_matrix("./cms-r20");
  EXPECT_EQ(::chdir(old), 0);
  ASSERT_TRUE(bundled);
  EXPECT_EQ(bundled.value->flows.size(), 15u);
  ASSERT_TRUE(local);
  EXPECT_EQ(local.value->name, "t");
}

TEST(MatrixIo, AVeryLongIdIsCheckedWithoutRecursion) {
  // std::regex recursed once per character and overflowed the stack at some 30,000.
  std::string t = kMinimal;
  t.replace(t.find("id: f"), 5, "id: " + std::string(200000, 'a'));
  auto p = read_matrix_yaml(t, "v.yaml");
  EXPECT_TRUE(p) << first_error(p);
  t.replace(t.find("id: a"), 5, "id: A");
  EXPECT_NE(first_error(read_matrix_yaml(t, "v.yaml")).find("must be lower-case letters"), std::string::npos);
}

TEST(MatrixIo, NoteNumbersDoNotWrap) {
  // static_cast<int> turned note 4294967297 into note 1.
  std::string t = std::string(kMinimal) + "    notes: [4294967297]\nnotes:\n  - {id: 1, text: a}\n";
  EXPECT_EQ(first_error(read_matrix_yaml(t, "v.yaml")),
            "v.yaml:12:13: error: 'notes': note numbers run from 0 to 2147483647, found 4294967297");
  t = std::string(kMinimal) + "notes:\n  - {id: -3, text: a}\n";
  EXPECT_NE(first_error(read_matrix_yaml(t, "v.yaml")).find("found -3"), std::string::npos);
}

TEST(MatrixIo, ANulByteIsNamedWhereItIs) {
  // A NUL among the first bytes made yaml-cpp decode the file as UTF-16.
  using namespace std::string_literals;
  EXPECT_EQ(first_error(read_matrix_yaml("\0portmatrix: 1\n"s, "v.yaml")), "v.yaml:1:1: error: a NUL byte: YAML files are text (UTF-8)");
  EXPECT_EQ(first_error(read_matrix_yaml("portmatrix: 1\nname: a\0b\n"s, "v.yaml")),
            "v.yaml:2:8: error: a NUL byte: YAML files are text (UTF-8)");
}

TEST(MatrixIo, AQuotedTextMustBeClosed) {
  // yaml-cpp read `title: "hi` + line break at the end of the file as "hi ".
  EXPECT_EQ(first_error(read_matrix_yaml("portmatrix: 1\ntitle: \"hi\n", "v.yaml")),
            "v.yaml:2:8: error: quoted text without its closing \"");
  EXPECT_EQ(first_error(read_matrix_yaml("portmatrix: 1\ntitle: 'it''s\n\n", "v.yaml")),
            "v.yaml:2:8: error: quoted text without its closing '");
  EXPECT_EQ(first_error(read_matrix_yaml("portmatrix: 1\n\"title: x\n", "v.yaml")),
            "v.yaml:2:1: error: quoted text without its closing \"");
  // After a byte order mark (yaml-cpp's marks count from after it).
  EXPECT_EQ(first_error(read_matrix_yaml("\xEF\xBB\xBFportmatrix: 1\ntitle: 'a\n", "v.yaml")),
            "v.yaml:2:8: error: quoted text without its closing '");
  EXPECT_TRUE(read_matrix_yaml("\xEF\xBB\xBF" + std::string(kMinimal) + "title: '\"'\n", "v.yaml"));
  // Closed ones, with escaped quotes, quotes in block scalars and in aliases, read as before.
  std::string t = std::string(kMinimal) + "title: \"a \\\" b\"\nnotes:\n  - {id: 1, text: &t 'it''s \"x'}\n" +
                  "  - id: 2\n    text: |\n      a \" and a '\n  - {id: 3, text: *t}\n";
  auto m = read_matrix_yaml(t, "v.yaml");
  ASSERT_TRUE(m) << first_error(m);
  EXPECT_EQ(m.value->title, "a \" b");
  EXPECT_EQ(m.value->notes.at(0).text, "it's \"x");
  EXPECT_EQ(m.value->notes.at(1).text, "a \" and a '\n");
}
