// verify: proof by packets. Builds the site's topology in network namespaces,
// loads the compiled ruleset into the host's namespace, and sends real
// connections for every row. The reference evaluator predicts each probe; the
// kernel must agree.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "portmatrix/backend.hpp"
#include "portmatrix/evaluate.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/policy.hpp"

namespace portmatrix {

struct VerifyOptions {
  std::chrono::milliseconds allow_timeout{2000};  // for probes expected to connect
  std::chrono::milliseconds block_timeout{400};   // for probes expected to be blocked
  int parallel = 48;                              // probes in flight
  unsigned seed = 20231;                          // for sampled ports and addresses
  int unlisted_ports = 6;                         // random unlisted ports per peer and direction
  bool ipv4 = true;
  bool ipv6 = true;
  // Called after each probe of the firewalled phase (for progress).
  std::function<void(std::size_t done, std::size_t total)> progress;
  // How the firewall is switched on and off in the host's namespace. By default
  // the backend's load commands and `nft flush ruleset`; `portmatrix firewall`
  // tests pass their own to prove the command itself.
  std::function<Status(const netns::Namespace& host)> switch_on, switch_off;
};

struct Probe {
  std::string row;        // the row the probe exercises, "" for unlisted ports
  std::string kind;       // "allowed", "disabled", "closed", "localhost", "not-localhost", "unlisted", "reverse",
                          // "edge" (a port just outside the row's), "outsider" (a system the row does not name),
                          // "echo" / "echo-off" (ICMP echo, the site allowing it or not)
  std::string from;       // system name of the initiator
  std::string to;         // system name of the listener
  Protocol protocol = Protocol::tcp;
  IpAddr src, dst;
  std::uint16_t sport = 0, dport = 0;
  bool from_host = false;  // the initiator is the host itself
  Verdict predicted;       // the reference evaluator's verdict on the first packet
  bool expect_connect() const { return predicted.action == Action::accept; }
  std::string describe() const;  // "Admin terminal 198.51.100.1:40000 -> CMS 192.0.2.1:22/tcp"
};

struct ProbeResult {
  Probe probe;
  bool connected = false;      // data went both ways
  std::string detail;          // "echoed", "timeout", "refused", ...
  bool pass = false;           // observed == predicted, and the prediction fits the row
  std::string problem;         // for failures: what disagrees with what
};

struct VerifyReport {
  std::string target;
  std::vector<ProbeResult> results;
  std::vector<std::string> notes;  // probes that could not be built (a family without addresses, ...)
  std::size_t failures = 0;
  std::size_t harness_failures = 0;  // probes that did not connect even with the firewall off
  double seconds = 0;
  bool ok() const { return failures == 0 && harness_failures == 0 && !results.empty(); }
};

// The probes verify will send for a policy (no namespaces needed): pure planning.
std::vector<Probe> plan_probes(const Policy& policy, const VerifyOptions& options, std::vector<std::string>* notes = nullptr);

// Runs the whole proof; needs root. Every namespace and process it creates is
// removed before it returns, also on error and on SIGINT/SIGTERM.
Expected<VerifyReport> verify_policy(const Policy& policy, const Backend& backend, const VerifyOptions& options = {});

std::string verify_table(const VerifyReport& r);
std::string verify_json(const VerifyReport& r);

}  // namespace portmatrix
