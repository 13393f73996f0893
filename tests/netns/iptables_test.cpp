// The iptables backend against the real kernel: every golden file passes
// iptables-restore --test and loads; reloading replaces only the tool's chains
// and keeps one hook; long port lists are split within multiport's limit; text
// from the matrix or site cannot change a rule; and verify proves every golden
// case with real packets, IPv4 and IPv6.
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "backends/backends.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/site.hpp"
#include "portmatrix/verify.hpp"
#include "support/cli.hpp"
#include "support/hostile.hpp"
#include "support/proof.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

const char* kCases[] = {"cms-default", "cms-all", "cms-minimal-reject"};

Policy policy_of(const std::string& site_path) {
  auto lp = load_policy("", site_path);
  EXPECT_TRUE(lp) << (lp.diags.items().empty() ? "" : lp.diags.items()[0].format());
  return lp ? lp.value->policy : Policy{};
}

Policy case_policy(const std::string& name) { return policy_of(pmtest::source_path("tests/golden/cases/" + name + ".yaml")); }

// iptables-save (or ip6tables-save) of the filter table without counters,
// comments and the lines that carry dates.
std::string saved(const netns::Namespace& ns, const char* tool, bool keep_comments = true) {
  auto r = ns.run({tool, "-t", "filter"});
  EXPECT_TRUE(r && r->exit_code == 0);
  std::string out;
  std::istringstream in(r ? r->out : "");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    line = std::regex_replace(line, std::regex(" \\[[0-9]+:[0-9]+\\]$"), "");
    if (!keep_comments) line = std::regex_replace(line, std::regex(" -m comment --comment (\"[^\"]*\"|[^ ]+)"), "");
    out += line + "\n";
  }
  return out;
}

std::size_t count_of(const std::string& text, const std::string& line) {
  std::size_t n = 0;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) n += l == line;
  return n;
}

// iptables output with one row's destination port lost: the rule opens every port.
class LosesDestinationPort final : public Backend {
 public:
  std::string_view name() const override { return "iptables"; }
  std::string_view summary() const override { return "broken on purpose"; }
  Capabilities capabilities() const override { return {}; }
  std::vector<std::vector<std::string>> load_commands() const override { return iptables_backend().load_commands(); }
  Expected<std::unique_ptr<LoadedRuleset>> load(const Rendered& r, int netns_fd) const override {
    return iptables_backend().load(r, netns_fd);
  }

 protected:
  Rendered render(const Policy& p) const override {
    Rendered r = iptables_backend().compile(p);
    for (auto& f : r.files) f.content = std::regex_replace(f.content, std::regex("--dport 8443 "), "");
    return r;
  }
};

}  // namespace

TEST(Iptables, GoldenFilesPassTheRestoreTestAndReloadInPlace) {
  PM_REQUIRE_ROOT();
  const Backend& b = iptables_backend();
  for (const char* c : kCases) {
    SCOPED_TRACE(c);
    auto ns = netns::Namespace::create(netns::unique_name("ipt"));
    ASSERT_TRUE(ns) << ns.error().message;
    Rendered r = b.compile(case_policy(c));
    ASSERT_EQ(r.files.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      RunOptions o;
      o.input = r.files[i].content;
      ASSERT_FALSE(ns->check({i == 0 ? "iptables-restore" : "ip6tables-restore", "--test", "--noflush"}, o));
    }
    ASSERT_TRUE(b.load(r, ns->fd()));
    const std::string first4 = saved(*ns, "iptables-save"), first6 = saved(*ns, "ip6tables-save");
    ASSERT_TRUE(b.load(r, ns->fd()));
    EXPECT_EQ(saved(*ns, "iptables-save"), first4) << "reloading must replace the chains, not add to them";
    EXPECT_EQ(saved(*ns, "ip6tables-save"), first6);
    for (const auto& text : {first4, first6}) {
      EXPECT_EQ(count_of(text, "-A INPUT -j PORTMATRIX-INPUT"), 1u) << text;
      EXPECT_EQ(count_of(text, "-A OUTPUT -j PORTMATRIX-OUTPUT"), 1u) << text;
    }
  }
}

TEST(Iptables, LoadingLeavesOtherRulesAlone) {
  PM_REQUIRE_ROOT();
  auto ns = netns::Namespace::create(netns::unique_name("ipt"));
  ASSERT_TRUE(ns);
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"iptables", "-A", "INPUT", "-p", "udp", "--dport", "9", "-j", "DROP"},
           {"iptables", "-N", "OTHER"},
           {"iptables", "-A", "OTHER", "-s", "203.0.113.9", "-j", "RETURN"},
           {"iptables", "-A", "OUTPUT", "-j", "OTHER"},
           {"iptables", "-t", "nat", "-A", "POSTROUTING", "-d", "198.51.100.9", "-j", "RETURN"},
           {"ip6tables", "-A", "INPUT", "-p", "udp", "--dport", "9", "-j", "DROP"}})
    ASSERT_FALSE(ns->check(argv));
  auto nat_before = ns->run({"iptables", "-t", "nat", "-S"});
  const std::string other4 = saved(*ns, "iptables-save"), other6 = saved(*ns, "ip6tables-save");
  Rendered r = iptables_backend().compile(case_policy("cms-default"));
  ASSERT_TRUE(iptables_backend().load(r, ns->fd()));
  ASSERT_TRUE(iptables_backend().load(r, ns->fd()));
  // What was there before is still there, in order, after the tool's lines are taken out.
  for (auto [tool, before] : {std::pair{"iptables-save", other4}, std::pair{"ip6tables-save", other6}}) {
    std::string kept;
    std::istringstream in(saved(*ns, tool));
    for (std::string l; std::getline(in, l);)
      if (l.find("PORTMATRIX") == std::string::npos) kept += l + "\n";
    EXPECT_EQ(kept, before) << tool;
  }
  EXPECT_EQ(ns->run({"iptables", "-t", "nat", "-S"})->out, nat_before->out);
  // The hooks come first, so the tool's policy is not bypassed by rules added earlier.
  auto input = ns->run({"iptables", "-S", "INPUT"});
  EXPECT_NE(input->out.find("-P INPUT ACCEPT\n-A INPUT -j PORTMATRIX-INPUT\n"), std::string::npos) << input->out;
}

TEST(Iptables, LongPortListsAreSplitWithinTheMultiportLimit) {
  PM_REQUIRE_ROOT();
  // 40 single ports and 3 ranges: more than one multiport match can hold.
  Policy p = case_policy("cms-all");
  PortSet many;
  for (int i = 0; i < 40; ++i) many.add(PortRange{std::uint16_t(5001 + 2 * i), std::uint16_t(5001 + 2 * i)});
  for (int i = 0; i < 3; ++i) many.add(PortRange{std::uint16_t(7000 + 100 * i), std::uint16_t(7050 + 100 * i)});
  for (auto& r : p.rules)
    if (r.row == "spi") r.dport = many;
  auto ns = netns::Namespace::create(netns::unique_name("ipt"));
  ASSERT_TRUE(ns);
  ASSERT_TRUE(iptables_backend().load(iptables_backend().compile(p), ns->fd()));
  for (const char* tool : {"iptables-save", "ip6tables-save"}) {
    SCOPED_TRACE(tool);
    PortSet seen;
    std::size_t lines = 0;
    std::istringstream in(saved(*ns, tool));
    std::smatch m;
    for (std::string l; std::getline(in, l);) {
      if (l.find("\"spi\"") == std::string::npos && l.find("comment spi ") == std::string::npos) continue;
      ++lines;
      ASSERT_TRUE(std::regex_search(l, m, std::regex("--dports? ([0-9:,]+)"))) << l;
      int slots = 0;
      std::string list = m[1];
      std::istringstream items(list);
      for (std::string item; std::getline(items, item, ',');) {
        auto colon = item.find(':');
        auto lo = std::stoi(item.substr(0, colon)), hi = colon == std::string::npos ? lo : std::stoi(item.substr(colon + 1));
        slots += lo == hi ? 1 : 2;
        seen.add(PortRange{std::uint16_t(lo), std::uint16_t(hi)});
      }
      EXPECT_LE(slots, 15) << l;
    }
    EXPECT_GE(lines, 3u);
    EXPECT_EQ(seen, many) << "the kernel's rules must name exactly the row's ports";
  }
}

TEST(Iptables, HostileTextCannotChangeRules) {
  PM_REQUIRE_ROOT();
  auto pair = pmtest::hostile_pair("cms-all");
  ASSERT_FALSE(pair.hostile.rules.empty());
  std::string results[2][2];
  const Policy* policies[2] = {&pair.plain.policy, &pair.hostile};
  for (int k = 0; k < 2; ++k) {
    auto ns = netns::Namespace::create(netns::unique_name("ipt"));
    ASSERT_TRUE(ns);
    Rendered r = iptables_backend().compile(*policies[k]);
    for (const auto& f : r.files)
      for (char c : f.content) ASSERT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << "control or non-ASCII byte in " << f.name;
    ASSERT_TRUE(iptables_backend().load(r, ns->fd()));
    results[k][0] = saved(*ns, "iptables-save", false);
    results[k][1] = saved(*ns, "ip6tables-save", false);
  }
  EXPECT_EQ(results[0][0], results[1][0]);
  EXPECT_EQ(results[0][1], results[1][1]);
}

TEST(Iptables, VerifyProvesEveryGoldenCase) {
  PM_REQUIRE_ROOT();
  for (const char* c : kCases) {
    SCOPED_TRACE(c);
    auto rep = verify_policy(case_policy(c), iptables_backend());
    ASSERT_TRUE(rep) << rep.error().message;
    EXPECT_EQ(rep->target, "iptables");
    pmtest::expect_proven(*rep);
  }
}

TEST(Iptables, VerifyCatchesARuleThatOpensEveryPort) {
  PM_REQUIRE_ROOT();
  LosesDestinationPort broken;
  auto rep = verify_policy(case_policy("cms-default"), broken);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_FALSE(rep->ok());
  bool named = false;
  for (const auto& r : rep->results)
    if (!r.pass) named |= r.problem.find("the kernel allowed it, the reference evaluator blocks it") != std::string::npos;
  EXPECT_TRUE(named) << verify_table(*rep);
}

TEST(Iptables, VerifyCli) {
  PM_REQUIRE_ROOT();
  auto r = pmtest::pm({"verify", "--target", "iptables", "--no-ipv4", "--site",
                       pmtest::source_path("tests/golden/cases/cms-all.yaml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verify (iptables):"), std::string::npos);
}
