// The reference evaluator: what a Policy does with one packet, and why. Written
// for obvious correctness, not speed; every backend and the fast classifier are
// tested for agreement with it.
#pragma once
#include <cstdint>
#include <string>

#include "portmatrix/policy.hpp"

namespace portmatrix {

enum class CtState : std::uint8_t { new_, established, related, invalid };
std::string_view to_string(CtState s);

struct Packet {
  Direction direction = Direction::in;
  std::string iface;  // the interface it arrives on (in) or leaves by (out); "lo" for loopback
  IpAddr src, dst;
  Protocol protocol = Protocol::tcp;
  std::uint16_t sport = 0, dport = 0;  // tcp/udp only
  std::uint8_t icmp_type = 0;          // icmp/icmpv6 only
  CtState ct = CtState::new_;
};

// Which step of the policy frame (see policy.hpp) decided.
enum class Stage : std::uint8_t { neighbour_discovery, conntrack, invalid, rule, loopback, echo, default_ };
std::string_view to_string(Stage s);

struct Verdict {
  Action action = Action::drop;
  Stage stage = Stage::default_;
  int rule = -1;      // index into Policy::rules when stage == rule
  std::string row;    // the deciding rule's row, empty otherwise
};

// True when a is one of the host's addresses or a loopback address.
bool is_host_address(const Policy& policy, const IpAddr& a);

// The first packet of a connection from src to dst as the host sees it: the
// direction comes from the host's addresses (both ends the host's, or loopback
// addresses: loopback), the interface from the site's interface for the peer's
// system ("" when the site does not say). Error when neither end is the host.
Expected<Packet> host_packet(const Policy& policy, const IpAddr& src, std::uint16_t sport, const IpAddr& dst,
                             std::uint16_t dport, Protocol protocol, std::uint8_t icmp_type = 0);

// True when the rule matches the packet (ignoring conntrack state).
bool rule_matches(const Rule& r, const Packet& p);
Verdict evaluate(const Policy& policy, const Packet& p);

// The ICMPv6 messages step 1 of the frame accepts: multicast listener
// discovery (130 query, 131 report, 132 done, 143 MLDv2 report) and neighbour
// discovery (133 router solicitation .. 136 neighbour advertisement). Conntrack
// leaves MLD untracked, so without this the default would drop it, and switches
// that snoop MLD would stop forwarding the host's solicited-node multicast.
constexpr bool is_link_control_icmpv6(std::uint8_t type) { return (type >= 130 && type <= 136) || type == 143; }

// The policy frame of policy.hpp with step 4 delegated: first_rule() returns
// the index of the first rule that matches p, or -1, and is called only for
// packets that reach step 4. evaluate() passes a linear scan; the compiled
// classifier (PolicyClassifier) passes its lookup, so both share one frame.
template <class FirstRule>
Verdict evaluate_frame(const Policy& policy, const Packet& p, FirstRule&& first_rule) {
  if (p.protocol == Protocol::icmpv6 && is_link_control_icmpv6(p.icmp_type))
    return {Action::accept, Stage::neighbour_discovery, -1, {}};
  if (p.ct == CtState::established || p.ct == CtState::related) return {Action::accept, Stage::conntrack, -1, {}};
  if (p.ct == CtState::invalid) return {Action::drop, Stage::invalid, -1, {}};
  if (const int i = first_rule(); i >= 0) {
    const Rule& r = policy.rules[static_cast<std::size_t>(i)];
    return {r.action, Stage::rule, i, r.row};
  }
  if (p.iface == kLoopback) return {Action::accept, Stage::loopback, -1, {}};
  const bool echo_request = (p.protocol == Protocol::icmp && p.icmp_type == 8) ||
                            (p.protocol == Protocol::icmpv6 && p.icmp_type == 128);
  if (policy.allow_echo && echo_request) return {Action::accept, Stage::echo, -1, {}};
  return {policy.default_action, Stage::default_, -1, {}};
}

}  // namespace portmatrix
