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

// The first packet of a connection from src to dst as the host sees it: the
// direction comes from the host's addresses (both ends the host's, or loopback
// addresses: loopback), the interface from the site's interface for the peer's
// system ("" when the site does not say). Error when neither end is the host.
Expected<Packet> host_packet(const Policy& policy, const IpAddr& src, std::uint16_t sport, const IpAddr& dst,
                             std::uint16_t dport, Protocol protocol, std::uint8_t icmp_type = 0);

// True when the rule matches the packet (ignoring conntrack state).
bool rule_matches(const Rule& r, const Packet& p);
Verdict evaluate(const Policy& policy, const Packet& p);

}  // namespace portmatrix
