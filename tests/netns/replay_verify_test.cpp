// replay agrees with verify: verify's probes, recorded by tcpdump in the host's
// namespace while the firewall is off, replayed through the policy, get the
// verdicts the kernel gave them when it was on.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "portmatrix/backend.hpp"
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
  std::optional<Child> tcpdump;
  VerifyOptions vo;
  vo.switch_off = [&](const netns::Namespace& host) -> Status {
    if (auto e = host.check({"nft", "flush", "ruleset"})) return e;
    auto c = host.spawn({"tcpdump", "-i", "any", "-U", "-n", "-s", "200", "-w", cap});
    if (!c) return c.error();
    tcpdump = std::move(*c);
    // tcpdump opens its socket before it says so on stderr; give it a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return std::nullopt;
  };
  auto rep = verify_policy(lp.value->policy, *find_backend("nftables"), vo);
  ASSERT_TRUE(rep) << rep.error().message;
  ASSERT_TRUE(rep->ok()) << verify_table(*rep);
  ASSERT_TRUE(tcpdump);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  tcpdump->stop();

  std::map<std::tuple<std::string, int, std::string, int, int>, ReplayVerdict> seen;
  ReplayOptions ro;
  ro.on_connection = [&](const ReplayedConnection& r) {
    const Connection& c = *r.connection;
    seen[{c.src.to_string(), c.sport, c.dst.to_string(), c.dport, c.proto}] = r.verdict;
  };
  auto res = replay_captures(lp.value->policy, {cap}, ro);
  ASSERT_TRUE(res) << res.error().message;
  std::size_t compared = 0;
  for (const auto& r : rep->results) {
    const Probe& p = r.probe;
    auto it = seen.find({p.src.to_string(), p.sport, p.dst.to_string(), p.dport, p.protocol == Protocol::tcp ? 6 : 17});
    if (it == seen.end()) continue;
    ++compared;
    const ReplayVerdict want = r.connected ? ReplayVerdict::allow : ReplayVerdict::block;
    EXPECT_EQ(it->second, want) << p.describe() << " (" << p.kind << ")";
  }
  // Nearly every probe is in the capture (the first ones may race tcpdump's start).
  EXPECT_GT(compared, rep->results.size() * 9 / 10) << compared << " of " << rep->results.size();
  std::remove(cap.c_str());
}
