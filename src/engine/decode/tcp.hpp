// TCP: ports, flags and the data offset. A segment captured short of its full
// header (small snaplen) still yields ports and flags when the first 14 bytes are there.
#pragma once
#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

inline DecodeAnomaly tcp(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key,
                  std::uint8_t& flags, std::uint32_t& header_len) {
  // An ICMP error quotes at least the first 8 bytes: the ports.
  if (quoted) {
    if (avail < 4) return DecodeAnomaly::bad_icmp_quote;
    key.sport = bytes::be16(p);
    key.dport = bytes::be16(p + 2);
    return DecodeAnomaly::none;
  }
  if (wire < 20) return DecodeAnomaly::truncated_tcp;
  if (avail < 14) return DecodeAnomaly::truncated_tcp;
  std::uint32_t doff = (p[12] >> 4) * 4u;
  if (doff < 20 || doff > wire) return DecodeAnomaly::bad_tcp_offset;
  key.sport = bytes::be16(p);
  key.dport = bytes::be16(p + 2);
  flags = p[13] & 0x3f;
  header_len = doff;
  return DecodeAnomaly::none;
}

}  // namespace portmatrix::decode
