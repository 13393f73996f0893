#include "portmatrix/policy_classifier.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace portmatrix;

namespace {

// Random policies and packets over a few address clusters per family, so rules
// overlap and packets hit rule boundaries.
class PolicyGen {
 public:
  explicit PolicyGen(std::uint64_t seed) : rng_(seed) {
    for (int i = 0; i < 3; ++i) {
      v4_.push_back(static_cast<std::uint32_t>(rng_()));
      v6_.push_back((u128(rng_()) << 64) | rng_());
    }
  }
  std::uint32_t pick(std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_); }

  IpAddr address(Family f) {
    const int spread = static_cast<int>(pick(f == Family::ipv4 ? 33 : 129));
    if (f == Family::ipv4) {
      const std::uint32_t noise = spread == 32 ? static_cast<std::uint32_t>(rng_()) : static_cast<std::uint32_t>(rng_()) & ((1u << spread) - 1);
      return IpAddr::v4(v4_[pick(3)] ^ noise);
    }
    const u128 r = (u128(rng_()) << 64) | rng_();
    return IpAddr::v6(spread == 128 ? r : v6_[pick(3)] ^ (r & ((u128(1) << spread) - 1)));
  }
  Prefix prefix(Family f) {
    const int bits = f == Family::ipv4 ? 32 : 128;
    const int choice = static_cast<int>(pick(8));
    const int len = choice == 0 ? 0 : choice == 1 ? bits : static_cast<int>(pick(static_cast<std::uint32_t>(bits) + 1));
    IpAddr a = address(f);
    for (int i = len; i < bits; ++i) a.bytes[static_cast<std::size_t>(i / 8)] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
    return {a, static_cast<std::uint8_t>(len)};
  }
  AddrSet addrs() {
    AddrSet s;
    for (Family f : {Family::ipv4, Family::ipv6}) {
      const std::uint32_t n = pick(4);  // 0: this family matches nothing
      for (std::uint32_t i = 0; i < n; ++i) s.add(prefix(f));
    }
    return s;
  }
  PortSet ports() {
    if (pick(3) == 0) return PortSet::full();
    PortSet s;
    for (std::uint32_t i = 0, n = 1 + pick(3); i < n; ++i) {
      auto a = static_cast<std::uint16_t>(port()), b = static_cast<std::uint16_t>(port());
      s.add({std::min(a, b), std::max(a, b)});
    }
    return s;
  }
  std::uint32_t port() {
    static constexpr std::uint32_t kCommon[] = {0, 22, 53, 80, 443, 1024, 49152, 65535};
    return pick(2) ? kCommon[pick(std::size(kCommon))] : pick(65536);
  }
  Protocol protocol() {
    static constexpr Protocol kAll[] = {Protocol::tcp, Protocol::udp, Protocol::icmp, Protocol::icmpv6};
    return kAll[pick(4)];
  }
  std::string iface(bool packet) {
    static constexpr const char* kRule[] = {"", "", "eth0", "eth1", "lo"};
    static constexpr const char* kPacket[] = {"eth0", "eth1", "lo", "eth9"};
    return packet ? kPacket[pick(4)] : kRule[pick(5)];
  }

  Policy policy() {
    Policy p;
    p.allow_echo = pick(2);
    p.default_action = pick(2) ? Action::drop : Action::reject;
    for (std::uint32_t i = 0, n = pick(30); i < n; ++i) {
      Rule r;
      r.direction = pick(2) ? Direction::in : Direction::out;
      r.iface = iface(false);
      r.protocol = protocol();
      r.src = addrs();
      r.dst = addrs();
      // Ports of ICMP rules are full() in the IR, but the evaluator ignores them anyway.
      r.sport = ports();
      r.dport = ports();
      r.action = static_cast<Action>(pick(3));
      r.row = "row" + std::to_string(i);
      p.rules.push_back(r);
    }
    return p;
  }

  Packet packet(const Policy& pol) {
    Packet p;
    p.direction = pick(2) ? Direction::in : Direction::out;
    p.iface = iface(true);
    const Family f = pick(2) ? Family::ipv4 : Family::ipv6;
    p.src = address(f);
    p.dst = address(pick(20) == 0 ? (f == Family::ipv4 ? Family::ipv6 : Family::ipv4) : f);  // now and then mixed
    p.protocol = protocol();
    p.sport = static_cast<std::uint16_t>(port());
    p.dport = static_cast<std::uint16_t>(port());
    static constexpr std::uint8_t kTypes[] = {0, 3, 8, 128, 133, 135};
    p.icmp_type = kTypes[pick(6)];
    static constexpr CtState kCt[] = {CtState::new_, CtState::new_, CtState::new_, CtState::new_,
                                      CtState::established, CtState::related, CtState::invalid};
    p.ct = kCt[pick(7)];
    if (!pol.rules.empty() && pick(4) != 0) {
      // Aim at a rule: one of its prefixes' edges, its ports' edges, its protocol.
      const Rule& r = pol.rules[pick(static_cast<std::uint32_t>(pol.rules.size()))];
      p.protocol = pick(4) ? r.protocol : p.protocol;
      p.direction = pick(4) ? r.direction : p.direction;
      if (!r.iface.empty() && pick(2)) p.iface = r.iface;
      edge(r.src, p.src);
      edge(r.dst, p.dst);
      if (!r.sport.empty()) p.sport = edge(r.sport);
      if (!r.dport.empty()) p.dport = edge(r.dport);
    }
    return p;
  }

 private:
  void edge(const AddrSet& s, IpAddr& a) {
    const auto& ps = s.prefixes(a.family);
    if (ps.empty()) return;
    const Prefix& p = ps[pick(static_cast<std::uint32_t>(ps.size()))];
    a = p.addr;
    if (pick(2))  // the last address of the prefix
      for (int i = p.len; i < a.bits(); ++i) a.bytes[static_cast<std::size_t>(i / 8)] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
  }
  std::uint16_t edge(const PortSet& s) {
    const PortRange r = s.ranges()[pick(static_cast<std::uint32_t>(s.ranges().size()))];
    switch (pick(4)) {
      case 0: return r.lo;
      case 1: return r.hi;
      case 2: return static_cast<std::uint16_t>(r.lo - 1);
      default: return static_cast<std::uint16_t>(r.hi + 1);
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::uint32_t> v4_;
  std::vector<u128> v6_;
};

}  // namespace

TEST(PolicyClassifier, EveryVariantAgreesWithEvaluate) {
  for (const ClassifierVariant& v : classifier_variants()) {
    if (!v.available()) continue;
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
      PolicyGen g(seed);
      const Policy pol = g.policy();
      auto pc = PolicyClassifier::compile(pol, &v);
      ASSERT_TRUE(pc) << pc.error().message;
      for (int i = 0; i < 100; ++i) {
        const Packet p = g.packet(pol);
        const Verdict want = evaluate(pol, p), got = pc->evaluate(p);
        ASSERT_EQ(got.action, want.action) << v.name << " seed " << seed << " packet " << i;
        ASSERT_EQ(got.stage, want.stage) << v.name << " seed " << seed << " packet " << i;
        ASSERT_EQ(got.rule, want.rule) << v.name << " seed " << seed << " packet " << i;
        ASSERT_EQ(got.row, want.row) << v.name << " seed " << seed << " packet " << i;
        int first = -1;
        for (std::size_t r = 0; r < pol.rules.size() && first < 0; ++r)
          if (rule_matches(pol.rules[r], p)) first = static_cast<int>(r);
        ASSERT_EQ(pc->first_rule(p), first) << v.name << " seed " << seed << " packet " << i;
      }
    }
  }
}

TEST(PolicyClassifier, ExpandsSetsIntoEntries) {
  Policy pol;
  Rule r;
  r.protocol = Protocol::tcp;
  r.src.add(*parse_prefix("192.0.2.0/24"));
  r.src.add(*parse_prefix("198.51.100.7"));
  r.src.add(*parse_prefix("2001:db8::/32"));
  r.dst = AddrSet::any();
  r.sport = PortSet::full();
  r.dport = *parse_port_list("22, 80, 8000-8080");
  r.row = "web";
  pol.rules.push_back(r);
  auto pc = PolicyClassifier::compile(pol);
  ASSERT_TRUE(pc);
  // IPv4: 2 source ranges x 3 port ranges; IPv6: 1 x 3.
  EXPECT_EQ(pc->entries(), 9u);
  Packet p;
  p.src = *parse_ip("198.51.100.7");
  p.dst = *parse_ip("203.0.113.1");
  p.protocol = Protocol::tcp;
  p.dport = 8080;
  EXPECT_EQ(pc->first_rule(p), 0);
  p.dport = 8081;
  EXPECT_EQ(pc->first_rule(p), -1);
  p.src = *parse_ip("2001:db8::1");
  p.dst = *parse_ip("2001:db8::2");
  p.dport = 80;
  EXPECT_EQ(pc->evaluate(p).row, "web");
}

TEST(PolicyClassifier, InterfacesAreExactTags) {
  Policy pol;
  for (const char* ifname : {"eth1", ""}) {
    Rule r;
    r.iface = ifname;
    r.protocol = Protocol::udp;
    r.src = AddrSet::any();
    r.dst = AddrSet::any();
    r.sport = PortSet::full();
    r.dport = PortSet::single(53);
    r.row = ifname;
    pol.rules.push_back(r);
  }
  auto pc = PolicyClassifier::compile(pol);
  ASSERT_TRUE(pc);
  Packet p;
  p.src = *parse_ip("10.0.0.1");
  p.dst = *parse_ip("10.0.0.2");
  p.protocol = Protocol::udp;
  p.dport = 53;
  p.iface = "eth1";
  EXPECT_EQ(pc->first_rule(p), 0);
  p.iface = "eth2";  // named by no rule
  EXPECT_EQ(pc->first_rule(p), 1);
  p.direction = Direction::out;
  EXPECT_EQ(pc->first_rule(p), -1);
}
