// Backends render the Policy IR for one firewall target. Each declares what it
// can express; the base class checks a policy against that before rendering and
// reports every rule it cannot render exactly, by matrix row. Nothing is dropped
// silently. To add a target: one file in src/backends/, one row in registry.cpp,
// one folder of golden tests under tests/golden/<target>/.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/diag.hpp"
#include "portmatrix/policy.hpp"

namespace portmatrix {

// What a target can express.
struct Capabilities {
  bool host = true;         // filters the host's own traffic (input/output), not traffic between zones
  bool loopback = true;     // can tell loopback traffic apart
  bool interfaces = true;   // can match the interface a packet uses
  bool ipv6 = true;
  bool reject = true;       // can answer with TCP reset / ICMP unreachable
  bool logging = true;
  bool stateful = true;     // tracks connections (replies pass without rules of their own)
  bool icmp = true;         // can match ICMP / ICMPv6
  bool source_ports = true; // can match source and destination ports in one rule
  // The most port ranges one rule may name in one port field; a larger set is
  // widened to its covering range (see port_limit). 0: no limit.
  std::size_t max_port_ranges = 0;
};

// One generated file.
struct Artifact {
  std::string name;     // suggested file name, e.g. "portmatrix.nft"
  std::string content;
};

struct Rendered {
  std::vector<Artifact> files;
  Diagnostics warnings;  // approximations, each naming the row
};

// A ruleset put into a kernel by Backend::load(). Helpers the ruleset needs while
// it is in force (a daemon) run as long as this object lives; destroying it stops
// them. Rules a plain loader put into the kernel stay until removed.
class LoadedRuleset {
 public:
  virtual ~LoadedRuleset() = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;     // the --target name
  virtual std::string_view summary() const = 0;  // one line for --list-targets
  virtual Capabilities capabilities() const = 0;

  // Commands that load the rendered files into the running kernel, one per file
  // in order, each reading its file on standard input. Empty for targets that are
  // not Linux host firewalls.
  virtual std::vector<std::vector<std::string>> load_commands() const { return {}; }
  // Whether load() can put this target into a Linux kernel.
  virtual bool loadable() const { return !load_commands().empty(); }
  // Loads rendered files into the network namespace netns_fd (an open
  // /run/netns/NAME; -1: the caller's own). The default runs load_commands(),
  // one per file; Error::Kind::unsupported for targets that are not loadable.
  virtual Expected<std::unique_ptr<LoadedRuleset>> load(const Rendered& r, int netns_fd) const;

  // Reports, by row, everything in the policy this target cannot express exactly.
  Diagnostics check(const Policy& p) const;
  // check() then render(); the warnings of both are in the result.
  Rendered compile(const Policy& p) const;

 protected:
  virtual Rendered render(const Policy& p) const = 0;
};

// Every registered backend, in registry order.
const std::vector<const Backend*>& backends();
const Backend* find_backend(std::string_view name);

// The port set itself when it has at most max ranges (0: no limit), otherwise
// the one range from its lowest to its highest port.
PortSet port_limit(const PortSet& ports, std::size_t max);

// A name safe to place in generated configuration: characters outside
// [A-Za-z0-9._:/-] become '_', and the result is at most max_len bytes.
std::string config_token(std::string_view text, std::size_t max_len = 64);

// The comment that names a rule's row in generated configuration, unique per row:
// config_token(row) when the id fits in max_len bytes, else its first max_len - 9
// bytes, '~' and 8 hex digits of a hash of the whole id ('~' is in no
// config_token, so a shortened comment never equals a whole id).
std::string row_comment(std::string_view row, std::size_t max_len = 64);
// The id of the policy's row whose row_comment() is comment; the comment itself
// when no row's is (one that portmatrix did not write for a row).
std::string row_of_comment(const Policy& p, std::string_view comment);

}  // namespace portmatrix
