// portmatrix render through the CLI: formats, optional sections, usage errors, atomic -o.
#include <pcap/pcap.h>

#include <fstream>

#include <gtest/gtest.h>

#include "support/cli.hpp"
#include "support/packets.hpp"
#include "support/run_cli.hpp"
#include "support/testing.hpp"

using pmtest::pm;
using pmtest::read_all;
namespace pk = pmtest::pkt;

namespace {

std::size_t count(const std::string& hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

// ssh from an admin terminal (allowed) and telnet from the network (blocked).
std::string write_capture() {
  std::vector<pk::Rec> recs;
  std::int64_t t = 1'700'000'000'000'000'000;
  auto tcp = [&](const char* s, std::uint16_t sp, const char* d, std::uint16_t dp, std::uint8_t flags) {
    recs.push_back({t += 1'000'000, pk::ether(pk::kIpv4, pk::ipv4(s, d, 6, pk::tcp(sp, dp, flags, pk::filler(0))))});
  };
  tcp("198.51.100.5", 40000, "192.0.2.1", 22, 0x02);
  tcp("192.0.2.1", 22, "198.51.100.5", 40000, 0x12);
  tcp("198.51.100.5", 40000, "192.0.2.1", 22, 0x10);
  tcp("198.51.100.5", 40001, "192.0.2.1", 23, 0x02);
  std::string path = ::testing::TempDir() + "/render-replay.pcap";
  EXPECT_TRUE(pk::write_pcap(path, DLT_EN10MB, recs));
  return path;
}

}  // namespace

TEST(CliRender, HtmlToAFile) {
  std::string out = ::testing::TempDir() + "/report.html";
  auto r = pm({"render", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  std::string html = read_all(out);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<tr id=\"row-"), 15u);
  EXPECT_EQ(count(html, "<svg"), 1u);
  EXPECT_NE(html.find("<meta name=\"generator\" content=\"portmatrix "), std::string::npos);
}

TEST(CliRender, EveryFormat) {
  auto md = pm({"render", "--format", "markdown"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| at site | site source ports |"), std::string::npos);
  auto csv = pm({"render", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(count(csv.out, "\r\n"), 16u);
  auto dot = pm({"render", "--format", "dot"});
  ASSERT_EQ(dot.exit_code, 0) << dot.err;
  EXPECT_EQ(dot.out.rfind("digraph portmatrix {", 0), 0u);
  EXPECT_NE(dot.out.find("subgraph cluster_if0"), std::string::npos);
  auto svg = pm({"render", "--format", "svg"});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  EXPECT_NE(svg.out.find("<svg"), std::string::npos);
  EXPECT_NE(svg.out.find("</svg>"), std::string::npos);
}

TEST(CliRender, WithoutASiteTheMatrixAsDocumented) {
  auto csv = pm({"render", "--no-site", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out, pm({"show", "--format", "csv"}).out);
  auto dot = pm({"render", "--no-site", "--format", "dot"});
  ASSERT_EQ(dot.exit_code, 0);
  EXPECT_EQ(dot.out.find("cluster_if"), std::string::npos);
  // A matrix file with no bundled example site renders without one.
  std::string path = ::testing::TempDir() + "/matrix-only.yaml";
  ASSERT_EQ(pm({"show", "--format", "yaml", "-o", path}).exit_code, 0);
  auto html = pm({"render", "--matrix", path});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  EXPECT_NE(html.out.find("no site: the matrix as documented"), std::string::npos);
}

TEST(CliRender, SectionsOfResults) {
  auto rs = pm({"render", "--target", "nftables"});
  ASSERT_EQ(rs.exit_code, 0) << rs.err;
  EXPECT_NE(rs.out.find("<section id=\"ruleset\">"), std::string::npos);
  EXPECT_NE(rs.out.find("table inet portmatrix"), std::string::npos);

  auto rp = pm({"render", "--replay", write_capture()});
  EXPECT_EQ(rp.exit_code, 1) << rp.err;  // telnet from the network would be blocked
  EXPECT_NE(rp.out.find("<section id=\"replay\">"), std::string::npos);
  EXPECT_NE(rp.out.find("2 connections: 1 allowed, 1 would be blocked"), std::string::npos);
  EXPECT_NE(rp.out.find("<a href=\"#row-ssh\"><code>ssh</code></a></td><td>1</td>"), std::string::npos);

  // The audit reads this machine: its findings vary, the section does not.
  auto au = pm({"render", "--audit"});
  EXPECT_TRUE(au.exit_code == 0 || au.exit_code == 1) << au.err;
  EXPECT_NE(au.out.find("<section id=\"audit\">"), std::string::npos);
  EXPECT_NE(au.out.find("Firewall: <strong>"), std::string::npos);
}

TEST(CliRender, UsageErrorsExitTwoAndKeepTheOutput) {
  std::string out = ::testing::TempDir() + "/keep.html";
  std::ofstream(out) << "old";
  EXPECT_EQ(pm({"render", "--format", "csv", "--target", "nftables", "-o", out}).exit_code, 2);
  EXPECT_EQ(pm({"render", "--format", "dot", "--replay", "x.pcap", "-o", out}).exit_code, 2);
  EXPECT_EQ(pm({"render", "--no-site", "--site", "cms-site", "-o", out}).exit_code, 2);
  EXPECT_EQ(pm({"render", "--target", "nope", "-o", out}).exit_code, 2);
  EXPECT_EQ(pm({"render", "--matrix", "nope", "-o", out}).exit_code, 2);
  EXPECT_EQ(pm({"render", "--replay", "/nonexistent.pcap", "-o", out}).exit_code, 2);
  EXPECT_EQ(pm({"render", "--format", "pdf"}).exit_code, 2);
  EXPECT_EQ(read_all(out), "old");
}
