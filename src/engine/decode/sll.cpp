// Linux "cooked" captures (tcpdump -i any): SLL v1 has a 16-byte header with the
// protocol last, SLL2 a 20-byte header with the protocol first. The protocol is an
// ethertype for IP; small values name non-Ethernet framings (802.2 LLC, ...).
#include "engine/bytes.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

namespace {
std::uint16_t protocol_of(std::uint16_t proto) { return proto < 0x0600 ? 0 : proto; }
}  // namespace

DecodeAnomaly linux_sll(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out, std::uint32_t& off) {
  if (avail < 16) return DecodeAnomaly::truncated_link;
  out.ethertype = protocol_of(bytes::be16(p + 14));
  off = 16;
  return DecodeAnomaly::none;
}

DecodeAnomaly linux_sll2(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out, std::uint32_t& off) {
  if (avail < 20) return DecodeAnomaly::truncated_link;
  out.ethertype = protocol_of(bytes::be16(p));
  off = 20;
  return DecodeAnomaly::none;
}

}  // namespace portmatrix::decode
