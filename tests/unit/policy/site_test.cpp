#include "portmatrix/site.hpp"

#include <gtest/gtest.h>

#include "portmatrix/evaluate.hpp"
#include "portmatrix/matrix_io.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

const char* kSite = R"(portmatrix-site: 1
matrix: cms-r20
host: CMS
ephemeral: 32768-60999
systems:
  CMS: [192.0.2.1, 2001:db8::1]
  CM: [192.0.2.10]
  WebLM: [192.0.2.20, 2001:db8::20]
  Admin terminal: [198.51.100.0/24]
  Avaya Supervisor: [198.51.100.0/24]
  SAL Gateway: []
  SSH/SFTP client: any
  CMS Web User: [198.51.100.0/24]
  ODBC/JDBC Client: [203.0.113.30]
  Netbackup: [203.0.113.40]
  Network Time Server: [192.0.2.123]
  SNMP NMS: [203.0.113.50]
interfaces:
  eth0: [CM]
  eth1: [Admin terminal, CMS Web User]
flows:
  hp-printers: {enabled: false}
  spi: {destination_ports: [5001, 5002]}
logging: {dropped: true, rate: 10/minute}
default: drop
)";

Matrix cms() { return *load_matrix("cms-r20").value; }

Parsed<Policy> bind_text(const std::string& text) {
  auto s = read_site_yaml(text, "site.yaml");
  if (!s) {
    Parsed<Policy> p;
    p.diags = s.diags;
    return p;
  }
  auto p = bind_policy(cms(), *s.value);
  Diagnostics all = s.diags;
  all.append(p.diags);
  p.diags = all;
  return p;
}

std::string all_diags(const Diagnostics& d) {
  std::string s;
  for (const auto& x : d.items()) s += x.format() + "\n";
  return s;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

Verdict probe(const Policy& p, const char* src, const char* dst, std::uint16_t dport, Protocol proto = Protocol::tcp,
              std::uint16_t sport = 40000) {
  auto pkt = host_packet(p, *parse_ip(src), sport, *parse_ip(dst), dport, proto);
  EXPECT_TRUE(pkt) << pkt.error().message;
  return evaluate(p, *pkt);
}

}  // namespace

TEST(Site, BindsTheBundledExample) {
  auto lp = load_policy("", "");
  ASSERT_TRUE(lp) << all_diags(lp.diags);
  const Policy& p = lp.value->policy;
  EXPECT_EQ(p.matrix, "cms-r20");
  EXPECT_TRUE(p.find_row("hp-printers")->enabled);
  EXPECT_FALSE(p.find_row("ha-sync")->enabled);
  EXPECT_EQ(p.find_row("ha-sync")->reason, "add-on, not enabled by the site");
  EXPECT_TRUE(p.find_row("ssh")->enabled);
  EXPECT_EQ(p.find_row("spi")->dport, PortSet({{5001, 5002}}));
}

TEST(Site, StandardRowsAndTheDocumentsExceptions) {
  auto p = bind_text(kSite);
  ASSERT_TRUE(p) << all_diags(p.diags);
  const Policy& pol = *p.value;
  EXPECT_EQ(probe(pol, "203.0.113.99", "192.0.2.1", 22).row, "ssh");  // SSH/SFTP client: any
  EXPECT_EQ(probe(pol, "198.51.100.7", "192.0.2.1", 23).action, Action::drop);
  EXPECT_EQ(probe(pol, "127.0.0.1", "127.0.0.1", 23).row, "telnet");
  EXPECT_EQ(probe(pol, "::1", "::1", 23).row, "telnet");
  auto internal = probe(pol, "127.0.0.1", "127.0.0.1", 6001);
  EXPECT_EQ(internal.action, Action::drop);
  EXPECT_EQ(internal.row, "web-internal");
  EXPECT_EQ(probe(pol, "127.0.0.1", "127.0.0.1", 6001, Protocol::udp).row, "web-internal");
  EXPECT_EQ(probe(pol, "127.0.0.1", "127.0.0.1", 6002).stage, Stage::loopback);
  EXPECT_EQ(probe(pol, "198.51.100.7", "192.0.2.1", 8443).row, "web");
  EXPECT_EQ(probe(pol, "203.0.113.7", "192.0.2.1", 8443).action, Action::drop);
  EXPECT_EQ(probe(pol, "192.0.2.1", "192.0.2.10", 5002).row, "spi");
  EXPECT_EQ(probe(pol, "192.0.2.1", "192.0.2.10", 5003).action, Action::drop);
  EXPECT_EQ(probe(pol, "192.0.2.1", "192.0.2.123", 123, Protocol::udp).row, "ntp");
  EXPECT_EQ(probe(pol, "192.0.2.1", "192.0.2.123", 123, Protocol::tcp).action, Action::drop);
  EXPECT_EQ(probe(pol, "2001:db8::1", "2001:db8::20", 52233).row, "weblm");
  // Source ports outside the ephemeral range are not the row's.
  EXPECT_EQ(probe(pol, "203.0.113.99", "192.0.2.1", 22, Protocol::tcp, 1000).action, Action::drop);
  // Interfaces: CM is reached over eth0 only.
  auto pkt = *host_packet(pol, *parse_ip("192.0.2.1"), 40000, *parse_ip("192.0.2.10"), 5001, Protocol::tcp);
  EXPECT_EQ(pkt.iface, "eth0");
  pkt.iface = "eth1";
  EXPECT_EQ(evaluate(pol, pkt).action, Action::drop);
  EXPECT_FALSE(pol.find_row("hp-printers")->enabled);
  EXPECT_EQ(pol.find_row("hp-printers")->reason, "disabled by the site");
}

TEST(Site, SymmetricRowWorksBothWays) {
  auto text = replace(kSite, "  SNMP NMS: [203.0.113.50]\n", "  SNMP NMS: [203.0.113.50]\n  CMS HA peer: [192.0.2.2]\n");
  text = replace(text, "  hp-printers: {enabled: false}\n", "  ha-sync: {enabled: true}\n");
  auto p = bind_text(text);
  ASSERT_TRUE(p) << all_diags(p.diags);
  EXPECT_EQ(probe(*p.value, "192.0.2.1", "192.0.2.2", 3078, Protocol::tcp, 3077).row, "ha-sync");
  EXPECT_EQ(probe(*p.value, "192.0.2.2", "192.0.2.1", 3079, Protocol::tcp, 3079).row, "ha-sync");
  EXPECT_EQ(probe(*p.value, "192.0.2.2", "192.0.2.1", 3079, Protocol::tcp, 40000).action, Action::drop);
}

TEST(Site, ErrorsNameFileLineAndColumn) {
  auto p = bind_text(replace(kSite, "  CM: [192.0.2.10]", "  CM: [192.0.2.300]"));
  EXPECT_NE(all_diags(p.diags).find("site.yaml:7:8: error: system 'CM': '192.0.2.300' is not an IPv4 or IPv6 address"),
            std::string::npos)
      << all_diags(p.diags);
  p = bind_text(replace(kSite, "  spi: {", "  spy: {"));
  EXPECT_NE(all_diags(p.diags).find("site.yaml:23:3: error: unknown row id 'spy'"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "  CM: [192.0.2.10]", "  Cm: [192.0.2.10]"));
  EXPECT_NE(all_diags(p.diags).find("site.yaml:7:3: error: unknown system 'Cm'"), std::string::npos) << all_diags(p.diags);
  EXPECT_NE(all_diags(p.diags).find("needs the addresses of 'CM'"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "  WebLM: [192.0.2.20, 2001:db8::20]\n", ""));
  EXPECT_FALSE(p);
  EXPECT_NE(all_diags(p.diags).find("row 'weblm' is enabled and needs the addresses of 'WebLM'"), std::string::npos);
  p = bind_text(replace(kSite, "[5001, 5002]", "[5001, 70000]"));
  EXPECT_FALSE(p);
  EXPECT_NE(all_diags(p.diags).find("'70000' is not a port number"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "[5001, 5002]", "[4000, 5001]"));
  EXPECT_TRUE(p) << all_diags(p.diags);
  EXPECT_NE(all_diags(p.diags).find("warning: row 'spi': destination ports 4000, 5001 go beyond the matrix's 5001-64500"),
            std::string::npos)
      << all_diags(p.diags);
  p = bind_text(replace(kSite, "default: drop", "default: deny"));
  EXPECT_NE(all_diags(p.diags).find("'default' must be drop or reject"), std::string::npos);
  p = bind_text(replace(kSite, "rate: 10/minute", "rate: \"10/minute\\\"; accept\""));
  EXPECT_NE(all_diags(p.diags).find("'rate' must look like"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "  eth0: [CM]", "  \"eth0\\\" accept\": [CM]"));
  EXPECT_NE(all_diags(p.diags).find("not a valid interface name"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "host: CMS", "host: CMX"));
  EXPECT_NE(all_diags(p.diags).find("host 'CMX' is not a system"), std::string::npos);
  p = bind_text(replace(kSite, "  SSH/SFTP client: any", "  SSH/SFTP client: [any]"));
  EXPECT_NE(all_diags(p.diags).find("'any' stands alone"), std::string::npos);
}

TEST(Site, UnknownProtocolRowNeedsTheSiteToSay) {
  auto p = bind_text(replace(kSite, "flows:\n", "flows:\n  web-internal: {enabled: true}\n"));
  EXPECT_TRUE(p);  // closed when firewalled: no protocol needed, both are closed
  auto m = cms();
  for (auto& f : m.flows)
    if (f.id == "web-internal") f.when_firewalled = FirewallAction::allow;
  auto s = read_site_yaml(kSite, "site.yaml");
  auto q = bind_policy(m, *s.value);
  EXPECT_FALSE(q);
  EXPECT_NE(all_diags(q.diags).find("does not name its protocol"), std::string::npos);
}

TEST(Site, EveryErrorHasALine) {
  // A missing system, with no override for its row, points at the 'systems' key.
  auto p = bind_text(replace(kSite, "  WebLM: [192.0.2.20, 2001:db8::20]\n", ""));
  EXPECT_NE(all_diags(p.diags).find("site.yaml:5:1: error: row 'weblm' is enabled and needs the addresses of 'WebLM'"),
            std::string::npos)
      << all_diags(p.diags);
  for (const auto& d : p.diags.items()) EXPECT_GT(d.loc.line, 0) << d.format();
}

TEST(Site, RepeatedKeysAreErrorsInEveryMapping) {
  // The interfaces mapping has no fixed keys: a second eth0 used to replace the first silently.
  auto p = bind_text(replace(kSite, "  eth1: [Admin terminal", "  eth0: [Admin terminal"));
  EXPECT_FALSE(p);
  EXPECT_NE(all_diags(p.diags).find("site.yaml:20:3: error: duplicate key 'eth0'"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "  CM: [192.0.2.10]", "  CM: [192.0.2.10]\n  CM: [192.0.2.11]"));
  EXPECT_NE(all_diags(p.diags).find("site.yaml:8:3: error: duplicate key 'CM'"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "  spi: {destination_ports: [5001, 5002]}", "  spi: {enabled: true}\n  spi: {enabled: false}"));
  EXPECT_NE(all_diags(p.diags).find("duplicate key 'spi'"), std::string::npos) << all_diags(p.diags);
}

TEST(Site, InvisibleAndControlCharactersInNamesAreRefused) {
  // "CM" with a zero-width space reads as CM everywhere but is another system.
  auto p = bind_text(replace(kSite, "  CM: [192.0.2.10]", "  \"CM\\u200B\": any"));
  EXPECT_FALSE(p);
  EXPECT_NE(all_diags(p.diags).find("site.yaml:7:3: error: key contains U+200B"), std::string::npos) << all_diags(p.diags);
  p = bind_text(replace(kSite, "  CM: [192.0.2.10]", "  \"CM\\e[2K\\r\\nportmatrix: forged\": any"));
  EXPECT_FALSE(p);
  std::string d = all_diags(p.diags);
  EXPECT_EQ(std::count(d.begin(), d.end(), '\n'), static_cast<long>(p.diags.items().size())) << d;
  EXPECT_EQ(d.find('\x1b'), std::string::npos) << d;
}

TEST(Site, ProtocolsBeyondTheMatrixAreAWarning) {
  auto p = bind_text(replace(kSite, "spi: {destination_ports: [5001, 5002]}", "spi: {protocols: [udp]}"));
  EXPECT_TRUE(p) << all_diags(p.diags);
  EXPECT_NE(all_diags(p.diags).find("site.yaml:23:20: warning: row 'spi': protocols udp go beyond the matrix's (tcp)"),
            std::string::npos)
      << all_diags(p.diags);
  p = bind_text(replace(kSite, "flows:\n", "flows:\n  ntp: {protocols: [udp]}\n"));  // ntp is udp: narrowing, no warning
  EXPECT_TRUE(p) << all_diags(p.diags);
  EXPECT_EQ(all_diags(p.diags).find("go beyond"), std::string::npos) << all_diags(p.diags);
}

TEST(Site, AMissingMatrixIsReportedAtTheSitesMatrixLine) {
  pmtest::ScratchDir dir;
  std::string path = dir.write("site.yaml", replace(kSite, "matrix: cms-r20", "matrix: no-such-matrix.yaml"));
  auto p = load_policy("", path);
  EXPECT_FALSE(p);
  EXPECT_NE(all_diags(p.diags).find(path + ":2:9: error: "), std::string::npos) << all_diags(p.diags);
}
