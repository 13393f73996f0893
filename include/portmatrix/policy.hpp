// The policy IR: the narrow waist between the matrix and everything that acts on
// it. A Policy is an ordered list of concrete rules relative to one host plus the
// fixed stateful frame every backend renders the same way:
//
//   1. ICMPv6 neighbour discovery (types 133-136)   -> accept   (IPv6 needs it)
//   2. conntrack established or related              -> accept   (replies, ICMP errors)
//   3. conntrack invalid                             -> drop
//   4. rules, first match wins                       -> the rule's action
//   5. loopback interface                            -> accept
//   6. ICMP/ICMPv6 echo request, if allow_echo       -> accept
//   7. everything else                               -> default_action (logged if log_dropped)
//
// Rules only ever see packets that start a new connection (step 4).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/model.hpp"
#include "portmatrix/ports.hpp"

namespace portmatrix {

// Relative to the protected host: in = to the host, out = from the host.
enum class Direction : std::uint8_t { in, out };
std::string_view to_string(Direction d);

enum class Action : std::uint8_t { accept, drop, reject };
std::string_view to_string(Action a);

inline constexpr std::string_view kLoopback = "lo";

struct Rule {
  Direction direction = Direction::in;
  std::string iface;          // interface the packet uses; empty = any; "lo" = loopback
  Protocol protocol = Protocol::tcp;
  AddrSet src;                // an empty family matches nothing in that family
  PortSet sport;              // full() for any port; always full() for icmp/icmpv6
  AddrSet dst;
  PortSet dport;
  Action action = Action::accept;
  std::string row;            // the matrix row this rule renders
  bool log = false;           // log packets that match

  // The families this rule can match: both address sets non-empty in that family.
  std::vector<Family> families() const;
  friend bool operator==(const Rule&, const Rule&) = default;
};

struct Policy {
  std::string matrix;         // matrix name
  std::string host;           // the system the firewall protects
  AddrSet host_addresses;     // the host's own addresses (may be empty)
  PortRange ephemeral = kDefaultEphemeral;
  std::vector<Rule> rules;
  Action default_action = Action::drop;
  bool allow_echo = false;
  bool log_dropped = false;
  std::string log_rate = "10/minute";  // packets per unit, as nftables writes it
  std::string log_prefix = "portmatrix drop: ";
};

}  // namespace portmatrix
