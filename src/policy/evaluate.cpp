#include "portmatrix/evaluate.hpp"

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
