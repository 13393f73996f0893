#include "portmatrix/evaluate.hpp"

#include <gtest/gtest.h>

using namespace portmatrix;

namespace {
Packet tcp_in(const char* src, const char* dst, std::uint16_t dport) {
  Packet p;
  p.direction = Direction::in;
  p.iface = "eth0";
  p.src = *parse_ip(src);
  p.dst = *parse_ip(dst);
  p.protocol = Protocol::tcp;
  p.sport = 50000;
  p.dport = dport;
  return p;
}
Policy ssh_policy() {
  Policy pol;
  Rule r;
  r.direction = Direction::in;
  r.protocol = Protocol::tcp;
  r.src.add(*parse_prefix("198.51.100.0/24"));
  r.dst = AddrSet::any();
  r.sport = PortSet::full();
  r.dport = PortSet::single(22);
  r.row = "ssh";
  pol.rules.push_back(r);
  return pol;
}
}  // namespace

TEST(Evaluate, FirstMatchingRuleDecides) {
  auto pol = ssh_policy();
  auto v = evaluate(pol, tcp_in("198.51.100.5", "192.0.2.1", 22));
  EXPECT_EQ(v.action, Action::accept);
  EXPECT_EQ(v.stage, Stage::rule);
  EXPECT_EQ(v.row, "ssh");
  EXPECT_EQ(v.rule, 0);
}

TEST(Evaluate, UnmatchedGetsDefault) {
  auto pol = ssh_policy();
  pol.default_action = Action::reject;
  auto v = evaluate(pol, tcp_in("203.0.113.5", "192.0.2.1", 22));
  EXPECT_EQ(v.action, Action::reject);
  EXPECT_EQ(v.stage, Stage::default_);
  EXPECT_EQ(evaluate(pol, tcp_in("198.51.100.5", "192.0.2.1", 23)).stage, Stage::default_);
}

TEST(Evaluate, FrameOrder) {
  auto pol = ssh_policy();
  auto p = tcp_in("203.0.113.5", "192.0.2.1", 80);
  p.ct = CtState::established;
  EXPECT_EQ(evaluate(pol, p).stage, Stage::conntrack);
  p.ct = CtState::invalid;
  EXPECT_EQ(evaluate(pol, p).action, Action::drop);
  p.ct = CtState::new_;
  p.iface = "lo";
  EXPECT_EQ(evaluate(pol, p).stage, Stage::loopback);
  Packet ns = tcp_in("2001:db8::1", "2001:db8::2", 0);
  ns.protocol = Protocol::icmpv6;
  ns.icmp_type = 135;
  EXPECT_EQ(evaluate(pol, ns).stage, Stage::neighbour_discovery);
  // Multicast listener discovery too (the kernel's conntrack leaves it
  // untracked, so nothing else would pass it); redirects and the rest do not.
  for (int t = 0; t < 256; ++t) {
    ns.icmp_type = static_cast<std::uint8_t>(t);
    const bool link = (t >= 130 && t <= 136) || t == 143;
    EXPECT_EQ(evaluate(pol, ns).stage == Stage::neighbour_discovery, link) << t;
  }
  Packet echo = tcp_in("203.0.113.5", "192.0.2.1", 0);
  echo.protocol = Protocol::icmp;
  echo.icmp_type = 8;
  EXPECT_EQ(evaluate(pol, echo).stage, Stage::default_);
  pol.allow_echo = true;
  EXPECT_EQ(evaluate(pol, echo).stage, Stage::echo);
}

TEST(Evaluate, FamilyMismatchNeverMatches) {
  auto pol = ssh_policy();
  EXPECT_EQ(evaluate(pol, tcp_in("2001:db8::5", "2001:db8::1", 22)).stage, Stage::default_);
}
