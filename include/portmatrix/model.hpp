// The port matrix: systems, components, flows (the rows of a vendor's table)
// and notes, following the column definitions of a vendor port matrix.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/diag.hpp"
#include "portmatrix/ports.hpp"

namespace portmatrix {

// Transport protocols a row can name. Values are IP protocol numbers.
enum class Protocol : std::uint8_t { icmp = 1, tcp = 6, udp = 17, icmpv6 = 58 };
std::string_view to_string(Protocol p);
std::optional<Protocol> parse_protocol(std::string_view name);  // "tcp", "udp", "icmp", "icmpv6"
bool has_ports(Protocol p);                                      // tcp and udp

// A set of protocols. Empty means the matrix does not say ("NA"): unknown, never guessed.
class ProtocolSet {
 public:
  ProtocolSet() = default;
  ProtocolSet(std::initializer_list<Protocol> ps) { for (auto p : ps) add(p); }
  void add(Protocol p) { bits_ |= bit(p); }
  bool has(Protocol p) const { return bits_ & bit(p); }
  bool unknown() const { return bits_ == 0; }
  std::vector<Protocol> list() const;  // in the order tcp, udp, icmp, icmpv6
  friend bool operator==(const ProtocolSet&, const ProtocolSet&) = default;

 private:
  static std::uint8_t bit(Protocol p);
  std::uint8_t bits_ = 0;
};

// Whether a port answers by default (the document's "Default Port State").
enum class PortState { open, closed, filtered };
std::string_view to_string(PortState s);
std::optional<PortState> parse_port_state(std::string_view s);

// What the activated host firewall does with a row.
enum class FirewallAction { allow, localhost_only, closed };
std::string_view to_string(FirewallAction a);
std::optional<FirewallAction> parse_firewall_action(std::string_view s);

// A named role in the matrix (CMS, CM, WebLM, ...).
struct System {
  std::string name;
  std::string description;
  SourceLoc origin;  // where it was read from (not compared)
  friend bool operator==(const System& a, const System& b) { return a.name == b.name && a.description == b.description; }
};

// An application component of the product, with the host interfaces it uses.
struct Component {
  std::string name;
  std::vector<std::string> interfaces;  // e.g. eth0, eth1, eth1-3
  std::string description;
  friend bool operator==(const Component&, const Component&) = default;
};

// One row of the port table: who initiates, to whom, on which ports and protocols.
struct Flow {
  std::string id;                         // stable identifier, e.g. "ssh"
  std::vector<std::string> sources;       // initiating systems
  PortSpec source_ports;
  std::vector<std::string> destinations;  // listening systems
  PortSpec destination_ports;
  ProtocolSet protocols;                  // empty: unknown ("NA")
  std::string application;                // application protocol name, e.g. "SSH/SFTP"
  bool optional = false;                  // the document's "Optionally Enabled / Disabled"
  PortState state = PortState::open;      // default port state
  FirewallAction when_firewalled = FirewallAction::allow;
  std::string description;
  std::vector<int> notes;                 // note references, sorted
  bool addon = false;                     // not part of the standard product: disabled unless a site enables it
  bool symmetric = false;                 // each end initiates to the other (an HA pair)
  SourceLoc origin;                       // where the row was read from (not compared)

  bool same_facts(const Flow& other) const;  // all fields except id, description, origin
};

struct Note {
  int id = 0;
  std::string text;
  SourceLoc origin;  // where it was read from (not compared)
  friend bool operator==(const Note& a, const Note& b) { return a.id == b.id && a.text == b.text; }
};

struct Matrix {
  std::string name;   // e.g. "cms-r20"
  std::string title;  // e.g. "Avaya Call Management System R20"
  std::vector<System> systems;
  std::vector<Component> components;
  std::vector<Flow> flows;
  std::vector<Note> notes;

  const Flow* find_flow(std::string_view id) const;
  const System* find_system(std::string_view system) const;
  const Note* find_note(int id) const;
};

}  // namespace portmatrix
