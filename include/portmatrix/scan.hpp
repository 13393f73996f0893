// A port scanner that needs no privileges: TCP connect probes and UDP probes on
// connected sockets (ICMP errors read through IP_RECVERR / IPV6_RECVERR), driven
// by one epoll loop with thousands of probes in flight, a rate limit, retries and
// timeouts adapted to measured round-trip times. States follow the reference
// document (open, closed, filtered) plus open|filtered for silent UDP ports.
// See docs/scan.md for how each state is decided.
#pragma once
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"
#include "portmatrix/policy.hpp"
#include "portmatrix/ports.hpp"

namespace portmatrix::scan {

// What a scan concluded about one port.
enum class ScanState : std::uint8_t {
  open,           // TCP: the handshake completed; UDP: the port answered
  closed,         // TCP: reset (ECONNREFUSED); UDP: ICMP port unreachable
  filtered,       // no answer (TCP), or an ICMP unreachable other than port unreachable
  open_filtered,  // UDP only: silence after every retry (open and silent, or dropped)
};
std::string_view to_string(ScanState s);  // "open", "closed", "filtered", "open|filtered"
std::optional<ScanState> parse_scan_state(std::string_view s);
// True when an observed state is what a port expected in `expected` state looks like:
// open|filtered is consistent with both open and filtered.
bool consistent(ScanState observed, PortState expected);

// Why a state was chosen, in nmap's vocabulary where one exists (its --reason names).
enum class Reason : std::uint8_t {
  conn_accept,       // TCP handshake completed
  conn_refused,      // TCP reset, or ICMP port unreachable for a TCP probe
  udp_response,      // a UDP datagram came back
  port_unreach,      // ICMP/ICMPv6 port unreachable for a UDP probe
  host_unreach,      // ICMP host unreachable (ICMPv6 address unreachable)
  net_unreach,       // ICMP network unreachable (ICMPv6 no route)
  admin_prohibited,  // ICMP communication administratively prohibited
  dest_unreach,      // another ICMP destination-unreachable code
  no_response,       // silence after every attempt
};
std::string_view to_string(Reason r);  // "syn-ack"-style names: "conn-refused", "no-response", ...

// A scan target: one address (and, for link-local IPv6, its interface index).
struct Target {
  IpAddr addr;
  std::uint32_t scope_id = 0;
};
// Builds the socket address of target:port.
socklen_t to_sockaddr(const Target& t, std::uint16_t port, sockaddr_storage& out);

// Resolves a user-supplied host name or address literal with getaddrinfo (no
// scan happens here). Names that do not resolve are an Error of kind input.
Expected<Target> resolve_target(const std::string& host, std::optional<Family> family = std::nullopt);

// Parses a port list for scanning: "22", "1-1024", "22,80,8000-8100", "-" (1-65535),
// "1024-" (1024-65535), "-100" (1-100). Port 0 cannot be scanned and is rejected.
// Every problem is reported with its column before failing.
Parsed<PortSet> parse_scan_ports(std::string_view text);

// Round-trip time estimation and the probe timeout derived from it (RFC 6298,
// the model nmap uses too): srtt and rttvar smoothed over every answered probe,
// timeout = srtt + 4 * rttvar, kept within [min_timeout, max_timeout]. Until the
// first sample the timeout is initial_timeout.
class RttEstimator {
 public:
  using usec = std::chrono::microseconds;
  RttEstimator(usec initial_timeout, usec min_timeout, usec max_timeout);
  // Folds one measured round trip into the estimate.
  void sample(usec rtt);
  usec timeout() const;
  usec srtt() const { return srtt_; }
  usec rttvar() const { return rttvar_; }
  std::uint64_t samples() const { return samples_; }

 private:
  usec initial_, min_, max_;
  usec srtt_{0}, rttvar_{0};
  std::uint64_t samples_ = 0;
};

// Opens a socket for a probe (domain, type, protocol as socket(2)); the scanner
// adds SOCK_NONBLOCK to type. To scan from a network namespace, pass
// [&ns](int d, int t, int p) { return ns.socket(d, t, p); } (netns.hpp), or call
// run() on a thread that has entered it (Namespace::enter).
using SocketFactory = std::function<Expected<int>(int domain, int type, int protocol)>;

// Where a scan stands; given to the progress hook.
struct Progress {
  std::uint32_t total = 0;      // ports to scan
  std::uint32_t done = 0;       // ports with a final state
  std::uint32_t in_flight = 0;  // probes waiting for an answer
  std::uint64_t probes_sent = 0;
  std::chrono::microseconds srtt{0};     // current smoothed round-trip time (0: no sample yet)
  std::chrono::microseconds timeout{0};  // current probe timeout
  std::chrono::milliseconds elapsed{0};
};

struct Options {
  Protocol protocol = Protocol::tcp;  // tcp or udp
  PortSet ports;                      // ports to scan (port 0 is not scannable)
  // Probes started per second, retries included. The default keeps a scan of a
  // whole port range from flooding a production host or firewall.
  double rate = kDefaultRate;
  // Extra probes for a port that stayed silent. Retries beyond the first are only
  // spent once a retry has been seen to get answered (evidence of loss).
  int retries = 2;
  // Bounds of the adaptive timeout; initial is used before any round trip is measured.
  std::chrono::milliseconds initial_timeout{1000};
  std::chrono::milliseconds min_timeout{100};
  std::chrono::milliseconds max_timeout{3000};
  // Probes in flight at most; 0 derives it from RLIMIT_NOFILE (open descriptors excluded).
  int max_in_flight = 0;
  // Source ports for the probes (IP_LOCAL_PORT_RANGE, within the kernel's own range):
  // comparing with a policy, the site's ephemeral range, the only source ports its rules
  // accept. nullopt: the kernel's choice.
  std::optional<PortRange> source_ports;
  // Opens probe sockets; empty means socket(2) in the caller's network namespace.
  SocketFactory socket_factory;
  // Called about every progress_interval and once at the end; returning false stops the scan.
  std::function<bool(const Progress&)> progress;
  std::chrono::milliseconds progress_interval{250};

  static constexpr double kDefaultRate = 5000;
};

// The outcome for one port.
struct PortResult {
  Protocol protocol = Protocol::tcp;
  std::uint16_t port = 0;
  ScanState state = ScanState::filtered;
  Reason reason = Reason::no_response;
  std::uint8_t attempts = 0;                       // probes sent for this port
  std::optional<std::chrono::microseconds> rtt;    // of the answer that decided, if any
};

struct Report {
  Target target;
  Protocol protocol = Protocol::tcp;
  std::vector<PortResult> results;  // one per scanned port, sorted by port
  bool cancelled = false;           // the progress hook stopped the scan early (results partial)
  std::uint64_t probes_sent = 0;
  int max_in_flight = 0;            // the parallelism the scan ran with
  std::chrono::microseconds srtt{0}, rttvar{0};
  std::chrono::milliseconds elapsed{0};
  std::vector<std::string> warnings;  // e.g. the source ports could not be kept in Options::source_ports
  // Number of results in state s.
  std::size_t count(ScanState s) const;
};

// Scans the ports of one target. Errors are only for failures of the scanner
// itself (bad options, no sockets); per-port outcomes are in the Report.
Expected<Report> run(const Target& target, const Options& options);

// The local address the kernel would send probes to the target from (no packet
// is sent): the scan's source for comparing it with a policy.
Expected<IpAddr> source_address(const Target& target, const SocketFactory& factory = {});

// --- Comparing a scan with a policy (a separate step: scanning needs no policy) ---

// Whether the host's firewall is expected to be active.
enum class Firewall { on, off };

// What the policy expects a scan to see on one port.
struct Expectation {
  std::optional<PortState> state;  // nullopt: the policy has no expectation for this port
  std::string row;                 // the matrix row that decides, "" when none does
};

// The expected state of target:port for a probe from `scanner`. Firewall on: the
// reference evaluator's verdict for the connection's first packet (accept -> open,
// reject -> closed, drop -> filtered). Firewall off: every port an enabled row lets
// peers reach on the host is open (the document: "by default, all ports are open");
// other ports have no expectation. Error when the target is not the policy's host.
Expected<Expectation> expect(const Policy& policy, const IpAddr& scanner, const IpAddr& target, Protocol protocol,
                             std::uint16_t port, Firewall firewall);

// The ports enabled rows let peers reach on the host over `protocol` (port 0 left out).
PortSet policy_ports(const Policy& policy, Protocol protocol);

}  // namespace portmatrix::scan
