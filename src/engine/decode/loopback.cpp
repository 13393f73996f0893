// BSD loopback encapsulation: a 4-byte address family before the IP header.
// DLT_NULL stores it in the writing host's byte order, which a reader cannot know:
// families are small numbers, so a value with high bits set is byte-swapped.
// DLT_LOOP stores it in network order. IPv6 has a different AF_INET6 on each BSD.
#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

DecodeAnomaly bsd_loopback(const std::uint8_t* p, std::uint32_t avail, bool network_order, DecodedPacket& out,
                           std::uint32_t& off) {
  if (avail < 4) return DecodeAnomaly::truncated_link;
  std::uint32_t af = network_order ? bytes::be32(p) : bytes::load_native<std::uint32_t>(p);
  if (!network_order && (af & 0xffff0000u)) af = bytes::swap(af);
  switch (af) {
    case 2: out.ethertype = kEtherIpv4; break;                                  // AF_INET everywhere
    case 10: case 24: case 28: case 30: out.ethertype = kEtherIpv6; break;      // Linux, Net/OpenBSD, FreeBSD, macOS
    default: out.ethertype = 0; break;
  }
  off = 4;
  return DecodeAnomaly::none;
}

}  // namespace portmatrix::decode
