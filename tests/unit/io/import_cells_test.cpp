// The cell interpreter, cell by cell, with the cells the reference document uses.
#include "io/import/cells.hpp"

#include <gtest/gtest.h>

using namespace portmatrix;
using namespace portmatrix::importer;

namespace {

Cell cell(std::string text, int line = 7, int column = 11) { return {std::move(text), {"t.txt", line, column}}; }

PortSpec ports(std::string text) {
  Diagnostics d;
  auto c = interpret_ports(cell(std::move(text)), d);
  EXPECT_TRUE(c.has_value());
  EXPECT_FALSE(d.has_errors());
  return c ? c->spec : PortSpec{};
}

PortSpec spec(std::vector<PortRange> r, bool ephemeral = false, bool configurable = false) {
  return PortSpec{PortSet(std::move(r)), ephemeral, configurable};
}

std::vector<int> ids(const std::vector<NoteRef>& refs) {
  std::vector<int> out;
  for (const auto& r : refs) out.push_back(r.id);
  return out;
}

}  // namespace

TEST(ImportPorts, ReferenceCells) {
  EXPECT_EQ(ports("Ephemeral"), spec({}, true));
  EXPECT_EQ(ports("22"), spec({{22, 22}}));
  EXPECT_EQ(ports("1556/13724"), spec({{1556, 1556}, {13724, 13724}}));
  EXPECT_EQ(ports("50000, 50001"), spec({{50000, 50001}}));
  EXPECT_EQ(ports("3077,3078, 3079"), spec({{3077, 3079}}));
  EXPECT_EQ(ports("5001-64500"), spec({{5001, 64500}}));
  EXPECT_EQ(ports("5001\u201364500"), spec({{5001, 64500}}));  // en dash
  EXPECT_EQ(ports("5001 \u2014 64500"), spec({{5001, 64500}}));  // em dash with spaces
  EXPECT_EQ(ports("6000 to 7000"), spec({{6000, 7000}}));
  EXPECT_EQ(ports("22, Ephemeral"), spec({{22, 22}}, true));
  EXPECT_EQ(ports("Any"), spec({{0, 65535}}));
  EXPECT_EQ(ports("443 (C)"), spec({{443, 443}}, false, true));
  EXPECT_EQ(ports("443(c), 8443"), spec({{443, 443}, {8443, 8443}}, false, true));
  EXPECT_EQ(ports("0"), spec({{0, 0}}));
  EXPECT_EQ(ports("65535"), spec({{65535, 65535}}));
}

// Regression: "49152+" (that port and every one above), as vendors write the
// high ports, was refused as "not a port".
TEST(ImportPorts, PortAndAbove) {
  EXPECT_EQ(ports("49152+"), spec({{49152, 65535}}));
  EXPECT_EQ(ports("22, 1024+"), spec({{22, 22}, {1024, 65535}}));
  Diagnostics d;
  EXPECT_FALSE(interpret_ports(cell("70000+"), d));
  EXPECT_FALSE(interpret_ports(cell("+"), d));
  ASSERT_EQ(d.items().size(), 2u);
  EXPECT_NE(d.items()[0].message.find("outside 0-65535"), std::string::npos);
}

TEST(ImportPorts, NoteReferencesAreTakenOutAndLocated) {
  Diagnostics d;
  auto c = interpret_ports(cell("6001 (Note 6)", 90, 20), d);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->spec, spec({{6001, 6001}}));
  ASSERT_EQ(c->notes.size(), 1u);
  EXPECT_EQ(c->notes[0].id, 6);
  EXPECT_EQ(c->notes[0].loc.line, 90);
  EXPECT_EQ(c->notes[0].loc.column, 20 + 11);  // the '6' after "Note "
}

TEST(ImportPorts, NotGivenIsEmptyWithADiagnostic) {
  for (std::string text : {"NA", "N/A", ""}) {
    Diagnostics d;
    auto c = interpret_ports(cell(text), d);
    ASSERT_TRUE(c) << text;
    EXPECT_TRUE(c->spec.empty()) << text;
    EXPECT_FALSE(d.has_errors()) << text;
    EXPECT_FALSE(d.empty()) << text;
  }
}

TEST(ImportPorts, BadCellsAreErrorsAtTheirColumn) {
  struct Case {
    std::string text;
    int column;  // of the offending item, cell starting at column 11
    std::string message_part;
  };
  for (const auto& c : std::vector<Case>{{"22, 70000", 15, "outside 0-65535"},
                                         {"https", 11, "is not a port"},
                                         {"9000-8000", 11, "reversed"},
                                         {"22, 23-x", 15, "not a port range"},
                                         {"Ephemeral, 1e3", 22, "is not a port"}}) {
    Diagnostics d;
    EXPECT_FALSE(interpret_ports(cell(c.text), d)) << c.text;
    ASSERT_EQ(d.items().size(), 1u) << c.text;
    const auto& diag = d.items()[0];
    EXPECT_EQ(diag.severity, Severity::error);
    EXPECT_EQ(diag.loc.line, 7);
    EXPECT_EQ(diag.loc.column, c.column) << c.text;
    EXPECT_NE(diag.message.find(c.message_part), std::string::npos) << diag.message;
  }
}

namespace {
// Each cell's transports and application, read without a diagnostic.
struct ProtocolCase {
  std::string text;
  ProtocolSet protocols;
  std::string application;
};
void expect_protocols(const std::vector<ProtocolCase>& cases) {
  for (const auto& c : cases) {
    Diagnostics d;
    auto p = interpret_protocols(cell(c.text), d);
    ASSERT_TRUE(p) << c.text;
    EXPECT_EQ(p->protocols, c.protocols) << c.text;
    EXPECT_EQ(p->application, c.application) << c.text;
    EXPECT_TRUE(d.empty()) << c.text;
  }
}
}  // namespace

TEST(ImportProtocols, ReferenceCells) {
  expect_protocols({{"TCP", {Protocol::tcp}, ""},
                    {"UDP/NTP", {Protocol::udp}, "NTP"},
                    {"TCP/UDP", {Protocol::tcp, Protocol::udp}, ""},
                    {"TCP/ SNMP Trap", {Protocol::tcp}, "SNMP Trap"},
                    {"TCP/SSH/SFTP", {Protocol::tcp}, "SSH/SFTP"},
                    {"TCP/SPI (Proprietary)", {Protocol::tcp}, "SPI (Proprietary)"},
                    {"TCP/HTTPS", {Protocol::tcp}, "HTTPS"},
                    {"TCP & UDP / Syslog", {Protocol::tcp, Protocol::udp}, "Syslog"},
                    {"ICMP", {Protocol::icmp}, ""}});
}

// Regression: a transport followed by words in the same part ("UDP (DNS)") ended
// the transport list there, so "TCP/UDP (DNS)" imported as tcp only, silently
// losing UDP, and "TCP (HTTPS)" lost its only transport.
TEST(ImportProtocols, TransportFollowedByApplicationInOnePart) {
  expect_protocols({{"TCP/UDP (DNS)", {Protocol::tcp, Protocol::udp}, "DNS"},
                    {"tcp/udp 53", {Protocol::tcp, Protocol::udp}, "53"},
                    {"TCP (HTTPS)", {Protocol::tcp}, "HTTPS"},
                    {"TCP HTTPS/REST", {Protocol::tcp}, "HTTPS/REST"},
                    {"ICMP (ping)", {Protocol::icmp}, "ping"},
                    {"TCP, UDP Syslog", {Protocol::tcp, Protocol::udp}, "Syslog"},
                    {"TCP+UDP", {Protocol::tcp, Protocol::udp}, ""},
                    {"TCP or UDP", {Protocol::tcp, Protocol::udp}, ""}});
}

TEST(ImportProtocols, TransportInsideTheApplicationIsAWarning) {
  Diagnostics d;
  auto p = interpret_protocols(cell("TCP (UDP for discovery)"), d);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->protocols, ProtocolSet{Protocol::tcp});
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].severity, Severity::warning);
  EXPECT_NE(d.items()[0].message.find("names udp after the application starts"), std::string::npos);
}

TEST(ImportProtocols, NaIsUnknownNeverGuessed) {
  Diagnostics d;
  auto p = interpret_protocols(cell("NA"), d);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->protocols.unknown());
  EXPECT_EQ(p->application, "");
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].severity, Severity::note);
}

TEST(ImportProtocols, NoTransportIsAWarning) {
  Diagnostics d;
  auto p = interpret_protocols(cell("HTTPS"), d);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->protocols.unknown());
  EXPECT_EQ(p->application, "HTTPS");
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].severity, Severity::warning);
  EXPECT_EQ(d.items()[0].loc.column, 11);
}

TEST(ImportYesNo, WithNotes) {
  Diagnostics d;
  auto no = interpret_yes_no(cell("No (Note 1)"), d);
  ASSERT_TRUE(no);
  EXPECT_FALSE(no->value);
  EXPECT_EQ(ids(no->notes), std::vector<int>{1});
  auto yes = interpret_yes_no(cell("yes"), d);
  ASSERT_TRUE(yes);
  EXPECT_TRUE(yes->value);
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(interpret_yes_no(cell("  Maybe"), d));
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].loc.column, 13);
}

TEST(ImportState, WithNotes) {
  Diagnostics d;
  auto open = interpret_state(cell("Open (Note 1)"), d);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->state, PortState::open);
  EXPECT_EQ(ids(open->notes), std::vector<int>{1});
  EXPECT_EQ(interpret_state(cell("Filtered"), d)->state, PortState::filtered);
  EXPECT_EQ(interpret_state(cell("CLOSED"), d)->state, PortState::closed);
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(interpret_state(cell("Half-open"), d));
  EXPECT_TRUE(d.has_errors());
}

TEST(ImportNoteRefs, InDescriptions) {
  EXPECT_EQ(ids(cell_note_refs(cell("Used for ACD1-ACD8 connections to the CM. See Note 3."))), std::vector<int>{3});
  EXPECT_EQ(ids(cell_note_refs(cell("Used to keep system time current. See note 5"))), std::vector<int>{5});
  EXPECT_EQ(ids(cell_note_refs(cell("See Notes 2, 4."))), (std::vector<int>{2, 4}));
  EXPECT_EQ(ids(cell_note_refs(cell("(notes 2 and 7)"))), (std::vector<int>{2, 7}));
  EXPECT_TRUE(cell_note_refs(cell("Release notes and a notebook; 3 notes")).empty());
  auto spans = find_note_refs("6001 (Note 6)");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].begin, 5u);  // the whole "(Note 6)"
  EXPECT_EQ(spans[0].end, 13u);
}

TEST(ImportInterfaces, LowerCaseNames) {
  EXPECT_EQ(interpret_interfaces(cell("Eth0")), std::vector<std::string>{"eth0"});
  EXPECT_EQ(interpret_interfaces(cell("Eth1-3")), std::vector<std::string>{"eth1-3"});
  EXPECT_EQ(interpret_interfaces(cell("eth0, Eth1")), (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_TRUE(interpret_interfaces(cell("")).empty());
}

TEST(ImportDirection, BothWaysOneWayAndErrors) {
  Diagnostics d;
  for (const char* both : {"Bidirectional", "both", "<->", "\xE2\x86\x94"}) EXPECT_EQ(interpret_direction(cell(both), d), true) << both;
  for (const char* one : {"Inbound", "outbound", "->", "\xE2\x86\x92", ""}) EXPECT_EQ(interpret_direction(cell(one), d), false) << one;
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(interpret_direction(cell("<-"), d));
  EXPECT_FALSE(interpret_direction(cell("  sideways"), d));
  ASSERT_EQ(d.items().size(), 2u);
  EXPECT_NE(d.items()[0].message.find("put the system that starts the connection under Source"), std::string::npos);
  EXPECT_EQ(d.items()[1].loc.column, 13);
}

TEST(ImportNoteRefs, FootnoteMarksAreLocated) {
  Diagnostics d;
  auto c = interpret_ports(cell("22\xC2\xB9, 80 [12], 443\xE2\x81\xB4\xC2\xB2"), d);
  ASSERT_TRUE(c);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(c->spec.to_string(), "22, 80, 443");
  EXPECT_EQ(ids(c->notes), (std::vector<int>{1, 12, 42}));
  EXPECT_EQ(c->notes[0].loc.column, 13);  // the mark right after "22"
  EXPECT_EQ(c->notes[1].loc.column, 21);  // the number inside "[12]" (columns count bytes)
  EXPECT_FALSE(footnote_mark("[x]", 0));
  EXPECT_FALSE(footnote_mark("[1", 0));
}
