// verify end to end: the bundled matrix proven in the kernel with optional rows
// off and on, IPv4 and IPv6; a broken backend is caught; nothing is left behind.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/backends.hpp"
#include "portmatrix/site.hpp"
#include "portmatrix/verify.hpp"
#include "support/cli.hpp"
#include "support/proof.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

std::vector<std::string> our_namespaces(pid_t pid) {
  std::vector<std::string> out;
  std::string prefix = "pm" + std::to_string(pid) + "-";
  if (DIR* d = ::opendir("/run/netns")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0) out.push_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

VerifyReport run(const std::string& site) {
  auto lp = load_policy("", site);
  EXPECT_TRUE(lp) << (lp.diags.items().empty() ? "" : lp.diags.items()[0].format());
  auto rep = verify_policy(lp.value->policy, *find_backend("nftables"));
  EXPECT_TRUE(rep) << rep.error().message;
  return *rep;
}

void expect_proven(const VerifyReport& rep) {
  pmtest::expect_proven(rep);
  EXPECT_LT(rep.seconds, 60.0);
  EXPECT_TRUE(our_namespaces(::getpid()).empty());
}

// A hand-broken nftables ruleset: the compiled text with one edit (at its first
// place, or at every place).
class EditedRuleset final : public Backend {
 public:
  EditedRuleset(std::string from, std::string to, bool every = false)
      : from_(std::move(from)), to_(std::move(to)), every_(every) {}
  std::string_view name() const override { return "nftables"; }
  std::string_view summary() const override { return "broken on purpose"; }
  Capabilities capabilities() const override { return {}; }
  std::vector<std::vector<std::string>> load_commands() const override { return {{"nft", "-f", "-"}}; }

 protected:
  Rendered render(const Policy& p) const override {
    Rendered r = nftables_backend().compile(p);
    std::string& c = r.files[0].content;
    auto at = c.find(from_);
    if (at == std::string::npos) {
      ADD_FAILURE() << "the compiled ruleset has no '" << from_ << "':\n" << c;
      return r;
    }
    for (; at != std::string::npos; at = every_ ? c.find(from_, at + to_.size()) : std::string::npos)
      c.replace(at, from_.size(), to_);
    return r;
  }

 private:
  std::string from_, to_;
  bool every_;
};

// Runs verify on the example site with a hand-broken ruleset; returns the failed probes' kinds.
std::set<std::string> failed_kinds(const Backend& broken, const std::string& site = "cms-site") {
  auto lp = load_policy("", site);
  EXPECT_TRUE(lp);
  auto rep = verify_policy(lp.value->policy, broken);
  EXPECT_TRUE(rep) << rep.error().message;
  std::set<std::string> kinds;
  if (!rep) return kinds;
  EXPECT_FALSE(rep->ok()) << verify_table(*rep);
  EXPECT_EQ(rep->harness_failures, 0u) << verify_table(*rep);
  for (const auto& r : rep->results)
    if (!r.pass) kinds.insert(r.probe.kind);
  EXPECT_TRUE(our_namespaces(::getpid()).empty());
  return kinds;
}

}  // namespace

// A rule that opens one port beyond its row's range (50000-50001 becomes
// 50000-50002): only a probe just outside the range can see it.
TEST(Verify, CatchesARuleOnePortTooWide) {
  PM_REQUIRE_ROOT();
  EditedRuleset broken("tcp dport 50000-50001 ", "tcp dport 50000-50002 ");
  EXPECT_EQ(failed_kinds(broken), std::set<std::string>{"edge"});
}

// A rule that lost its source address: the row's port is open to every system.
TEST(Verify, CatchesARuleThatLostItsSourceAddress) {
  PM_REQUIRE_ROOT();
  EditedRuleset broken("ip saddr 203.0.113.30 ip daddr 192.0.2.1 ", "ip daddr 192.0.2.1 ");
  EXPECT_EQ(failed_kinds(broken), std::set<std::string>{"outsider"});
}

// The example site with `echo: true`, written to the test's temporary directory.
std::string echo_site() {
  std::ifstream in(pmtest::source_path("examples/cms-site.yaml"));
  std::stringstream text;
  text << in.rdbuf() << "echo: true\n";
  std::string path = ::testing::TempDir() + "/cms-echo-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << text.str();
  return path;
}

// ICMP was never probed: a ruleset that answered pings the site turned off, or
// ignored pings the site turned on, passed verify.
TEST(Verify, EchoIsProvenBothWays) {
  PM_REQUIRE_ROOT();
  std::string site = echo_site();
  auto on = run(site);
  expect_proven(on);
  std::set<std::pair<Protocol, bool>> answered;  // (icmp or icmpv6, from the host)
  for (const auto& r : on.results)
    if (r.probe.kind == "echo" && r.connected) answered.insert({r.probe.protocol, r.probe.from_host});
  EXPECT_EQ(answered.size(), 4u) << verify_table(on);
  auto off = run("cms-site");
  expect_proven(off);
  std::size_t blocked = 0;
  for (const auto& r : off.results) blocked += r.probe.kind == "echo-off" && !r.connected;
  EXPECT_GT(blocked, 10u);

  EditedRuleset answers("\t\tct state invalid counter drop comment \"invalid\"\n",
                        "\t\tct state invalid counter drop comment \"invalid\"\n\t\ticmp type echo-request accept\n");
  EXPECT_EQ(failed_kinds(answers), std::set<std::string>{"echo-off"});
  EditedRuleset ignores("\t\ticmpv6 type echo-request accept comment \"echo\"\n", "");
  EXPECT_EQ(failed_kinds(ignores, site), std::set<std::string>{"echo"});
  std::remove(site.c_str());
}

TEST(Verify, BundledExampleSite) {
  PM_REQUIRE_ROOT();
  auto rep = run("cms-site");
  expect_proven(rep);
  // The document's exceptions, seen in the kernel.
  bool telnet_local = false, telnet_remote_blocked = false, internal_closed = false;
  for (const auto& r : rep.results) {
    if (r.probe.row == "telnet" && r.probe.kind == "localhost") telnet_local |= r.connected;
    if (r.probe.row == "telnet" && r.probe.kind == "not-localhost") telnet_remote_blocked |= !r.connected;
    if (r.probe.row == "web-internal" && r.probe.src.is_loopback()) internal_closed |= !r.connected;
  }
  EXPECT_TRUE(telnet_local);
  EXPECT_TRUE(telnet_remote_blocked);
  EXPECT_TRUE(internal_closed);
}

TEST(Verify, OptionalRowsDisabledWithRejectDefault) {
  PM_REQUIRE_ROOT();
  auto rep = run(pmtest::source_path("tests/data/sites/cms-optional-off.yaml"));
  expect_proven(rep);
  bool refused = false;
  for (const auto& r : rep.results) refused |= r.detail == "refused";
  EXPECT_TRUE(refused) << "a reject default answers with resets and port-unreachables";
}

TEST(Verify, EveryRowEnabled) {
  PM_REQUIRE_ROOT();
  auto rep = run(pmtest::source_path("tests/golden/cases/cms-all.yaml"));
  expect_proven(rep);
  bool ha_both_ways = false, ha_reverse = false;
  for (const auto& r : rep.results) {
    if (r.probe.row == "ha-sync" && r.probe.kind == "allowed") ha_both_ways |= r.connected;
    if (r.probe.row == "ha-sync" && r.probe.kind == "reverse") ha_reverse |= r.connected;
  }
  EXPECT_TRUE(ha_both_ways && ha_reverse);
}

TEST(Verify, CatchesABackendThatOpensEveryPort) {
  PM_REQUIRE_ROOT();
  auto lp = load_policy("", "cms-site");
  ASSERT_TRUE(lp);
  // The bug the best-known generators shipped: a row's destination port is
  // lost, so its rules open every port.
  EditedRuleset broken("tcp dport 8443 ", "", true);
  auto rep = verify_policy(lp.value->policy, broken);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_FALSE(rep->ok());
  EXPECT_GT(rep->failures, 0u);
  bool named = false;
  for (const auto& r : rep->results)
    if (!r.pass) named |= r.problem.find("the kernel allowed it, the reference evaluator blocks it") != std::string::npos;
  EXPECT_TRUE(named) << verify_table(*rep);
  EXPECT_TRUE(our_namespaces(::getpid()).empty());
}

TEST(Verify, CliExitCodesAndJson) {
  PM_REQUIRE_ROOT();
  auto r = pmtest::pm({"verify", "--format", "json", "--no-ipv6"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_GT(j["summary"]["probes"].get<int>(), 50);
  for (const auto& p : j["probes"]) EXPECT_NE(p["src"].get<std::string>().find('.'), std::string::npos);
}

// Interrupted at several moments: while namespaces are being made (a child
// `ip netns add` half-way), while probes run on two workers, and later. The
// handler must reap its children before it removes their namespaces, and no
// worker may start another one once it has begun.
TEST(Verify, InterruptedRunLeavesNothingBehind) {
  PM_REQUIRE_ROOT();
  for (int delay_ms : {0, 3, 6, 10, 15, 20, 25, 30, 40, 60, 90, 160, 300, 600}) {
    SCOPED_TRACE(::testing::Message() << "interrupted " << delay_ms << " ms after its first namespace");
    auto child = Child::spawn({PM_BINARY, "verify", "--block-timeout", "3000", "--parallel", "2"});
    ASSERT_TRUE(child);
    pid_t pid = child->pid();
    for (int i = 0; i < 2000 && our_namespaces(pid).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_FALSE(our_namespaces(pid).empty()) << "verify did not start";
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    int status = child->stop(SIGINT, std::chrono::milliseconds(5000));
    EXPECT_EQ(status, -1) << "verify should end by the signal";
    EXPECT_EQ(our_namespaces(pid), std::vector<std::string>{});
  }
}
