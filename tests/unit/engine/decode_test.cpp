#include "portmatrix/decode.hpp"

#include <gtest/gtest.h>

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
