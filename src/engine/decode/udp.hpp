// UDP: ports and a length field that must cover the header and fit the datagram.
#pragma once
#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

inline DecodeAnomaly udp(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key) {
  if (quoted) {
    if (avail < 4) return DecodeAnomaly::bad_icmp_quote;
  } else {
    if (wire < 8 || avail < 8) return DecodeAnomaly::truncated_udp;
    std::uint32_t len = bytes::be16(p + 4);
    if (len < 8 || len > wire) return DecodeAnomaly::bad_udp_length;
  }
  key.sport = bytes::be16(p);
  key.dport = bytes::be16(p + 2);
  return DecodeAnomaly::none;
}

}  // namespace portmatrix::decode
