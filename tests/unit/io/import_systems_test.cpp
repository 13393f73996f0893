// System-name normalisation and the note rules, with the reference document's cells.
#include <gtest/gtest.h>

#include "io/import/note_rules.hpp"
#include "io/import/systems.hpp"

using namespace portmatrix;
using namespace portmatrix::importer;

namespace {

std::vector<std::string> names(const SystemNames& n, std::string text) {
  Diagnostics d;
  auto c = n.interpret({std::move(text), {"t.txt", 1, 1}}, d);
  EXPECT_TRUE(c.has_value());
  std::vector<std::string> out;
  if (c)
    for (const auto& s : c->systems) out.push_back(s.name);
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST(ImportSystems, ReferenceCells) {
  SystemNames n;
  EXPECT_EQ(names(n, "Admin terminal, Avaya Supervisor, or SAL Gateway, SSH, SFTP"),
            (V{"Admin terminal", "Avaya Supervisor", "SAL Gateway", "SSH/SFTP client"}));
  EXPECT_EQ(names(n, "SNMP NMS SNMP SAL Gateway"), (V{"SNMP NMS", "SAL Gateway"}));
  EXPECT_EQ(names(n, "SNMP NMS\nSNMP SAL Gateway"), (V{"SNMP NMS", "SAL Gateway"}));
  EXPECT_EQ(names(n, "CMS internal Web"), V{"CMS"});
  EXPECT_EQ(names(n, "ODBC / JDBC Client"), V{"ODBC/JDBC Client"});
  EXPECT_EQ(names(n, "  Real-time   Connectors "), V{"Real-time Connectors"});
  EXPECT_EQ(names(n, "cms"), V{"CMS"});
}

TEST(ImportSystems, UnknownNamesAreKeptAsWritten) {
  SystemNames n;
  EXPECT_EQ(names(n, "Billing Gateway"), V{"Billing Gateway"});
  // Known names in a cell that has other words too are not split.
  EXPECT_EQ(names(n, "SNMP NMS Console"), V{"SNMP NMS Console"});
  EXPECT_EQ(names(n, "Netbackup (Master)"), V{"Netbackup (Master)"});
}

TEST(ImportSystems, PairQualifierNamesThePeer) {
  SystemNames n;
  Diagnostics d;
  auto c = n.interpret({"CMS (HA pair)", {"t.txt", 1, 1}}, d);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->systems.size(), 1u);
  EXPECT_EQ(c->systems[0].name, "CMS HA peer");
  EXPECT_EQ(c->systems[0].pair_of, "CMS");
}

TEST(ImportSystems, ExtraAliasesWin) {
  SystemNames n({{"SSH", "Jump host"}, {"Backup master", "Netbackup"}});
  EXPECT_EQ(names(n, "SSH, Backup master"), (V{"Jump host", "Netbackup"}));
}

TEST(ImportSystems, EmptyCellIsAnError) {
  SystemNames n;
  Diagnostics d;
  EXPECT_FALSE(n.interpret({" , ", {"t.txt", 4, 9}}, d));
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.items()[0].loc.line, 4);
  EXPECT_EQ(d.items()[0].loc.column, 9);
  // A spreadsheet's merged cell leaves the rows under its first one empty: say so.
  EXPECT_NE(d.items()[0].message.find("merged"), std::string::npos);
}

TEST(ImportNoteRules, ReferenceNotes) {
  auto effects = [](std::string_view text) {
    std::vector<NoteEffect> out;
    for (const auto& f : note_facts(text)) out.push_back(f.effect);
    return out;
  };
  using E = std::vector<NoteEffect>;
  EXPECT_EQ(effects("Supervisor requires port to be open, telnet can be restricted to only localhost connections."),
            E{NoteEffect::localhost_only});
  EXPECT_EQ(effects("Real-time connectors send streams of data from CMS to a specific port on the receiving server. "
                    "They data streams can be encrypted using the 'stunnel' open-source application."),
            E{});
  EXPECT_EQ(effects("ACD Ports are configured in CMS."), E{NoteEffect::configurable_port});
  EXPECT_EQ(effects("This is an offering from the Avaya CMS Connectors team and not part of standard CMS "
                    "configuration, any questions regarding these services should be directed to the Avaya CMS "
                    "Connectors team."),
            E{NoteEffect::addon});
  EXPECT_EQ(effects("This is covered under Avaya's Permissive Use Policy."), E{});
  auto six = note_facts("Port 6001 can be closed without impacting CMS Web operations. If CMS is used to activate "
                        "the internal firewall, port 6001 will be closed.");
  ASSERT_EQ(six.size(), 1u);
  EXPECT_EQ(six[0].effect, NoteEffect::closed_when_firewalled);
  EXPECT_EQ(six[0].ports, std::vector<std::uint16_t>{6001});
  // "closed" without the firewall is not the firewall closing it.
  EXPECT_EQ(effects("Port 6001 can be closed without impacting CMS Web operations."), E{});
}
