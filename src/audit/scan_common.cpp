// The scanner's vocabulary: states, reasons, targets, port lists and the RTT estimator.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "portmatrix/scan.hpp"

namespace portmatrix::scan {

std::string_view to_string(ScanState s) {
  switch (s) {
    case ScanState::open: return "open";
    case ScanState::closed: return "closed";
    case ScanState::filtered: return "filtered";
    case ScanState::open_filtered: return "open|filtered";
  }
  return "?";
}

std::optional<ScanState> parse_scan_state(std::string_view s) {
  for (ScanState st : {ScanState::open, ScanState::closed, ScanState::filtered, ScanState::open_filtered})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

bool consistent(ScanState observed, PortState expected) {
  switch (observed) {
    case ScanState::open: return expected == PortState::open;
    case ScanState::closed: return expected == PortState::closed;
    case ScanState::filtered: return expected == PortState::filtered;
    case ScanState::open_filtered: return expected == PortState::open || expected == PortState::filtered;
  }
  return false;
}

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::conn_accept: return "syn-ack";
    case Reason::conn_refused: return "conn-refused";
    case Reason::udp_response: return "udp-response";
    case Reason::port_unreach: return "port-unreach";
    case Reason::host_unreach: return "host-unreach";
    case Reason::net_unreach: return "net-unreach";
    case Reason::admin_prohibited: return "admin-prohibited";
    case Reason::dest_unreach: return "dest-unreach";
    case Reason::no_response: return "no-response";
  }
  return "?";
}

std::size_t Report::count(ScanState s) const {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [s](const PortResult& r) { return r.state == s; }));
}

socklen_t to_sockaddr(const Target& t, std::uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (t.addr.family == Family::ipv4) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    std::memcpy(&sa->sin_addr, t.addr.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sa = reinterpret_cast<sockaddr_in6*>(&out);
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(port);
  sa->sin6_scope_id = t.scope_id;
  std::memcpy(&sa->sin6_addr, t.addr.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

Expected<Target> resolve_target(const std::string& host, std::optional<Family> family) {
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  if (name.empty()) return Error{Error::Kind::input, "empty host name"};
  // Address literals never go to a resolver.
  if (auto literal = parse_ip(name)) {
    if (family && literal->family != *family)
      return Error{Error::Kind::input, fmt::format("'{}' is not an {} address", host, *family == Family::ipv4 ? "IPv4" : "IPv6")};
    return Target{*literal, 0};
  }
  addrinfo hints{};
  hints.ai_family = !family ? AF_UNSPEC : *family == Family::ipv4 ? AF_INET : AF_INET6;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res)
    return Error{Error::Kind::input,
                 fmt::format("cannot resolve host '{}': {}", host, rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc))};
  Target t;
  if (res->ai_family == AF_INET) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(res->ai_addr);
    t.addr.family = Family::ipv4;
    std::memcpy(t.addr.bytes.data(), &sa->sin_addr, 4);
  } else {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(res->ai_addr);
    t.addr.family = Family::ipv6;
    std::memcpy(t.addr.bytes.data(), &sa->sin6_addr, 16);
    t.scope_id = sa->sin6_scope_id;
  }
  ::freeaddrinfo(res);
  return t;
}

namespace {

// Parses a decimal port 1-65535 at text[begin, end); reports problems at column begin + 1.
std::optional<std::uint16_t> port_number(std::string_view text, std::size_t begin, std::size_t end,
                                         Diagnostics& diags) {
  SourceLoc loc{"--ports", 1, static_cast<int>(begin + 1)};
  std::string_view digits = text.substr(begin, end - begin);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    diags.error(loc, fmt::format("'{}' is not a port number", digits));
    return std::nullopt;
  }
  if (digits.size() > 5 || std::stoul(std::string(digits)) > 65535) {
    diags.error(loc, fmt::format("port {} is out of range (1-65535)", digits));
    return std::nullopt;
  }
  auto v = static_cast<std::uint16_t>(std::stoul(std::string(digits)));
  if (v == 0) {
    diags.error(loc, "port 0 cannot be scanned");
    return std::nullopt;
  }
  return v;
}

}  // namespace

Parsed<PortSet> parse_scan_ports(std::string_view text) {
  Parsed<PortSet> out;
  PortSet set;
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::size_t b = pos, e = comma;
    while (b < e && is_space(text[b])) ++b;
    while (e > b && is_space(text[e - 1])) --e;
    SourceLoc loc{"--ports", 1, static_cast<int>(b + 1)};
    if (b == e) {
      out.diags.error(loc, "empty item in port list");
    } else {
      std::size_t dash = text.substr(b, e - b).find('-');
      if (dash == std::string_view::npos) {
        if (auto p = port_number(text, b, e, out.diags)) set.add({*p, *p});
      } else {
        dash += b;
        std::optional<std::uint16_t> lo = dash == b ? std::optional<std::uint16_t>(1) : port_number(text, b, dash, out.diags);
        std::optional<std::uint16_t> hi =
            dash + 1 == e ? std::optional<std::uint16_t>(65535) : port_number(text, dash + 1, e, out.diags);
        if (lo && hi) {
          if (*lo > *hi) out.diags.error(loc, fmt::format("range {}-{} runs backwards", *lo, *hi));
          else set.add({*lo, *hi});
        }
      }
    }
    pos = comma + 1;
  }
  if (!out.diags.has_errors()) out.value = std::move(set);
  return out;
}

RttEstimator::RttEstimator(usec initial_timeout, usec min_timeout, usec max_timeout)
    : initial_(initial_timeout), min_(min_timeout), max_(std::max(min_timeout, max_timeout)) {}

void RttEstimator::sample(usec rtt) {
  if (rtt < usec(0)) rtt = usec(0);
  if (samples_ == 0) {
    srtt_ = rtt;
    rttvar_ = rtt / 2;
  } else {
    const usec delta = rtt > srtt_ ? rtt - srtt_ : srtt_ - rtt;
    rttvar_ = (3 * rttvar_ + delta) / 4;
    srtt_ = (7 * srtt_ + rtt) / 8;
  }
  ++samples_;
}

RttEstimator::usec RttEstimator::timeout() const {
  const usec t = samples_ == 0 ? initial_ : srtt_ + 4 * rttvar_;
  return std::clamp(t, min_, max_);
}

}  // namespace portmatrix::scan
