#include "portmatrix/evaluate.hpp"

#include <fmt/format.h>

namespace portmatrix {

std::string_view to_string(Direction d) { return d == Direction::in ? "in" : "out"; }

std::string_view to_string(Action a) {
  switch (a) {
    case Action::accept: return "accept";
    case Action::drop: return "drop";
    case Action::reject: return "reject";
  }
  return "?";
}

std::string_view to_string(CtState s) {
  switch (s) {
    case CtState::new_: return "new";
    case CtState::established: return "established";
    case CtState::related: return "related";
    case CtState::invalid: return "invalid";
  }
  return "?";
}

std::string_view to_string(Stage s) {
  switch (s) {
    case Stage::neighbour_discovery: return "neighbour-discovery";
    case Stage::conntrack: return "conntrack";
    case Stage::invalid: return "invalid";
    case Stage::rule: return "rule";
    case Stage::loopback: return "loopback";
    case Stage::echo: return "echo";
    case Stage::default_: return "default";
  }
  return "?";
}

std::vector<Family> Rule::families() const {
  std::vector<Family> out;
  for (Family f : {Family::ipv4, Family::ipv6})
    if (!src.empty(f) && !dst.empty(f)) out.push_back(f);
  return out;
}

bool rule_matches(const Rule& r, const Packet& p) {
  if (r.direction != p.direction) return false;
  if (!r.iface.empty() && r.iface != p.iface) return false;
  if (r.protocol != p.protocol) return false;
  if (!r.src.contains(p.src) || !r.dst.contains(p.dst)) return false;
  if (has_ports(p.protocol) && (!r.sport.contains(p.sport) || !r.dport.contains(p.dport))) return false;
  return true;
}

Verdict evaluate(const Policy& policy, const Packet& p) {
  return evaluate_frame(policy, p, [&] {
    for (std::size_t i = 0; i < policy.rules.size(); ++i)
      if (rule_matches(policy.rules[i], p)) return static_cast<int>(i);
    return -1;
  });
}

}  // namespace portmatrix

namespace portmatrix {

const RowBinding* Policy::find_row(std::string_view id) const {
  for (const auto& r : rows)
    if (r.id == id) return &r;
  return nullptr;
}

const SystemBinding* Policy::find_system(std::string_view system) const {
  for (const auto& s : systems)
    if (s.name == system) return &s;
  return nullptr;
}

const SystemBinding* Policy::system_of(const IpAddr& a) const {
  const SystemBinding* best = nullptr;
  int best_len = -1;
  for (const auto& s : systems)
    for (const auto& p : s.addresses.prefixes(a.family))
      if (p.contains(a) && int(p.len) > best_len) {
        best = &s;
        best_len = p.len;
      }
  return best;
}

}  // namespace portmatrix

namespace portmatrix {

bool is_host_address(const Policy& policy, const IpAddr& a) {
  return a.is_loopback() || policy.host_addresses.contains(a);
}

Expected<Packet> host_packet(const Policy& policy, const IpAddr& src, std::uint16_t sport, const IpAddr& dst,
                             std::uint16_t dport, Protocol protocol, std::uint8_t icmp_type) {
  if (src.family != dst.family) return Error{Error::Kind::input, "source and destination are of different address families"};
  const bool src_host = is_host_address(policy, src);
  const bool dst_host = is_host_address(policy, dst);
  Packet p;
  p.src = src;
  p.dst = dst;
  p.sport = sport;
  p.dport = dport;
  p.protocol = protocol;
  p.icmp_type = icmp_type;
  p.ct = CtState::new_;
  const IpAddr* peer = nullptr;
  if (src_host && dst_host) {
    p.direction = Direction::in;
    p.iface = std::string(kLoopback);
  } else if (dst_host) {
    p.direction = Direction::in;
    peer = &src;
  } else if (src_host) {
    p.direction = Direction::out;
    peer = &dst;
  } else {
    return Error{Error::Kind::input, fmt::format("neither {} nor {} is an address of the host '{}'", src.to_string(),
                                                 dst.to_string(), policy.host)};
  }
  if (peer)
    if (const SystemBinding* sys = policy.system_of(*peer); sys && !sys->interfaces.empty()) p.iface = sys->interfaces.front();
  return p;
}

}  // namespace portmatrix
