// UDP probe payloads, checked field by field against their specifications.
#include "audit/udp_payloads.hpp"

#include <gtest/gtest.h>

using namespace portmatrix::scan::payload;

namespace {

// A minimal BER reader: tag, then length (short or long form); returns the content span.
struct Tlv {
  std::uint8_t tag;
  std::size_t start, len;
};
Tlv read_tlv(const Bytes& b, std::size_t at) {
  Tlv t{b.at(at), 0, 0};
  std::size_t i = at + 1;
  std::size_t len = b.at(i++);
  if (len & 0x80) {
    std::size_t n = len & 0x7f;
    len = 0;
    while (n--) len = (len << 8) | b.at(i++);
  }
  t.start = i;
  t.len = len;
  EXPECT_LE(t.start + t.len, b.size());
  return t;
}

}  // namespace

TEST(UdpPayloads, NtpClientRequest) {
  const Bytes b = ntp_client_request();
  ASSERT_EQ(b.size(), 48u);
  EXPECT_EQ(b[0] >> 6, 0);          // leap indicator
  EXPECT_EQ((b[0] >> 3) & 7, 4);    // version 4
  EXPECT_EQ(b[0] & 7, 3);           // mode 3: client
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_EQ(b[i], 0) << i;
}

TEST(UdpPayloads, SnmpGetRequestIsWellFormedBer) {
  const Bytes b = snmp_get_request("public", 0x1234);
  const Tlv msg = read_tlv(b, 0);
  EXPECT_EQ(msg.tag, 0x30);
  EXPECT_EQ(msg.start + msg.len, b.size());  // nothing after the message
  const Tlv version = read_tlv(b, msg.start);
  EXPECT_EQ(version.tag, 0x02);
  ASSERT_EQ(version.len, 1u);
  EXPECT_EQ(b[version.start], 1);  // SNMPv2c
  const Tlv community = read_tlv(b, version.start + version.len);
  EXPECT_EQ(community.tag, 0x04);
  EXPECT_EQ(std::string(b.begin() + community.start, b.begin() + community.start + community.len), "public");
  const Tlv pdu = read_tlv(b, community.start + community.len);
  EXPECT_EQ(pdu.tag, 0xa0);  // GetRequest-PDU
  const Tlv reqid = read_tlv(b, pdu.start);
  ASSERT_EQ(reqid.len, 2u);
  EXPECT_EQ(b[reqid.start], 0x12);
  EXPECT_EQ(b[reqid.start + 1], 0x34);
  const Tlv err = read_tlv(b, reqid.start + reqid.len);
  const Tlv idx = read_tlv(b, err.start + err.len);
  const Tlv list = read_tlv(b, idx.start + idx.len);
  EXPECT_EQ(list.tag, 0x30);
  const Tlv bind = read_tlv(b, list.start);
  const Tlv oid = read_tlv(b, bind.start);
  EXPECT_EQ(oid.tag, 0x06);
  const Bytes sysdescr{0x2b, 6, 1, 2, 1, 1, 1, 0};  // 1.3.6.1.2.1.1.1.0
  EXPECT_EQ(Bytes(b.begin() + oid.start, b.begin() + oid.start + oid.len), sysdescr);
  const Tlv value = read_tlv(b, oid.start + oid.len);
  EXPECT_EQ(value.tag, 0x05);  // NULL
  EXPECT_EQ(value.len, 0u);
}

TEST(UdpPayloads, SnmpRequestIdsNeedingASignByteAndLongCommunities) {
  // 0x80 would read as negative in one byte: BER needs a leading zero.
  const Bytes b = snmp_get_request("public", 0x80);
  const Tlv msg = read_tlv(b, 0);
  const Tlv version = read_tlv(b, msg.start);
  const Tlv community = read_tlv(b, version.start + version.len);
  const Tlv pdu = read_tlv(b, community.start + community.len);
  const Tlv reqid = read_tlv(b, pdu.start);
  ASSERT_EQ(reqid.len, 2u);
  EXPECT_EQ(b[reqid.start], 0x00);
  EXPECT_EQ(b[reqid.start + 1], 0x80);
  // A community of 200 bytes needs the long length form, all the way up.
  const Bytes big = snmp_get_request(std::string(200, 'c'), 1);
  const Tlv outer = read_tlv(big, 0);
  EXPECT_EQ(outer.start + outer.len, big.size());
}

TEST(UdpPayloads, DnsRootNsQuery) {
  const Bytes b = dns_root_ns_query(0xbeef);
  ASSERT_EQ(b.size(), 17u);
  EXPECT_EQ(b[0], 0xbe);
  EXPECT_EQ(b[1], 0xef);
  EXPECT_EQ(b[2] & 0x80, 0);  // a query
  EXPECT_EQ(b[2] & 0x01, 0);  // recursion not desired
  EXPECT_EQ((b[4] << 8) | b[5], 1);  // one question
  EXPECT_EQ(b[12], 0);               // the root name
  EXPECT_EQ((b[13] << 8) | b[14], 2);  // NS
  EXPECT_EQ((b[15] << 8) | b[16], 1);  // IN
}

TEST(UdpPayloads, ChosenByPort) {
  EXPECT_EQ(for_port(123), ntp_client_request());
  EXPECT_EQ(for_port(53).size(), 17u);
  EXPECT_EQ(for_port(161), for_port(162));
  EXPECT_EQ(read_tlv(for_port(161), 0).tag, 0x30);
  EXPECT_TRUE(for_port(9).empty());
  EXPECT_TRUE(for_port(4000).empty());
}
