// replay agrees with verify: verify's probes, recorded by tcpdump in the host's
// namespace while the firewall is off, replayed through the policy, get the
// verdicts the kernel gave them when it was on.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "portmatrix/backend.hpp"
#include "portmatrix/engine.hpp"
#include "portmatrix/replay.hpp"
#include "portmatrix/site.hpp"
#include "portmatrix/verify.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

TEST(ReplayVerify, ReplayJudgesVerifysTrafficAsTheKernelDid) {
  PM_REQUIRE_ROOT();
  PM_REQUIRE(::access("/usr/bin/tcpdump", X_OK) == 0, "tcpdump is not installed");
  auto lp = load_policy("", "cms-site");
  ASSERT_TRUE(lp);
  const std::string cap = ::testing::TempDir() + "/verify-probes.pcap";
  const std::string log = ::testing::TempDir() + "/verify-probes.log";
  std::optional<Child> tcpdump;
  VerifyOptions vo;
  vo.switch_off = [&](const netns::Namespace& host) -> Status {
    if (auto e = host.check({"nft", "flush", "ruleset"})) return e;
    // Immediate mode: every packet reaches the file before tcpdump is stopped.
    auto c = host.spawn({"tcpdump", "-i", "any", "-U", "--immediate-mode", "-n", "-s", "200", "-w", cap}, "", log);
    if (!c) return c.error();
    tcpdump = std::move(*c);
    // tcpdump says "listening on" once its capture is open.
    if (pmtest::wait_for_text(log, "listening on", std::chrono::seconds(10))) return std::nullopt;
    return Error{Error::Kind::kernel, "tcpdump did not start"};
  };
  auto rep = verify_policy(lp.value->policy, *find_backend("nftables"), vo);
  ASSERT_TRUE(rep) << rep.error().message;
  ASSERT_TRUE(rep->ok()) << verify_table(*rep);
  ASSERT_TRUE(tcpdump);
  tcpdump->stop();

  using Tuple = std::tuple<std::string, int, std::string, int, int>;
  struct Seen {
    ReplayVerdict verdict;
    InitiatorSource initiator;
    int icmp_type;
  };
  std::map<Tuple, Seen> seen;
  ReplayOptions ro;
  ro.on_connection = [&](const ReplayedConnection& r) {
    const Connection& c = *r.connection;
    seen[{c.src.to_string(), c.sport, c.dst.to_string(), c.dport, c.proto}] = {r.verdict, c.initiator, c.icmp_type};
  };
  auto res = replay_captures(lp.value->policy, {cap}, ro);
  ASSERT_TRUE(res) << res.error().message;
  std::size_t compared = 0, reversed = 0;
  for (const auto& r : rep->results) {
    const Probe& p = r.probe;
    // Echo probes: the identifier is the one the kernel gave their ping socket,
    // which the probe does not know; each pair of addresses has one echo probe.
    if (!has_ports(p.protocol)) {
      const int icmp = p.protocol == Protocol::icmp ? 1 : 58;
      bool found = false;
      for (const auto& [t, s] : seen)
        if (std::get<0>(t) == p.src.to_string() && std::get<2>(t) == p.dst.to_string() && std::get<4>(t) == icmp &&
            s.icmp_type == (icmp == 1 ? 8 : 128)) {  // not neighbour discovery between the same addresses
          found = true;
          EXPECT_EQ(s.verdict, r.connected ? ReplayVerdict::allow : ReplayVerdict::block) << p.describe();
        }
      EXPECT_TRUE(found) << "not in the capture: " << p.describe();
      ++compared;
      continue;
    }
    const int proto = p.protocol == Protocol::tcp ? 6 : 17;
    auto it = seen.find({p.src.to_string(), p.sport, p.dst.to_string(), p.dport, proto});
    if (it == seen.end()) {
      // A UDP exchange between two ports no row names: replay infers the lower
      // port as the server (docs/replay.md), so it may be listed the other way
      // round, as inferred. Its verdict is then for the other direction.
      auto back = seen.find({p.dst.to_string(), p.dport, p.src.to_string(), p.sport, proto});
      ASSERT_NE(back, seen.end()) << "not in the capture: " << p.describe() << " (" << p.kind << ")";
      EXPECT_EQ(proto, 17) << p.describe();
      EXPECT_EQ(p.kind, "unlisted") << p.describe();
      EXPECT_LT(p.sport, p.dport) << p.describe() << ": the lower port is the one taken for the server";
      EXPECT_EQ(back->second.initiator, InitiatorSource::inferred) << p.describe();
      ++reversed;
      continue;
    }
    ++compared;
    const ReplayVerdict want = r.connected ? ReplayVerdict::allow : ReplayVerdict::block;
    EXPECT_EQ(it->second.verdict, want) << p.describe() << " (" << p.kind << ")";
  }
  // Every probe is in the capture (tcpdump was listening before the first);
  // nearly all are listed the way they were sent.
  EXPECT_EQ(compared + reversed, rep->results.size());
  EXPECT_GT(compared, rep->results.size() * 9 / 10) << compared << " of " << rep->results.size();
  std::remove(cap.c_str());
  std::remove(log.c_str());
}
