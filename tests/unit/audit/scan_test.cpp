// The scanner's pure parts: port lists, states, the RTT estimator, expectations.
#include "portmatrix/scan.hpp"

#include <netinet/in.h>

#include <gtest/gtest.h>

#include "portmatrix/site.hpp"

using namespace portmatrix;
using namespace portmatrix::scan;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ScanPorts, ParsesListsRangesAndOpenEnds) {
  EXPECT_EQ(*parse_scan_ports("22").value, PortSet::single(22));
  EXPECT_EQ(*parse_scan_ports("22, 80,8000-8002").value, PortSet({{22, 22}, {80, 80}, {8000, 8002}}));
  EXPECT_EQ(*parse_scan_ports("-").value, PortSet({{1, 65535}}));
  EXPECT_EQ(*parse_scan_ports("1024-").value, PortSet({{1024, 65535}}));
  EXPECT_EQ(*parse_scan_ports("-100").value, PortSet({{1, 100}}));
  EXPECT_EQ(*parse_scan_ports("5-5,4").value, PortSet({{4, 5}}));
}

TEST(ScanPorts, ReportsEveryProblemWithItsColumn) {
  auto p = parse_scan_ports("0,70000,5-3,x,,22");
  EXPECT_FALSE(p);
  ASSERT_EQ(p.diags.error_count(), 5u);
  const auto& d = p.diags.items();
  EXPECT_EQ(d[0].loc.column, 1);
  EXPECT_NE(d[0].message.find("port 0"), std::string::npos);
  EXPECT_EQ(d[1].loc.column, 3);
  EXPECT_NE(d[1].message.find("out of range"), std::string::npos);
  EXPECT_EQ(d[2].loc.column, 9);
  EXPECT_NE(d[2].message.find("backwards"), std::string::npos);
  EXPECT_EQ(d[3].loc.column, 13);
  EXPECT_NE(d[4].message.find("empty"), std::string::npos);
  EXPECT_FALSE(parse_scan_ports(""));
  EXPECT_FALSE(parse_scan_ports("22,"));
  EXPECT_FALSE(parse_scan_ports("1-2-3"));
  EXPECT_FALSE(parse_scan_ports("123456"));
}

TEST(ScanState, NamesRoundTripAndConsistency) {
  for (auto s : {ScanState::open, ScanState::closed, ScanState::filtered, ScanState::open_filtered})
    EXPECT_EQ(parse_scan_state(to_string(s)), s);
  EXPECT_EQ(to_string(ScanState::open_filtered), "open|filtered");
  EXPECT_TRUE(consistent(ScanState::open_filtered, PortState::open));
  EXPECT_TRUE(consistent(ScanState::open_filtered, PortState::filtered));
  EXPECT_FALSE(consistent(ScanState::open_filtered, PortState::closed));
  EXPECT_FALSE(consistent(ScanState::closed, PortState::filtered));
  EXPECT_TRUE(consistent(ScanState::closed, PortState::closed));
}

TEST(RttEstimator, InitialTimeoutUntilFirstSample) {
  RttEstimator e(milliseconds(1000), milliseconds(100), milliseconds(3000));
  EXPECT_EQ(e.timeout(), milliseconds(1000));
  EXPECT_EQ(e.samples(), 0u);
}

TEST(RttEstimator, FollowsRfc6298) {
  RttEstimator e(milliseconds(1000), microseconds(1), milliseconds(10000));
  e.sample(milliseconds(100));
  EXPECT_EQ(e.srtt(), milliseconds(100));
  EXPECT_EQ(e.rttvar(), milliseconds(50));
  EXPECT_EQ(e.timeout(), milliseconds(300));  // srtt + 4 * rttvar
  e.sample(milliseconds(200));
  // rttvar = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; srtt = 7/8 * 100 + 1/8 * 200 = 112.5
  EXPECT_EQ(e.rttvar(), microseconds(62500));
  EXPECT_EQ(e.srtt(), microseconds(112500));
  EXPECT_EQ(e.timeout(), microseconds(112500 + 4 * 62500));
}

TEST(RttEstimator, ConvergesOnSteadyRttAndClamps) {
  RttEstimator e(milliseconds(1000), milliseconds(100), milliseconds(3000));
  for (int i = 0; i < 100; ++i) e.sample(microseconds(50));
  EXPECT_EQ(e.srtt(), microseconds(50));
  EXPECT_LT(e.rttvar(), microseconds(5));
  EXPECT_EQ(e.timeout(), milliseconds(100));  // the floor
  for (int i = 0; i < 100; ++i) e.sample(milliseconds(5000));
  EXPECT_EQ(e.timeout(), milliseconds(3000));  // the ceiling
}

TEST(ScanTarget, LiteralsResolveWithoutLookups) {
  auto v4 = resolve_target("192.0.2.7");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->addr, *parse_ip("192.0.2.7"));
  auto v6 = resolve_target("[2001:db8::7]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->addr, *parse_ip("2001:db8::7"));
  auto wrong = resolve_target("192.0.2.7", Family::ipv6);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, Error::Kind::input);
  sockaddr_storage ss{};
  EXPECT_EQ(to_sockaddr(*v6, 443, ss), sizeof(sockaddr_in6));
  EXPECT_EQ(ss.ss_family, AF_INET6);
}

namespace {
Policy cms_policy() {
  auto lp = load_policy("cms-r20", "cms-site");
  EXPECT_TRUE(lp) << (lp.diags.empty() ? "" : lp.diags.items()[0].format());
  return lp.value->policy;
}
}  // namespace

TEST(ScanExpect, FirewallOnFollowsTheEvaluator) {
  const Policy p = cms_policy();
  const IpAddr cms = *parse_ip("192.0.2.1"), admin = *parse_ip("198.51.100.5"), stranger = *parse_ip("203.0.113.200");
  auto ssh = expect(p, admin, cms, Protocol::tcp, 22, Firewall::on);
  ASSERT_TRUE(ssh) << ssh.error().message;
  EXPECT_EQ(ssh->state, PortState::open);
  EXPECT_EQ(ssh->row, "ssh");
  auto telnet = expect(p, admin, cms, Protocol::tcp, 23, Firewall::on);
  ASSERT_TRUE(telnet);
  EXPECT_NE(telnet->state, PortState::open);  // localhost only
  auto unknown = expect(p, stranger, cms, Protocol::tcp, 31337, Firewall::on);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->state, PortState::filtered);  // the site's default: drop
  EXPECT_EQ(unknown->row, "");
  // The target must be the host.
  EXPECT_FALSE(expect(p, admin, stranger, Protocol::tcp, 22, Firewall::on));
}

TEST(ScanExpect, FirewallOffOpensEveryListedPort) {
  const Policy p = cms_policy();
  const IpAddr cms = *parse_ip("192.0.2.1"), stranger = *parse_ip("203.0.113.200");
  auto telnet = expect(p, stranger, cms, Protocol::tcp, 23, Firewall::off);
  ASSERT_TRUE(telnet);
  EXPECT_EQ(telnet->state, PortState::open);
  EXPECT_EQ(telnet->row, "telnet");
  auto unlisted = expect(p, stranger, cms, Protocol::tcp, 31337, Firewall::off);
  ASSERT_TRUE(unlisted);
  EXPECT_FALSE(unlisted->state);
  const PortSet tcp = policy_ports(p, Protocol::tcp);
  EXPECT_TRUE(tcp.contains(22));
  EXPECT_TRUE(tcp.contains(23));
  EXPECT_FALSE(tcp.contains(0));
  EXPECT_FALSE(tcp.contains(31337));
}
