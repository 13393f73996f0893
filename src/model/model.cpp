#include "portmatrix/model.hpp"

namespace portmatrix {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::tcp: return "tcp";
    case Protocol::udp: return "udp";
    case Protocol::icmp: return "icmp";
    case Protocol::icmpv6: return "icmpv6";
  }
  return "?";
}

std::optional<Protocol> parse_protocol(std::string_view name) {
  if (name == "tcp") return Protocol::tcp;
  if (name == "udp") return Protocol::udp;
  if (name == "icmp") return Protocol::icmp;
  if (name == "icmpv6") return Protocol::icmpv6;
  return std::nullopt;
}

bool has_ports(Protocol p) { return p == Protocol::tcp || p == Protocol::udp; }

std::uint8_t ProtocolSet::bit(Protocol p) {
  switch (p) {
    case Protocol::tcp: return 1;
    case Protocol::udp: return 2;
    case Protocol::icmp: return 4;
    case Protocol::icmpv6: return 8;
  }
  return 0;
}

std::vector<Protocol> ProtocolSet::list() const {
  std::vector<Protocol> out;
  for (auto p : {Protocol::tcp, Protocol::udp, Protocol::icmp, Protocol::icmpv6})
    if (has(p)) out.push_back(p);
  return out;
}

std::string_view to_string(PortState s) {
  switch (s) {
    case PortState::open: return "open";
    case PortState::closed: return "closed";
    case PortState::filtered: return "filtered";
  }
  return "?";
}

std::optional<PortState> parse_port_state(std::string_view s) {
  if (s == "open") return PortState::open;
  if (s == "closed") return PortState::closed;
  if (s == "filtered") return PortState::filtered;
  return std::nullopt;
}

std::string_view to_string(FirewallAction a) {
  switch (a) {
    case FirewallAction::allow: return "allow";
    case FirewallAction::localhost_only: return "localhost-only";
    case FirewallAction::closed: return "closed";
  }
  return "?";
}

std::optional<FirewallAction> parse_firewall_action(std::string_view s) {
  if (s == "allow") return FirewallAction::allow;
  if (s == "localhost-only") return FirewallAction::localhost_only;
  if (s == "closed") return FirewallAction::closed;
  return std::nullopt;
}

bool Flow::same_facts(const Flow& o) const {
  return sources == o.sources && source_ports == o.source_ports && destinations == o.destinations &&
         destination_ports == o.destination_ports && protocols == o.protocols && application == o.application &&
         optional == o.optional && state == o.state && when_firewalled == o.when_firewalled && notes == o.notes &&
         addon == o.addon && symmetric == o.symmetric;
}

const Flow* Matrix::find_flow(std::string_view id) const {
  for (const auto& f : flows)
    if (f.id == id) return &f;
  return nullptr;
}

const System* Matrix::find_system(std::string_view system) const {
  for (const auto& s : systems)
    if (s.name == system) return &s;
  return nullptr;
}

const Note* Matrix::find_note(int id) const {
  for (const auto& n : notes)
    if (n.id == id) return &n;
  return nullptr;
}

}  // namespace portmatrix
