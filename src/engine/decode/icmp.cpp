// ICMP and ICMPv6. Queries (echo and the like) carry an identifier that pairs
// request and reply; error messages (unreachable, packet too big, time exceeded,
// parameter problem, and IPv4's redirect and source quench) quote the IP header
// and first transport bytes of the packet that caused them, which ties the error
// to that packet's connection.
#include "engine/bytes.hpp"
#include "engine/decode/ipv4.hpp"
#include "engine/decode/ipv6.hpp"
#include "engine/decode/tcp.hpp"
#include "engine/decode/udp.hpp"
#include "engine/decode/layers.hpp"

namespace portmatrix::decode {

bool is_icmp_error(std::uint8_t proto, std::uint8_t type) {
  if (proto == ipproto::icmpv6) return type >= 1 && type <= 4;
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

namespace {

// Queries whose bytes 4-5 are an identifier (RFC 792, RFC 4443).
bool has_identifier(std::uint8_t proto, std::uint8_t type) {
  if (proto == ipproto::icmpv6) return type == 128 || type == 129;
  return type == 0 || type == 8 || type == 13 || type == 14 || type == 15 || type == 16 || type == 17 || type == 18;
}

// Decodes the packet quoted by an error: its network header, then its ports or identifier.
DecodeAnomaly quote(const std::uint8_t* p, std::uint32_t avail, bool v6, FlowKey& q) {
  NetInfo info;
  std::uint32_t ip_bytes = 0;
  bool bad_options = false;
  DecodeAnomaly a = v6 ? ipv6(p, avail, avail, true, q, info, ip_bytes)
                       : ipv4(p, avail, avail, true, q, info, ip_bytes, bad_options);
  // A later fragment quotes no transport header; the quote must also match the error's family.
  if (a != DecodeAnomaly::none || (info.fragment && !info.first_fragment)) return DecodeAnomaly::bad_icmp_quote;
  const std::uint8_t* l4 = p + info.header_len;
  std::uint32_t l4_avail = avail - info.header_len;
  std::uint8_t flags = 0;
  std::uint32_t hl = 0;
  switch (q.proto) {
    case ipproto::tcp: a = tcp(l4, l4_avail, l4_avail, true, q, flags, hl); break;
    case ipproto::udp: a = udp(l4, l4_avail, l4_avail, true, q); break;
    case ipproto::icmp:
    case ipproto::icmpv6:
      if ((q.proto == ipproto::icmpv6) != v6) return DecodeAnomaly::bad_icmp_quote;
      a = icmp_quoted(l4, l4_avail, q);
      break;
    default: break;  // other protocols are tracked by addresses alone
  }
  return a == DecodeAnomaly::none ? a : DecodeAnomaly::bad_icmp_quote;
}

}  // namespace

DecodeAnomaly icmp_quoted(const std::uint8_t* p, std::uint32_t avail, FlowKey& key) {
  if (avail < 6) return DecodeAnomaly::bad_icmp_quote;
  key.icmp_type = p[0];
  // An error about an error is never sent (RFC 1122), so a quoted error is bogus.
  if (is_icmp_error(key.proto, key.icmp_type)) return DecodeAnomaly::bad_icmp_quote;
  key.sport = has_identifier(key.proto, key.icmp_type) ? bytes::be16(p + 4) : 0;
  key.dport = 0;
  return DecodeAnomaly::none;
}

DecodeAnomaly icmp(const std::uint8_t* p, std::uint32_t avail, DecodedPacket& out) {
  if (avail < 8) return DecodeAnomaly::truncated_icmp;
  FlowKey& key = out.key;
  key.icmp_type = p[0];
  out.icmp_code = p[1];
  key.sport = has_identifier(key.proto, key.icmp_type) ? bytes::be16(p + 4) : 0;
  key.dport = 0;
  if (!is_icmp_error(key.proto, key.icmp_type)) return DecodeAnomaly::none;
  out.icmp_error = true;
  bool v6 = key.proto == ipproto::icmpv6;
  if (v6 != (key.family == Family::ipv6)) return DecodeAnomaly::bad_icmp_quote;
  return quote(p + 8, avail - 8, v6, out.quoted);
}

}  // namespace portmatrix::decode
