// What a network firewall between the host and its peers sees of a policy, for
// the network targets (cisco-ios, cisco-asa, juniper). The host's inbound rules
// become traffic toward the host's addresses, its outbound rules traffic from
// them; loopback never crosses the device. A stateless device also gets return
// entries for replies and admits ICMP errors, standing in for the frame's
// connection tracking.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "portmatrix/backend.hpp"

namespace portmatrix::device {

enum class Kind : std::uint8_t {
  rule,        // a rule of the policy
  reply,       // stateless: replies to connections an accepting rule (or, without a row, echo) lets start
  echo,        // the frame's echo request (and, stateless, its reply)
  icmp_error,  // stateless: ICMP errors, whether or not they belong to a connection
  default_,    // the final entry: the policy's default action
};

// One entry of an ordered access list. An empty family in src or dst matches
// nothing in that family; both sides share the families the entry is for.
struct Entry {
  Kind kind = Kind::rule;
  Action action = Action::accept;
  Protocol protocol = Protocol::tcp;  // ignored for the default entry (every protocol)
  AddrSet src, dst;
  PortSet sport = PortSet::full(), dport = PortSet::full();  // tcp and udp only
  bool established = false;                                   // tcp with ACK or RST only
  std::vector<std::uint8_t> icmp_types;                       // empty: every type
  std::string row;                                            // for rules and replies to them
  bool log = false;
  std::vector<Family> families() const;  // the families both sides have addresses in
};

// The two access lists: toward the host (its inbound traffic) and from it.
struct View {
  std::vector<Entry> to_host, from_host;
};

struct Options {
  bool stateless = false;  // add return entries and ICMP errors
  bool reject = false;     // the device can reject; otherwise reject becomes drop
  std::size_t max_port_ranges = 0;  // Capabilities::max_port_ranges: larger port sets are widened
};

// Whether an entry other than the final default is written for family f.
bool has_family(const View& v, Family f);

// Builds the device's view; reports rules it cannot place (the host has no
// address in their family) and stateless approximations into warnings, naming
// the target and the row.
View build(const Policy& p, const Options& o, std::string_view target, Diagnostics& warnings);

// The budget of port ranges one rule may name in one field on a network target
// (Capabilities::max_port_ranges): it keeps one row's expansion, source ranges ×
// destination ranges per address pair, within a few hundred entries.
inline constexpr std::size_t kMaxPortRanges = 16;

// What the network targets share: their capabilities, the device view, and the
// note on logging; each adds its name, its file and its writer.
class NetworkBackend : public Backend {
 public:
  Capabilities capabilities() const override;

 protected:
  struct Traits {
    bool stateful;         // the device tracks connections
    bool reject;           // the device can reject
    std::string_view file;      // the one file it renders
    std::string_view log_note;  // how it logs dropped packets, for the warning
  };
  explicit NetworkBackend(Traits t) : t_(t) {}
  Rendered render(const Policy& p) const final;
  // The configuration text for the device's view of the policy.
  virtual std::string write(const Policy& p, const View& v) const = 0;
  // Reports device settings outside the rendered text that the view depends on.
  virtual void warn_device(const View&, Diagnostics&) const {}

 private:
  Traits t_;
};

// ICMP types, IPv4 and IPv6: echo request and reply, and the errors a
// connection tracker relates to a connection.
inline constexpr std::uint8_t kEchoRequest4 = 8, kEchoReply4 = 0, kEchoRequest6 = 128, kEchoReply6 = 129;
inline const std::vector<std::uint8_t> kIcmpErrors4 = {3, 11, 12};   // unreachable, time exceeded, parameter problem
inline const std::vector<std::uint8_t> kIcmpErrors6 = {1, 2, 3, 4};  // unreachable, too big, time exceeded, parameter problem

}  // namespace portmatrix::device
