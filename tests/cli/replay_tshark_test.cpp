// replay's connections against an independent reader: tshark (scripts/install-deps
// installs it) decodes the same capture, and per connection the packets, IP bytes
// and first and last times must agree. The capture mixes what our reader handles
// on its own: pcapng sections of both byte orders, interfaces numbered per section
// with if_tsresol in powers of 10 and of 2, Ethernet with 802.1Q and QinQ tags,
// raw IP, Linux SLL and SLL2, BSD loopback, IPv4 options, an IPv6 hop-by-hop
// header, and one connection that runs on across a section boundary.
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/packets.hpp"

using pmtest::pm;
namespace pk = pmtest::pkt;

namespace {

constexpr std::uint8_t SYN = 0x02, ACK = 0x10, SYNACK = 0x12, PSHACK = 0x18;
constexpr std::int64_t kSec = 1'000'000'000, kT0 = 1'700'000'000 * kSec;

struct Totals {
  std::uint64_t packets = 0, bytes = 0;
  std::int64_t first_us = 0, last_us = 0;
  bool operator==(const Totals&) const = default;
};
std::ostream& operator<<(std::ostream& o, const Totals& t) {
  return o << t.packets << " packets, " << t.bytes << " bytes, " << t.first_us << ".." << t.last_us << " us";
}

// A connection named by protocol and both sockets in sorted order, as both tools can tell it.
std::string conn_key(const std::string& proto, std::string a, std::string b) {
  if (b < a) std::swap(a, b);
  return proto + " " + a + " " + b;
}

void add(Totals& t, std::uint64_t bytes, std::int64_t us) {
  t.first_us = t.packets == 0 ? us : std::min(t.first_us, us);
  t.last_us = t.packets == 0 ? us : std::max(t.last_us, us);
  ++t.packets;
  t.bytes += bytes;
}

// "2023-11-14T22:13:20.123456Z" -> microseconds since the epoch.
std::int64_t iso_us(const std::string& s) {
  std::tm tm{};
  EXPECT_NE(strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << s;
  return std::int64_t(timegm(&tm)) * 1'000'000 + std::stoll(s.substr(20, 6));
}

// "1700000000.123456789" -> microseconds, truncated as replay prints them.
std::int64_t epoch_us(const std::string& s) {
  auto dot = s.find('.');
  std::string frac = (s.substr(dot + 1) + "000000").substr(0, 6);
  return std::stoll(s.substr(0, dot)) * 1'000'000 + std::stoll(frac);
}

std::string sock(const std::string& addr, const std::string& port) {
  return addr.find(':') != std::string::npos ? "[" + addr + "]:" + port : addr + ":" + port;
}

pk::Bytes tcp4(const char* s, std::uint16_t sp, const char* d, std::uint16_t dp, std::uint8_t flags, std::size_t n = 0) {
  return pk::ipv4(s, d, 6, pk::tcp(sp, dp, flags, pk::filler(n)));
}
pk::Bytes tcp6(const char* s, std::uint16_t sp, const char* d, std::uint16_t dp, std::uint8_t flags, std::size_t n = 0) {
  // With a hop-by-hop header, as MLD and jumbograms carry.
  return pk::ipv6(s, d, 0, pk::cat(pk::ext(6), pk::tcp(sp, dp, flags, pk::filler(n))));
}

std::string write_capture() {
  const char *C = "198.51.100.5", *S = "192.0.2.1", *C6 = "2001:db8::5", *S6 = "2001:db8:1::1";
  pk::PcapngWriter le(false), be(true);
  le.section();
  le.interface(1, 0, "eth0", 9);          // Ethernet, nanoseconds
  le.interface(101, 65535, "raw0", 0x94);  // raw IP, 2^-20 s
  le.interface(113, 65535, "any", 3);      // Linux SLL, milliseconds
  auto ns = [](std::int64_t t) { return static_cast<std::uint64_t>(t); };
  // TCP over Ethernet: untagged, 802.1Q and QinQ frames of one connection.
  le.enhanced(0, ns(kT0 + 123'456'789), pk::ether(pk::kIpv4, tcp4(C, 40000, S, 22, SYN)));
  le.enhanced(0, ns(kT0 + 124'000'001), pk::ether(pk::kIpv4, tcp4(S, 22, C, 40000, SYNACK), {{0x8100, 10}}));
  le.enhanced(0, ns(kT0 + 125'000'002),
              pk::ether(pk::kIpv4, tcp4(C, 40000, S, 22, ACK), {{0x88a8, 100}, {0x8100, 200}}));
  le.enhanced(0, ns(kT0 + 126'000'003), pk::ether(pk::kIpv4, tcp4(C, 40000, S, 22, PSHACK, 300)));
  // UDP over raw IP with a router-alert option, at 2^-20 s: 1700000001.5 and 1700000002.25.
  pk::V4Opts ra;
  ra.options = {0x94, 0x04, 0x00, 0x00};
  le.enhanced(1, (std::uint64_t(1'700'000'001) << 20) + (1u << 19),
              pk::ipv4("203.0.113.9", S, 17, pk::udp(5353, 53, pk::filler(20)), ra));
  le.enhanced(1, (std::uint64_t(1'700'000'002) << 20) + (1u << 18), pk::ipv4(S, "203.0.113.9", 17, pk::udp(53, 5353, pk::filler(60))));
  // IPv6 TCP over SLL in milliseconds; it goes on in the next section.
  le.enhanced(2, 1'700'000'003'000, pk::sll(pk::kIpv6, tcp6(C6, 40001, S6, 443, SYN)));
  le.enhanced(2, 1'700'000'003'001, pk::sll(pk::kIpv6, tcp6(S6, 443, C6, 40001, SYNACK)));
  // Section 2, big-endian: its interface 0 is SLL2 (microseconds), 1 is BSD loopback (2^-10 s).
  be.section();
  be.interface(276, 262144, "any");
  be.interface(0, 262144, "lo0", 0x8a);
  be.enhanced(0, 1'700'000'003'002'500, pk::sll2(pk::kIpv6, tcp6(C6, 40001, S6, 443, ACK)));
  be.enhanced(0, 1'700'000'003'004'000, pk::sll2(pk::kIpv6, tcp6(C6, 40001, S6, 443, PSHACK, 1000)));
  pk::Bytes af_inet6_macos{0, 0, 0, 30};  // DLT_NULL in the big-endian writer's order
  be.enhanced(1, (std::uint64_t(1'700'000'004) << 10) + 512,
              pk::cat(af_inet6_macos, pk::ipv6(C6, S6, 17, pk::udp(40002, 514, pk::filler(77)))));
  be.enhanced(1, (std::uint64_t(1'700'000'004) << 10) + 768,
              pk::cat(af_inet6_macos, pk::ipv6(C6, S6, 17, pk::udp(40002, 514, pk::filler(11)))));
  std::string path = ::testing::TempDir() + "/replay_tshark.pcapng";
  pk::write_all(path, pk::cat(le.bytes(), be.bytes()));
  return path;
}

// What tshark makes of the capture, by connection; empty when tshark cannot be run.
std::map<std::string, Totals> tshark_totals(const std::string& path, std::string& error) {
  std::string cmd = "tshark -r '" + path +
                    "' -T fields -E separator=, -e frame.time_epoch -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst "
                    "-e ip.len -e ipv6.plen -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport 2>/dev/null";
  std::map<std::string, Totals> out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) {
    error = "cannot run tshark";
    return out;
  }
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) text.append(buf, n);
  if (int rc = ::pclose(f); rc != 0) error = "tshark exited with status " + std::to_string(rc);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> v;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) v.push_back(x);
    v.resize(11);
    bool v6 = v[1].empty();
    std::string src = v6 ? v[3] : v[1], dst = v6 ? v[4] : v[2];
    std::uint64_t bytes = v6 ? 40 + std::stoull(v[6]) : std::stoull(v[5]);
    bool tcp = !v[7].empty();
    std::string key = conn_key(tcp ? "tcp" : "udp", sock(src, tcp ? v[7] : v[9]), sock(dst, tcp ? v[8] : v[10]));
    add(out[key], bytes, epoch_us(v[0]));
  }
  return out;
}

}  // namespace

TEST(CliReplayDifferential, ConnectionsAgreeWithTshark) {
  std::string cap = write_capture();
  std::string error;
  auto expected = tshark_totals(cap, error);
  ASSERT_TRUE(error.empty()) << error << " (scripts/install-deps installs tshark)";
  ASSERT_EQ(expected.size(), 4u);

  auto r = pm({"replay", cap, "--format", "json"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::map<std::string, Totals> got;
  for (const auto& c : j["connections"]) {
    std::string key = conn_key(c["proto"], sock(c["src"], std::to_string(c["sport"].get<int>())),
                               sock(c["dst"], std::to_string(c["dport"].get<int>())));
    ASSERT_EQ(got.count(key), 0u) << "two connections " << key;
    got[key] = {c["packets"], c["bytes"], iso_us(c["first"]), iso_us(c["last"])};
  }
  EXPECT_EQ(got, expected);
  for (const auto& [key, t] : expected) EXPECT_EQ(got[key], t) << key;
  const auto& a = j["anomalies"];
  EXPECT_EQ(a["captures"][0]["issue_count"], 0) << a.dump();
  EXPECT_EQ(a["decode"], nlohmann::json::object()) << a.dump();
  EXPECT_EQ(a["untracked_packets"], 0);
}
