// portmatrix scan on loopback only: listeners the test opens, usage errors, output shapes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/testing.hpp"

using pmtest::pm;

namespace {

// A TCP socket on 127.0.0.1 with a kernel-chosen port; listening or just bound
// (a bound socket that does not listen keeps the port closed and reserved).
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    if (listen) {
      EXPECT_EQ(::listen(fd_, 16), 0);
    }
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
  }
  ~LoopbackPort() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace

TEST(CliScan, OpenAndClosedOnLoopbackAsJson) {
  LoopbackPort open(true), closed(false);
  const std::string ports = std::to_string(open.port()) + "," + std::to_string(closed.port());
  auto r = pm({"scan", "127.0.0.1", "--ports", ports, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["host"], "127.0.0.1");
  ASSERT_EQ(j["results"].size(), 2u);
  std::map<int, nlohmann::json> by_port;
  for (const auto& x : j["results"]) by_port[x["port"].get<int>()] = x;
  EXPECT_EQ(by_port[open.port()]["state"], "open");
  EXPECT_EQ(by_port[open.port()]["proto"], "tcp");
  EXPECT_TRUE(by_port[open.port()]["expected"].is_null());
  EXPECT_TRUE(by_port[open.port()]["row"].is_null());
  EXPECT_EQ(by_port[closed.port()]["state"], "closed");
  EXPECT_EQ(j["summary"]["open"], 1);
  EXPECT_EQ(j["summary"]["closed"], 1);
  EXPECT_EQ(j["summary"]["mismatches"], 0);
}

TEST(CliScan, TextTableFoldsTheCommonState) {
  LoopbackPort open(true);
  // 40 ports around the listener: one open, the rest closed and folded into one line.
  const int lo = std::max(1, open.port() - 20);
  auto r = pm({"scan", "localhost", "-4", "--ports", std::to_string(lo) + "-" + std::to_string(lo + 39)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::to_string(open.port()) + "/tcp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Not shown: 39 closed tcp ports"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // no progress when stderr is not a terminal
}

TEST(CliScan, UdpOnLoopbackIsClosedWithoutAListener) {
  LoopbackPort reserve(false);  // a TCP port number nobody uses over UDP either, most likely
  auto r = pm({"scan", "::1", "--udp", "--ports", std::to_string(reserve.port()), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["results"][0]["proto"], "udp");
  EXPECT_EQ(j["results"][0]["state"], "closed");
  EXPECT_EQ(j["results"][0]["reason"], "port-unreach");
}

TEST(CliScan, BadPortSpecIsUsageErrorWithColumns) {
  auto r = pm({"scan", "127.0.0.1", "--ports", "22,70000,x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--ports:1:4: error: port 70000 is out of range"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--ports:1:10: error: 'x' is not a port number"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliScan, OnlyOneHost) {
  auto r = pm({"scan", "192.0.2.0/24"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("one host, not a network"), std::string::npos) << r.err;
  auto wrong = pm({"scan", "-6", "127.0.0.1"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("not an IPv6 address"), std::string::npos) << wrong.err;
}

TEST(CliScan, BadOptionsAreUsageErrors) {
  EXPECT_EQ(pm({"scan", "127.0.0.1", "--rate", "0"}).exit_code, 2);
  EXPECT_EQ(pm({"scan", "127.0.0.1", "--retries", "99"}).exit_code, 2);
  EXPECT_EQ(pm({"scan", "127.0.0.1", "--firewall", "maybe"}).exit_code, 2);
  auto no_policy = pm({"scan", "127.0.0.1", "--firewall", "off"});
  EXPECT_EQ(no_policy.exit_code, 2);
  EXPECT_NE(no_policy.err.find("add --site"), std::string::npos) << no_policy.err;
  EXPECT_EQ(pm({"scan"}).exit_code, 2);
  auto help = pm({"scan", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--udp"), std::string::npos);
}

TEST(CliScan, ComparisonFlagsMismatchesAndExitsOne) {
  // From the host itself (loopback) the CMS policy accepts everything, so a closed port
  // is a mismatch.
  LoopbackPort closed(false);
  auto r = pm({"scan", "127.0.0.1", "--site", "cms-site", "--ports", std::to_string(closed.port()), "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["results"][0]["expected"], "open");
  EXPECT_EQ(j["summary"]["mismatches"], 1);
}

TEST(CliScan, ComparisonNeedsTheHostAsTarget) {
  auto r = pm({"scan", "127.0.0.1", "--site", "cms-site", "--source", "::1", "--ports", "22"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--source"), std::string::npos) << r.err;
}
