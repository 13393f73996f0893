// replay, learn and diff through the CLI on a capture written by the test.
#include <pcap/pcap.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "portmatrix/fileio.hpp"
#include "support/cli.hpp"
#include "support/packets.hpp"
#include "support/testing.hpp"

using pmtest::pm;
namespace pk = pmtest::pkt;

namespace {

constexpr std::uint8_t SYN = 0x02, ACK = 0x10, SYNACK = 0x12, PSHACK = 0x18;

struct CaptureBuilder {
  std::vector<pk::Rec> recs;
  std::int64_t t = 1'700'000'000'000'000'000;
  void tcp4(const char* s, std::uint16_t sp, const char* d, std::uint16_t dp, std::uint8_t flags, std::size_t payload = 0) {
    recs.push_back({t += 1'000'000, pk::ether(pk::kIpv4, pk::ipv4(s, d, 6, pk::tcp(sp, dp, flags, pk::filler(payload))))});
  }
  void udp4(const char* s, std::uint16_t sp, const char* d, std::uint16_t dp) {
    recs.push_back({t += 1'000'000, pk::ether(pk::kIpv4, pk::ipv4(s, d, 17, pk::udp(sp, dp, pk::filler(48))))});
  }
  void handshake(const char* c, std::uint16_t cp, const char* s, std::uint16_t sp) {
    tcp4(c, cp, s, sp, SYN);
    tcp4(s, sp, c, cp, SYNACK);
    tcp4(c, cp, s, sp, ACK);
    tcp4(c, cp, s, sp, PSHACK, 100);
  }
};

std::string write_capture() {
  CaptureBuilder b;
  b.handshake("198.51.100.5", 40000, "192.0.2.1", 22);      // ssh from an admin terminal: allowed
  b.tcp4("198.51.100.5", 40001, "192.0.2.1", 23, SYN);      // telnet from the network: blocked
  b.tcp4("198.51.100.5", 40001, "192.0.2.1", 23, SYN);
  b.handshake("192.0.2.1", 40002, "192.0.2.20", 52233);     // weblm, outbound: allowed
  b.tcp4("203.0.113.9", 40003, "192.0.2.1", 4444, SYN);     // an unknown client on an unlisted port: blocked
  b.handshake("203.0.113.9", 40004, "203.0.113.10", 80);    // neither end is the host
  b.udp4("192.0.2.1", 40005, "192.0.2.123", 123);           // ntp and its answer: allowed
  b.udp4("192.0.2.123", 123, "192.0.2.1", 40005);
  b.tcp4("192.0.2.10", 5001, "192.0.2.1", 45000, PSHACK, 40);  // spi, already running when the capture began
  b.tcp4("192.0.2.1", 45000, "192.0.2.10", 5001, ACK);
  std::string path = ::testing::TempDir() + "/replay.pcap";
  EXPECT_TRUE(pk::write_pcap(path, DLT_EN10MB, b.recs));
  return path;
}

}  // namespace

TEST(CliReplay, VerdictsSummaryAndExitCode) {
  std::string cap = write_capture();
  auto r = pm({"replay", cap, "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by_port;
  for (const auto& c : j["connections"]) by_port[std::to_string(c["dport"].get<int>())] = c;
  ASSERT_EQ(j["connections"].size(), 7u) << r.out;
  EXPECT_EQ(by_port["22"]["verdict"], "allow");
  EXPECT_EQ(by_port["22"]["row"], "ssh");
  EXPECT_EQ(by_port["22"]["initiator"], "observed");
  EXPECT_EQ(by_port["22"]["packets"], 4);
  EXPECT_EQ(by_port["23"]["verdict"], "block");
  EXPECT_EQ(by_port["23"]["row"], nullptr);
  EXPECT_EQ(by_port["52233"]["row"], "weblm");
  EXPECT_EQ(by_port["4444"]["verdict"], "block");
  EXPECT_EQ(by_port["80"]["verdict"], "not-host");
  EXPECT_EQ(by_port["123"]["row"], "ntp");
  EXPECT_EQ(by_port["5001"]["row"], "spi");
  EXPECT_EQ(by_port["5001"]["initiator"], "inferred");
  EXPECT_EQ(by_port["5001"]["src"], "192.0.2.1");
  const auto& s = j["summary"];
  EXPECT_EQ(s["blocked"], 2);
  EXPECT_EQ(s["not_host"], 1);
  bool telnet_group = false;
  for (const auto& g : s["blocked_groups"])
    telnet_group |= g["src_system"] == "Admin terminal" && g["dst_system"] == "CMS" && g["port"] == 23 && g["packets"] == 2;
  EXPECT_TRUE(telnet_group) << s.dump();
  auto text = pm({"replay", cap});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("7 connections: 4 allowed, 2 would be blocked, 1 not to or from the host"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("203.0.113.0/24"), std::string::npos) << text.out;
}

TEST(CliReplay, BadCapturesAreInputErrors) {
  std::string junk = ::testing::TempDir() + "/junk.pcap";
  ASSERT_FALSE(portmatrix::write_file_atomic(junk, "this is not a capture"));
  EXPECT_EQ(pm({"replay", junk}).exit_code, 2);
  EXPECT_EQ(pm({"replay", "/nonexistent.pcap"}).exit_code, 2);
}

TEST(CliLearn, LearnedMatrixReadsBackAndDiffsAgainstTheDocumentedOne) {
  std::string cap = write_capture();
  std::string out = ::testing::TempDir() + "/learned.yaml";
  auto r = pm({"learn", cap, "--site", "cms-site", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto show = pm({"show", "--matrix", out, "--format", "json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto m = nlohmann::json::parse(show.out);
  std::map<std::string, nlohmann::json> by_port;
  for (const auto& f : m["flows"]) {
    if (f["destination_ports"]["ranges"].empty()) continue;
    by_port[std::to_string(f["destination_ports"]["ranges"][0][0].get<int>())] = f;
  }
  EXPECT_EQ(by_port["22"]["sources"], nlohmann::json::array({"Admin terminal"}));
  EXPECT_EQ(by_port["22"]["destinations"], nlohmann::json::array({"CMS"}));
  EXPECT_EQ(by_port["22"]["source_ports"]["ephemeral"], true);
  EXPECT_EQ(by_port["22"]["application"], "ssh");
  EXPECT_EQ(by_port["52233"]["destinations"], nlohmann::json::array({"WebLM"}));
  EXPECT_EQ(by_port["4444"]["sources"], nlohmann::json::array({"203.0.113.0/24"}));
  EXPECT_EQ(by_port["5001"]["sources"], nlohmann::json::array({"CMS"}));
  EXPECT_NE(by_port["5001"]["description"].get<std::string>().find("inferred"), std::string::npos);
  EXPECT_NE(by_port["22"]["description"].get<std::string>().find("Observed 1 connection"), std::string::npos);

  auto d = pm({"diff", "cms-r20", out, "--format", "json"});
  EXPECT_EQ(d.exit_code, 1);
  auto dj = nlohmann::json::parse(d.out);
  bool telnet_added = false;
  for (const auto& a : dj["added"]) telnet_added |= a["destination_ports"] == "23";
  EXPECT_TRUE(telnet_added || !dj["changed"].empty()) << d.out;
  EXPECT_EQ(pm({"diff", out, out}).exit_code, 0);

  // Without a site every address is named by its network.
  auto bare = pm({"learn", cap});
  ASSERT_EQ(bare.exit_code, 0) << bare.err;
  EXPECT_NE(bare.out.find("198.51.100.0/24"), std::string::npos);
  EXPECT_NE(bare.out.find("192.0.2.0/24"), std::string::npos);
}
