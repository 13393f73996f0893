// The scan engine: one thread, one epoll set, one non-blocking socket per probe.
//
// Each probe is a fresh socket, so an answer always belongs to exactly one
// attempt and every answer is a clean round-trip sample (no retransmission
// ambiguity, unlike raw-packet scanners). Probes leave at most at the configured
// rate (a token bucket) and at most max_in_flight at once; a probe that has not
// been answered within the current adaptive timeout is closed and, while retries
// are allowed, sent again from a new socket.
#include <dirent.h>
#include <time.h>  // before linux/errqueue.h, which uses struct timespec
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "audit/udp_payloads.hpp"
#include "portmatrix/scan.hpp"

// Linux 6.3's per-socket source port range (linux/in.h; older C libraries lack the name).
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

namespace portmatrix::scan {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

struct Verdict {
  ScanState state;
  Reason reason;
};

// The state a TCP connect() outcome (its errno, 0 for success) stands for.
Verdict tcp_verdict(int err) {
  switch (err) {
    case 0:
    case ECONNRESET:  // reset after the handshake completed: the port is open
    case EPIPE: return {ScanState::open, Reason::conn_accept};
    case ECONNREFUSED: return {ScanState::closed, Reason::conn_refused};  // RST, or ICMP port unreachable
    case EHOSTUNREACH: return {ScanState::filtered, Reason::host_unreach};
    case ENETUNREACH: return {ScanState::filtered, Reason::net_unreach};
    case EACCES:  // ICMPv6 administratively prohibited / policy failure
    case EPERM: return {ScanState::filtered, Reason::admin_prohibited};  // our own host's firewall
    case ETIMEDOUT: return {ScanState::filtered, Reason::no_response};
    default: return {ScanState::filtered, Reason::dest_unreach};  // ENONET, ENOPROTOOPT, EHOSTDOWN, ...
  }
}

// The state an ICMP error queued on a probe socket stands for; nullopt for ICMP
// messages that say nothing about the port (time exceeded, fragmentation needed,
// packet too big, ...).
std::optional<Verdict> icmp_verdict(const sock_extended_err& ee) {
  if (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3) {  // destination unreachable
    switch (ee.ee_code) {
      case 3: return Verdict{ScanState::closed, Reason::port_unreach};
      case 4: return std::nullopt;  // fragmentation needed: path MTU, not the port
      case 0: return Verdict{ScanState::filtered, Reason::net_unreach};
      case 1: return Verdict{ScanState::filtered, Reason::host_unreach};
      case 9:
      case 10:
      case 13: return Verdict{ScanState::filtered, Reason::admin_prohibited};
      default: return Verdict{ScanState::filtered, Reason::dest_unreach};
    }
  }
  if (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1) {  // destination unreachable
    switch (ee.ee_code) {
      case 4: return Verdict{ScanState::closed, Reason::port_unreach};
      case 0: return Verdict{ScanState::filtered, Reason::net_unreach};
      case 3: return Verdict{ScanState::filtered, Reason::host_unreach};
      case 1:
      case 5:
      case 6: return Verdict{ScanState::filtered, Reason::admin_prohibited};
      default: return Verdict{ScanState::filtered, Reason::dest_unreach};
    }
  }
  return std::nullopt;
}

// Drains a socket's error queue (IP_RECVERR / IPV6_RECVERR) and returns what the
// first ICMP error that says something about the port stands for.
std::optional<Verdict> read_icmp_error(int fd) {
  std::optional<Verdict> verdict;
  for (;;) {
    char data[512], control[512];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      const bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (!verdict) verdict = icmp_verdict(ee);
    }
  }
  return verdict;
}

// File descriptors this process may still open: the soft RLIMIT_NOFILE (raised to
// the hard limit where allowed) minus those already open and a small reserve.
int descriptor_budget() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 256;
  int open_now = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++open_now;
    ::closedir(d);
  }
  const auto limit = rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : static_cast<long long>(rl.rlim_cur);
  return static_cast<int>(std::clamp<long long>(limit - open_now - 32, 1, 1 << 20));
}

// Allows `rate` events per second with a burst of a few milliseconds' worth.
class Pacer {
 public:
  Pacer(double rate, Clock::time_point now) : rate_(rate), burst_(std::max(1.0, rate / 200)), tokens_(1), last_(now) {}
  bool take(Clock::time_point now) {
    refill(now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }
  // When the next token will be there.
  Clock::time_point next(Clock::time_point now) {
    refill(now);
    if (tokens_ >= 1) return now;
    return now + duration_cast<Clock::duration>(std::chrono::duration<double>((1 - tokens_) / rate_));
  }

 private:
  void refill(Clock::time_point now) {
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
  }
  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

class Engine {
 public:
  Engine(const Target& target, const Options& o) : target_(target), o_(o), rtt_(o.initial_timeout, o.min_timeout, o.max_timeout) {}
  ~Engine();
  Expected<Report> run();

 private:
  struct Slot {
    int fd = -1;
    std::uint32_t index = 0;   // into ports_ / results_
    std::uint8_t attempt = 0;  // 0 for the first probe of a port
    std::uint32_t gen = 0;     // bumped on every reuse, so stale events and timers are ignored
    Clock::time_point sent;
  };
  struct Work {
    std::uint32_t index;
    std::uint8_t attempt;
  };

  Status validate() const;
  // Keeps a probe socket's source port in Options::source_ports; false if the kernel cannot.
  bool limit_source_port(int fd) const;
  // What to warn about source ports before the scan starts.
  void check_source_ports(std::vector<std::string>& warnings);
  bool have_work() const { return !retry_.empty() || next_port_ < ports_.size(); }
  // Starts one probe; false when the system ran out of sockets or ports for now.
  Expected<bool> start(Work w, Clock::time_point now);
  Expected<int> open_socket(int type, int protocol);
  void handle(std::uint64_t data, std::uint32_t events, Clock::time_point now);
  void handle_tcp(Slot& s, std::uint32_t events, Clock::time_point now);
  void handle_udp(Slot& s, std::uint32_t events, Clock::time_point now);
  void expire(Clock::time_point now);
  // Records an answer for the probe in slot id and frees the slot.
  void answer(std::uint32_t id, Verdict v, Clock::time_point now);
  void finish_port(std::uint32_t index, Verdict v, std::uint8_t attempts, std::optional<microseconds> rtt);
  // An attempt that got no usable answer: queue the next attempt, or settle the port as silent.
  void unanswered(Work w);
  // The oldest probe still in flight, if any (drops entries of probes already settled).
  const Slot* oldest();
  void release(std::uint32_t id);
  bool self_connected(int fd, std::uint16_t port) const;
  int allowed_attempts() const { return 1 + std::min(o_.retries, max_answered_attempt_ + 1); }
  Progress progress(Clock::time_point now) const;

  Target target_;
  const Options& o_;
  RttEstimator rtt_;
  int domain_ = AF_INET;
  int epoll_ = -1;
  std::vector<std::uint16_t> ports_;
  std::vector<PortResult> results_;
  std::vector<bool> finished_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::deque<std::pair<std::uint32_t, std::uint32_t>> by_send_time_;  // (slot, gen), oldest first
  std::deque<Work> retry_;
  std::size_t next_port_ = 0;
  std::uint32_t done_ = 0;
  int cap_ = 0;
  int in_flight_ = 0;
  int max_answered_attempt_ = 0;
  std::uint64_t probes_ = 0;
  Clock::time_point start_;
};

Engine::~Engine() {
  for (auto& s : slots_)
    if (s.fd >= 0) ::close(s.fd);
  if (epoll_ >= 0) ::close(epoll_);
}

Status Engine::validate() const {
  if (o_.protocol != Protocol::tcp && o_.protocol != Protocol::udp)
    return Error{Error::Kind::input, "the scanner probes tcp or udp ports only"};
  if (!(o_.rate > 0) || !std::isfinite(o_.rate)) return Error{Error::Kind::input, "the probe rate must be positive"};
  if (o_.retries < 0 || o_.retries > 20) return Error{Error::Kind::input, "retries must be between 0 and 20"};
  if (o_.min_timeout.count() <= 0 || o_.max_timeout < o_.min_timeout)
    return Error{Error::Kind::input, "timeouts must be positive and max_timeout at least min_timeout"};
  if (o_.max_in_flight < 0) return Error{Error::Kind::input, "max_in_flight must not be negative"};
  return std::nullopt;
}

bool Engine::limit_source_port(int fd) const {
  if (!o_.source_ports) return true;
  const std::uint32_t range = (std::uint32_t(o_.source_ports->hi) << 16) | o_.source_ports->lo;
  return ::setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, sizeof range) == 0;
}

void Engine::check_source_ports(std::vector<std::string>& warnings) {
  if (!o_.source_ports) return;
  const PortRange want = *o_.source_ports;
  const std::string what = fmt::format("probes leave from source ports the policy does not accept (its ephemeral range is {}-{}), "
                                       "so allowed ports may show as closed or filtered",
                                       want.lo, want.hi);
  if (auto fd = open_socket(o_.protocol == Protocol::tcp ? SOCK_STREAM : SOCK_DGRAM, 0)) {
    const bool ok = limit_source_port(*fd);
    const int e = errno;
    ::close(*fd);
    if (!ok) {
      warnings.push_back(fmt::format("{}: this kernel cannot keep them in range (IP_LOCAL_PORT_RANGE: {})", what, std::strerror(e)));
      return;
    }
  }
  // The per-socket range only narrows the namespace's net.ipv4.ip_local_port_range.
  unsigned lo = 0, hi = 0;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%u %u", &lo, &hi) != 2) lo = hi = 0;
    std::fclose(f);
  }
  if (hi != 0 && (hi < want.lo || lo > want.hi))
    warnings.push_back(fmt::format("{}: the kernel's net.ipv4.ip_local_port_range {}-{} lies outside it", what, lo, hi));
}

Expected<int> Engine::open_socket(int type, int protocol) {
  if (o_.socket_factory) return o_.socket_factory(domain_, type | SOCK_NONBLOCK, protocol);
  int fd = ::socket(domain_, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return Error{Error::Kind::io, fmt::format("socket: {}", std::strerror(errno))};
  return fd;
}

bool Engine::self_connected(int fd, std::uint16_t port) const {
  sockaddr_storage local{}, remote{};
  socklen_t len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return false;
  const socklen_t rlen = to_sockaddr(target_, port, remote);
  if (len != rlen) return false;
  if (local.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(local);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(remote);
    return a.sin6_port == b.sin6_port && std::memcmp(&a.sin6_addr, &b.sin6_addr, 16) == 0;
  }
  const auto& a = reinterpret_cast<const sockaddr_in&>(local);
  const auto& b = reinterpret_cast<const sockaddr_in&>(remote);
  return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
}

Expected<bool> Engine::start(Work w, Clock::time_point now) {
  const bool tcp = o_.protocol == Protocol::tcp;
  auto fd = open_socket(tcp ? SOCK_STREAM : SOCK_DGRAM, tcp ? IPPROTO_TCP : IPPROTO_UDP);
  if (!fd) {
    // Out of descriptors: wait for probes in flight to free some, unless there are none.
    if (in_flight_ == 0) return fd.error();
    return false;
  }
  const std::uint16_t port = ports_[w.index];
  sockaddr_storage sa{};
  const socklen_t salen = to_sockaddr(target_, port, sa);
  int rc, err = 0;
  // Queue ICMP errors on the socket. For TCP this is what makes an ICMP reject seen
  // reliably: on a very fast path (veth, loopback) the error can arrive while
  // connect() still holds the socket, and the kernel then records it only as a
  // "soft" error that SO_ERROR never reports; the error queue gets it either way.
  limit_source_port(*fd);
  const int on = 1;
  if (domain_ == AF_INET) ::setsockopt(*fd, SOL_IP, IP_RECVERR, &on, sizeof on);
  else ::setsockopt(*fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on);
  if (tcp) {
    // Close with a reset rather than FIN/TIME_WAIT, so open ports cost the target and us nothing afterwards.
    const linger abortive{1, 0};
    ::setsockopt(*fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    rc = ::connect(*fd, reinterpret_cast<sockaddr*>(&sa), salen);
    if (rc != 0) err = errno;
  } else {
    rc = ::connect(*fd, reinterpret_cast<sockaddr*>(&sa), salen);
    if (rc == 0) {
      const auto data = payload::for_port(port);
      if (::send(*fd, data.data(), data.size(), 0) < 0) err = errno;
    } else {
      err = errno;
    }
  }
  if (err == EAGAIN || err == EADDRNOTAVAIL || err == ENOBUFS) {
    // No local port or buffer free right now: retry once probes in flight finish.
    ::close(*fd);
    if (in_flight_ == 0) return Error{Error::Kind::io, fmt::format("cannot start a probe: {}", std::strerror(err))};
    return false;
  }
  ++probes_;
  const bool pending = tcp ? (err == EINPROGRESS) : (err == 0);
  if (!pending) {
    // Decided on the spot: a local route error, or (on loopback) an immediate answer.
    const bool self = tcp && err == 0 && self_connected(*fd, port);
    ::close(*fd);
    if (self) {
      unanswered(w);
      return true;
    }
    // connect/send errors mean the same for UDP as for TCP (the kernel maps ICMP the same way).
    Verdict v = tcp_verdict(err);
    if (!tcp && v.reason == Reason::conn_refused) v.reason = Reason::port_unreach;
    finish_port(w.index, v, static_cast<std::uint8_t>(w.attempt + 1), std::nullopt);
    return true;
  }
  PM_ASSERT(!free_.empty(), "a free slot whenever in_flight < cap");
  const std::uint32_t id = free_.back();
  free_.pop_back();
  Slot& s = slots_[id];
  s.fd = *fd;
  s.index = w.index;
  s.attempt = w.attempt;
  s.sent = now;
  ++s.gen;
  epoll_event ev{};
  ev.events = tcp ? EPOLLOUT : EPOLLIN;
  ev.data.u64 = (std::uint64_t(s.gen) << 32) | id;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, s.fd, &ev) != 0) {
    const int e = errno;
    release(id);
    return Error{Error::Kind::io, fmt::format("epoll_ctl: {}", std::strerror(e))};
  }
  by_send_time_.emplace_back(id, s.gen);
  ++in_flight_;
  return true;
}

void Engine::release(std::uint32_t id) {
  Slot& s = slots_[id];
  if (s.fd >= 0) ::close(s.fd);  // also leaves the epoll set
  s.fd = -1;
  ++s.gen;
  free_.push_back(id);
}

void Engine::finish_port(std::uint32_t index, Verdict v, std::uint8_t attempts, std::optional<microseconds> rtt) {
  if (finished_[index]) return;
  finished_[index] = true;
  PortResult& r = results_[index];
  r.state = v.state;
  r.reason = v.reason;
  r.attempts = attempts;
  r.rtt = rtt;
  ++done_;
}

void Engine::answer(std::uint32_t id, Verdict v, Clock::time_point now) {
  Slot& s = slots_[id];
  const auto rtt = duration_cast<microseconds>(now - s.sent);
  rtt_.sample(rtt);
  max_answered_attempt_ = std::max<int>(max_answered_attempt_, s.attempt);
  finish_port(s.index, v, static_cast<std::uint8_t>(s.attempt + 1), rtt);
  release(id);
  --in_flight_;
}

void Engine::handle(std::uint64_t data, std::uint32_t events, Clock::time_point now) {
  const auto id = static_cast<std::uint32_t>(data & 0xffffffffu);
  const auto gen = static_cast<std::uint32_t>(data >> 32);
  if (id >= slots_.size() || slots_[id].gen != gen || slots_[id].fd < 0) return;  // already answered or timed out
  if (o_.protocol == Protocol::tcp) handle_tcp(slots_[id], events, now);
  else handle_udp(slots_[id], events, now);
}

void Engine::handle_tcp(Slot& s, std::uint32_t events, Clock::time_point now) {
  const auto id = static_cast<std::uint32_t>(&s - slots_.data());
  if (events & EPOLLERR) {
    if (auto v = read_icmp_error(s.fd)) {
      answer(id, *v, now);
      return;
    }
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0 && !(events & EPOLLOUT)) return;  // spurious wake-up: still connecting
  if (err == 0 && self_connected(s.fd, ports_[s.index])) {
    // Connected to ourselves (local target, source port == target port): the port told
    // us nothing. Count it as an unanswered attempt, as nmap does.
    const Work w{s.index, s.attempt};
    release(id);
    --in_flight_;
    unanswered(w);
    return;
  }
  answer(id, tcp_verdict(err), now);
}

void Engine::handle_udp(Slot& s, std::uint32_t events, Clock::time_point now) {
  const auto id = static_cast<std::uint32_t>(&s - slots_.data());
  if (events & EPOLLERR) {
    if (auto v = read_icmp_error(s.fd)) {
      answer(id, *v, now);
      return;
    }
    // The pending socket error (sk_err) mirrors a queued ICMP error; clear it.
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  }
  if (events & EPOLLIN) {
    char buf[2048];
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n >= 0) answer(id, {ScanState::open, Reason::udp_response}, now);
  }
}

void Engine::unanswered(Work w) {
  if (w.attempt + 1 < allowed_attempts()) {
    retry_.push_back({w.index, static_cast<std::uint8_t>(w.attempt + 1)});
    return;
  }
  const Verdict silent = o_.protocol == Protocol::tcp ? Verdict{ScanState::filtered, Reason::no_response}
                                                      : Verdict{ScanState::open_filtered, Reason::no_response};
  finish_port(w.index, silent, static_cast<std::uint8_t>(w.attempt + 1), std::nullopt);
}

const Engine::Slot* Engine::oldest() {
  while (!by_send_time_.empty()) {
    const auto [id, gen] = by_send_time_.front();
    if (slots_[id].gen == gen && slots_[id].fd >= 0) return &slots_[id];
    by_send_time_.pop_front();
  }
  return nullptr;
}

void Engine::expire(Clock::time_point now) {
  const auto timeout = rtt_.timeout();
  while (const Slot* s = oldest()) {
    if (now - s->sent < timeout) break;
    const Work w{s->index, s->attempt};
    release(by_send_time_.front().first);
    by_send_time_.pop_front();
    --in_flight_;
    unanswered(w);
  }
}

Progress Engine::progress(Clock::time_point now) const {
  Progress p;
  p.total = static_cast<std::uint32_t>(ports_.size());
  p.done = done_;
  p.in_flight = static_cast<std::uint32_t>(in_flight_);
  p.probes_sent = probes_;
  p.srtt = rtt_.srtt();
  p.timeout = rtt_.timeout();
  p.elapsed = duration_cast<milliseconds>(now - start_);
  return p;
}

Expected<Report> Engine::run() {
  if (auto e = validate()) return *e;
  domain_ = target_.addr.family == Family::ipv4 ? AF_INET : AF_INET6;
  std::vector<std::string> warnings;
  check_source_ports(warnings);
  for (const auto& r : o_.ports.ranges())
    for (std::uint32_t p = std::max<std::uint32_t>(r.lo, 1); p <= r.hi; ++p) ports_.push_back(static_cast<std::uint16_t>(p));
  results_.resize(ports_.size());
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    results_[i].protocol = o_.protocol;
    results_[i].port = ports_[i];
  }
  finished_.assign(ports_.size(), false);

  // In flight at most: what the descriptors allow, and never more than the rate can
  // fill within the longest timeout (more would sit idle).
  const double fill = o_.rate * std::chrono::duration<double>(o_.max_timeout).count();
  cap_ = o_.max_in_flight > 0 ? o_.max_in_flight : static_cast<int>(std::clamp(fill, 16.0, double(1 << 20)));
  cap_ = std::max(1, std::min({cap_, descriptor_budget(), static_cast<int>(std::max<std::size_t>(ports_.size(), 1))}));
  slots_.resize(static_cast<std::size_t>(cap_));
  for (int i = cap_ - 1; i >= 0; --i) free_.push_back(static_cast<std::uint32_t>(i));

  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) return Error{Error::Kind::io, fmt::format("epoll_create1: {}", std::strerror(errno))};

  start_ = Clock::now();
  Pacer pacer(o_.rate, start_);
  auto next_progress = o_.progress ? start_ : Clock::time_point::max();
  bool cancelled = false;
  std::vector<epoll_event> events(1024);
  int limit = cap_;  // lowered for a while when the system runs out of sockets or local ports
  while (done_ < ports_.size()) {
    auto now = Clock::now();
    expire(now);
    while (in_flight_ < limit && have_work() && pacer.take(now)) {
      Work w = !retry_.empty() ? retry_.front() : Work{static_cast<std::uint32_t>(next_port_), 0};
      if (!retry_.empty()) retry_.pop_front();
      else ++next_port_;
      auto started = start(w, now);
      if (!started) return started.error();
      if (!*started) {
        retry_.push_front(w);
        limit = std::max(1, in_flight_);
        break;
      }
    }
    if (in_flight_ <= limit / 2) limit = cap_;
    if (o_.progress && now >= next_progress) {
      if (!o_.progress(progress(now))) {
        cancelled = true;
        break;
      }
      next_progress = now + o_.progress_interval;
    }
    if (done_ == ports_.size()) break;

    // Sleep until an answer arrives, the oldest probe times out, the pacer has a
    // token for waiting work, or progress is due.
    auto wake = next_progress;
    if (const Slot* s = oldest()) wake = std::min(wake, s->sent + rtt_.timeout());
    if (have_work() && in_flight_ < limit) wake = std::min(wake, pacer.next(now));
    const auto wait = std::max(Clock::duration::zero(), wake - now);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int n = ::epoll_pwait2(epoll_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{Error::Kind::io, fmt::format("epoll_pwait2: {}", std::strerror(errno))};
    }
    now = Clock::now();
    for (int i = 0; i < n; ++i) handle(events[static_cast<std::size_t>(i)].data.u64, events[static_cast<std::size_t>(i)].events, now);
  }

  const auto end = Clock::now();
  if (o_.progress && !cancelled) o_.progress(progress(end));
  Report rep;
  rep.target = target_;
  rep.protocol = o_.protocol;
  rep.cancelled = cancelled;
  rep.probes_sent = probes_;
  rep.max_in_flight = cap_;
  rep.srtt = rtt_.srtt();
  rep.rttvar = rtt_.rttvar();
  rep.elapsed = duration_cast<milliseconds>(end - start_);
  rep.warnings = std::move(warnings);
  rep.results.reserve(done_);
  for (std::size_t i = 0; i < ports_.size(); ++i)
    if (finished_[i]) rep.results.push_back(results_[i]);
  return rep;
}

}  // namespace

Expected<Report> run(const Target& target, const Options& options) {
  Engine engine(target, options);
  return engine.run();
}

}  // namespace portmatrix::scan
