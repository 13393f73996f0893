// The network targets proven by reading their output back: each rendered
// configuration is parsed by a reader written from the vendor's syntax
// (tests/support/device_model.hpp), and the rebuilt lists' verdicts on 10,000
// random and boundary packets per case must equal the reference evaluator's.
//
// Direction mapping: a device between the host and its peers sees the host's
// inbound connections as traffic toward the host's addresses and its outbound
// ones as traffic from them; it never sees loopback (rows on loopback are
// reported, not rendered) nor neighbour and multicast listener discovery (link-local). Stateful devices
// only judge a connection's first packet. A stateless device (cisco-ios) also
// judges every later packet: it admits a packet when the evaluator admits it as a
// new connection, or when it may be a reply (TCP with ACK, any UDP, an echo reply)
// to a connection the evaluator admits the other way; ICMP errors it admits from
// anywhere (the documented approximation of 'related').
#include <dirent.h>

#include <algorithm>
#include <random>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "backends/network.hpp"
#include "portmatrix/backend.hpp"
#include "portmatrix/evaluate.hpp"
#include "portmatrix/site.hpp"
#include "support/device_model.hpp"
#include "support/hostile.hpp"
#include "support/testing.hpp"

using namespace portmatrix;
using pmtest::device::Model;
using pmtest::device::Pkt;

namespace {

struct Target {
  const char* name;
  Model (*read)(const std::string&);
};
const Target kTargets[] = {{"cisco-ios", pmtest::device::read_ios},
                           {"cisco-asa", pmtest::device::read_asa},
                           {"juniper", pmtest::device::read_srx}};
const char* kCases[] = {"cms-default", "cms-all", "cms-minimal-reject"};
constexpr int kPackets = 10000;

Policy case_policy(const std::string& name) {
  auto lp = load_policy("", pmtest::source_path("tests/golden/cases/" + name + ".yaml"));
  EXPECT_TRUE(lp) << (lp.diags.items().empty() ? "" : lp.diags.items()[0].format());
  return lp ? lp.value->policy : Policy{};
}

bool is_icmp(Protocol p) { return p == Protocol::icmp || p == Protocol::icmpv6; }

bool is_error(const Pkt& k) {
  const auto& errors = k.protocol == Protocol::icmp ? device::kIcmpErrors4 : device::kIcmpErrors6;
  return is_icmp(k.protocol) && std::count(errors.begin(), errors.end(), k.icmp_type) > 0;
}

IpAddr offset(const IpAddr& a, long long by) {
  if (a.family == Family::ipv4) return IpAddr::v4(a.v4_value() + static_cast<std::uint32_t>(by));
  return IpAddr::v6(a.v6_value() + static_cast<u128>(by));
}

// Random and boundary packets between the host and addresses around its peers.
class PacketMaker {
 public:
  PacketMaker(const Policy& p, bool stateless, unsigned seed) : p_(p), stateless_(stateless), rng_(seed) {
    for (Family f : {Family::ipv4, Family::ipv6}) {
      for (const auto& h : p.host_addresses.prefixes(f)) hosts_[f].push_back(h.addr);
      for (const auto& sys : p.systems) {
        if (sys.name == p.host) continue;
        for (const auto& pf : sys.addresses.prefixes(f)) {
          const IpAddr first = pf.addr, last = last_of(pf);
          for (const IpAddr& a : {first, last, offset(first, 1), offset(first, -1), offset(last, 1), random_in(pf)})
            add_peer(a);
        }
      }
      for (int i = 0; i < 40; ++i)
        add_peer(f == Family::ipv4 ? IpAddr::v4(0xC0000200u + (rng_() & 0xff)) /* 192.0.2.0/24 */
                                   : IpAddr::v6((u128(0x20010db8u) << 96) | (u128(rng_() & 0x3ff) << 80) | rng_()));
      for (const char* doc : {"198.51.100.0/24", "203.0.113.0/24"})
        for (int i = 0; i < 20; ++i) add_peer(random_in(*parse_prefix(doc)));
    }
    std::set<std::uint16_t> ports = {0, 1, 1023, 1024, 65534, 65535};
    auto edges = [&](const PortSet& ps) {
      for (const auto& r : ps.ranges())
        for (int v : {int(r.lo) - 1, int(r.lo), int(r.hi), int(r.hi) + 1})
          if (v >= 0 && v <= 65535) ports.insert(static_cast<std::uint16_t>(v));
    };
    for (const auto& r : p.rules) {
      edges(r.sport);
      edges(r.dport);
    }
    edges(PortSet({p.ephemeral}));
    ports_.assign(ports.begin(), ports.end());
  }

  // The packet and whether it travels toward the host: every other one aimed
  // at a rule (the edges of its addresses and ports), the rest anywhere.
  std::pair<Pkt, bool> next() {
    if (rng_() % 2)
      if (auto aimed = at_rule()) return *aimed;
    std::vector<Family> fams;
    for (Family f : {Family::ipv4, Family::ipv6})
      if (!hosts_[f].empty() && !peers_[f].empty()) fams.push_back(f);
    const Family f = fams[rng_() % fams.size()];
    const IpAddr host = hosts_[f][rng_() % hosts_[f].size()], peer = peers_[f][rng_() % peers_[f].size()];
    const bool to_host = rng_() % 2;
    Pkt k;
    k.src = to_host ? peer : host;
    k.dst = to_host ? host : peer;
    const unsigned roll = rng_() % 100;
    k.protocol = roll < 45 ? Protocol::tcp : roll < 80 ? Protocol::udp : (f == Family::ipv4 ? Protocol::icmp : Protocol::icmpv6);
    if (has_ports(k.protocol)) {
      k.sport = port();
      k.dport = port();
      k.ack = stateless_ && k.protocol == Protocol::tcp && rng_() % 2;
    } else {
      // Echo request and reply, other informational types and, for a stateless
      // device, errors; neighbour and multicast listener discovery never cross a router.
      std::vector<std::uint8_t> types = f == Family::ipv4 ? std::vector<std::uint8_t>{8, 0, 13, 14, 5}
                                                          : std::vector<std::uint8_t>{128, 129, 139, 140};
      if (stateless_) {
        const auto& e = f == Family::ipv4 ? device::kIcmpErrors4 : device::kIcmpErrors6;
        types.insert(types.end(), e.begin(), e.end());
      }
      k.icmp_type = types[rng_() % types.size()];
    }
    return {k, to_host};
  }

 private:
  std::optional<std::pair<Pkt, bool>> at_rule() {
    const Rule& r = p_.rules[rng_() % p_.rules.size()];
    const auto fams = r.families();
    if (r.iface == kLoopback || fams.empty()) return std::nullopt;
    const Family f = fams[rng_() % fams.size()];
    if (hosts_[f].empty() || (r.protocol == Protocol::icmp && f == Family::ipv6) ||
        (r.protocol == Protocol::icmpv6 && f == Family::ipv4))
      return std::nullopt;
    const bool to_host = r.direction == Direction::in;
    const IpAddr host = hosts_[f][rng_() % hosts_[f].size()];
    const IpAddr peer = sample(to_host ? r.src : r.dst, f);
    if (peer.is_loopback() || p_.host_addresses.contains(peer)) return std::nullopt;
    Pkt k;
    k.src = to_host ? peer : host;
    k.dst = to_host ? host : peer;
    k.protocol = r.protocol;
    if (has_ports(r.protocol)) {
      k.sport = near(r.sport);
      k.dport = near(r.dport);
    } else {
      k.icmp_type = static_cast<std::uint8_t>(rng_() % 256);
      // Link-local control (the frame's step 1) never crosses a router.
      if (k.protocol == Protocol::icmpv6 && is_link_control_icmpv6(k.icmp_type)) k.icmp_type = 140;
    }
    if (stateless_ && rng_() % 3 == 0) {
      // The reply's direction.
      std::swap(k.src, k.dst);
      std::swap(k.sport, k.dport);
      k.ack = k.protocol == Protocol::tcp;
      return std::pair{k, !to_host};
    }
    return std::pair{k, to_host};
  }

  // An address of the set or just outside one of its prefixes.
  IpAddr sample(const AddrSet& a, Family f) {
    if (a.is_any(f) || a.empty(f)) return peers_[f][rng_() % peers_[f].size()];
    const auto& ps = a.prefixes(f);
    const Prefix& pf = ps[rng_() % ps.size()];
    switch (rng_() % 5) {
      case 0: return pf.addr;
      case 1: return last_of(pf);
      case 2: return offset(pf.addr, -1);
      case 3: return offset(last_of(pf), 1);
      default: return random_in(pf);
    }
  }

  // A port at an edge of one of the set's ranges (inside or just outside), or inside it.
  std::uint16_t near(const PortSet& ps) {
    const PortRange& r = ps.ranges()[rng_() % ps.ranges().size()];
    switch (rng_() % 5) {
      case 0: return r.lo;
      case 1: return r.hi;
      case 2: return r.lo == 0 ? r.lo : static_cast<std::uint16_t>(r.lo - 1);
      case 3: return r.hi == 65535 ? r.hi : static_cast<std::uint16_t>(r.hi + 1);
      default: return static_cast<std::uint16_t>(r.lo + rng_() % r.size());
    }
  }

  static IpAddr last_of(const Prefix& pf) {
    const int host_bits = pf.addr.bits() - pf.len;
    if (pf.addr.family == Family::ipv4)
      return IpAddr::v4(pf.addr.v4_value() | (host_bits >= 32 ? ~0u : ((1u << host_bits) - 1)));
    return IpAddr::v6(pf.addr.v6_value() | (host_bits >= 128 ? ~u128(0) : ((u128(1) << host_bits) - 1)));
  }

  IpAddr random_in(const Prefix& pf) {
    const IpAddr last = last_of(pf);
    if (pf.addr.family == Family::ipv4) {
      const std::uint32_t span = last.v4_value() - pf.addr.v4_value();
      return IpAddr::v4(pf.addr.v4_value() + (span ? rng_() % (span + 1ull) : 0));
    }
    const u128 span = last.v6_value() - pf.addr.v6_value();
    const u128 r = (u128(rng_()) << 64) | (u128(rng_()) << 32) | rng_();
    return IpAddr::v6(pf.addr.v6_value() + (span == ~u128(0) ? r : r % (span + 1)));
  }

  void add_peer(const IpAddr& a) {
    if (a.is_loopback() || p_.host_addresses.contains(a)) return;
    auto& v = peers_[a.family];
    if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
  }

  std::uint16_t port() { return rng_() % 2 ? ports_[rng_() % ports_.size()] : static_cast<std::uint16_t>(rng_()); }

  const Policy& p_;
  bool stateless_;
  std::mt19937 rng_;
  std::map<Family, std::vector<IpAddr>> hosts_, peers_;
  std::vector<std::uint16_t> ports_;
};

// What the policy does with a packet at a device between the host and its peers.
Action expected(const Policy& p, const Pkt& k, bool stateless, bool reject, std::string* why) {
  auto first = host_packet(p, k.src, k.sport, k.dst, k.dport, k.protocol, k.icmp_type);
  EXPECT_TRUE(first) << first.error().message;
  const Verdict v = evaluate(p, *first);
  *why = v.row.empty() ? std::string(to_string(v.stage)) : "row " + v.row;
  Action a = v.action == Action::reject && !reject ? Action::drop : v.action;
  if (!stateless || a == Action::accept) return a;
  if (is_error(k)) {
    *why = "ICMP error (stateless approximation of related)";
    return Action::accept;
  }
  const bool echo_reply = is_icmp(k.protocol) && k.icmp_type == (k.protocol == Protocol::icmp ? 0 : 129);
  if (k.protocol == Protocol::udp || (k.protocol == Protocol::tcp && k.ack) || echo_reply) {
    const std::uint8_t type = echo_reply ? (k.protocol == Protocol::icmp ? 8 : 128) : 0;
    auto back = host_packet(p, k.dst, k.dport, k.src, k.sport, k.protocol, type);
    if (back && evaluate(p, *back).action == Action::accept) {
      *why = "reply to an admitted connection";
      return Action::accept;
    }
  }
  return a;
}

std::string describe(const Pkt& k) {
  return fmt::format("{} {}:{} -> {}:{}{}{}", to_string(k.protocol), k.src.to_string(), k.sport, k.dst.to_string(), k.dport,
                     is_icmp(k.protocol) ? fmt::format(" type {}", k.icmp_type) : "", k.ack ? " ack" : "");
}

struct Comparison {
  int packets = 0, accepted = 0, replies = 0, mismatches = 0;
  std::set<Family> accepted_families;
  std::string first_mismatches;
};

Comparison compare(const Policy& p, const Backend& b, const Model& m, unsigned seed = 7) {
  const Capabilities c = b.capabilities();
  Comparison out;
  PacketMaker maker(p, !c.stateful, seed);
  for (int i = 0; i < kPackets; ++i) {
    auto [k, to_host] = maker.next();
    std::string why_expected, why_device;
    const Action want = expected(p, k, !c.stateful, c.reject, &why_expected);
    const Action got = pmtest::device::decide(m, to_host, k, &why_device);
    ++out.packets;
    if (want == Action::accept) {
      ++out.accepted;
      out.accepted_families.insert(k.src.family);
      out.replies += why_expected == "reply to an admitted connection";
    }
    if (want != got && ++out.mismatches <= 10)
      out.first_mismatches += fmt::format("  {} {}: evaluator {} ({}), device {} ({})\n", to_host ? "to host" : "from host",
                                          describe(k), to_string(want), why_expected, to_string(got), why_device);
  }
  return out;
}

Model read_back(const Target& t, const Rendered& r) {
  EXPECT_EQ(r.files.size(), 1u);
  Model m = t.read(r.files.at(0).content);
  EXPECT_TRUE(m.ok()) << t.name << ": " << m.error;
  return m;
}

}  // namespace

TEST(NetworkTargets, ReadBackEqualsTheReferenceEvaluator) {
  for (const auto& t : kTargets) {
    const Backend* b = find_backend(t.name);
    ASSERT_NE(b, nullptr) << t.name;
    for (const char* c : kCases) {
      SCOPED_TRACE(fmt::format("{} / {}", t.name, c));
      const Policy p = case_policy(c);
      const Model m = read_back(t, b->compile(p));
      ASSERT_TRUE(m.ok());
      const Comparison cmp = compare(p, *b, m);
      EXPECT_EQ(cmp.packets, kPackets);
      EXPECT_EQ(cmp.mismatches, 0) << cmp.first_mismatches;
      // Not vacuous: a good share of the packets is admitted, in both families.
      EXPECT_GT(cmp.accepted, kPackets / 20) << "accepted " << cmp.accepted;
      EXPECT_EQ(cmp.accepted_families.size(), 2u);
      if (!b->capabilities().stateful) {
        EXPECT_GT(cmp.replies, 0) << "no packet exercised a return entry";
      }
    }
  }
}

TEST(NetworkTargets, ComparisonCatchesAWrongPort) {
  // The same output with the web row's port off by one must disagree with the evaluator.
  const Policy p = case_policy("cms-all");
  for (const auto& t : kTargets) {
    SCOPED_TRACE(t.name);
    const Backend* b = find_backend(t.name);
    Rendered r = b->compile(p);
    ASSERT_NE(r.files[0].content.find("8443"), std::string::npos);
    r.files[0].content = std::regex_replace(r.files[0].content, std::regex("8443"), "8444");
    const Comparison cmp = compare(p, *b, read_back(t, r));
    EXPECT_GT(cmp.mismatches, 0);
  }
}

TEST(NetworkTargets, AReaderRefusesWhatItDoesNotKnow) {
  const Policy p = case_policy("cms-default");
  for (const auto& t : kTargets) {
    SCOPED_TRACE(t.name);
    std::string text = find_backend(t.name)->compile(p).files[0].content;
    const std::string injected = std::string(t.name) == "juniper" ? "set system services telnet\n" : "snmp-server community public RW\n";
    EXPECT_FALSE(t.read(text + injected).ok());
    EXPECT_TRUE(t.read(text).ok());
  }
}

TEST(NetworkTargets, HostileTextChangesNoVerdict) {
  auto pair = pmtest::hostile_pair("cms-default");
  ASSERT_FALSE(pair.hostile.rules.empty());
  for (const auto& t : kTargets) {
    SCOPED_TRACE(t.name);
    const Backend* b = find_backend(t.name);
    const Rendered plain = b->compile(pair.plain.policy), hostile = b->compile(pair.hostile);
    for (char ch : hostile.files[0].content) ASSERT_TRUE(ch == '\n' || (ch >= 0x20 && ch < 0x7f)) << int(ch);
    const Model mp = read_back(t, plain), mh = read_back(t, hostile);
    ASSERT_TRUE(mp.ok() && mh.ok());
    // Same lists, entry by entry, apart from where they were read.
    for (const auto& [key, list] : mp.lists) {
      const auto& other = mh.lists.at(key);
      ASSERT_EQ(list.size(), other.size());
      for (std::size_t i = 0; i < list.size(); ++i) {
        EXPECT_EQ(list[i].action, other[i].action) << list[i].line << " / " << other[i].line;
        EXPECT_EQ(list[i].src, other[i].src) << list[i].line;
        EXPECT_EQ(list[i].dst, other[i].dst) << list[i].line;
        EXPECT_EQ(list[i].protocols, other[i].protocols) << list[i].line;
        EXPECT_EQ(list[i].ports, other[i].ports) << list[i].line;
        EXPECT_EQ(list[i].icmp_types, other[i].icmp_types) << list[i].line;
        EXPECT_EQ(list[i].established, other[i].established) << list[i].line;
      }
    }
    EXPECT_EQ(compare(pair.hostile, *b, mh).mismatches, 0);
  }
}

TEST(NetworkTargets, PortSetsBeyondTheDeviceLimitAreWidenedWithAWarning) {
  Policy p = case_policy("cms-all");
  PortSet many;
  for (int i = 0; i < 20; ++i) many.add(PortRange{std::uint16_t(5001 + 10 * i), std::uint16_t(5002 + 10 * i)});
  for (auto& r : p.rules)
    if (r.row == "spi") r.dport = many;
  for (const auto& t : kTargets) {
    SCOPED_TRACE(t.name);
    const Backend* b = find_backend(t.name);
    ASSERT_GT(b->capabilities().max_port_ranges, 0u);
    ASSERT_LT(b->capabilities().max_port_ranges, many.ranges().size());
    const Rendered r = b->compile(p);
    bool warned = false;
    for (const auto& w : r.warnings.items())
      warned |= w.message.find("row 'spi'") != std::string::npos && w.message.find("widened to 5001-5192") != std::string::npos;
    EXPECT_TRUE(warned);
    // The device now admits a port between the row's ranges, as the warning says...
    const Model m = read_back(t, r);
    Pkt k;
    k.src = *parse_ip("192.0.2.1");
    k.dst = *parse_ip("192.0.2.10");
    k.protocol = Protocol::tcp;
    k.sport = 50000;
    k.dport = 5005;
    EXPECT_EQ(pmtest::device::decide(m, false, k), Action::accept);
    // ...and equals the policy with exactly that widening.
    Policy widened = p;
    for (auto& rule : widened.rules)
      if (rule.row == "spi") rule.dport = port_limit(rule.dport, b->capabilities().max_port_ranges);
    EXPECT_EQ(compare(widened, *b, m).mismatches, 0);
  }
}

TEST(NetworkTargets, WhatADeviceCannotExpressIsReportedByRow) {
  const Policy p = case_policy("cms-default");
  for (const auto& t : kTargets) {
    SCOPED_TRACE(t.name);
    const Backend* b = find_backend(t.name);
    const Rendered r = b->compile(p);
    std::string all;
    for (const auto& w : r.warnings.items()) all += w.message + "\n";
    EXPECT_NE(all.find(fmt::format("{}: row 'telnet': cannot tell loopback traffic apart", t.name)), std::string::npos) << all;
    EXPECT_NE(all.find(fmt::format("{}: row 'ssh': cannot match interface eth1", t.name)), std::string::npos) << all;
    if (!b->capabilities().stateful) {
      EXPECT_NE(all.find("ICMP errors from any address"), std::string::npos) << all;
    }
  }
}

TEST(NetworkTargets, AHostWithoutAnAddressInAFamilyIsReported) {
  Policy p = case_policy("cms-all");
  p.host_addresses = p.host_addresses.only(Family::ipv4);
  for (auto& r : p.rules) {
    if (r.direction == Direction::in && !r.dst.is_any(Family::ipv6)) r.dst = r.dst.only(Family::ipv4);
    if (r.direction == Direction::out) r.src = r.src.only(Family::ipv4);
  }
  for (const auto& t : kTargets) {
    const Rendered r = find_backend(t.name)->compile(p);
    bool warned = false;
    for (const auto& w : r.warnings.items())
      warned |= w.message.find("row 'web-internal': the host has no IPv6 address") != std::string::npos;
    EXPECT_TRUE(warned) << t.name;
  }
}

TEST(NetworkTargets, RegressionJuniperSaysIpv6NeedsFlowMode) {
  // An SRX drops IPv6 in drop mode (Junos's documented default) and forwards it
  // without any policy in packet-based mode; the policies only apply in flow mode,
  // a device setting the file does not change.
  const Backend* b = find_backend("juniper");
  auto says = [](const Rendered& r) {
    bool warned = false;
    for (const auto& w : r.warnings.items()) warned |= w.message.find("inet6 mode flow-based") != std::string::npos;
    const bool noted = r.files.at(0).content.find("# IPv6: the policies below apply to IPv6 only") != std::string::npos;
    EXPECT_EQ(warned, noted);
    return warned && noted;
  };
  Policy p = case_policy("cms-default");
  EXPECT_TRUE(says(b->compile(p)));
  // A host without IPv6 gets no IPv6 policy and no note.
  p.host_addresses = p.host_addresses.only(Family::ipv4);
  EXPECT_FALSE(says(b->compile(p)));
}

TEST(NetworkTargets, RegressionAsaListsAreBoundOnTheHostsInterface) {
  // Bound 'in' on the peers' side, the to-host list's final 'deny ip any any'
  // would drop all other traffic entering there; 'out' on the host's interface it
  // meets only traffic toward the host, as cisco-ios binds its lists.
  const std::string text = find_backend("cisco-asa")->compile(case_policy("cms-default")).files.at(0).content;
  EXPECT_NE(text.find("!   access-group portmatrix-to-host out interface <interface toward the host>\n"), std::string::npos);
  EXPECT_NE(text.find("!   access-group portmatrix-from-host in interface <interface toward the host>\n"), std::string::npos);
  EXPECT_EQ(text.find("toward the peers"), std::string::npos);
}
