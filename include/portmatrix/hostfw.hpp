// Switching the host firewall on and off safely: atomic apply through
// libnftables touching only `table inet portmatrix`, a confirm-or-rollback guard
// run by a detached watchdog process (it survives SIGKILL of the CLI and a
// dropped SSH session), a lock-out guard, persistence for boot, and a change log.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/diag.hpp"
#include "portmatrix/nft.hpp"
#include "portmatrix/policy.hpp"

namespace portmatrix::hostfw {

// Where the tool keeps its files. Each can be moved with an environment variable
// (PORTMATRIX_CONFIG_DIR, PORTMATRIX_STATE_DIR, PORTMATRIX_LOG_FILE), as tests do.
struct Paths {
  std::string config_dir = "/etc/portmatrix";      // portmatrix.nft: the confirmed ruleset, restored at boot
  std::string state_dir = "/var/lib/portmatrix";   // state.json, snapshots for rollback, lock
  std::string log_file = "/var/log/portmatrix.log";
  static Paths from_env();
  std::string persisted() const { return config_dir + "/portmatrix.nft"; }
};

// What the tool last did, kept in state.json.
struct State {
  std::string status = "off";  // "off", "on" (confirmed), "pending" (awaiting confirm)
  std::string matrix, site, hash;
  std::string changed_at, changed_by, command;
  // While pending:
  std::string pending_id;
  double deadline = 0;          // seconds since the epoch
  int watchdog_pid = 0;
  std::string snapshot;         // the previous table's listing ("" = there was none)
  std::string previous_status;  // status to return to on rollback
  std::string previous_hash;
  std::string site_file;        // a site file the change edited, restored on rollback
  std::string site_backup;      // its text before the edit
};

// state.json's text and back. parse_state() reports damage (not JSON, not an
// object, a key of the wrong type) as Error::Kind::state naming `where`.
Expected<State> parse_state(std::string_view text, std::string_view where);
std::string state_text(const State& s);

Expected<State> load_state(const Paths& p);
Status save_state(const Paths& p, const State& s);

// Hex SHA-256 of a text (the ruleset hash shown by status).
std::string sha256_hex(std::string_view text);

// One line in the change log (and the system journal): who, when, what.
void log_change(const Paths& p, const std::string& what);
std::string current_user();
std::string now_iso8601();

// An address that must keep access after a change: ADDR[:PORT] (port 22 by default).
struct Keep {
  IpAddr addr;
  std::uint16_t port = 22;
  std::string origin;            // "SSH_CONNECTION" or "--keep"
  std::optional<IpAddr> server;  // the host address the client connects to (SSH_CONNECTION); else the site's first
  std::optional<std::uint16_t> client_port;  // the session's source port (SSH_CONNECTION): the client's ports are like it
};
// Parses SSH_CONNECTION ("client port server port") into the client to keep, and the address it reached.
std::optional<Keep> keep_from_ssh_connection(const char* value);
std::optional<Keep> parse_keep(std::string_view text);

struct LockoutFinding {
  Keep keep;
  std::string reason;  // why it would be cut off, and which row would need enabling
};
// The kept addresses the new policy would stop from opening new connections.
std::vector<LockoutFinding> lockout_check(const Policy& p, const std::vector<Keep>& keep);

struct ApplyRequest {
  std::string ruleset;                 // nftables text from the nftables backend
  std::string matrix, site, command;   // recorded in state and log
  std::chrono::seconds confirm_timeout{120};  // 0: apply and confirm at once
  std::string exe = "/proc/self/exe";  // the portmatrix binary the watchdog runs
  std::string site_file;               // set when the change edited a site file:
  std::string site_backup;             // its text before, written back on rollback
};

struct ApplyResult {
  std::string id;      // the pending change, for confirm
  std::string hash;
  bool pending = false;
};

// Applies a ruleset in one transaction. On failure nothing changes. With a
// confirm timeout, starts the watchdog that rolls back unless confirm() follows.
Expected<ApplyResult> apply(const Paths& p, const ApplyRequest& req);
// Keeps the pending change: persists it for boot and stops the watchdog.
Status confirm(const Paths& p, const std::string& command);
// Restores the state before pending change `id` (what the watchdog runs at the deadline).
Status rollback(const Paths& p, const std::string& id, const std::string& why);
// Rolls back a pending change whose deadline has passed (its watchdog was killed, or the
// machine restarted); nothing when none is overdue. status, enable, confirm and disable run it.
Status settle_overdue(const Paths& p);
// Waits until the deadline of change `id`, then rolls it back unless confirmed. Runs in the watchdog.
int watchdog_main(const Paths& p, const std::string& id);
// Removes only the tool's table and the persisted ruleset; other tables stay as they are.
Status disable(const Paths& p, const std::string& command);

}  // namespace portmatrix::hostfw
