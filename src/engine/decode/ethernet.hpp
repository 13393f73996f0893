// Ethernet II with up to two stacked VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8,
// and the pre-standard QinQ 0x9100). An ethertype below 0x0600 is an 802.3 length:
// the frame carries LLC, not IP.
#pragma once
#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

inline bool is_vlan_tag(std::uint16_t t) { return t == 0x8100 || t == 0x88a8 || t == 0x9100; }

inline DecodeAnomaly ethernet(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out, std::uint32_t& off) {
  if (avail < 14) return DecodeAnomaly::truncated_link;
  std::uint16_t type = bytes::be16(p + 12);
  off = 14;
  while (is_vlan_tag(type)) {
    if (out.vlan_count == out.vlan.size()) return DecodeAnomaly::too_many_vlan_tags;
    if (avail < off + 4) return DecodeAnomaly::truncated_vlan;
    out.vlan[out.vlan_count++] = bytes::be16(p + off) & 0x0fff;
    type = bytes::be16(p + off + 2);
    off += 4;
  }
  out.ethertype = type < 0x0600 ? 0 : type;
  return DecodeAnomaly::none;
}

}  // namespace portmatrix::decode
