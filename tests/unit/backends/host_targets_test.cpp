// The host targets' rendering rules that need no kernel: iptables splits long
// port lists within multiport's limit and loads without flushing; firewalld keeps
// the policy's order in rich-rule priorities, reports what it approximates, and
// never starts outside a network namespace. (tests/netns/ proves both in the kernel.)
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "backends/backends.hpp"
#include "portmatrix/site.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

Policy case_policy(const std::string& name) {
  auto lp = load_policy("", pmtest::source_path("tests/golden/cases/" + name + ".yaml"));
  EXPECT_TRUE(lp);
  return lp ? lp.value->policy : Policy{};
}

Rule tcp_rule(std::string row, Direction d, PortSet dport, Action a, std::string iface = "") {
  Rule r;
  r.direction = d;
  r.iface = std::move(iface);
  r.protocol = Protocol::tcp;
  r.src = AddrSet::any();
  r.dst = AddrSet::any();
  r.sport = PortSet::full();
  r.dport = std::move(dport);
  r.action = a;
  r.row = std::move(row);
  return r;
}

std::string all_warnings(const Rendered& r) {
  std::string s;
  for (const auto& w : r.warnings.items()) s += w.message + "\n";
  return s;
}

}  // namespace

TEST(IptablesRender, LongPortListsSplitIntoMultiportGroupsOfFifteenSlots) {
  Policy p = case_policy("cms-all");
  PortSet many;
  for (int i = 0; i < 30; ++i) many.add(PortRange{std::uint16_t(5001 + 3 * i), std::uint16_t(5001 + 3 * i + (i % 2))});
  for (auto& r : p.rules)
    if (r.row == "spi") r.dport = many;
  const Rendered out = iptables_backend().compile(p);
  ASSERT_EQ(out.files.size(), 2u);
  for (const auto& f : out.files) {
    PortSet seen;
    std::istringstream in(f.content);
    std::smatch m;
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"spi\"") == std::string::npos) continue;
      ASSERT_TRUE(std::regex_search(line, m, std::regex("--dports? ([0-9:,]+)"))) << line;
      int slots = 0;
      std::istringstream items(m[1].str());
      for (std::string item; std::getline(items, item, ',');) {
        const auto colon = item.find(':');
        const int lo = std::stoi(item.substr(0, colon)), hi = colon == std::string::npos ? lo : std::stoi(item.substr(colon + 1));
        slots += lo == hi ? 1 : 2;
        seen.add(PortRange{std::uint16_t(lo), std::uint16_t(hi)});
      }
      EXPECT_LE(slots, 15) << line;
    }
    EXPECT_EQ(seen, many) << f.name;
  }
}

TEST(IptablesRender, LoadsWithoutFlushingOtherChains) {
  for (const auto& cmd : iptables_backend().load_commands())
    EXPECT_NE(std::find(cmd.begin(), cmd.end(), "--noflush"), cmd.end());
  for (const auto& f : iptables_backend().compile(case_policy("cms-default")).files) {
    // Only the tool's chains are declared (a declared chain is flushed), and the built-in ones are never touched.
    EXPECT_EQ(std::regex_replace(f.content, std::regex(":PORTMATRIX-(INPUT|OUTPUT) - \\[0:0\\]\n"), "").find("\n:"),
              std::string::npos);
    EXPECT_EQ(f.content.find("-A INPUT"), std::string::npos);
    EXPECT_EQ(f.content.find("-A OUTPUT"), std::string::npos);
  }
}

TEST(FirewalldRender, RichRulePrioritiesKeepThePolicyOrder) {
  // An accept for one port before a drop of every port: the accept must come first.
  Policy p;
  p.host_addresses.add(*parse_prefix("192.0.2.1"));
  p.rules = {tcp_rule("early", Direction::in, PortSet::single(22), Action::accept),
             tcp_rule("late", Direction::in, PortSet({{1, 1000}}), Action::drop)};
  p.rules[0].src = AddrSet();
  p.rules[0].src.add(*parse_prefix("198.51.100.0/24"));
  const Rendered out = firewalld_backend().compile(p);
  const std::string& zone = out.files.at(0).content;
  ASSERT_EQ(out.files.at(0).name, "zones/portmatrix.xml");
  const auto accept = zone.find("priority=\"-2\"><source address=\"198.51.100.0/24\"/><port port=\"22\" protocol=\"tcp\"/><accept/>");
  const auto drop = zone.find("priority=\"-1\"><port port=\"1-1000\" protocol=\"tcp\"/><drop/>");
  EXPECT_NE(accept, std::string::npos) << zone;
  EXPECT_NE(drop, std::string::npos) << zone;
}

TEST(FirewalldRender, ReportsWhatItApproximates) {
  const std::string w = all_warnings(firewalld_backend().compile(case_policy("cms-default")));
  EXPECT_NE(w.find("firewalld: row 'ssh': cannot match source ports together with destination ports; source ports "
                   "32768-65535 are not checked"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("allow-host-ipv6 also admits ICMPv6 redirects"), std::string::npos) << w;
  // A loopback closure behind an earlier accept on loopback cannot keep its place.
  Policy p;
  p.rules = {tcp_rule("open-lo", Direction::in, PortSet::single(6001), Action::accept, "lo"),
             tcp_rule("closed", Direction::in, PortSet::single(6001), Action::drop)};
  const Rendered out = firewalld_backend().compile(p);
  EXPECT_NE(all_warnings(out).find("firewalld: row 'closed': on loopback it applies before row 'open-lo'"), std::string::npos)
      << all_warnings(out);
  bool direct = false;
  for (const auto& f : out.files) direct |= f.name == "direct.xml" && f.content.find("-i lo -p tcp") != std::string::npos;
  EXPECT_TRUE(direct);
}

TEST(FirewalldRender, NeverStartsOutsideANamespace) {
  const Rendered r = firewalld_backend().compile(case_policy("cms-all"));
  auto loaded = firewalld_backend().load(r, -1);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, Error::Kind::unsupported);
}

TEST(FirewalldRender, InterfaceZoneNamesFitFirewalldsLimit) {
  Policy p = case_policy("cms-default");
  p.interfaces = {"enp0s31f6-long1", "enp0s31f6-long2"};
  for (const auto& f : firewalld_backend().compile(p).files) {
    if (f.name == "direct.xml") continue;
    const std::string stem = f.name.substr(f.name.find('/') + 1, f.name.rfind(".xml") - f.name.find('/') - 1);
    const std::size_t limit = f.name.rfind("zones/", 0) == 0 ? 17 : 18;
    EXPECT_LE(stem.size(), limit) << f.name;
  }
}

TEST(FirewalldRender, RegressionVlanInterfacesGiveNamesFirewalldAccepts) {
  // firewalld refuses a '.' in a zone or policy name, and with it the whole configuration.
  Policy p = case_policy("cms-default");
  const std::map<std::string, std::string> vlan = {{"eth0", "eth0.100"}, {"eth1", "enp0s31f6.1000"}};
  for (auto& i : p.interfaces) i = vlan.at(i);
  for (auto& r : p.rules)
    if (vlan.count(r.iface)) r.iface = vlan.at(r.iface);
  p.interfaces.push_back("enp0s31f6.1001");  // the same name up to firewalld's limit
  std::set<std::string> zones, policies, egress;
  std::string bound;
  for (const auto& f : firewalld_backend().compile(p).files) {
    if (f.name == "direct.xml") continue;
    const bool zone = f.name.rfind("zones/", 0) == 0;
    const std::string stem = f.name.substr(f.name.find('/') + 1, f.name.rfind(".xml") - f.name.find('/') - 1);
    // firewalld's check_name: letters, digits, '_', '-' ('/' is a path); 17 and 18 characters at most.
    EXPECT_TRUE(std::regex_match(stem, std::regex("[A-Za-z0-9_-]+"))) << f.name;
    EXPECT_LE(stem.size(), zone ? 17u : 18u) << f.name;
    EXPECT_NE(f.content.find("<short>" + stem + "</short>"), std::string::npos) << f.content;
    EXPECT_TRUE((zone ? zones : policies).insert(stem).second) << "two files named " << stem;
    std::smatch m;
    if (zone) bound += f.content;
    else if (std::regex_search(f.content, m, std::regex("<egress-zone name=\"([^\"]*)\"/>")) && m[1] != "ANY")
      egress.insert(m[1]);
  }
  EXPECT_EQ(zones.size(), 4u);
  EXPECT_EQ(policies.size(), 4u);
  EXPECT_EQ(egress.size(), 3u);
  for (const auto& z : egress) EXPECT_EQ(zones.count(z), 1u) << z;
  // The interfaces themselves keep their names.
  for (const char* i : {"eth0.100", "enp0s31f6.1000", "enp0s31f6.1001"})
    EXPECT_NE(bound.find(fmt::format("<interface name=\"{}\"/>", i)), std::string::npos) << i;
  EXPECT_NE(bound.find("<short>pm1-eth0_100</short>"), std::string::npos) << bound;
}

TEST(HostTargetsRender, RegressionLongRowIdsKeepDistinctComments) {
  // Two rows whose ids share their first 70 characters: an accept and a drop.
  const std::string common = "cms-r20-supervisor-and-reporting-clients-to-the-application-server-tls";
  ASSERT_EQ(common.size(), 70u);
  const std::string accept_id = common + "-accept", drop_id = common + "-drop";
  Policy p;
  p.rules = {tcp_rule(accept_id, Direction::in, PortSet::single(22), Action::accept),
             tcp_rule(drop_id, Direction::in, PortSet::single(23), Action::drop),
             tcp_rule("short", Direction::in, PortSet::single(24), Action::drop)};
  // The comment of the rule for each port, as written: nft `comment "X"`, iptables `--comment "X"`.
  auto comments = [](const std::string& text, const std::string& port_re) {
    std::set<std::string> found;
    std::smatch m;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (std::regex_search(line, m, std::regex("dport " + port_re + " .*comment \"([^\"]*)\""))) found.insert(m[1]);
    return found;
  };
  std::vector<std::string> texts = {nftables_backend().compile(p).files.at(0).content};
  for (const auto& f : iptables_backend().compile(p).files) texts.push_back(f.content);
  for (const auto& text : texts) {
    const auto a = comments(text, "22"), d = comments(text, "23");
    ASSERT_EQ(a.size(), 1u) << text;
    ASSERT_EQ(d.size(), 1u) << text;
    EXPECT_NE(*a.begin(), *d.begin()) << text;
    EXPECT_LE(a.begin()->size(), 64u);
    EXPECT_EQ(a.begin()->rfind(common.substr(0, 55), 0), 0u) << *a.begin();
    // Reading a comment back gives its row.
    EXPECT_EQ(row_of_comment(p, *a.begin()), accept_id);
    EXPECT_EQ(row_of_comment(p, *d.begin()), drop_id);
    EXPECT_EQ(comments(text, "24"), std::set<std::string>{"short"});
  }
  EXPECT_EQ(row_of_comment(p, "short"), "short");
  EXPECT_EQ(row_of_comment(p, "default"), "default") << "a comment of no row stays as it is";
  // Ids that fit stay whole; the shortened form is stable.
  EXPECT_EQ(row_comment(std::string(64, 'x')), std::string(64, 'x'));
  EXPECT_EQ(row_comment(std::string(65, 'x')).size(), 64u);
  EXPECT_EQ(row_comment(accept_id), row_comment(accept_id));
  EXPECT_NE(row_comment(accept_id, 20), row_comment(drop_id, 20));
}
