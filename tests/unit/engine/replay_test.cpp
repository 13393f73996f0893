// replay's per-connection output, written without format-string parsers or
// JSON objects for speed: held here to what fmt and nlohmann::json give.
#include "portmatrix/replay.hpp"

#include <cstdint>
#include <limits>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/timeutil.hpp"
#include "portmatrix/site.hpp"
#include "support/packets.hpp"

using namespace portmatrix;

namespace {

const Policy& cms_policy() {
  static const LoadedPolicy lp = [] {
    auto r = load_policy("cms-r20", "cms-site");
    if (!r) throw std::runtime_error("cms-r20 does not load");
    return std::move(*r.value);
  }();
  return lp.policy;
}

IpAddr ip(const char* s) { return *parse_ip(s); }

Connection conn(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport, std::uint8_t proto) {
  Connection c;
  c.src = ip(src);
  c.dst = ip(dst);
  c.family = c.src.family;
  c.sport = sport;
  c.dport = dport;
  c.proto = proto;
  c.packets = {3, 2};
  c.bytes = {300, 12000};
  c.first_ns = 1'700'000'000'123'456'789;
  c.last_ns = 1'700'000'061'000'000'000;
  return c;
}

// The text and JSON the replay command printed before they were written by hand.
std::string fmt_line(const ReplayedConnection& r) {
  const auto& c = *r.connection;
  return fmt::format("{:<6} {:<39} {:>5}  {:<39} {:>5}  {:<8} {:<8} {:<16} {:>8} {:>10}  {}\n",
                     c.proto == 6 ? "tcp" : c.proto == 17 ? "udp" : c.proto == 1 ? "icmp" : c.proto == 58 ? "icmpv6" : "ip",
                     c.src.to_string(), c.sport, c.dst.to_string(), c.dport, to_string(c.initiator), to_string(r.verdict),
                     r.row.empty() ? "-" : r.row, c.packets[0] + c.packets[1], c.bytes[0] + c.bytes[1],
                     iso_time_ns(c.first_ns));
}

std::string json_object(const ReplayedConnection& r, const std::string& proto) {
  const Connection& c = *r.connection;
  nlohmann::ordered_json j;
  j["proto"] = proto;
  j["src"] = c.src.to_string();
  j["sport"] = c.sport;
  j["dst"] = c.dst.to_string();
  j["dport"] = c.dport;
  j["initiator"] = std::string(to_string(c.initiator));
  j["verdict"] = std::string(to_string(r.verdict));
  j["row"] = r.row.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.row);
  j["src_system"] = r.src_system;
  j["dst_system"] = r.dst_system;
  j["packets"] = c.packets[0] + c.packets[1];
  j["bytes"] = c.bytes[0] + c.bytes[1];
  j["first"] = iso_time_ns(c.first_ns);
  j["last"] = iso_time_ns(c.last_ns);
  return j.dump();
}

}  // namespace

TEST(ReplayOutput, TimesAreIsoUtcWithMicroseconds) {
  EXPECT_EQ(iso_time_ns(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(iso_time_ns(1'700'000'000'123'456'789), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(iso_time_ns(1'700'000'000'000'001'000), "2023-11-14T22:13:20.000001Z");
  // Another second, then the first again: the remembered calendar part follows.
  EXPECT_EQ(iso_time_ns(1'700'086'400'999'999'999), "2023-11-15T22:13:20.999999Z");
  EXPECT_EQ(iso_time_ns(1'700'000'000'100'000'000), "2023-11-14T22:13:20.100000Z");
}

// Before 1970 the second is rounded down and the fraction counts up from it: it
// used to print "1969-12-31T23:59:51.-998500Z" for -9.9985 s.
TEST(ReplayOutput, TimesBefore1970HaveAPositiveFraction) {
  EXPECT_EQ(iso_time_ns(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(iso_time_ns(-1'000), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(iso_time_ns(-1'001), "1969-12-31T23:59:59.999998Z");
  EXPECT_EQ(iso_time_ns(-999'999'999), "1969-12-31T23:59:59.000000Z");
  EXPECT_EQ(iso_time_ns(-1'000'000'000), "1969-12-31T23:59:59.000000Z");
  EXPECT_EQ(iso_time_ns(-1'000'000'001), "1969-12-31T23:59:58.999999Z");
  EXPECT_EQ(iso_time_ns(-9'998'500'000), "1969-12-31T23:59:50.001500Z");
  EXPECT_EQ(iso_time_ns(-86'400'000'000'000), "1969-12-31T00:00:00.000000Z");
  // Alternating around the epoch: the remembered calendar part follows the rounded-down second.
  EXPECT_EQ(iso_time_ns(500'000'000), "1970-01-01T00:00:00.500000Z");
  EXPECT_EQ(iso_time_ns(-500'000'000), "1969-12-31T23:59:59.500000Z");
  EXPECT_EQ(iso_time_ns(0), "1970-01-01T00:00:00.000000Z");
  const std::string oldest = iso_time_ns(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(oldest, "1677-09-21T00:12:43.145224Z");
}

TEST(TimeUtil, SplitNsRoundsTowardMinusInfinity) {
  EXPECT_EQ(split_ns(0).seconds, 0);
  EXPECT_EQ(split_ns(0).nanos, 0);
  EXPECT_EQ(split_ns(1'999'999'999).seconds, 1);
  EXPECT_EQ(split_ns(1'999'999'999).nanos, 999'999'999);
  EXPECT_EQ(split_ns(-1).seconds, -1);
  EXPECT_EQ(split_ns(-1).nanos, 999'999'999);
  EXPECT_EQ(split_ns(-1'000'000'000).seconds, -1);
  EXPECT_EQ(split_ns(-1'000'000'000).nanos, 0);
  auto m = split_ns(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(m.seconds, -9'223'372'037);
  EXPECT_EQ(m.nanos, 145'224'192);
  auto x = split_ns(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(x.seconds, 9'223'372'036);
  EXPECT_EQ(x.nanos, 854'775'807);
}

TEST(ReplayOutput, TextAndJsonLinesAreWhatFmtAndNlohmannGave) {
  const Policy& p = cms_policy();
  const std::string host = p.host_addresses.prefixes(Family::ipv4).at(0).addr.to_string();
  std::vector<Connection> conns = {
      conn("192.0.2.200", 51000, host.c_str(), 22, 6),   conn(host.c_str(), 40000, "198.51.100.9", 53, 17),
      conn("10.1.2.3", 5, "10.9.8.7", 6, 47),             conn("2001:db8::1", 0, "2001:db8:1::2", 0, 58),
      conn("192.0.2.9", 65535, host.c_str(), 6001, 6),    conn(host.c_str(), 1, host.c_str(), 23, 6)};
  conns[3].icmp_type = 128;
  conns[4].initiator = InitiatorSource::inferred;
  EXPECT_EQ(replay_text_header(), fmt::format("{:<6} {:<39} {:>5}  {:<39} {:>5}  {:<8} {:<8} {:<16} {:>8} {:>10}  {}\n",
                                              "PROTO", "SRC", "SPORT", "DST", "DPORT", "INIT", "VERDICT", "ROW",
                                              "PACKETS", "BYTES", "FIRST"));
  int verdicts[3] = {};
  for (const auto& c : conns) {
    ReplayedConnection r = judge(p, c);
    ++verdicts[static_cast<int>(r.verdict)];
    std::string line;
    append_replay_text(line, r);
    EXPECT_EQ(line, fmt_line(r));
    std::string proto = c.proto == 6 ? "tcp" : c.proto == 17 ? "udp" : c.proto == 58 ? "icmpv6" : "ip-47";
    EXPECT_EQ(replay_connection_json(r), json_object(r, proto));
  }
  // Every verdict was among them.
  EXPECT_GT(verdicts[0], 0);
  EXPECT_GT(verdicts[1], 0);
  EXPECT_GT(verdicts[2], 0);
}

TEST(ReplayOutput, JsonEscapesWhatSystemNamesHold) {
  Connection c = conn("192.0.2.1", 1, "192.0.2.2", 2, 6);
  ReplayedConnection r;
  r.connection = &c;
  r.verdict = ReplayVerdict::block;
  r.row = "ssh";
  for (std::string name : {"quote \" and backslash \\", "tab\there", "caf\xc3\xa9", "bell\x07", "del\x7f"}) {
    r.src_system = name;
    r.dst_system = "plain";
    std::string text = replay_connection_json(r);
    EXPECT_EQ(text, json_object(r, "tcp")) << name;
    auto back = nlohmann::json::parse(text);
    EXPECT_EQ(back["src_system"], name);
  }
}

TEST(ReplayOutput, RememberedNamesAreAddressNames) {
  const Policy& p = cms_policy();
  AddressNames names(p);
  std::mt19937 rng(3);
  std::vector<IpAddr> addrs;
  for (const auto& s : p.systems)
    for (auto fam : {Family::ipv4, Family::ipv6})
      for (const auto& pre : s.addresses.prefixes(fam)) addrs.push_back(pre.addr);
  for (int i = 0; i < 3000; ++i) addrs.push_back(IpAddr::v4(0xc0000200u + rng() % 512));
  for (int i = 0; i < 200; ++i) addrs.push_back(IpAddr::v6((u128(0x20010db8) << 96) | rng()));
  addrs.push_back(ip("127.0.0.1"));
  addrs.push_back(ip("::1"));
  // Twice, so the second round is answered from memory; then a round in reverse.
  for (int round = 0; round < 2; ++round)
    for (const auto& a : addrs) ASSERT_EQ(names(a), address_name(p, a)) << a.to_string();
  for (auto it = addrs.rbegin(); it != addrs.rend(); ++it) ASSERT_EQ(names(*it), address_name(p, *it));
  // More distinct addresses than it keeps: it forgets and stays right.
  for (std::uint32_t i = 0; i < 4 * AddressNames::kSlots; ++i) {
    IpAddr a = IpAddr::v4(0x0a000000u + i);
    ASSERT_EQ(names(a), address_name(p, a));
  }
}

// A site that leaves a configurable range unconfigured (spi: 5001-64500) gave
// every client port from 5001 up the weight of a service port: the host's DNS
// query from port 45000 and a TCP connection from 45001 to 443, picked up
// mid-stream, were reported as 198.51.100.53:53 -> host:45000 and
// 203.0.113.80:443 -> host:45001, one blocked group per ephemeral port.
TEST(Replay, WideRowRangesDoNotMakeClientsServers) {
  Policy p = cms_policy();
  bool widened = false;
  for (auto& row : p.rows)
    if (row.id == "spi") {
      row.dport = PortSet({{5001, 64500}});
      widened = true;
    }
  ASSERT_TRUE(widened);
  EXPECT_FALSE(inference_service_ports(p).contains(45000));
  EXPECT_TRUE(inference_service_ports(p).contains(22));
  const std::string host = p.host_addresses.prefixes(Family::ipv4).at(0).addr.to_string();
  namespace pk = pmtest::pkt;
  std::vector<pk::Rec> recs;
  std::int64_t t = 1'700'000'000'000'000'000;
  auto add = [&](pk::Bytes ip) { recs.push_back({t += 1'000'000, pk::ether(pk::kIpv4, ip)}); };
  add(pk::ipv4(host.c_str(), "198.51.100.53", 17, pk::udp(45000, 53, pk::filler(20))));
  add(pk::ipv4("198.51.100.53", host.c_str(), 17, pk::udp(53, 45000, pk::filler(40))));
  add(pk::ipv4(host.c_str(), "203.0.113.80", 6, pk::tcp(45001, 443, tcpflag::ack)));
  add(pk::ipv4("203.0.113.80", host.c_str(), 6, pk::tcp(443, 45001, tcpflag::ack)));
  const std::string path = ::testing::TempDir() + "/replay_wide_range.pcap";
  ASSERT_TRUE(pk::write_pcap(path, 1, recs));
  std::vector<Connection> seen;
  ReplayOptions o;
  o.on_connection = [&](const ReplayedConnection& r) { seen.push_back(*r.connection); };
  auto res = replay_captures(p, {path}, o);
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& c : seen) {
    EXPECT_EQ(c.src.to_string(), host);
    EXPECT_TRUE(c.dport == 53 || c.dport == 443) << c.dport;
    EXPECT_EQ(c.initiator, InitiatorSource::inferred);
  }
}
