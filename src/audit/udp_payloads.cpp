#include "audit/udp_payloads.hpp"

#include "portmatrix/diag.hpp"

namespace portmatrix::scan::payload {

namespace {

// BER (X.690) encoding, just the definite-length forms SNMP needs.
void ber_length(Bytes& out, std::size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<std::uint8_t>(len));
    return;
  }
  Bytes digits;
  for (std::size_t l = len; l > 0; l >>= 8) digits.insert(digits.begin(), static_cast<std::uint8_t>(l & 0xff));
  out.push_back(static_cast<std::uint8_t>(0x80 | digits.size()));
  out.insert(out.end(), digits.begin(), digits.end());
}

Bytes ber(std::uint8_t tag, const Bytes& content) {
  Bytes out{tag};
  ber_length(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

// Two's-complement, minimal-length INTEGER content.
Bytes ber_integer(std::int64_t v) {
  Bytes content;
  for (;;) {
    content.insert(content.begin(), static_cast<std::uint8_t>(v & 0xff));
    const bool sign = content.front() & 0x80;
    v >>= 8;  // arithmetic shift keeps the sign
    if ((v == 0 && !sign) || (v == -1 && sign)) break;
  }
  return ber(0x02, content);
}

Bytes ber_oid(const std::vector<std::uint32_t>& arcs) {
  PM_ASSERT(arcs.size() >= 2 && arcs[0] <= 2, "an OID has at least two arcs");
  Bytes content{static_cast<std::uint8_t>(arcs[0] * 40 + arcs[1])};
  for (std::size_t i = 2; i < arcs.size(); ++i) {
    Bytes base128;
    std::uint32_t a = arcs[i];
    do {
      base128.insert(base128.begin(), static_cast<std::uint8_t>((a & 0x7f) | (base128.empty() ? 0 : 0x80)));
      a >>= 7;
    } while (a != 0);
    content.insert(content.end(), base128.begin(), base128.end());
  }
  return ber(0x06, content);
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

Bytes ntp_client_request() {
  Bytes b(48, 0);
  b[0] = (0 << 6) | (4 << 3) | 3;  // leap indicator 0, version 4, mode 3 (client)
  return b;
}

Bytes snmp_get_request(std::string_view community, std::uint32_t request_id) {
  const Bytes null_value{0x05, 0x00};
  const Bytes varbind = ber(0x30, concat({ber_oid({1, 3, 6, 1, 2, 1, 1, 1, 0}), null_value}));
  const Bytes pdu = ber(0xa0, concat({ber_integer(request_id), ber_integer(0), ber_integer(0), ber(0x30, varbind)}));
  const Bytes comm = ber(0x04, Bytes(community.begin(), community.end()));
  return ber(0x30, concat({ber_integer(1 /* v2c */), comm, pdu}));
}

Bytes dns_root_ns_query(std::uint16_t id) {
  return Bytes{
      static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff),
      0x00, 0x00,  // standard query, no recursion desired
      0x00, 0x01,  // one question
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00,        // the root name
      0x00, 0x02,  // type NS
      0x00, 0x01,  // class IN
  };
}

Bytes for_port(std::uint16_t port) {
  switch (port) {
    case 53: return dns_root_ns_query(0x706d);  // "pm"
    case 123: return ntp_client_request();
    case 161:
    case 162: return snmp_get_request("public", 0x706d);
    default: return {};
  }
}

}  // namespace portmatrix::scan::payload
