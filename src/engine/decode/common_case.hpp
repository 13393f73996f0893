// The decoder's fast path: the packets that make up nearly all real traffic
// (Ethernet with at most one 802.1Q tag, or raw IP; IPv4 without options and
// not fragmented, or IPv6 without extension headers; TCP or UDP with whole,
// well-formed headers), decoded in one straight run of checks. Anything else,
// including every packet the general decoder would flag, makes it give up
// before it has counted anything, and the general decoder takes the packet.
// It must give exactly what the general decoder gives: the decode tests run
// both on the same frames and compare (tests/unit/engine/decode_test.cpp), and
// so does the decode fuzz target.
#pragma once
#include <algorithm>
#include <cstring>

#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

// out must already hold a reset DecodedPacket. Returns false, having counted
// nothing (out may be partly written), when the packet is not a common one.
[[gnu::always_inline]] inline bool common_case(const Frame& frame, DecodedPacket& out, DecoderStats& stats) {
  const std::uint8_t* p = frame.data;
  const std::uint32_t caplen = frame.caplen;
  const std::uint32_t origlen = std::max(frame.origlen, caplen);
  std::uint32_t off;
  std::uint16_t type;
  switch (frame.linktype) {
    case linktype::ethernet:
      if (caplen < 14) return false;
      type = bytes::be16(p + 12);
      off = 14;
      if (type == 0x8100) {
        if (caplen < 18) return false;
        out.vlan_count = 1;
        out.vlan[0] = bytes::be16(p + 14) & 0x0fff;
        type = bytes::be16(p + 16);
        off = 18;
      }
      break;
    case linktype::raw:
      if (caplen == 0) return false;
      type = (p[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
      off = 0;
      break;
    case linktype::ipv4: type = kEtherIpv4; off = 0; break;
    case linktype::ipv6: type = kEtherIpv6; off = 0; break;
    default: return false;
  }
  const std::uint8_t* ip = p + off;
  const std::uint32_t avail = caplen - off, wire = origlen - off;
  std::uint32_t ip_header, l4_wire;
  FlowKey& key = out.key;
  if (type == kEtherIpv4) {
    // Version 4, no options; not a fragment (the don't-fragment bit may be set).
    if (avail < 20 || ip[0] != 0x45) return false;
    std::uint32_t total = bytes::be16(ip + 2);
    if (total < 20 || total > wire || (bytes::be16(ip + 6) & 0x3fff) != 0) return false;
    ip_header = 20;
    l4_wire = total - 20;
    key.proto = ip[9];
    std::memcpy(key.src.bytes.data(), ip + 12, 4);
    std::memcpy(key.dst.bytes.data(), ip + 16, 4);
    // family and the address families are ipv4 in a reset packet.
    out.ip_bytes = total;
  } else if (type == kEtherIpv6) {
    // No extension headers, and a payload length that is not the jumbogram's 0.
    if (avail < 40 || (ip[0] >> 4) != 6) return false;
    std::uint32_t payload = bytes::be16(ip + 4);
    if (payload == 0 || 40 + payload > wire) return false;
    key.proto = ip[6];
    if (key.proto != ipproto::tcp && key.proto != ipproto::udp) return false;
    ip_header = 40;
    l4_wire = payload;
    key.family = key.src.family = key.dst.family = Family::ipv6;
    std::memcpy(key.src.bytes.data(), ip + 8, 16);
    std::memcpy(key.dst.bytes.data(), ip + 24, 16);
    out.ip_bytes = 40 + payload;
  } else {
    return false;
  }
  // The transport header, bounded by the IP length field and by what was captured.
  const std::uint8_t* l4 = ip + ip_header;
  const std::uint32_t l4_avail = std::min(avail - std::min(avail, ip_header), l4_wire);
  std::uint32_t l4_header;
  if (key.proto == ipproto::tcp) {
    if (l4_avail < 20) return false;
    l4_header = (l4[12] >> 4) * 4u;
    if (l4_header < 20 || l4_header > l4_wire) return false;
    out.tcp_flags = l4[13] & 0x3f;
  } else if (key.proto == ipproto::udp) {
    if (l4_avail < 8) return false;
    std::uint32_t len = bytes::be16(l4 + 4);
    if (len < 8 || len > l4_wire) return false;
    l4_header = 8;
  } else {
    return false;
  }
  key.sport = bytes::be16(l4);
  key.dport = bytes::be16(l4 + 2);
  out.layer = Layer::transport;
  out.ethertype = type;
  out.opaque_offset = std::min(off + ip_header + l4_header, caplen);
  ++stats.packets;
  ++(type == kEtherIpv4 ? stats.ipv4 : stats.ipv6);
  return true;
}

}  // namespace portmatrix::decode
