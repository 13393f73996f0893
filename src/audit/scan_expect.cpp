// Comparing a scan with a policy: the state the Policy IR expects on each port,
// from the reference evaluator (firewall on) or the rows alone (firewall off).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "portmatrix/evaluate.hpp"
#include "portmatrix/scan.hpp"

namespace portmatrix::scan {

namespace {

// Rows whose listening end is the host: the host is a destination, or a source of a
// symmetric row (each end initiates to the other).
bool host_listens(const RowBinding& row, const std::string& host) {
  auto has = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), host) != v.end(); };
  return has(row.destinations) || (row.symmetric && has(row.sources));
}

bool uses(const RowBinding& row, Protocol p) {
  return std::find(row.protocols.begin(), row.protocols.end(), p) != row.protocols.end();
}

}  // namespace

Expected<IpAddr> source_address(const Target& target, const SocketFactory& factory) {
  const int domain = target.addr.family == Family::ipv4 ? AF_INET : AF_INET6;
  Expected<int> fd = factory ? factory(domain, SOCK_DGRAM, IPPROTO_UDP) : Expected<int>(::socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd.error();
  if (*fd < 0) return Error{Error::Kind::io, fmt::format("socket: {}", std::strerror(errno))};
  // Connecting a UDP socket only picks the route and source address; nothing is sent.
  sockaddr_storage sa{};
  const socklen_t len = to_sockaddr(target, 9, sa);
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  const bool ok = ::connect(*fd, reinterpret_cast<sockaddr*>(&sa), len) == 0 &&
                  ::getsockname(*fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0;
  const int err = errno;
  ::close(*fd);
  if (!ok) return Error{Error::Kind::io, fmt::format("no route to {}: {}", target.addr.to_string(), std::strerror(err))};
  IpAddr a;
  a.family = target.addr.family;
  if (a.family == Family::ipv4) std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in&>(local).sin_addr, 4);
  else std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6&>(local).sin6_addr, 16);
  return a;
}

Expected<Expectation> expect(const Policy& policy, const IpAddr& scanner, const IpAddr& target, Protocol protocol,
                             std::uint16_t port, Firewall firewall) {
  // The connection's first packet; its source port is one from the scanner's ephemeral
  // range, which the policy knows only as the site's range.
  auto pkt = host_packet(policy, scanner, policy.ephemeral.lo, target, port, protocol);
  if (!pkt) return pkt.error();
  if (pkt->direction != Direction::in)
    return Error{Error::Kind::input, fmt::format("{} is not an address of the host '{}'", target.to_string(), policy.host)};
  Expectation e;
  if (firewall == Firewall::off) {
    for (const auto& row : policy.rows)
      if (row.enabled && host_listens(row, policy.host) && uses(row, protocol) && row.dport.contains(port)) {
        e.state = PortState::open;
        e.row = row.id;
        break;
      }
    return e;
  }
  const Verdict v = evaluate(policy, *pkt);
  e.row = v.row;
  switch (v.action) {
    case Action::accept: e.state = PortState::open; break;
    case Action::reject: e.state = PortState::closed; break;
    case Action::drop: e.state = PortState::filtered; break;
  }
  return e;
}

PortSet policy_ports(const Policy& policy, Protocol protocol) {
  PortSet out;
  for (const auto& row : policy.rows)
    if (row.enabled && host_listens(row, policy.host) && uses(row, protocol)) out.add(row.dport);
  return out.subtract(PortSet::single(0));
}

}  // namespace portmatrix::scan
