// The per-layer decoders behind Decoder. Those on the common path (Ethernet,
// IPv4, IPv6, TCP, UDP) are inline, defined in <layer>.hpp, so that Decoder
// compiles into one function for the usual packet; a file calling one includes
// its header. Each takes the bytes of its layer (avail = bytes captured, wire =
// bytes on the wire, wire >= avail), checks them before reading, and either
// fills its part of the result or returns an anomaly.
#pragma once
#include <cstdint>

#include "portmatrix/decode.hpp"

namespace portmatrix::decode {

inline constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd;

// Link layers: set out.ethertype (and VLAN tags) and the offset of the network header.
inline DecodeAnomaly ethernet(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out, std::uint32_t& off);
DecodeAnomaly linux_sll(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out, std::uint32_t& off);
DecodeAnomaly linux_sll2(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out, std::uint32_t& off);
// BSD loopback: a 4-byte address family, in the writer's byte order (null) or network order (loop).
DecodeAnomaly bsd_loopback(const std::uint8_t* p, std::uint32_t avail, bool network_order, DecodedPacket& out,
                           std::uint32_t& off);

// What the network layer found out about the transport payload.
struct NetInfo {
  std::uint32_t header_len = 0;  // bytes of IP header including IPv6 extension headers
  std::uint32_t l4_wire = 0;     // transport bytes on the wire (from the IP length fields)
  bool fragment = false;
  bool first_fragment = false;
  std::uint32_t frag_id = 0;
};

// Network layers: fill key.family/proto/src/dst and ip_bytes. quoted = the header
// sits inside an ICMP error, whose quote is shorter than the length fields say.
inline DecodeAnomaly ipv4(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key,
                          NetInfo& info, std::uint32_t& ip_bytes, bool& bad_options);
inline DecodeAnomaly ipv6(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key,
                          NetInfo& info, std::uint32_t& ip_bytes);

// Transport layers. tcp/udp fill the ports (tcp also its flags); `quoted` needs
// only the first bytes an ICMP error is guaranteed to carry.
inline DecodeAnomaly tcp(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key,
                         std::uint8_t& flags, std::uint32_t& header_len);
inline DecodeAnomaly udp(const std::uint8_t* p, std::uint32_t avail, std::uint32_t wire, bool quoted, FlowKey& key);
// ICMP or ICMPv6 (by key.proto). Fills the type, code and identifier; for an error
// message decodes the quoted packet into out.quoted and sets out.icmp_error.
DecodeAnomaly icmp(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out);
// The identifier and type of an ICMP query as quoted inside an error.
DecodeAnomaly icmp_quoted(const std::uint8_t* p, std::uint32_t avail, FlowKey& key);

// True for ICMP/ICMPv6 types that are error messages quoting a packet.
bool is_icmp_error(std::uint8_t proto, std::uint8_t type);

}  // namespace portmatrix::decode
