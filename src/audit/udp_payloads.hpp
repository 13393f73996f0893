// UDP probe payloads. Most UDP services stay silent on an empty datagram, so a
// port that listens looks exactly like one a firewall drops (open|filtered). For
// a few common services a well-formed request makes the service answer, which
// proves the port open. Built from the protocol specifications (RFC 5905 NTP,
// RFC 1157/3416 SNMP, RFC 1035 DNS), not captured bytes.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace portmatrix::scan::payload {

using Bytes = std::vector<std::uint8_t>;

// An NTPv4 client request (mode 3): 48 bytes, all zero but the first.
Bytes ntp_client_request();
// An SNMPv2c GetRequest for sysDescr.0 (1.3.6.1.2.1.1.1.0) with the given community.
Bytes snmp_get_request(std::string_view community, std::uint32_t request_id);
// A DNS query for the root name servers (". IN NS") without recursion, which any
// DNS server answers (with data, a referral or a refusal: an answer either way).
Bytes dns_root_ns_query(std::uint16_t id);

// The datagram to send to a UDP port: a service request for the ports above
// (53, 123, 161, 162), empty otherwise.
Bytes for_port(std::uint16_t port);

}  // namespace portmatrix::scan::payload
