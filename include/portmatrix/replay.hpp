// Replay and learn: the packet engine's connections judged by a policy ("what
// would this policy break?") or gathered into a matrix ("what does this server
// really talk to?").
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "portmatrix/engine.hpp"
#include "portmatrix/model.hpp"
#include "portmatrix/policy.hpp"

namespace portmatrix {

// The name an address goes by: the host, a system of the site (most specific
// prefix; systems given as "any" name nothing), or for unknown addresses their
// /24 (IPv4) or /64 (IPv6) network.
std::string address_name(const Policy& p, const IpAddr& a);

// address_name() with a memory, for naming many connections: captures repeat
// the same addresses, and naming one walks the site's prefixes and formats a
// network. Direct-mapped: kSlots names at most, a new address taking the slot
// of an old one with the same hash.
class AddressNames {
 public:
  static constexpr std::size_t kSlots = 1 << 14;
  explicit AddressNames(const Policy& p) : policy_(&p), slots_(kSlots) {}
  // Valid until the next call.
  const std::string& operator()(const IpAddr& a);

 private:
  struct Slot {
    bool used = false;
    IpAddr addr;
    std::string name;
  };
  const Policy* policy_;
  std::vector<Slot> slots_;
};

enum class ReplayVerdict : std::uint8_t { allow, block, not_host };
std::string_view to_string(ReplayVerdict v);

// One connection and what the policy would do with its first packet.
struct ReplayedConnection {
  const Connection* connection = nullptr;  // valid during the callback only
  ReplayVerdict verdict = ReplayVerdict::not_host;
  std::string row;                         // the deciding row when allowed (or closed by a row)
  std::string stage;                       // the policy step that decided ("rule", "loopback", "default", ...)
  Direction direction = Direction::in;
  std::string src_system, dst_system;
};

// Blocked connections of one kind.
struct BlockedGroup {
  std::string src_system, dst_system, protocol;
  std::uint16_t port = 0;  // destination port (ICMP: the type)
  std::uint64_t connections = 0, packets = 0, bytes = 0;
};

struct ReplaySummary {
  std::uint64_t connections = 0, allowed = 0, blocked = 0, not_host = 0, inferred = 0;
  std::map<std::string, std::uint64_t> allowed_by_row;
  std::vector<BlockedGroup> blocked_groups;  // most connections first
};

struct ReplayResult {
  ReplaySummary summary;
  EngineReport engine;
};

struct ReplayOptions {
  EngineOptions engine;
  std::function<void(const ReplayedConnection&)> on_connection;  // each connection as it ends
  ProgressHook progress;
};

// The ports that tell a server from a client when a connection's opening was not
// seen (ConntrackOptions::service_ports): the destination ports of the matrix's
// rows as bound at the site, except rows whose ports are a wide range (more than lint's wide_range):
// such a range (an unconfigured 5001-64500, say) covers the clients' ephemeral
// ports and would make every client look like the server.
PortSet inference_service_ports(const Policy& p);

// Judges one connection (the initiator's first packet, connection state new).
ReplayedConnection judge(const Policy& p, const Connection& c);
ReplayedConnection judge(const Policy& p, const Connection& c, AddressNames& names);

// Runs the captures through the engine and judges every connection. Every capture
// that can be read twice (a file, not standard input or a pipe) is opened first:
// when one cannot be, the Error comes before any call of on_connection.
Expected<ReplayResult> replay_captures(const Policy& p, const std::vector<std::string>& paths, const ReplayOptions& options);

// replay's text table: the header line, and the line of one connection, appended
// to out (formatting millions of lines goes through no format-string parser).
std::string replay_text_header();
void append_replay_text(std::string& out, const ReplayedConnection& r);

// JSON of one connection and of the closing parts, as documented in docs/json.md.
std::string replay_connection_json(const ReplayedConnection& r);
std::string replay_summary_json(const ReplayResult& r);
// ISO 8601 UTC with microseconds.
std::string iso_time_ns(std::int64_t ns);

struct LearnOptions {
  EngineOptions engine;
  ProgressHook progress;
  std::string name = "learned";
};

// The matrix the captures show: rows by source system, destination system,
// destination port and protocol; source ports from 1024 up collapse to
// "ephemeral"; counts and first/last seen in each row's description.
Expected<Matrix> learn_matrix(const Policy& p, const std::vector<std::string>& paths, const LearnOptions& options,
                              EngineReport* report = nullptr);

}  // namespace portmatrix
