// A real capture: two network namespaces joined by a veth pair (documentation
// addresses 192.0.2.0/24 and 2001:db8::/64), tcpdump recording on one end while
// the test makes TCP (IPv4, IPv6) and UDP traffic between them, then the engine
// reads the file and must find those connections with the right initiator.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "portmatrix/engine.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

// What the signal handler must undo if the test is interrupted: namespace
// mounts to detach and children to stop. Fixed arrays: no allocation in the handler.
struct Cleanup {
  char netns[2][128] = {};
  pid_t pids[8] = {};
};
Cleanup g_cleanup;

void undo_everything() {
  for (auto& pid : g_cleanup.pids)
    if (pid > 0) ::kill(pid, SIGTERM);
  for (auto& path : g_cleanup.netns) {
    if (path[0] == 0) continue;
    ::umount2(path, MNT_DETACH);
    ::unlink(path);
  }
}

void on_signal(int sig) {
  undo_everything();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void track_pid(pid_t pid) {
  for (auto& p : g_cleanup.pids)
    if (p <= 0) {
      p = pid;
      return;
    }
}
void untrack_pid(pid_t pid) {
  for (auto& p : g_cleanup.pids)
    if (p == pid) p = 0;
}

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }
bool have(const char* tool) { return sh(std::string("command -v ") + tool); }

// Runs fn in a child process that has joined the network namespace; returns its pid.
pid_t spawn_in(const std::string& netns, const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) ::_exit(90);
    ::_exit(fn());
  }
  if (pid > 0) track_pid(pid);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  untrack_pid(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Two namespaces joined by veth, deleted again on destruction (and on SIGINT/SIGTERM).
class NetnsPair {
 public:
  NetnsPair() {
    std::string base = "pmeng" + std::to_string(::getpid());
    a_ = base + "a";
    b_ = base + "b";
    for (int i = 0; i < 2; ++i)
      std::snprintf(g_cleanup.netns[i], sizeof g_cleanup.netns[i], "/run/netns/%s", (i ? b_ : a_).c_str());
    ::signal(SIGINT, on_signal);
    ::signal(SIGTERM, on_signal);
    ok_ = sh("ip netns add " + a_) && sh("ip netns add " + b_) &&
          sh("ip link add va netns " + a_ + " type veth peer name vb netns " + b_) &&
          sh("ip -n " + a_ + " addr add 192.0.2.1/24 dev va") && sh("ip -n " + b_ + " addr add 192.0.2.2/24 dev vb") &&
          sh("ip -n " + a_ + " addr add 2001:db8::1/64 dev va nodad") &&
          sh("ip -n " + b_ + " addr add 2001:db8::2/64 dev vb nodad") && sh("ip -n " + a_ + " link set va up") &&
          sh("ip -n " + b_ + " link set vb up") && sh("ip -n " + a_ + " link set lo up") &&
          sh("ip -n " + b_ + " link set lo up");
  }
  ~NetnsPair() {
    // Stop the children first (they keep a namespace alive), then remove the namespaces.
    for (auto& pid : g_cleanup.pids) {
      if (pid <= 0) continue;
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
      pid = 0;
    }
    sh("ip netns del " + a_);
    sh("ip netns del " + b_);
    undo_everything();  // whatever `ip` could not remove
    g_cleanup = Cleanup{};
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
  }
  bool ok() const { return ok_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  std::string a_, b_;
  bool ok_ = false;
};

sockaddr_storage sockaddr_of(const char* ip, std::uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (std::strchr(ip, ':')) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &s6->sin6_addr);
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    inet_pton(AF_INET, ip, &s4->sin_addr);
    len = sizeof *s4;
  }
  return ss;
}

// A TCP server that answers one connection ("hello" -> "world"); ready is written once it listens.
int tcp_server(const char* ip, std::uint16_t port, int ready) {
  socklen_t len;
  auto addr = sockaddr_of(ip, port, len);
  int s = ::socket(addr.ss_family, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(s, 1) != 0) return 1;
  if (::write(ready, "r", 1) != 1) return 2;
  int c = ::accept(s, nullptr, nullptr);
  char buf[16];
  if (c < 0 || ::read(c, buf, sizeof buf) != 5 || ::write(c, "world", 5) != 5) return 3;
  ::read(c, buf, sizeof buf);  // wait for the client's FIN
  ::close(c);
  ::close(s);
  return 0;
}

int tcp_client(const char* ip, std::uint16_t port) {
  socklen_t len;
  auto addr = sockaddr_of(ip, port, len);
  int s = ::socket(addr.ss_family, SOCK_STREAM, 0);
  char buf[16];
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), len) != 0) return 1;
  if (::write(s, "hello", 5) != 5 || ::read(s, buf, sizeof buf) != 5) return 2;
  ::shutdown(s, SHUT_WR);
  ::read(s, buf, sizeof buf);
  ::close(s);
  return 0;
}

// A UDP server that answers the first datagram and then reads two more.
int udp_server(const char* ip, std::uint16_t port, int ready) {
  socklen_t len;
  auto addr = sockaddr_of(ip, port, len);
  int s = ::socket(addr.ss_family, SOCK_DGRAM, 0);
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), len) != 0) return 1;
  if (::write(ready, "r", 1) != 1) return 2;
  char buf[64];
  sockaddr_storage peer{};
  socklen_t plen = sizeof peer;
  if (::recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &plen) <= 0) return 3;
  if (::sendto(s, "pong", 4, 0, reinterpret_cast<sockaddr*>(&peer), plen) != 4) return 4;
  for (int i = 0; i < 2; ++i) ::recv(s, buf, sizeof buf, 0);
  ::close(s);
  return 0;
}

int udp_client(const char* ip, std::uint16_t port, std::uint16_t sport) {
  socklen_t len, llen;
  auto addr = sockaddr_of(ip, port, len);
  auto local = sockaddr_of(std::strchr(ip, ':') ? "::" : "0.0.0.0", sport, llen);
  int s = ::socket(addr.ss_family, SOCK_DGRAM, 0);
  if (::bind(s, reinterpret_cast<sockaddr*>(&local), llen) != 0) return 1;
  char buf[16];
  if (::sendto(s, "ping", 4, 0, reinterpret_cast<sockaddr*>(&addr), len) != 4) return 2;
  if (::recv(s, buf, sizeof buf, 0) != 4) return 3;
  for (int i = 0; i < 2; ++i) ::sendto(s, "more", 4, 0, reinterpret_cast<sockaddr*>(&addr), len);
  ::close(s);
  return 0;
}

// Runs a server in namespace b, waits until it is ready, then a client in namespace a.
void exchange(const NetnsPair& ns, const std::function<int(int)>& server, const std::function<int()>& client) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t srv = spawn_in(ns.b(), [&] { return server(p[1]); });
  ASSERT_GT(srv, 0);
  char c;
  ASSERT_EQ(::read(p[0], &c, 1), 1) << "server did not start";
  ::close(p[0]);
  ::close(p[1]);
  pid_t cli = spawn_in(ns.a(), client);
  ASSERT_GT(cli, 0);
  EXPECT_EQ(wait_exit(cli), 0) << "client failed";
  EXPECT_EQ(wait_exit(srv), 0) << "server failed";
}

const Connection* find(const std::vector<Connection>& cs, std::uint8_t proto, const char* dst, std::uint16_t dport) {
  for (const auto& c : cs)
    if (c.proto == proto && c.dst == *parse_ip(dst) && c.dport == dport) return &c;
  return nullptr;
}

std::string describe(const std::vector<Connection>& cs) {
  std::string out;
  for (const auto& c : cs)
    out += std::to_string(c.proto) + " " + c.src.to_string() + ":" + std::to_string(c.sport) + " -> " +
           c.dst.to_string() + ":" + std::to_string(c.dport) + " " + std::string(to_string(c.initiator)) + " " +
           std::to_string(c.packets[0]) + "/" + std::to_string(c.packets[1]) + "\n";
  return out;
}

}  // namespace

TEST(CaptureNetns, TcpdumpRecordingOfRealTraffic) {
  PM_REQUIRE_ROOT();
  PM_REQUIRE(have("ip") && have("tcpdump"), "needs ip (iproute2) and tcpdump");
  NetnsPair ns;
  ASSERT_TRUE(ns.ok()) << "could not create the namespaces";

  std::string pcap = ::testing::TempDir() + "pm_netns_" + std::to_string(::getpid()) + ".pcap";
  std::string log = pcap + ".log";
  struct Remove {
    std::vector<std::string> paths;
    ~Remove() {
      for (const auto& p : paths) ::unlink(p.c_str());
    }
  } remove{{pcap, log}};
  pid_t dump = spawn_in(ns.a(), [&] {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::execlp("tcpdump", "tcpdump", "-i", "va", "-n", "-U", "--immediate-mode", "-w", pcap.c_str(), static_cast<char*>(nullptr));
    return 91;
  });
  ASSERT_GT(dump, 0);
  // tcpdump says "listening on" once the capture is open. Immediate mode hands every
  // packet over at once, so none is still in the kernel ring when tcpdump is stopped.
  const bool listening = pmtest::wait_for_text(log, "listening on", std::chrono::seconds(5));
  ASSERT_TRUE(listening) << "tcpdump did not start";

  exchange(ns, [](int r) { return tcp_server("192.0.2.2", 8080, r); }, [] { return tcp_client("192.0.2.2", 8080); });
  exchange(ns, [](int r) { return tcp_server("2001:db8::2", 8443, r); }, [] { return tcp_client("2001:db8::2", 8443); });
  exchange(ns, [](int r) { return udp_server("192.0.2.2", 5353, r); }, [] { return udp_client("192.0.2.2", 5353, 40000); });

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(dump, SIGTERM);
  wait_exit(dump);

  std::vector<Connection> conns;
  auto report = track_captures({pcap}, {}, [&](const Connection& c) { conns.push_back(c); });
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->captures[0].stats.total_issues(), 0u);
  EXPECT_EQ(report->interfaces[0].interface.linktype, linktype::ethernet);

  const Connection* t4 = find(conns, ipproto::tcp, "192.0.2.2", 8080);
  ASSERT_NE(t4, nullptr) << describe(conns);
  EXPECT_EQ(t4->src, *parse_ip("192.0.2.1"));
  EXPECT_EQ(t4->initiator, InitiatorSource::observed);
  // SYN, ACK, data, ACK of data, FIN, final ACK at least from the client; SYN-ACK, data, FIN from the server.
  EXPECT_GE(t4->packets[0], 5u);
  EXPECT_GE(t4->packets[1], 3u);
  EXPECT_EQ(t4->tcp_state, TcpState::time_wait);
  EXPECT_FALSE(t4->open_at_end);

  const Connection* t6 = find(conns, ipproto::tcp, "2001:db8::2", 8443);
  ASSERT_NE(t6, nullptr) << describe(conns);
  EXPECT_EQ(t6->family, Family::ipv6);
  EXPECT_EQ(t6->src, *parse_ip("2001:db8::1"));
  EXPECT_EQ(t6->initiator, InitiatorSource::observed);
  EXPECT_EQ(t6->tcp_state, TcpState::time_wait);

  const Connection* u = find(conns, ipproto::udp, "192.0.2.2", 5353);
  ASSERT_NE(u, nullptr) << describe(conns);
  EXPECT_EQ(u->src, *parse_ip("192.0.2.1"));
  EXPECT_EQ(u->sport, 40000);
  EXPECT_EQ(u->initiator, InitiatorSource::inferred);
  EXPECT_EQ(u->packets[0], 3u);
  EXPECT_EQ(u->packets[1], 1u);
  EXPECT_EQ(u->bytes[0], 3u * (20 + 8 + 4));
}
