// The policy IR: the narrow waist between the matrix and everything that acts on
// it. A Policy is an ordered list of concrete rules relative to one host plus the
// fixed stateful frame every backend renders the same way:
//
//   1. ICMPv6 neighbour and multicast listener
//      discovery (types 130-136, 143)              -> accept   (IPv6 needs it)
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

// How one matrix row was bound at the site (for verify, reports and replay).
struct RowBinding {
  std::string id;
  bool enabled = false;
  FirewallAction when_firewalled = FirewallAction::allow;
  std::vector<Protocol> protocols;  // concrete protocols the rules use (tcp+udp for a closed row the matrix leaves unknown)
  PortSet sport, dport;             // resolved (ephemeral and site overrides applied)
  std::vector<std::string> sources, destinations;  // system names
  bool symmetric = false;
  bool host_involved = true;        // false when neither end is the host: nothing to filter here
  std::string reason;               // why it is disabled, empty when enabled
};

// A system of the site with its addresses and the host interface it is reached over.
struct SystemBinding {
  std::string name;
  AddrSet addresses;
  std::vector<std::string> interfaces;  // empty: not tied to an interface
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
  std::vector<RowBinding> rows;        // every matrix row, in matrix order
  std::vector<SystemBinding> systems;  // every system the site gives addresses for
  std::vector<std::string> interfaces; // the site's host interfaces, in file order

  const RowBinding* find_row(std::string_view id) const;
  const SystemBinding* find_system(std::string_view name) const;
  // The system an address belongs to (the most specific prefix wins), or nullptr.
  const SystemBinding* system_of(const IpAddr& a) const;
};

}  // namespace portmatrix
