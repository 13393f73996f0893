// IPv6: a 40-byte header and a chain of extension headers. Hop-by-hop, routing,
// destination options, mobility, HIP and shim6 share the (next, length in 8-byte
// units minus one) layout; AH counts 4-byte units minus two; the fragment header is
// 8 bytes. ESP and "no next header" end the chain: what follows is opaque.
#pragma once
#include <cstring>

#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

inline constexpr std::uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kEsp = 50, kAh = 51, kNoNext = 59,
                       kDestOpts = 60, kMobility = 135, kHip = 139, kShim6 = 140;
// Far more than any real packet carries; bounds the work a crafted chain can cause.
inline constexpr int kMaxExtensions = 16;

inline DecodeAnomaly ipv6(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key,
                   NetInfo& info, std::uint32_t& ip_bytes) {
  if (avail < 40) return quoted ? DecodeAnomaly::bad_icmp_quote : DecodeAnomaly::truncated_ipv6;
  if ((p[0] >> 4) != 6) return DecodeAnomaly::bad_ip_version;
  std::uint32_t payload = bytes::be16(p + 4);
  // Payload length 0 is a jumbogram (or a TSO capture): take the frame's length.
  if (payload == 0 && !quoted) payload = wire - 40;
  if (!quoted && 40 + payload > wire) return DecodeAnomaly::bad_ipv6_payload_length;
  std::uint32_t end = 40 + payload;  // end of the packet, by its length field

  key.family = Family::ipv6;
  key.src.family = key.dst.family = Family::ipv6;
  std::memcpy(key.src.bytes.data(), p + 8, 16);
  std::memcpy(key.dst.bytes.data(), p + 24, 16);
  ip_bytes = end;

  std::uint8_t next = p[6];
  std::uint32_t off = 40;
  // In a quote the length field describes the original packet, the bytes stop earlier.
  std::uint32_t limit = quoted ? avail : end;
  for (int n = 0;; ++n) {
    std::uint32_t len;
    switch (next) {
      case kHopByHop: case kRouting: case kDestOpts: case kMobility: case kHip: case kShim6:
        if (off + 2 > avail || off + 2 > limit) return DecodeAnomaly::bad_ipv6_extension;
        len = (p[off + 1] + 1u) * 8u;
        break;
      case kAh:
        if (off + 2 > avail || off + 2 > limit) return DecodeAnomaly::bad_ipv6_extension;
        len = (p[off + 1] + 2u) * 4u;
        break;
      case kFragment: {
        if (off + 8 > avail || off + 8 > limit) return DecodeAnomaly::bad_ipv6_extension;
        std::uint16_t fo = bytes::be16(p + off + 2);
        info.fragment = true;
        info.first_fragment = (fo >> 3) == 0;
        info.frag_id = bytes::be32(p + off + 4);
        next = p[off];
        off += 8;
        if (!info.first_fragment) {
          // The rest is the middle of some upper-layer payload: no more headers to read.
          info.header_len = off;
          info.l4_wire = end - off;
          key.proto = next;
          return DecodeAnomaly::none;
        }
        if (n + 1 >= kMaxExtensions) return DecodeAnomaly::too_many_ipv6_extensions;
        continue;
      }
      case kEsp: case kNoNext: default:
        info.header_len = off;
        info.l4_wire = end - off;
        key.proto = next;
        return DecodeAnomaly::none;
    }
    if (off + len > limit || off + len > avail) return DecodeAnomaly::bad_ipv6_extension;
    next = p[off];
    off += len;
    if (n + 1 >= kMaxExtensions) return DecodeAnomaly::too_many_ipv6_extensions;
  }
}

}  // namespace portmatrix::decode
