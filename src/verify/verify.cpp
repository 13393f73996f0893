// Running verify: namespaces, listeners, probes, and the report.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "portmatrix/fileio.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/texttable.hpp"
#include "verify/topology.hpp"

namespace portmatrix {

namespace {

using verify::Topology;

socklen_t to_sockaddr(const IpAddr& a, std::uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.family == Family::ipv4) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    std::memcpy(&s->sin_addr, a.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  std::memcpy(&s->sin6_addr, a.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

void reuse(int fd) {
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
}

// Echo listeners on every (namespace, protocol, family, port) the probes need,
// served by one epoll thread.
class EchoServer {
 public:
  ~EchoServer() { stop(); }

  Status listen(const netns::Namespace& ns, Protocol proto, Family f, std::uint16_t port) {
    if (!has_ports(proto)) return std::nullopt;  // the kernel answers echo requests itself
    auto key = std::make_tuple(ns.fd(), proto, f, port);
    if (!keys_.insert(key).second) return std::nullopt;
    int domain = f == Family::ipv4 ? AF_INET : AF_INET6;
    auto fd = ns.socket(domain, (proto == Protocol::tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
    if (!fd) return fd.error();
    reuse(*fd);
    int one = 1;
    if (f == Family::ipv6) ::setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    // A wildcard UDP socket must answer from the address it was asked on; the
    // packet info tells which one.
    if (proto == Protocol::udp) {
      if (f == Family::ipv4) ::setsockopt(*fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
      else ::setsockopt(*fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    }
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(f == Family::ipv4 ? IpAddr::v4(0) : IpAddr::v6(0), port, ss);
    if (::bind(*fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || (proto == Protocol::tcp && ::listen(*fd, 128) != 0)) {
      int e = errno;
      ::close(*fd);
      return Error{Error::Kind::kernel, fmt::format("listen on {}/{} in {}: {}", port, to_string(proto), ns.name(), std::strerror(e))};
    }
    fds_.push_back({*fd, proto == Protocol::tcp ? Kind::tcp_listen : Kind::udp});
    return std::nullopt;
  }

  Status start() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ep_ < 0 || wake_ < 0) return Error{Error::Kind::kernel, "epoll/eventfd"};
    add(wake_, Kind::wake);
    for (auto [fd, kind] : fds_) add(fd, kind);
    thread_ = std::thread([this] { loop(); });
    return std::nullopt;
  }

  void stop() {
    if (thread_.joinable()) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
      thread_.join();
    }
    for (auto& [fd, kind] : kinds_) ::close(fd);
    kinds_.clear();
    fds_.clear();
    if (ep_ >= 0) ::close(ep_);
    ep_ = -1;
  }

 private:
  enum class Kind { wake, tcp_listen, tcp_conn, udp };

  void add(int fd, Kind k) {
    kinds_[fd] = k;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }

  void loop() {
    epoll_event evs[64];
    char buf[2048];
    while (true) {
      int n = ::epoll_wait(ep_, evs, 64, -1);
      if (n < 0 && errno == EINTR) continue;
      for (int i = 0; i < n; ++i) {
        int fd = evs[i].data.fd;
        Kind k = kinds_[fd];
        if (k == Kind::wake) return;
        if (k == Kind::tcp_listen) {
          int c;
          while ((c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) add(c, Kind::tcp_conn);
        } else if (k == Kind::tcp_conn) {
          ssize_t r = ::recv(fd, buf, sizeof buf, 0);
          if (r > 0) {
            [[maybe_unused]] auto w = ::send(fd, buf, static_cast<std::size_t>(r), MSG_NOSIGNAL);
          } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
            kinds_.erase(fd);
            ::close(fd);
          }
        } else {
          echo_datagrams(fd, buf, sizeof buf);
        }
      }
    }
  }

  // Answers each datagram from the address it was sent to (the packet info comes back as is).
  static void echo_datagrams(int fd, char* buf, std::size_t size) {
    while (true) {
      sockaddr_storage from;
      alignas(cmsghdr) char control[256];
      iovec iov{buf, size};
      msghdr m{};
      m.msg_name = &from;
      m.msg_namelen = sizeof from;
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = control;
      m.msg_controllen = sizeof control;
      ssize_t r = ::recvmsg(fd, &m, 0);
      if (r <= 0) return;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          auto* pi = reinterpret_cast<in_pktinfo*>(CMSG_DATA(c));
          pi->ipi_ifindex = 0;
          pi->ipi_spec_dst = pi->ipi_addr;
        }
      }
      iov.iov_len = static_cast<std::size_t>(r);
      [[maybe_unused]] auto w = ::sendmsg(fd, &m, 0);
    }
  }

  std::set<std::tuple<int, Protocol, Family, std::uint16_t>> keys_;
  std::vector<std::pair<int, Kind>> fds_;
  std::map<int, Kind> kinds_;
  int ep_ = -1, wake_ = -1;
  std::thread thread_;
};

// Waits for fd to become ready for events; false on timeout.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// One ICMP or ICMPv6 echo request through a ping socket (the kernel sets the
// identifier and checksum); connected when the matching reply comes back.
std::pair<bool, std::string> run_echo(const netns::Namespace& ns, const Probe& pr, std::chrono::milliseconds timeout,
                                      std::size_t id) {
  const bool v4 = pr.src.family == Family::ipv4;
  const int proto = v4 ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6);
  auto fd = ns.socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, proto);
  if (!fd) return {false, "socket: " + fd.error().message};
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{*fd};
  sockaddr_storage src, dst;
  socklen_t sl = to_sockaddr(pr.src, 0, src), dl = to_sockaddr(pr.dst, 0, dst);
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&src), sl) != 0) return {false, fmt::format("bind: {}", std::strerror(errno))};
  if (::connect(*fd, reinterpret_cast<sockaddr*>(&dst), dl) != 0) return {false, std::strerror(errno)};
  const std::string payload = fmt::format("portmatrix verify probe {}\n", id);
  std::string request(8, '\0');
  request[0] = static_cast<char>(v4 ? 8 : 128);  // echo request
  request[7] = static_cast<char>(id & 0xff);     // sequence, low byte
  request[6] = static_cast<char>((id >> 8) & 0xff);
  request += payload;
  if (::send(*fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size()))
    return {false, fmt::format("send: {}", std::strerror(errno))};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[512];
  while (true) {
    if (!wait_for(*fd, POLLIN, deadline)) return {false, "timeout"};
    ssize_t r = ::recv(*fd, buf, sizeof buf, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r < 0) return {false, errno == ECONNREFUSED ? "refused" : std::string(std::strerror(errno))};
    const bool reply = r >= 8 && static_cast<unsigned char>(buf[0]) == (v4 ? 0 : 129);
    if (reply && std::string_view(buf + 8, static_cast<std::size_t>(r) - 8) == payload) return {true, "echo reply"};
  }
}

// One connection attempt with data both ways. Returns (connected, detail).
std::pair<bool, std::string> run_probe(const netns::Namespace& ns, const Probe& pr, std::chrono::milliseconds timeout,
                                       std::size_t id) {
  if (!has_ports(pr.protocol)) return run_echo(ns, pr, timeout, id);
  const int domain = pr.src.family == Family::ipv4 ? AF_INET : AF_INET6;
  const bool tcp = pr.protocol == Protocol::tcp;
  auto fd = ns.socket(domain, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
  if (!fd) return {false, "socket: " + fd.error().message};
  struct Closer {
    int fd;
    bool tcp;
    ~Closer() {
      if (tcp) {
        linger l{1, 0};  // reset instead of TIME_WAIT, so the same ports can be probed again
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      ::close(fd);
    }
  } closer{*fd, tcp};
  reuse(*fd);
  if (pr.src.family == Family::ipv6) {
    int one = 1;
    ::setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  sockaddr_storage src, dst;
  socklen_t sl = to_sockaddr(pr.src, pr.sport, src), dl = to_sockaddr(pr.dst, pr.dport, dst);
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&src), sl) != 0) return {false, fmt::format("bind: {}", std::strerror(errno))};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (::connect(*fd, reinterpret_cast<sockaddr*>(&dst), dl) != 0 && errno != EINPROGRESS)
    return {false, errno == ECONNREFUSED ? "refused" : std::string(std::strerror(errno))};
  if (tcp) {
    if (!wait_for(*fd, POLLOUT, deadline)) return {false, "timeout"};
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return {false, err == ECONNREFUSED ? "refused" : std::string(std::strerror(err))};
  }
  const std::string payload = fmt::format("portmatrix verify probe {}\n", id);
  if (::send(*fd, payload.data(), payload.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(payload.size()))
    return {false, errno == ECONNREFUSED ? "refused" : fmt::format("send: {}", std::strerror(errno))};
  std::string got;
  char buf[256];
  while (got.size() < payload.size()) {
    if (!wait_for(*fd, POLLIN, deadline)) return {false, tcp ? "connected, no echo" : "timeout"};
    ssize_t r = ::recv(*fd, buf, sizeof buf, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r <= 0) return {false, r == 0 ? "closed" : (errno == ECONNREFUSED ? "refused" : std::string(std::strerror(errno)))};
    got.append(buf, static_cast<std::size_t>(r));
  }
  if (got != payload) return {false, "wrong echo"};
  return {true, "echoed"};
}

bool intent_allows(const std::string& kind) {
  return kind == "allowed" || kind == "localhost" || kind == "reverse" || kind == "echo";
}

class Lab {
 public:
  explicit Lab(const Topology& t) : t_(t) {}

  Status build() {
    netns::sweep_stale();
    auto host = netns::Namespace::create(netns::unique_name("host"));
    if (!host) return host.error();
    host_ = std::move(*host);
    if (auto e = quiet_ipv6(host_)) return e;
    int i = 0;
    for (const auto& iface : t_.interfaces) {
      auto side = netns::Namespace::create(netns::unique_name(fmt::format("side{}", i++)));
      if (!side) return side.error();
      if (auto e = quiet_ipv6(*side)) return e;
      if (auto e = netns::add_veth(host_, iface, *side, "up0")) return e;
      for (const auto& h : t_.host) {
        if (auto e = host_.add_address(iface, Prefix{h, static_cast<std::uint8_t>(h.bits())})) return e;
        if (auto e = side->check({"ip", h.family == Family::ipv4 ? "-4" : "-6", "route", "add", h.to_string(), "dev", "up0"}))
          return e;
      }
      for (const auto& peer : t_.peers) {
        if (peer.iface != iface) continue;
        if (auto e = side->add_address("up0", Prefix{peer.addr, static_cast<std::uint8_t>(peer.addr.bits())})) return e;
        if (auto e = host_.check({"ip", peer.addr.family == Family::ipv4 ? "-4" : "-6", "route", "add",
                                  peer.addr.to_string(), "dev", iface}))
          return e;
        side_of_[peer.addr] = sides_.size();
      }
      sides_.push_back(std::move(*side));
    }
    return std::nullopt;
  }

  Status listen_for(const std::vector<Probe>& probes, EchoServer& server) {
    for (const auto& pr : probes)
      if (auto e = server.listen(listener_ns(pr), pr.protocol, pr.dst.family, pr.dport)) return e;
    return std::nullopt;
  }

  Status load(const Backend& b, const Rendered& r) {
    auto loaded = b.load(r, host_.fd());
    if (!loaded) return loaded.error();
    loaded_ = std::move(*loaded);
    return std::nullopt;
  }

  // Leaves the host namespace without any filtering, the state before a firewall:
  // stops the target's helpers (a daemon), then removes every rule. Debian's
  // iptables is iptables-nft, so this clears iptables rules as well.
  Status unload() {
    loaded_.reset();
    return host_.check({"nft", "flush", "ruleset"});
  }

  const netns::Namespace& host() const { return host_; }
  const netns::Namespace& client_ns(const Probe& pr) const { return pr.from_host ? host_ : sides_.at(side_of_.at(pr.src)); }
  const netns::Namespace& listener_ns(const Probe& pr) const {
    return (pr.from_host && !pr.dst.is_loopback()) ? sides_.at(side_of_.at(pr.dst)) : host_;
  }

 private:
  static Status quiet_ipv6(const netns::Namespace& ns) {
    // No duplicate address detection and no router solicitations: addresses work at once.
    // Ping sockets for root, for the echo probes (off by default in a new namespace).
    return ns.check({"sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                     "net.ipv6.conf.default.router_solicitations=0", "net.ipv4.ping_group_range=0 0"});
  }

  const Topology& t_;
  netns::Namespace host_;
  std::vector<netns::Namespace> sides_;
  std::map<IpAddr, std::size_t> side_of_;
  std::unique_ptr<LoadedRuleset> loaded_;
};

// Runs every probe with `parallel` workers; fills connected/detail.
void run_all(const Lab& lab, std::vector<ProbeResult>& results, const VerifyOptions& opt, bool firewall_on,
             std::vector<std::pair<bool, std::string>>& out) {
  out.assign(results.size(), {false, ""});
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex mu;
  auto worker = [&] {
    while (true) {
      std::size_t i = next++;
      if (i >= results.size()) return;
      const Probe& pr = results[i].probe;
      auto timeout = (!firewall_on || pr.expect_connect()) ? opt.allow_timeout : opt.block_timeout;
      out[i] = run_probe(lab.client_ns(pr), pr, timeout, i);
      std::size_t d = ++done;
      if (firewall_on && opt.progress) {
        std::lock_guard lk(mu);
        opt.progress(d, results.size());
      }
    }
  };
  std::vector<std::thread> pool;
  int n = std::max(1, std::min<int>(opt.parallel, static_cast<int>(results.size())));
  for (int i = 0; i < n; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
}

}  // namespace

Expected<VerifyReport> verify_policy(const Policy& policy, const Backend& backend, const VerifyOptions& opt) {
  if (!backend.loadable())
    return Error{Error::Kind::unsupported, fmt::format("target {} is not a Linux host firewall; verify cannot load it", backend.name())};
  if (!netns::available()) return Error{Error::Kind::permission, "verify needs root to create network namespaces"};
  auto start = std::chrono::steady_clock::now();
  VerifyReport rep;
  rep.target = std::string(backend.name());
  Topology topo = verify::plan_topology(policy, opt, rep.notes);
  auto probes = verify::plan_probes(policy, opt, topo, rep.notes);
  if (probes.empty()) return Error{Error::Kind::input, "the policy gives verify nothing to probe"};
  for (auto& p : probes) rep.results.push_back({std::move(p), false, "", false, ""});

  Rendered rendered = backend.compile(policy);
  Lab lab(topo);
  if (auto e = lab.build()) return *e;
  std::vector<Probe> plain;
  for (const auto& r : rep.results) plain.push_back(r.probe);
  EchoServer server;
  if (auto e = lab.listen_for(plain, server)) return *e;
  if (auto e = server.start()) return *e;

  // Firewall on first: probes it blocks leave no connection tracking entries
  // behind that could carry the control run.
  if (auto e = opt.switch_on ? opt.switch_on(lab.host()) : lab.load(backend, rendered))
    return Error{e->kind, "the kernel refused the ruleset: " + e->message};
  std::vector<std::pair<bool, std::string>> on, off;
  run_all(lab, rep.results, opt, true, on);
  // Control run with the firewall off: every probe must get through, which shows
  // the listeners and routes work, so a blocked probe was blocked by the firewall.
  if (auto e = opt.switch_off ? opt.switch_off(lab.host()) : lab.unload()) return *e;
  run_all(lab, rep.results, opt, false, off);

  for (std::size_t i = 0; i < rep.results.size(); ++i) {
    auto& r = rep.results[i];
    r.connected = on[i].first;
    r.detail = on[i].second;
    const bool predicted = r.probe.expect_connect();
    std::vector<std::string> problems;
    if (!off[i].first) {
      problems.push_back(fmt::format("harness: the probe did not get through even with the firewall off ({})", off[i].second));
      ++rep.harness_failures;
    }
    if (r.connected != predicted)
      problems.push_back(fmt::format("the kernel {} it, the reference evaluator {} it ({}): a bug in portmatrix's {} backend "
                                     "or evaluator",
                                     r.connected ? "allowed" : "blocked", predicted ? "allows" : "blocks",
                                     r.probe.predicted.row.empty() ? std::string(to_string(r.probe.predicted.stage))
                                                                   : "row " + r.probe.predicted.row,
                                     backend.name()));
    if (intent_allows(r.probe.kind) && !predicted)
      problems.push_back("the policy blocks a row the site enables: a binding bug");
    // An outsider's address may lie inside a wider prefix the row does name, so
    // only the kernel's agreement with the evaluator judges outsiders.
    if (!intent_allows(r.probe.kind) && r.probe.kind != "outsider" && predicted && !r.probe.row.empty() &&
        r.probe.predicted.row == r.probe.row)
      problems.push_back(r.probe.kind == "edge" ? std::string("the policy allows a port just outside the row's ports")
                                                : fmt::format("the policy allows a {} row", r.probe.kind));
    r.pass = problems.empty();
    for (const auto& p : problems) r.problem += (r.problem.empty() ? "" : "; ") + p;
    rep.failures += !r.pass && off[i].first;
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return rep;
}

std::string verify_table(const VerifyReport& r) {
  TextTable t({"ROW", "PROBE", "EXPECTED", "OBSERVED", "RESULT"});
  for (const auto& x : r.results) {
    std::string expected = x.probe.expect_connect() ? "connect" : "blocked";
    if (!x.probe.predicted.row.empty() && x.probe.predicted.row != x.probe.row) expected += " (row " + x.probe.predicted.row + ")";
    t.add({x.probe.row.empty() ? "-" : x.probe.row, fmt::format("{} {}", x.probe.kind, x.probe.describe()), expected,
           fmt::format("{} ({})", x.connected ? "connect" : "blocked", x.detail), x.pass ? "PASS" : "FAIL"});
  }
  std::string s = t.render();
  for (const auto& x : r.results)
    if (!x.pass) s += fmt::format("FAIL {}: {}\n", x.probe.describe(), x.problem);
  for (const auto& n : r.notes) s += fmt::format("note: {}\n", n);
  std::size_t passed = r.results.size() - r.failures - r.harness_failures;
  s += fmt::format("verify ({}): {} probes, {} passed, {} failed{} in {:.1f} s\n", r.target, r.results.size(), passed,
                   r.failures, r.harness_failures ? fmt::format(", {} harness failures", r.harness_failures) : "",
                   r.seconds);
  return s;
}

std::string verify_json(const VerifyReport& r) {
  using J = nlohmann::ordered_json;
  J j;
  j["target"] = r.target;
  j["ok"] = r.ok();
  j["probes"] = J::array();
  for (const auto& x : r.results) {
    J p;
    p["row"] = x.probe.row.empty() ? J(nullptr) : J(x.probe.row);
    p["kind"] = x.probe.kind;
    p["from"] = x.probe.from;
    p["to"] = x.probe.to;
    p["proto"] = std::string(to_string(x.probe.protocol));
    p["src"] = x.probe.src.to_string();
    p["sport"] = x.probe.sport;
    p["dst"] = x.probe.dst.to_string();
    p["dport"] = x.probe.dport;
    p["expected"] = x.probe.expect_connect() ? "connect" : "blocked";
    p["decided_by"] = x.probe.predicted.row.empty() ? J(std::string(to_string(x.probe.predicted.stage))) : J(x.probe.predicted.row);
    p["observed"] = x.connected ? "connect" : "blocked";
    p["detail"] = x.detail;
    p["pass"] = x.pass;
    if (!x.pass) p["problem"] = x.problem;
    j["probes"].push_back(std::move(p));
  }
  j["notes"] = r.notes;
  j["summary"] = {{"probes", r.results.size()},
                  {"failed", r.failures},
                  {"harness_failures", r.harness_failures},
                  {"seconds", r.seconds}};
  return json_text(j, 2) + "\n";
}

}  // namespace portmatrix
