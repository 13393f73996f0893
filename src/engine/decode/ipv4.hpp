// IPv4: a 20-byte header plus options (IHL), total length, and fragmentation
// (more-fragments flag, offset in 8-byte units, 16-bit identification).
#pragma once
#include <cstring>

#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {


// Option TLVs: 0 ends the list, 1 is a one-byte pad, others carry a length byte
// that counts the type and length bytes too.
inline bool options_well_formed(const std::uint8_t* p, std::uint32_t len) {
  std::uint32_t i = 0;
  while (i < len) {
    std::uint8_t type = p[i];
    if (type == 0) return true;
    if (type == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= len) return false;
    std::uint8_t olen = p[i + 1];
    if (olen < 2 || olen > len - i) return false;
    i += olen;
  }
  return true;
}

inline DecodeAnomaly ipv4(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key,
                   NetInfo& info, std::uint32_t& ip_bytes, bool& bad_options) {
  if (avail < 20) return DecodeAnomaly::truncated_ipv4;
  if ((p[0] >> 4) != 4) return DecodeAnomaly::bad_ip_version;
  std::uint32_t hlen = (p[0] & 0x0f) * 4u;
  std::uint32_t total = bytes::be16(p + 2);
  if (hlen < 20) return DecodeAnomaly::bad_ipv4_header_length;
  if (total < hlen) return DecodeAnomaly::bad_ipv4_total_length;
  if (hlen > avail) return quoted ? DecodeAnomaly::bad_icmp_quote : DecodeAnomaly::truncated_ipv4;
  // A quote holds only the start of the packet its length field describes.
  if (!quoted && total > wire) return DecodeAnomaly::bad_ipv4_total_length;
  bad_options = hlen > 20 && !options_well_formed(p + 20, hlen - 20);

  std::uint16_t frag = bytes::be16(p + 6);
  std::uint16_t offset = frag & 0x1fff;
  bool more = frag & 0x2000;
  info.header_len = hlen;
  info.l4_wire = total - hlen;
  info.fragment = more || offset != 0;
  info.first_fragment = info.fragment && offset == 0;
  info.frag_id = bytes::be16(p + 4);

  key.family = Family::ipv4;
  key.proto = p[9];
  key.src.family = key.dst.family = Family::ipv4;
  std::memcpy(key.src.bytes.data(), p + 12, 4);
  std::memcpy(key.dst.bytes.data(), p + 16, 4);
  ip_bytes = total;
  return DecodeAnomaly::none;
}

}  // namespace portmatrix::decode
