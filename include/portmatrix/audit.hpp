// Auditing a live host against its policy: which listening sockets the matrix
// explains, which it does not, which are bound wider than the policy allows,
// which needed ports nothing listens on, and whether the active firewall is the
// one `compile` produces (see drift.hpp). Findings are about this host as it runs.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "portmatrix/drift.hpp"
#include "portmatrix/policy.hpp"
#include "portmatrix/sockets.hpp"

namespace portmatrix::audit {

// The active firewall as far as the audit could read it.
enum class FirewallState : std::uint8_t {
  on,       // table inet portmatrix is exactly the compiled one, and no other chain filters on its hooks
  off,      // table inet portmatrix is not loaded: by default every port is open
  drift,    // loaded, but different, dormant, or other chains (or legacy iptables tables) filter on the same hooks
  unknown,  // the ruleset could not be read (see Firewall::error)
};
std::string_view to_string(FirewallState s);

// Move-only: the comparison points into the two rulesets.
struct Firewall {
  FirewallState state = FirewallState::unknown;
  std::string error;                 // why the state is unknown, or why it could not be compared
  bool read = false;                 // the live ruleset was read
  drift::NftRuleset live;            // the kernel's ruleset
  drift::NftRuleset expected;        // the compiled ruleset as a kernel lists it
  drift::Comparison comparison;      // expected against live
  // Legacy iptables (x_tables) tables of this namespace, e.g. "ip filter", "ip6 raw": their
  // chains run on the same hooks as nftables' but nft cannot list them.
  std::vector<std::string> legacy_tables;
  Firewall() = default;
  Firewall(Firewall&&) = default;
  Firewall& operator=(Firewall&&) = default;
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;
  // True when table inet portmatrix is loaded and not dormant: the policy is (mostly) enforced.
  bool enforcing() const { return comparison.table_present && !comparison.dormant; }
};

// Reads the kernel's ruleset and compares it with the compiled policy. Never fails:
// what could not be read is in Firewall::error and the state says unknown.
Firewall inspect_firewall(const Policy& policy);

// Who can open a connection to a listener, by the policy's rules.
enum class Reach : std::uint8_t {
  none,      // nobody, not even the host itself
  loopback,  // the host itself only (over lo)
  some,      // some of the site's systems
  any,       // every address
  unknown,   // the firewall could not be read
};
std::string_view to_string(Reach r);

// One listening socket and what the audit makes of it.
struct ListenerReport {
  sockets::Listener listener;
  std::string row;          // the row that explains it (an enabled one if any), "" when none
  bool row_enabled = false;
  Reach reach = Reach::unknown;
  std::string reach_text;   // e.g. "the firewall accepts it only on lo (row telnet)"
  std::string finding;      // the code of its finding, "" when it is fine
  std::string note;         // why it is fine, or the finding's short form
};

// Something on the host that does not match the policy.
struct Finding {
  std::string code;     // unexpected-listener, disabled-row-listening, bound-too-wide, not-listening,
                        // firewall-off, firewall-unknown, firewall-drift, foreign-chain, legacy-iptables
  std::string message;  // for people: what, where, and what it means
  std::string row;      // the row concerned, "" when none
  std::optional<std::size_t> listener;  // index into Report::listeners
};

struct Report {
  std::vector<ListenerReport> listeners;
  std::vector<Finding> findings;
  std::vector<std::string> notes;  // context that is not a finding (sources, fallbacks)
  bool clean() const { return findings.empty(); }
};

// Compares listening sockets and the firewall with the policy. Pure: no system access.
Report compare(const Policy& policy, const std::vector<sockets::Listener>& listeners, const Firewall& firewall);

// The rows that explain a listener on (protocol, port): rows whose destinations
// include the host (or symmetric rows of the host) with the port and protocol,
// enabled rows first, then in matrix order.
std::vector<const RowBinding*> rows_for(const Policy& policy, Protocol protocol, std::uint16_t port);

// Who the policy's rules let open a connection to a listener (ignores the live
// firewall's state): samples one address of every prefix of every system of the
// site, over the interfaces the site names for it, plus addresses of no system
// and the host itself over lo, and asks the reference evaluator.
struct PolicyReach {
  Reach reach = Reach::none;
  std::vector<std::string> systems;  // systems with an accepted sample ("other addresses" for addresses of no system)
  std::vector<std::string> rows;     // rows whose rules accepted, in order of first acceptance
  bool loopback = false;             // the host itself may connect over lo
  std::string deciding_row;          // the row of the rule that blocks other hosts, "" when the default does
  Action deciding_action = Action::drop;  // how other hosts are blocked (drop or reject)
};
PolicyReach policy_reach(const Policy& policy, const sockets::Listener& listener);

}  // namespace portmatrix::audit
