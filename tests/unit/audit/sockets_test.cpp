// The /proc/net parser on fixture text, owner attribution on a fake /proc, and
// the address helpers of a listener.
#include "portmatrix/sockets.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

using namespace portmatrix;
using namespace portmatrix::sockets;

namespace {

// The kernel prints each 32-bit word of an address as the integer it is in
// memory, so these fixtures, taken from an x86-64 kernel, read only on a
// little-endian machine.
#define REQUIRE_LITTLE_ENDIAN() \
  if (std::endian::native != std::endian::little) GTEST_SKIP() << "the fixtures are from a little-endian kernel"

const char* kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0\n"
    "   2: 010200C0:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1003 1 0000000000000000 100 0 0 10 0\n"
    "   3: 010200C0:0016 050064C6:C350 01 00000000:00000000 02:000A7D2B 00000000     0        0 1004 4 0000000000000000 20 4 29 10 -1\n"
    "   4: 010200C0:115C 00000000:0000 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";

const char* kTcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000000000000000000001000000:0017 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 100 0 0 10 0\n"
    "   2: B80D0120000000000000000001000000:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2003 1 0000000000000000 100 0 0 10 0\n"
    "   3: 0000000000000000FFFF00000100007F:1770 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2004 1 0000000000000000 100 0 0 10 0\n";

const char* kUdp =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "  100: 00000000:00A1 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2 0000000000000000 0\n"
    "  101: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 3002 2 0000000000000000 0\n"
    "  102: 010200C0:D431 7B0002C0:007B 01 00000000:00000000 00:00000000 00000000     0        0 3003 2 0000000000000000 0\n";

const char* kUdp6 =
    "   sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "  200: 00000000000000000000000000000000:0202 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4001 2 0000000000000000 0\n";

Listener make(const char* addr, std::uint16_t port, std::optional<std::string> device = std::string()) {
  Listener l;
  l.address = *parse_ip(addr);
  l.port = port;
  l.device = std::move(device);
  return l;
}

}  // namespace

TEST(ProcNet, KeepsListeningTcpOnly) {
  REQUIRE_LITTLE_ENDIAN();
  std::vector<std::string> errors;
  auto ls = parse_proc_net(kTcp, Protocol::tcp, Family::ipv4, &errors);
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(ls.size(), 3u) << "the established and the time-wait socket are not listeners";
  EXPECT_EQ(ls[0].address.to_string(), "0.0.0.0");
  EXPECT_EQ(ls[0].port, 23);
  EXPECT_EQ(ls[0].inode, 1001u);
  EXPECT_EQ(ls[0].scope(), Scope::wildcard);
  EXPECT_EQ(ls[1].address.to_string(), "127.0.0.1");
  EXPECT_EQ(ls[1].scope(), Scope::loopback);
  EXPECT_EQ(ls[2].address.to_string(), "192.0.2.1");
  EXPECT_EQ(ls[2].port, 8443);
  EXPECT_EQ(ls[2].scope(), Scope::specific);
  for (const auto& l : ls) {
    EXPECT_EQ(l.source, Source::procfs);
    EXPECT_FALSE(l.device.has_value()) << "/proc does not show SO_BINDTODEVICE";
    EXPECT_FALSE(l.v6only.has_value());
  }
}

TEST(ProcNet, DecodesIpv6AndMappedAddresses) {
  REQUIRE_LITTLE_ENDIAN();
  auto ls = parse_proc_net(kTcp6, Protocol::tcp, Family::ipv6);
  ASSERT_EQ(ls.size(), 4u);
  EXPECT_EQ(ls[0].endpoint(), "[::]:22");
  EXPECT_EQ(ls[1].endpoint(), "[::1]:23");
  EXPECT_EQ(ls[1].scope(), Scope::loopback);
  EXPECT_EQ(ls[2].endpoint(), "[2001:db8::1]:8443");
  EXPECT_EQ(ls[3].address.to_string(), "::ffff:127.0.0.1");
  EXPECT_EQ(ls[3].effective_address().to_string(), "127.0.0.1");
  EXPECT_EQ(ls[3].scope(), Scope::loopback) << "an IPv4-mapped loopback address is loopback";
}

TEST(ProcNet, KeepsUnconnectedUdpOnly) {
  REQUIRE_LITTLE_ENDIAN();
  auto ls = parse_proc_net(kUdp, Protocol::udp, Family::ipv4);
  ASSERT_EQ(ls.size(), 2u) << "the socket connected to 192.0.2.123:123 receives from that peer only";
  EXPECT_EQ(ls[0].endpoint(), "0.0.0.0:161");
  EXPECT_EQ(ls[0].protocol, Protocol::udp);
  EXPECT_EQ(ls[1].endpoint(), "127.0.0.53:53");
  auto ls6 = parse_proc_net(kUdp6, Protocol::udp, Family::ipv6);
  ASSERT_EQ(ls6.size(), 1u);
  EXPECT_EQ(ls6[0].endpoint(), "[::]:514");
  EXPECT_EQ(ls6[0].inode, 4001u);
}

TEST(ProcNet, ReportsMalformedLinesAndGoesOn) {
  std::string text = std::string(kTcp) +
                     "   5: 0000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 9 1\n"
                     "   6: 00000000:0017 00000000:0000 0A\n"
                     "   7: 00000000:1F90 00000000:0000 ZZ 00000000:00000000 00:00000000 00000000 0 0 9 1\n"
                     "   8: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 x9 1\n"
                     "   9: 00000000:10000 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 9 1\n";
  std::vector<std::string> errors;
  auto ls = parse_proc_net(text, Protocol::tcp, Family::ipv4, &errors);
  EXPECT_EQ(ls.size(), 3u);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_NE(errors[0].find("line 7: malformed address"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("fewer than 10 fields"), std::string::npos);
  EXPECT_NE(errors[2].find("malformed state"), std::string::npos);
  EXPECT_NE(errors[3].find("malformed inode"), std::string::npos);
  EXPECT_NE(errors[4].find("malformed address"), std::string::npos) << "a port above 0xFFFF";
}

TEST(ProcNet, EmptyAndHeaderOnlyTextHaveNoListeners) {
  EXPECT_TRUE(parse_proc_net("", Protocol::tcp, Family::ipv4).empty());
  std::vector<std::string> errors;
  EXPECT_TRUE(parse_proc_net("  sl  local_address rem_address   st\n\n", Protocol::udp, Family::ipv6, &errors).empty());
  EXPECT_TRUE(errors.empty());
}

TEST(Listener, ScopeAndEndpoint) {
  EXPECT_EQ(make("0.0.0.0", 23).scope(), Scope::wildcard);
  EXPECT_EQ(make("::", 22).scope(), Scope::wildcard);
  EXPECT_EQ(make("127.1.2.3", 23).scope(), Scope::loopback);
  EXPECT_EQ(make("::1", 23).scope(), Scope::loopback);
  EXPECT_EQ(make("0.0.0.0", 23, std::string("lo")).scope(), Scope::loopback) << "bound to the device lo";
  EXPECT_EQ(make("0.0.0.0", 23, std::string("eth1")).scope(), Scope::wildcard);
  EXPECT_EQ(make("::ffff:192.0.2.1", 80).scope(), Scope::specific);
  EXPECT_EQ(make("::ffff:0.0.0.0", 80).scope(), Scope::wildcard);
  EXPECT_EQ(make("192.0.2.1", 8443).scope(), Scope::specific);
  EXPECT_EQ(make("0.0.0.0", 23, std::string("eth1")).endpoint(), "0.0.0.0:23%eth1");
  EXPECT_EQ(make("2001:db8::1", 22, std::nullopt).endpoint(), "[2001:db8::1]:22");
}

TEST(Listener, SortIsByProtocolPortAddress) {
  std::vector<Listener> ls{make("::", 22), make("0.0.0.0", 22), make("0.0.0.0", 23), make("0.0.0.0", 22)};
  ls[3].protocol = Protocol::udp;
  ls[3].port = 1;
  sort_listeners(ls);
  EXPECT_EQ(ls[0].endpoint(), "0.0.0.0:22");
  EXPECT_EQ(ls[1].endpoint(), "[::]:22");
  EXPECT_EQ(ls[2].endpoint(), "0.0.0.0:23");
  EXPECT_EQ(ls[3].protocol, Protocol::udp);
}

// A fake /proc: two processes share a socket (as after fork), one holds another,
// one cannot be read, entries that are not processes are ignored.
TEST(Owners, MatchesSocketInodesWithFdLinks) {
  char tmpl[] = "/tmp/pm-proc-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  auto proc = [&](const std::string& pid, const std::string& comm, std::vector<std::pair<std::string, std::string>> fds) {
    ASSERT_EQ(::mkdir((root + "/" + pid).c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root + "/" + pid + "/fd").c_str(), 0755), 0);
    std::ofstream(root + "/" + pid + "/comm") << comm << "\n";
    for (const auto& [fd, target] : fds) ASSERT_EQ(::symlink(target.c_str(), (root + "/" + pid + "/fd/" + fd).c_str()), 0);
  };
  proc("300", "sshd", {{"3", "socket:[1001]"}, {"4", "/dev/null"}});
  proc("42", "sshd", {{"3", "socket:[1001]"}, {"5", "socket:[1001]"}});
  proc("77", "nc", {{"0", "pipe:[9]"}, {"3", "socket:[1003]"}, {"4", "socket:[99999]"}});
  proc("self", "x", {{"3", "socket:[1002]"}});
  ASSERT_EQ(::mkdir((root + "/999").c_str(), 0755), 0);  // a process that has just ended: no fd directory

  std::vector<Listener> ls{make("0.0.0.0", 22), make("127.0.0.1", 23), make("0.0.0.0", 4444)};
  ls[0].inode = 1001;
  ls[1].inode = 1002;
  ls[2].inode = 1003;
  const std::size_t unreadable = attribute_owners(ls, root);
  EXPECT_EQ(unreadable, 0u);
  ASSERT_EQ(ls[0].owners.size(), 2u);
  EXPECT_EQ(ls[0].owners[0], (Owner{42, "sshd"}));
  EXPECT_EQ(ls[0].owners[1], (Owner{300, "sshd"}));
  EXPECT_TRUE(ls[1].owners.empty()) << "'self' is not a pid";
  ASSERT_EQ(ls[2].owners.size(), 1u);
  EXPECT_EQ(ls[2].owners[0], (Owner{77, "nc"}));
  std::system(("rm -rf '" + root + "'").c_str());
}
