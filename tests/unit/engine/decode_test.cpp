#include "portmatrix/decode.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "support/packets.hpp"

using namespace portmatrix;
using namespace pmtest::pkt;

namespace {

DecodedPacket run(Decoder& d, std::uint16_t lt, const Bytes& b, std::int64_t ts = 0, std::uint32_t origlen = 0) {
  DecodedPacket p;
  d.decode(lt, b.data(), static_cast<std::uint32_t>(b.size()), origlen ? origlen : static_cast<std::uint32_t>(b.size()), ts, p);
  return p;
}
DecodedPacket run(std::uint16_t lt, const Bytes& b) {
  Decoder d;
  return run(d, lt, b);
}
IpAddr ip(const char* s) { return *parse_ip(s); }

Bytes v4_tcp(std::uint16_t sport = 51000, std::uint16_t dport = 22, std::uint8_t flags = tcpflag::syn) {
  return ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, tcp(sport, dport, flags));
}
Bytes v6_udp() { return ipv6("2001:db8::1", "2001:db8::2", ipproto::udp, udp(5000, 53, filler(12))); }

void expect_v4_tcp(const DecodedPacket& p) {
  EXPECT_EQ(p.layer, Layer::transport);
  EXPECT_EQ(p.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p.key.family, Family::ipv4);
  EXPECT_EQ(p.key.proto, ipproto::tcp);
  EXPECT_EQ(p.key.src, ip("192.0.2.1"));
  EXPECT_EQ(p.key.dst, ip("192.0.2.2"));
  EXPECT_EQ(p.key.sport, 51000);
  EXPECT_EQ(p.key.dport, 22);
  EXPECT_EQ(p.tcp_flags, tcpflag::syn);
  EXPECT_EQ(p.ip_bytes, 40u);
}

void expect_v6_udp(const DecodedPacket& p) {
  EXPECT_EQ(p.layer, Layer::transport);
  EXPECT_EQ(p.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p.key.family, Family::ipv6);
  EXPECT_EQ(p.key.proto, ipproto::udp);
  EXPECT_EQ(p.key.src, ip("2001:db8::1"));
  EXPECT_EQ(p.key.sport, 5000);
  EXPECT_EQ(p.key.dport, 53);
  EXPECT_EQ(p.ip_bytes, 60u);
}

}  // namespace

TEST(Decode, EthernetIpv4Tcp) {
  // Padded to the Ethernet minimum: the IP length, not the frame, bounds the packet.
  Bytes f = ether(kIpv4, v4_tcp());
  f.resize(60, 0);
  auto p = run(linktype::ethernet, f);
  expect_v4_tcp(p);
  EXPECT_EQ(p.opaque_offset, 14u + 20 + 20);
}

TEST(Decode, VlanAndQinQ) {
  auto one = run(linktype::ethernet, ether(kIpv4, v4_tcp(), {{0x8100, 100}}));
  expect_v4_tcp(one);
  ASSERT_EQ(one.vlan_count, 1);
  EXPECT_EQ(one.vlan[0], 100);
  auto two = run(linktype::ethernet, ether(kIpv6, v6_udp(), {{0x88a8, 7}, {0x8100, 0x2000 | 42}}));
  expect_v6_udp(two);
  ASSERT_EQ(two.vlan_count, 2);
  EXPECT_EQ(two.vlan[0], 7);
  EXPECT_EQ(two.vlan[1], 42);  // priority bits are not part of the id
  auto three = run(linktype::ethernet, ether(kIpv4, v4_tcp(), {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}}));
  EXPECT_EQ(three.anomaly, DecodeAnomaly::too_many_vlan_tags);
  Bytes cut = ether(kIpv4, {}, {{0x8100, 5}});
  cut.resize(16);
  EXPECT_EQ(run(linktype::ethernet, cut).anomaly, DecodeAnomaly::truncated_vlan);
}

TEST(Decode, LinuxCookedV1AndV2) {
  expect_v4_tcp(run(linktype::linux_sll, sll(kIpv4, v4_tcp())));
  expect_v6_udp(run(linktype::linux_sll, sll(kIpv6, v6_udp())));
  expect_v4_tcp(run(linktype::linux_sll2, sll2(kIpv4, v4_tcp())));
  expect_v6_udp(run(linktype::linux_sll2, sll2(kIpv6, v6_udp())));
  EXPECT_EQ(run(linktype::linux_sll2, Bytes(10, 0)).anomaly, DecodeAnomaly::truncated_link);
}

TEST(Decode, RawIp) {
  expect_v4_tcp(run(linktype::raw, v4_tcp()));
  expect_v6_udp(run(linktype::raw, v6_udp()));
  expect_v4_tcp(run(linktype::ipv4, v4_tcp()));
  expect_v6_udp(run(linktype::ipv6, v6_udp()));
  // LINKTYPE_IPV4 promises IPv4: an IPv6 packet there is damage.
  EXPECT_EQ(run(linktype::ipv4, v6_udp()).anomaly, DecodeAnomaly::bad_ip_version);
}

TEST(Decode, BsdLoopbackBothByteOrders) {
  expect_v4_tcp(run(linktype::null, loopback(2, v4_tcp(), false)));
  expect_v4_tcp(run(linktype::null, loopback(2, v4_tcp(), true)));  // written on a big-endian host
  expect_v6_udp(run(linktype::null, loopback(30, v6_udp(), false)));
  expect_v6_udp(run(linktype::null, loopback(24, v6_udp(), true)));
  expect_v6_udp(run(linktype::loop, loopback(28, v6_udp(), true)));
  auto other = run(linktype::loop, loopback(7, v6_udp(), true));
  EXPECT_EQ(other.layer, Layer::link);
  EXPECT_EQ(other.anomaly, DecodeAnomaly::none);
}

TEST(Decode, NonIpAndUnknownLinkType) {
  Decoder d;
  auto arp = run(d, linktype::ethernet, ether(kArp, filler(28)));
  EXPECT_EQ(arp.layer, Layer::link);
  EXPECT_FALSE(arp.has_flow());
  EXPECT_EQ(d.stats().non_ip, 1u);
  auto unknown = run(d, 147, v4_tcp());
  EXPECT_EQ(unknown.anomaly, DecodeAnomaly::unsupported_linktype);
  EXPECT_EQ(d.stats().count(DecodeAnomaly::unsupported_linktype), 1u);
}

TEST(Decode, Ipv4Options) {
  V4Opts o;
  o.options = {7, 7, 4, 0, 0, 0, 0, 1};  // record route (7 bytes), NOP
  auto p = run(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, tcp(51000, 22, tcpflag::syn), o));
  EXPECT_EQ(p.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p.key.dport, 22);
  EXPECT_EQ(p.ip_bytes, 48u);
  o.options = {7, 40, 4, 0, 0, 0, 0, 0};  // the option claims more than the header has
  Decoder d;
  p = run(d, linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, tcp(51000, 22, tcpflag::syn), o));
  EXPECT_EQ(p.anomaly, DecodeAnomaly::bad_ipv4_options);
  EXPECT_EQ(p.layer, Layer::transport);  // the options are skipped, the rest decodes
  EXPECT_EQ(p.key.dport, 22);
  EXPECT_EQ(d.stats().count(DecodeAnomaly::bad_ipv4_options), 1u);
}

TEST(Decode, Ipv4FirstUdpFragment) {
  Decoder d;
  Bytes payload = udp(5353, 5353, filler(100));
  V4Opts first;
  first.id = 77;
  first.more_fragments = true;
  Bytes part1(payload.begin(), payload.begin() + 48);
  auto p1 = run(d, linktype::raw, ipv4("192.0.2.5", "192.0.2.6", ipproto::udp, part1, first), 1000);
  EXPECT_TRUE(p1.fragment);
  EXPECT_FALSE(p1.later_fragment);
  // The UDP length covers the whole datagram, more than this fragment holds: not an anomaly.
  EXPECT_EQ(p1.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p1.key.sport, 5353);
}

TEST(Decode, Ipv4FragmentAttribution) {
  Decoder d;
  V4Opts first;
  first.id = 77;
  first.more_fragments = true;
  Bytes seg = tcp(40000, 443, tcpflag::ack, filler(40));
  auto p1 = run(d, linktype::raw, ipv4("192.0.2.5", "192.0.2.6", ipproto::tcp, seg, first), 1000);
  EXPECT_TRUE(p1.fragment);
  EXPECT_EQ(p1.layer, Layer::transport);
  V4Opts later;
  later.id = 77;
  later.frag_offset8 = 8;
  auto p2 = run(d, linktype::raw, ipv4("192.0.2.5", "192.0.2.6", ipproto::tcp, filler(64), later), 2000);
  EXPECT_TRUE(p2.later_fragment);
  EXPECT_EQ(p2.layer, Layer::transport);
  EXPECT_EQ(p2.key.sport, 40000);
  EXPECT_EQ(p2.key.dport, 443);
  EXPECT_EQ(d.stats().fragments_attributed, 1u);
  // Another datagram id, or a different source: not attributed.
  later.id = 78;
  auto orphan = run(d, linktype::raw, ipv4("192.0.2.5", "192.0.2.6", ipproto::tcp, filler(64), later), 3000);
  EXPECT_EQ(orphan.anomaly, DecodeAnomaly::orphan_fragment);
  EXPECT_FALSE(orphan.has_flow());
  // After the reassembly timeout the first fragment is forgotten.
  later.id = 77;
  auto stale = run(d, linktype::raw, ipv4("192.0.2.5", "192.0.2.6", ipproto::tcp, filler(64), later), 31'000'001'000);
  EXPECT_EQ(stale.anomaly, DecodeAnomaly::orphan_fragment);
  // A first fragment too short to hold the ports.
  auto tiny = run(d, linktype::raw, ipv4("192.0.2.5", "192.0.2.6", ipproto::tcp, filler(4), first), 4000);
  EXPECT_EQ(tiny.anomaly, DecodeAnomaly::tiny_fragment);
}

TEST(Decode, FragmentTableIsBounded) {
  DecoderOptions o;
  o.fragment_capacity = 8;
  Decoder d(o);
  V4Opts first;
  first.more_fragments = true;
  for (std::uint16_t id = 0; id < 100; ++id) {
    first.id = id;
    run(d, linktype::raw, ipv4("192.0.2.5", "192.0.2.6", ipproto::udp, udp(1, 2), first), id);
  }
  EXPECT_GE(d.stats().fragment_evictions, 92u);
}

TEST(Decode, Ipv6ExtensionHeaders) {
  // hop-by-hop, destination options, routing, AH, then TCP.
  Bytes chain = cat(cat(cat(ext(60), ext(43, 1)), ext(51)), cat(ext_ah(ipproto::tcp), tcp(50000, 443, tcpflag::syn)));
  auto p = run(linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 0, chain));
  EXPECT_EQ(p.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p.layer, Layer::transport);
  EXPECT_EQ(p.key.proto, ipproto::tcp);
  EXPECT_EQ(p.key.dport, 443);
  EXPECT_EQ(p.opaque_offset, 40u + 8 + 16 + 8 + 24 + 20);
  // ESP ends the chain: the rest is opaque.
  auto esp = run(linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 0, cat(ext(50), filler(32))));
  EXPECT_EQ(esp.layer, Layer::network);
  EXPECT_EQ(esp.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(esp.key.proto, 50);
  EXPECT_TRUE(esp.has_flow());
  // No next header.
  EXPECT_EQ(run(linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 59, {})).key.proto, 59);
  // An extension header longer than the packet.
  Bytes bad = ext(ipproto::tcp, 3);
  bad.resize(16);
  EXPECT_EQ(run(linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 0, bad)).anomaly, DecodeAnomaly::bad_ipv6_extension);
  // An endless chain of destination options.
  Bytes endless;
  for (int i = 0; i < 20; ++i) endless = cat(endless, ext(60));
  EXPECT_EQ(run(linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 60, endless)).anomaly,
            DecodeAnomaly::too_many_ipv6_extensions);
}

TEST(Decode, Ipv6Fragments) {
  Decoder d;
  Bytes first = cat(ext_fragment(ipproto::udp, 0, true, 0xabcdef), udp(4000, 4001, filler(40)));
  auto p1 = run(d, linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 44, first), 10);
  EXPECT_TRUE(p1.fragment);
  EXPECT_EQ(p1.key.sport, 4000);
  Bytes later = cat(ext_fragment(ipproto::udp, 6, false, 0xabcdef), filler(20));
  auto p2 = run(d, linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 44, later), 20);
  EXPECT_TRUE(p2.later_fragment);
  EXPECT_EQ(p2.layer, Layer::transport);
  EXPECT_EQ(p2.key.sport, 4000);
  EXPECT_EQ(p2.key.dport, 4001);
  EXPECT_EQ(p2.key.proto, ipproto::udp);
}

// Extension headers after the fragment header (destination options here) give the
// first fragment UDP as its protocol while later fragments name only the header
// after the fragment header: we matched fragments by protocol too, so every later
// fragment of such a datagram was an orphan and left its connection.
TEST(Decode, Ipv6LaterFragmentsFollowAFirstWithHeadersAfterTheFragmentHeader) {
  Decoder d;
  Bytes first = cat(cat(ext_fragment(60, 0, true, 0x1234), ext(ipproto::udp)), udp(4000, 4001, filler(40)));
  auto p1 = run(d, linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 44, first), 10);
  ASSERT_EQ(p1.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p1.key.proto, ipproto::udp);
  Bytes later = cat(ext_fragment(60, 7, false, 0x1234), filler(24));
  auto p2 = run(d, linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 44, later), 20);
  EXPECT_EQ(p2.anomaly, DecodeAnomaly::none);
  EXPECT_TRUE(p2.later_fragment);
  EXPECT_EQ(p2.key.proto, ipproto::udp);
  EXPECT_EQ(p2.key.sport, 4000);
  EXPECT_EQ(p2.key.dport, 4001);
  // IPv4 keeps the protocol in a datagram's identity.
  V4Opts f;
  f.id = 77;
  f.more_fragments = true;
  run(d, linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, udp(5000, 5001, filler(40)), f), 30);
  V4Opts l;
  l.id = 77;
  l.frag_offset8 = 6;
  auto other = run(d, linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, filler(16), l), 31);
  EXPECT_EQ(other.anomaly, DecodeAnomaly::orphan_fragment);
}

// GRE, ESP and other protocols without ports are tracked by addresses: a later
// fragment needs nothing from its first, but it became an orphan-fragment when
// the first was missing or came later, and a short first fragment was a
// tiny-fragment; both left their connection untracked.
TEST(Decode, FragmentsOfProtocolsWithoutPortsNeedNoFirstFragment) {
  Decoder d;
  V4Opts later;
  later.id = 9;
  later.frag_offset8 = 185;
  auto l = run(d, linktype::raw, ipv4("192.0.2.1", "198.51.100.1", 47, filler(100), later), 10);
  EXPECT_EQ(l.anomaly, DecodeAnomaly::none);
  EXPECT_TRUE(l.later_fragment);
  EXPECT_TRUE(l.has_flow());
  EXPECT_EQ(l.key.proto, 47);
  V4Opts first;
  first.id = 9;
  first.more_fragments = true;
  auto f = run(d, linktype::raw, ipv4("192.0.2.1", "198.51.100.1", 47, filler(4), first), 11);
  EXPECT_EQ(f.anomaly, DecodeAnomaly::none);
  EXPECT_TRUE(f.has_flow());
  EXPECT_EQ(d.stats().count(DecodeAnomaly::orphan_fragment), 0u);
  EXPECT_EQ(d.stats().count(DecodeAnomaly::tiny_fragment), 0u);

  // IPv6: GRE after destination options after the fragment header. The later
  // fragments name the destination options header: they still need the first.
  auto orphan = run(d, linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 44, cat(ext_fragment(60, 9, false, 5), filler(16))), 20);
  EXPECT_EQ(orphan.anomaly, DecodeAnomaly::orphan_fragment);
  run(d, linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 44, cat(cat(ext_fragment(60, 0, true, 6), ext(47)), filler(64))), 21);
  auto l6 = run(d, linktype::raw, ipv6("2001:db8::1", "2001:db8::2", 44, cat(ext_fragment(60, 9, false, 6), filler(16))), 22);
  EXPECT_EQ(l6.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(l6.key.proto, 47);
}

TEST(Decode, HeldEarlyFragmentsAreReleasedWithTheirFirstOrAsOrphans) {
  DecoderOptions o;
  o.early_fragments = 2;
  Decoder d(o);
  constexpr std::int64_t kSec = 1'000'000'000;
  auto later = [](std::uint16_t id) {
    V4Opts v;
    v.id = id;
    v.frag_offset8 = 10;
    return ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, filler(24), v);
  };
  std::vector<Decoder::Released> out;
  run(d, linktype::raw, later(1), 0);
  EXPECT_TRUE(d.pending() && d.held_last());
  d.take_released(0, out);
  EXPECT_TRUE(out.empty());
  run(d, linktype::raw, later(2), 1);
  run(d, linktype::raw, later(3), 2);  // a third: the oldest (id 1) is pushed out as an orphan
  d.take_released(2, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].packet.anomaly, DecodeAnomaly::orphan_fragment);
  EXPECT_EQ(out[0].ts_ns, 0);
  out.clear();
  // id 2's first fragment comes: its held fragment is released with the ports.
  V4Opts first;
  first.id = 2;
  first.more_fragments = true;
  auto f = run(d, linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, udp(7000, 7001, filler(72)), first), 3);
  EXPECT_EQ(f.anomaly, DecodeAnomaly::none);
  EXPECT_FALSE(d.held_last());
  d.take_released(3, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].packet.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(out[0].packet.key.sport, 7000);
  EXPECT_EQ(out[0].packet.key.dport, 7001);
  EXPECT_EQ(out[0].ts_ns, 1);
  out.clear();
  // id 3 waits past the fragment timeout: an orphan.
  d.take_released(2 + 31 * kSec, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].packet.anomaly, DecodeAnomaly::orphan_fragment);
  EXPECT_FALSE(d.pending());
  EXPECT_EQ(d.stats().count(DecodeAnomaly::orphan_fragment), 2u);
  EXPECT_EQ(d.stats().fragments_attributed, 1u);
}

TEST(Decode, IcmpErrorQuotesTheConnection) {
  // A router tells 192.0.2.1 that its SYN to 198.51.100.7:443 could not be delivered.
  Bytes original = ipv4("192.0.2.1", "198.51.100.7", ipproto::tcp, tcp(51000, 443, tcpflag::syn));
  Bytes quote(original.begin(), original.begin() + 28);  // IP header + 8 bytes, as RFC 792 requires
  auto p = run(linktype::raw, ipv4("203.0.113.1", "192.0.2.1", ipproto::icmp, icmp(3, 1, 0, quote)));
  EXPECT_EQ(p.anomaly, DecodeAnomaly::none);
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.key.icmp_type, 3);
  EXPECT_EQ(p.icmp_code, 1);
  EXPECT_EQ(p.quoted.proto, ipproto::tcp);
  EXPECT_EQ(p.quoted.src, ip("192.0.2.1"));
  EXPECT_EQ(p.quoted.dst, ip("198.51.100.7"));
  EXPECT_EQ(p.quoted.sport, 51000);
  EXPECT_EQ(p.quoted.dport, 443);

  // ICMPv6 packet too big quoting UDP behind a destination options header.
  Bytes orig6 = ipv6("2001:db8::1", "2001:db8:1::9", 60, cat(ext(ipproto::udp), udp(40000, 4500, filler(1300))));
  Bytes quote6(orig6.begin(), orig6.begin() + 1232);
  auto p6 = run(linktype::raw, ipv6("2001:db8:ff::1", "2001:db8::1", ipproto::icmpv6, icmp(2, 0, 1280, quote6)));
  EXPECT_TRUE(p6.icmp_error);
  EXPECT_EQ(p6.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p6.quoted.family, Family::ipv6);
  EXPECT_EQ(p6.quoted.proto, ipproto::udp);
  EXPECT_EQ(p6.quoted.dport, 4500);

  // Time exceeded quoting an echo request: the identifier is the connection's.
  Bytes ping = ipv4("192.0.2.1", "198.51.100.7", ipproto::icmp, icmp(8, 0, 0x12340001));
  auto te = run(linktype::raw, ipv4("203.0.113.1", "192.0.2.1", ipproto::icmp, icmp(11, 0, 0, ping)));
  EXPECT_EQ(te.quoted.proto, ipproto::icmp);
  EXPECT_EQ(te.quoted.icmp_type, 8);
  EXPECT_EQ(te.quoted.sport, 0x1234);

  // A quote too short for the ports, and an IPv6 quote inside ICMPv4.
  Decoder d;
  Bytes short_quote(original.begin(), original.begin() + 22);
  EXPECT_EQ(run(d, linktype::raw, ipv4("203.0.113.1", "192.0.2.1", ipproto::icmp, icmp(3, 3, 0, short_quote))).anomaly,
            DecodeAnomaly::bad_icmp_quote);
  Bytes v6quote(orig6.begin(), orig6.begin() + 48);
  auto mixed = run(d, linktype::raw, ipv4("203.0.113.1", "192.0.2.1", ipproto::icmp, icmp(3, 3, 0, v6quote)));
  EXPECT_EQ(mixed.anomaly, DecodeAnomaly::bad_icmp_quote);
  EXPECT_FALSE(mixed.has_flow());
  EXPECT_EQ(d.stats().count(DecodeAnomaly::bad_icmp_quote), 2u);
}

TEST(Decode, IcmpQueries) {
  auto echo = run(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::icmp, icmp(8, 0, 0x00420001)));
  EXPECT_EQ(echo.layer, Layer::transport);
  EXPECT_FALSE(echo.icmp_error);
  EXPECT_EQ(echo.key.icmp_type, 8);
  EXPECT_EQ(echo.key.sport, 0x42);
  auto echo6 = run(linktype::raw, ipv6("2001:db8::1", "2001:db8::2", ipproto::icmpv6, icmp(129, 0, 0x00070002)));
  EXPECT_EQ(echo6.key.icmp_type, 129);
  EXPECT_EQ(echo6.key.sport, 7);
  auto ns = run(linktype::raw, ipv6("2001:db8::1", "ff02::1:ff00:2", ipproto::icmpv6, icmp(135, 0, 0, filler(16))));
  EXPECT_EQ(ns.key.icmp_type, 135);
  EXPECT_EQ(ns.key.sport, 0);
  EXPECT_EQ(run(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::icmp, Bytes{8, 0, 0})).anomaly,
            DecodeAnomaly::truncated_icmp);
}

TEST(Decode, MalformedLayersBecomeCountedAnomalies) {
  Decoder d;
  auto kind = [&](std::uint16_t lt, const Bytes& b) { return run(d, lt, b).anomaly; };
  EXPECT_EQ(kind(linktype::ethernet, Bytes(10, 0)), DecodeAnomaly::truncated_link);
  Bytes v4 = v4_tcp();
  Bytes bad_ihl = v4;
  bad_ihl[0] = 0x44;
  EXPECT_EQ(kind(linktype::raw, bad_ihl), DecodeAnomaly::bad_ipv4_header_length);
  Bytes long_total = v4;
  long_total[3] = 200;
  EXPECT_EQ(kind(linktype::raw, long_total), DecodeAnomaly::bad_ipv4_total_length);
  EXPECT_EQ(kind(linktype::raw, Bytes(v4.begin(), v4.begin() + 12)), DecodeAnomaly::truncated_ipv4);
  EXPECT_EQ(kind(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, tcp(1, 2, 0, {}, 3))),
            DecodeAnomaly::bad_tcp_offset);
  Bytes long_offset = tcp(1, 2, 0);
  long_offset[12] = 0xf0;  // 60-byte header in a 20-byte segment
  EXPECT_EQ(kind(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, long_offset)), DecodeAnomaly::bad_tcp_offset);
  EXPECT_EQ(kind(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, filler(10))), DecodeAnomaly::truncated_tcp);
  EXPECT_EQ(kind(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, udp(1, 2, {}, 4))), DecodeAnomaly::bad_udp_length);
  EXPECT_EQ(kind(linktype::raw, ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, filler(5))), DecodeAnomaly::truncated_udp);
  EXPECT_EQ(kind(linktype::raw, ipv6("2001:db8::1", "2001:db8::2", ipproto::udp, udp(1, 2), 500)),
            DecodeAnomaly::bad_ipv6_payload_length);
  Bytes v6 = v6_udp();
  EXPECT_EQ(kind(linktype::raw, Bytes(v6.begin(), v6.begin() + 30)), DecodeAnomaly::truncated_ipv6);
  EXPECT_EQ(d.stats().total_anomalies(), 11u);
  EXPECT_EQ(d.stats().packets, 11u);
}

TEST(Decode, SnaplenTruncationKeepsPortsAndFlags) {
  Decoder d;
  Bytes full = ether(kIpv4, ipv4("192.0.2.1", "192.0.2.2", ipproto::tcp, tcp(1234, 80, tcpflag::ack, filler(1000))));
  Bytes cut(full.begin(), full.begin() + 14 + 20 + 14);  // snaplen stops inside the TCP header
  auto p = run(d, linktype::ethernet, cut, 0, static_cast<std::uint32_t>(full.size()));
  EXPECT_EQ(p.anomaly, DecodeAnomaly::none);
  EXPECT_EQ(p.layer, Layer::transport);
  EXPECT_EQ(p.key.dport, 80);
  EXPECT_EQ(p.tcp_flags, tcpflag::ack);
  EXPECT_EQ(p.ip_bytes, 20u + 20 + 1000);
  // Regression (found by fuzz_capture): the payload offset stays inside the frame.
  EXPECT_EQ(p.opaque_offset, cut.size());
}

// The fast path (src/engine/decode/common_case.hpp) must decode every frame
// exactly as the general decoder does, or leave it to it. Frames: well-formed
// packets of every shape the fast path takes or must refuse (VLAN stacks, raw
// IP, options, fragments, extension headers, odd lengths), then the same with
// random bytes of the headers changed, cut short at random points, and with
// random wire lengths.
namespace {

void expect_same_key(const FlowKey& a, const FlowKey& b, const std::string& what) {
  EXPECT_EQ(a.family, b.family) << what;
  EXPECT_EQ(a.proto, b.proto) << what;
  EXPECT_EQ(a.src, b.src) << what;
  EXPECT_EQ(a.dst, b.dst) << what;
  EXPECT_EQ(a.sport, b.sport) << what;
  EXPECT_EQ(a.dport, b.dport) << what;
  EXPECT_EQ(a.icmp_type, b.icmp_type) << what;
}

void expect_same(const DecodedPacket& a, const DecodedPacket& b, const std::string& what) {
  EXPECT_EQ(a.layer, b.layer) << what;
  EXPECT_EQ(a.anomaly, b.anomaly) << what;
  EXPECT_EQ(a.ethertype, b.ethertype) << what;
  EXPECT_EQ(a.vlan_count, b.vlan_count) << what;
  EXPECT_EQ(a.vlan, b.vlan) << what;
  expect_same_key(a.key, b.key, what);
  EXPECT_EQ(a.ip_bytes, b.ip_bytes) << what;
  EXPECT_EQ(a.opaque_offset, b.opaque_offset) << what;
  EXPECT_EQ(a.fragment, b.fragment) << what;
  EXPECT_EQ(a.later_fragment, b.later_fragment) << what;
  EXPECT_EQ(a.tcp_flags, b.tcp_flags) << what;
  EXPECT_EQ(a.icmp_code, b.icmp_code) << what;
  EXPECT_EQ(a.icmp_error, b.icmp_error) << what;
  expect_same_key(a.quoted, b.quoted, what);
  // Fields added later are compared too.
  EXPECT_TRUE(a == b) << what;
}

struct Sample {
  std::uint16_t linktype;
  Bytes bytes;
};

std::vector<Sample> common_shapes() {
  std::vector<Sample> out;
  V4Opts opts;
  opts.options = {7, 4, 0, 0};  // record route, 4 bytes
  V4Opts first, later, df;
  first.more_fragments = true;
  later.frag_offset8 = 3;
  std::vector<Bytes> l4_v4 = {tcp(51000, 443, tcpflag::syn), tcp(443, 51000, tcpflag::ack | tcpflag::psh, filler(33)),
                              tcp(1, 2, tcpflag::fin | tcpflag::ack, {}, 8), udp(5353, 53, filler(20)),
                              udp(53, 5353, filler(3), 7), udp(53, 5353, filler(3), 40)};
  std::vector<Bytes> ips;
  for (const auto& l4 : l4_v4) {
    std::uint8_t proto = l4.size() >= 20 && l4[12] >= 0x50 ? ipproto::tcp : ipproto::udp;
    ips.push_back(ipv4("192.0.2.1", "198.51.100.7", proto, l4));
    ips.push_back(ipv4("203.0.113.9", "192.0.2.1", proto, l4, opts));
    ips.push_back(ipv4("192.0.2.1", "192.0.2.1", proto, l4, first));
    ips.push_back(ipv4("192.0.2.1", "192.0.2.2", proto, l4, later));
    ips.push_back(ipv6("2001:db8::1", "2001:db8:ffff::2", proto, l4));
    ips.push_back(ipv6("2001:db8::1", "2001:db8::2", ipproto::tcp == proto ? 0 : 60, cat(ext(proto), l4)));
  }
  ips.push_back(ipv4("192.0.2.1", "192.0.2.2", ipproto::icmp, icmp(8, 0, 0x10001, filler(8))));
  ips.push_back(ipv6("2001:db8::1", "2001:db8::2", ipproto::icmpv6, icmp(128, 0, 0x10001)));
  ips.push_back(ipv4("192.0.2.1", "192.0.2.2", 47, filler(24)));
  ips.push_back(ipv6("2001:db8::1", "2001:db8::2", ipproto::tcp, tcp(1, 2, tcpflag::syn), 0));  // jumbogram length
  df.total_length = 1000;  // beyond the frame
  ips.push_back(ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, udp(1, 2), df));
  for (const auto& ip : ips) {
    out.push_back({linktype::raw, ip});
    out.push_back({(ip[0] >> 4) == 6 ? linktype::ipv6 : linktype::ipv4, ip});
    std::uint16_t type = (ip[0] >> 4) == 6 ? kIpv6 : kIpv4;
    out.push_back({linktype::ethernet, ether(type, ip)});
    out.push_back({linktype::ethernet, ether(type, ip, {{0x8100, 100}})});
    out.push_back({linktype::ethernet, ether(type, ip, {{0x88a8, 10}, {0x8100, 20}})});
    out.push_back({linktype::ethernet, ether(type, ip, {{0x8100, 10}, {0x8100, 20}})});
    out.push_back({linktype::ethernet, ether(type, ip, {{0x9100, 10}})});
    out.push_back({linktype::ethernet, ether(type == kIpv4 ? kIpv6 : kIpv4, ip)});  // the wrong IP version
    out.push_back({linktype::linux_sll, sll(type, ip)});
    Bytes padded = ether(type, ip);
    padded.resize(padded.size() + 18, 0);  // Ethernet padding after the IP packet
    out.push_back({linktype::ethernet, padded});
  }
  out.push_back({linktype::ethernet, ether(kArp, filler(28))});
  return out;
}

}  // namespace

TEST(Decode, FastPathDecodesAsTheGeneralDecoder) {
  DecoderOptions slow_opts;
  slow_opts.fast_path = false;
  Decoder fast, slow(slow_opts);
  std::mt19937_64 rng(20261124);
  std::size_t fast_eligible = 0, frames = 0;
  auto check = [&](const Sample& s, std::uint32_t caplen, std::uint32_t origlen, const std::string& what) {
    DecodedPacket a, b;
    fast.decode(s.linktype, s.bytes.data(), caplen, origlen, 1000, a);
    slow.decode(s.linktype, s.bytes.data(), caplen, origlen, 1000, b);
    expect_same(a, b, what);
    ++frames;
    if (b.layer == Layer::transport && b.anomaly == DecodeAnomaly::none) ++fast_eligible;
  };
  const auto shapes = common_shapes();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Sample& s = shapes[i];
    auto len = static_cast<std::uint32_t>(s.bytes.size());
    check(s, len, len, "shape " + std::to_string(i));
    // Every capture length, with the wire length the whole packet or shorter than captured.
    for (std::uint32_t cut = 0; cut < len; ++cut) {
      check(s, cut, len, "shape " + std::to_string(i) + " cut at " + std::to_string(cut));
      check(s, cut, cut / 2, "shape " + std::to_string(i) + " cut at " + std::to_string(cut) + ", short wire");
    }
    // Random changes to the first 80 bytes (link, IP and transport headers).
    for (int m = 0; m < 300; ++m) {
      Sample changed = s;
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        std::size_t at = rng() % std::min<std::size_t>(changed.bytes.size(), 80);
        changed.bytes[at] = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : changed.bytes[at] ^ (1u << (rng() % 8)));
      }
      auto origlen = static_cast<std::uint32_t>(rng() % 3 == 0 ? rng() % (2 * len + 1) : len);
      check(changed, len, origlen, "shape " + std::to_string(i) + " change " + std::to_string(m));
    }
  }
  const DecoderStats &x = fast.stats(), &y = slow.stats();
  EXPECT_EQ(x.packets, y.packets);
  EXPECT_EQ(x.ipv4, y.ipv4);
  EXPECT_EQ(x.ipv6, y.ipv6);
  EXPECT_EQ(x.non_ip, y.non_ip);
  EXPECT_EQ(x.fragments, y.fragments);
  EXPECT_EQ(x.fragments_attributed, y.fragments_attributed);
  EXPECT_EQ(x.fragment_evictions, y.fragment_evictions);
  EXPECT_EQ(x.anomalies, y.anomalies);
  // The comparison means something only if many frames are of the kind the fast path takes.
  EXPECT_GT(fast_eligible, frames / 10) << fast_eligible << " of " << frames;
}
