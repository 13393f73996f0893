#include "portmatrix/hostfw.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <charconv>
#include <cstring>
#include <ctime>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "portmatrix/evaluate.hpp"
#include "portmatrix/fileio.hpp"

namespace portmatrix::hostfw {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Status make_dir(const std::string& dir) {
  std::string path;
  for (std::size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      path = dir.substr(0, i);
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        return Error{Error::Kind::io, fmt::format("cannot create {}: {}", path, std::strerror(errno))};
    }
  }
  return std::nullopt;
}

// Serialises changes between the CLI, a second CLI and the watchdog.
class Lock {
 public:
  explicit Lock(const Paths& p) {
    make_dir(p.state_dir);
    fd_ = ::open((p.state_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~Lock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

std::string random_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

std::string applied_path(const Paths& p) { return p.state_dir + "/applied.nft"; }

// The commands that put back a table listing (or remove the table when there was none).
std::string restore_commands(const std::string& snapshot) {
  if (snapshot.empty()) return std::string("add table inet portmatrix\ndelete table inet portmatrix\n");
  return "add table inet portmatrix\ndelete table inet portmatrix\n" + snapshot;
}

// A file's text (or its absence) before a change, to put back if the change cannot be completed.
class FileUndo {
 public:
  explicit FileUndo(std::string path) : path_(std::move(path)) {
    if (auto t = read_file(path_)) before_ = std::move(*t);
  }
  void restore() const {
    if (before_) write_file_atomic(path_, *before_);
    else ::unlink(path_.c_str());
  }

 private:
  std::string path_;
  std::optional<std::string> before_;
};

// Starts `exe firewall watchdog --id ID` in its own session, detached from the
// caller's terminal and process: it outlives a SIGKILL of the CLI and a hang-up.
Expected<int> spawn_watchdog(const std::string& exe, const std::string& id) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error{Error::Kind::io, "pipe"};
  std::string self = exe;
  pid_t pid = ::fork();
  if (pid < 0) return Error{Error::Kind::io, fmt::format("fork: {}", std::strerror(errno))};
  if (pid == 0) {
    ::setsid();
    pid_t g = ::fork();
    if (g == 0) {
      ::signal(SIGHUP, SIG_IGN);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      if (::chdir("/") != 0) _exit(126);
      int nul = ::open("/dev/null", O_RDWR);
      ::dup2(nul, 0);
      ::dup2(nul, 1);
      ::dup2(nul, 2);
      ::close_range(3, ~0U, 0);
      const char* argv[] = {"portmatrix", "firewall", "watchdog", "--id", id.c_str(), nullptr};
      ::execv(self.c_str(), const_cast<char* const*>(argv));
      _exit(127);
    }
    [[maybe_unused]] auto w = ::write(fds[1], &g, sizeof g);
    _exit(0);
  }
  ::close(fds[1]);
  pid_t g = -1;
  [[maybe_unused]] auto r = ::read(fds[0], &g, sizeof g);
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (g <= 0) return Error{Error::Kind::io, "could not start the rollback watchdog"};
  return static_cast<int>(g);
}

}  // namespace

Paths Paths::from_env() {
  Paths p;
  if (const char* v = std::getenv("PORTMATRIX_CONFIG_DIR"); v && *v) p.config_dir = v;
  if (const char* v = std::getenv("PORTMATRIX_STATE_DIR"); v && *v) p.state_dir = v;
  if (const char* v = std::getenv("PORTMATRIX_LOG_FILE"); v && *v) p.log_file = v;
  return p;
}

Expected<State> parse_state(std::string_view text, std::string_view where) {
  State s;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Error{Error::Kind::state, fmt::format("{} is damaged", where)};
  // j.value() throws when a key holds another type: a damaged file is an error, not an abort.
  try {
    s.status = j.value("status", "off");
    s.matrix = j.value("matrix", "");
    s.site = j.value("site", "");
    s.hash = j.value("hash", "");
    s.changed_at = j.value("changed_at", "");
    s.changed_by = j.value("changed_by", "");
    s.command = j.value("command", "");
    s.pending_id = j.value("pending_id", "");
    s.deadline = j.value("deadline", 0.0);
    // A pid is a whole number in int's range: value<int>() would convert 1e300 with undefined behaviour.
    if (auto pid = j.find("watchdog_pid"); pid != j.end()) {
      if (!pid->is_number_integer() || pid->get<std::int64_t>() < 0 || pid->get<std::int64_t>() > INT32_MAX)
        return Error{Error::Kind::state, fmt::format("{} is damaged: watchdog_pid is not a process id", where)};
      s.watchdog_pid = static_cast<int>(pid->get<std::int64_t>());
    }
    s.snapshot = j.value("snapshot", "");
    s.previous_status = j.value("previous_status", "");
    s.previous_hash = j.value("previous_hash", "");
    s.site_file = j.value("site_file", "");
    s.site_backup = j.value("site_backup", "");
  } catch (const nlohmann::json::exception& e) {
    return Error{Error::Kind::state, fmt::format("{} is damaged: {}", where, e.what())};
  }
  return s;
}

std::string state_text(const State& s) {
  nlohmann::ordered_json j;
  j["status"] = s.status;
  j["matrix"] = s.matrix;
  j["site"] = s.site;
  j["hash"] = s.hash;
  j["changed_at"] = s.changed_at;
  j["changed_by"] = s.changed_by;
  j["command"] = s.command;
  j["pending_id"] = s.pending_id;
  j["deadline"] = s.deadline;
  j["watchdog_pid"] = s.watchdog_pid;
  j["snapshot"] = s.snapshot;
  j["previous_status"] = s.previous_status;
  j["previous_hash"] = s.previous_hash;
  j["site_file"] = s.site_file;
  j["site_backup"] = s.site_backup;
  return json_text(j, 2) + "\n";
}

Expected<State> load_state(const Paths& p) {
  const std::string path = p.state_dir + "/state.json";
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return State{};  // never switched on here
  auto text = read_file(path);
  if (!text) return Error{Error::Kind::state, text.error().message};
  return parse_state(*text, path);
}

Status save_state(const Paths& p, const State& s) {
  if (auto e = make_dir(p.state_dir)) return e;
  return write_file_atomic(p.state_dir + "/state.json", state_text(s));
}

std::string sha256_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

std::string current_user() {
  std::string user;
  if (const char* s = std::getenv("SUDO_USER"); s && *s) user = s;
  if (user.empty())
    if (passwd* pw = ::getpwuid(::geteuid())) user = pw->pw_name;
  if (user.empty()) user = fmt::format("uid{}", ::geteuid());
  if (const char* c = std::getenv("SSH_CONNECTION"); c && *c) {
    std::string conn = c;
    user += "@" + conn.substr(0, conn.find(' '));
  }
  return user;
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void log_change(const Paths& p, const std::string& what) {
  std::string line = fmt::format("{} user={} {}\n", now_iso8601(), current_user(), what);
  // Append only: a log is never rewritten, so no temporary file here.
  int fd = ::open(p.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd >= 0) {
    [[maybe_unused]] auto w = ::write(fd, line.data(), line.size());
    ::close(fd);
  }
  ::openlog("portmatrix", LOG_PID, LOG_AUTHPRIV);
  ::syslog(LOG_NOTICE, "user=%s %s", current_user().c_str(), what.c_str());
  ::closelog();
}

std::optional<Keep> keep_from_ssh_connection(const char* value) {
  if (!value || !*value) return std::nullopt;
  std::string v = value;
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < v.size()) {
    auto sp = v.find(' ', pos);
    parts.push_back(v.substr(pos, sp - pos));
    if (sp == std::string::npos) break;
    pos = sp + 1;
  }
  if (parts.size() != 4) return std::nullopt;
  auto addr = parse_ip(parts[0]);
  auto server = parse_ip(parts[2]);
  unsigned port = 0, client_port = 0;
  auto [ptr, ec] = std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), port);
  if (!addr || ec != std::errc() || port > 65535) return std::nullopt;
  Keep k{*addr, static_cast<std::uint16_t>(port), "SSH_CONNECTION", std::nullopt, std::nullopt};
  if (server && server->family == addr->family) k.server = *server;
  auto [cptr, cec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), client_port);
  if (cec == std::errc() && cptr == parts[1].data() + parts[1].size() && client_port > 0 && client_port <= 65535)
    k.client_port = static_cast<std::uint16_t>(client_port);
  return k;
}

std::optional<Keep> parse_keep(std::string_view text) {
  std::string host(text);
  std::string port;
  if (!host.empty() && host[0] == '[') {
    auto close = host.find(']');
    if (close == std::string::npos) return std::nullopt;
    if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    port = host.substr(host.find(':') + 1);
    host = host.substr(0, host.find(':'));
  }
  auto addr = parse_ip(host);
  if (!addr) return std::nullopt;
  Keep k{*addr, 22, "--keep", std::nullopt, std::nullopt};
  if (!port.empty()) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || ptr != port.data() + port.size() || v > 65535) return std::nullopt;
    k.port = static_cast<std::uint16_t>(v);
  }
  return k;
}

std::vector<LockoutFinding> lockout_check(const Policy& p, const std::vector<Keep>& keep) {
  std::vector<LockoutFinding> out;
  for (const auto& k : keep) {
    // The address the client reaches the host at: rules match it. Without one, the site's
    // first address of the family; with none, the host's rules of that family cannot match.
    IpAddr host{k.addr.family, {}};
    const auto& prefixes = p.host_addresses.prefixes(k.addr.family);
    const bool no_address = !k.server && prefixes.empty();
    if (k.server) host = *k.server;
    else if (!prefixes.empty()) host = prefixes[0].addr;
    const bool known = is_host_address(p, host);
    auto verdict = [&](std::uint16_t sport) {
      Packet pkt;
      auto hp = known ? host_packet(p, k.addr, sport, host, k.port, Protocol::tcp) : Expected<Packet>(Packet{});
      if (known && hp) {
        pkt = *hp;
      } else {
        // An address the site does not give the host: the packet still arrives, and the policy judges it.
        pkt.direction = Direction::in;
        pkt.src = k.addr;
        pkt.dst = host;
        pkt.protocol = Protocol::tcp;
        pkt.sport = sport;
        pkt.dport = k.port;
        if (const SystemBinding* sys = p.system_of(k.addr); sys && !sys->interfaces.empty()) pkt.iface = sys->interfaces.front();
      }
      return evaluate(p, pkt);
    };
    Verdict v = verdict(p.ephemeral.lo);
    // The session's own source port shows which ports the client uses: rules accept only the
    // site's ephemeral range, so a client using others is cut off on most of its next logins.
    const bool port_outside = v.action == Action::accept && k.client_port && verdict(*k.client_port).action != Action::accept;
    if (port_outside) {
      out.push_back({k, fmt::format("{} ({}) could no longer open tcp connections to port {} of the host at {} from source port {} "
                                    "(its session's): the rules accept source ports {}-{} only (the site's ephemeral range); "
                                    "to keep it: widen the site's 'ephemeral' range to the client's source ports "
                                    "(Linux: 32768-60999, Windows: 49152-65535)",
                                    k.addr.to_string(), k.origin, k.port, host.to_string(), *k.client_port, p.ephemeral.lo,
                                    p.ephemeral.hi)});
      continue;
    }
    if (v.action == Action::accept) continue;
    const int version = k.addr.family == Family::ipv4 ? 4 : 6;
    const std::string at = no_address ? fmt::format("the host (the site gives it no IPv{} address)", version)
                                      : fmt::format("the host at {}", host.to_string());
    std::string why = fmt::format("{} ({}) could no longer open tcp connections to port {} of {}: {}", k.addr.to_string(),
                                  k.origin, k.port, at,
                                  v.row.empty() ? std::string("nothing allows it (default ") + std::string(to_string(v.action)) + ")"
                                                : "row '" + v.row + "' closes it");
    std::vector<std::string> hints;
    if (no_address) hints.push_back(fmt::format("give {} its IPv{} address in the site", p.host, version));
    else if (!known) hints.push_back(fmt::format("add {} to the addresses of {} in the site", host.to_string(), p.host));
    for (const auto& rb : p.rows) {
      if (!known) break;  // the destination is what closes it, not a row
      if (!rb.dport.contains(k.port) || std::find(rb.protocols.begin(), rb.protocols.end(), Protocol::tcp) == rb.protocols.end())
        continue;
      if (std::find(rb.destinations.begin(), rb.destinations.end(), p.host) == rb.destinations.end()) continue;
      if (!rb.enabled) hints.push_back(fmt::format("enable row '{}'", rb.id));
      else if (rb.when_firewalled == FirewallAction::allow) {
        std::string systems;
        for (const auto& s : rb.sources) systems += (systems.empty() ? "" : ", ") + s;
        hints.push_back(fmt::format("add {} to the addresses of a source of row '{}' ({})", k.addr.to_string(), rb.id, systems));
      }
    }
    if (!hints.empty()) {
      why += "; to keep it: ";
      for (std::size_t i = 0; i < hints.size(); ++i) why += (i ? ", or " : "") + hints[i];
    }
    out.push_back({k, why});
  }
  return out;
}

namespace {

// rollback() with the lock held and the state loaded.
Status rollback_locked(const Paths& p, State& st, const std::string& id, const std::string& why) {
  if (st.status != "pending" || st.pending_id != id) return std::nullopt;
  if (auto r = nft::run(restore_commands(st.snapshot)); !r) {
    log_change(p, fmt::format("action=rollback pending={} FAILED: {}", id, r.error().message));
    return r.error();
  }
  if (!st.site_file.empty()) {
    if (auto e = write_file_atomic(st.site_file, st.site_backup))
      log_change(p, fmt::format("action=rollback pending={} could not restore {}: {}", id, st.site_file, e->message));
  }
  st.site_file.clear();
  st.site_backup.clear();
  st.status = st.previous_status.empty() ? "off" : st.previous_status;
  st.hash = st.previous_hash;
  st.pending_id.clear();
  st.snapshot.clear();
  st.watchdog_pid = 0;
  st.changed_at = now_iso8601();
  st.command = "rollback: " + why;
  if (auto e = save_state(p, st)) return e;
  log_change(p, fmt::format("action=rollback pending={} reason=\"{}\" restored={}", id, why, st.status));
  return std::nullopt;
}

// A pending change past its deadline is rolled back by whoever sees it first: normally
// the watchdog, else (the watchdog was killed, or the machine restarted) the next command.
Status settle_overdue_locked(const Paths& p, State& st) {
  if (st.status != "pending" || now_seconds() < st.deadline) return std::nullopt;
  return rollback_locked(p, st, st.pending_id, "not confirmed before the deadline");
}

}  // namespace

Expected<ApplyResult> apply(const Paths& p, const ApplyRequest& req) {
  if (auto e = make_dir(p.state_dir)) return *e;
  Lock lock(p);
  if (!lock.ok()) return Error{Error::Kind::io, fmt::format("cannot lock {}/lock", p.state_dir)};
  auto st = load_state(p);
  if (!st) return st.error();
  if (st->status == "pending" && now_seconds() < st->deadline)
    return Error{Error::Kind::state, fmt::format("change {} awaits confirmation for {:.0f} more seconds: run 'portmatrix "
                                                 "firewall confirm', or wait for its rollback",
                                                 st->pending_id, std::max(0.0, st->deadline - now_seconds()))};
  // An overdue change nobody rolled back must not become the state this change returns to.
  if (auto e = settle_overdue_locked(p, *st)) return *e;
  auto snapshot = nft::list_own_table();
  if (!snapshot) return snapshot.error();
  const FileUndo applied_before(applied_path(p)), persisted_before(p.persisted());
  ApplyResult res;
  res.hash = sha256_hex(req.ruleset);
  State next = *st;
  next.previous_status = st->status == "pending" ? st->previous_status : st->status;
  next.previous_hash = st->status == "pending" ? st->previous_hash : st->hash;
  next.matrix = req.matrix;
  next.site = req.site;
  next.hash = res.hash;
  next.changed_at = now_iso8601();
  next.changed_by = current_user();
  next.command = req.command;
  next.site_file = req.site_file;
  next.site_backup = req.site_backup;
  const bool guarded = req.confirm_timeout.count() > 0;
  if (guarded) {
    // Recorded, with its watchdog running, before the kernel changes: however this process
    // ends from here on (SIGKILL, a hang-up, Ctrl-C), the change is rolled back unless confirmed.
    res.id = random_id();
    res.pending = true;
    next.status = "pending";
    next.pending_id = res.id;
    next.deadline = now_seconds() + static_cast<double>(req.confirm_timeout.count());
    next.snapshot = *snapshot;
    if (auto e = save_state(p, next)) return *e;
    auto pid = spawn_watchdog(req.exe, res.id);
    if (!pid) {
      save_state(p, *st);  // the watchdog-less change never happens
      return pid.error();
    }
    next.watchdog_pid = *pid;
    if (auto e = save_state(p, next)) {
      save_state(p, *st);  // also tells the watchdog to stop
      return *e;
    }
  }
  // One transaction: the kernel takes all of it or none of it.
  if (auto r = nft::run(req.ruleset); !r) {
    if (guarded) save_state(p, *st);
    return r.error();
  }
  // Tests kill the tool at this point, to show that what happens next is not needed for safety.
  if (const char* fault = std::getenv("PORTMATRIX_TEST_FAULT"); fault && std::string_view(fault) == "kill-after-apply")
    ::raise(SIGKILL);
  // Keeps the machine (and the files) as they were if the change cannot be recorded.
  auto undo = [&](const Error& e) -> Error {
    nft::run(restore_commands(*snapshot));
    applied_before.restore();
    persisted_before.restore();
    if (guarded) save_state(p, *st);
    return Error{e.kind, e.message + "; the change was undone"};
  };
  if (auto e = write_file_atomic(applied_path(p), req.ruleset)) return undo(*e);
  if (!guarded) {
    next.site_file.clear();
    next.site_backup.clear();
    next.status = "on";
    next.pending_id.clear();
    next.snapshot.clear();
    if (auto e = make_dir(p.config_dir)) return undo(*e);
    if (auto e = write_file_atomic(p.persisted(), req.ruleset)) return undo(*e);
    if (auto e = save_state(p, next)) return undo(*e);
    log_change(p, fmt::format("action=enable matrix={} site={} hash={} previous={} confirm=none command=\"{}\"", req.matrix,
                              req.site, res.hash.substr(0, 12), next.previous_hash.substr(0, 12), req.command));
    return res;
  }
  log_change(p, fmt::format("action=enable matrix={} site={} hash={} previous={} pending={} rollback_in={}s command=\"{}\"",
                            req.matrix, req.site, res.hash.substr(0, 12), next.previous_hash.substr(0, 12), res.id,
                            req.confirm_timeout.count(), req.command));
  return res;
}

Status confirm(const Paths& p, const std::string& command) {
  Lock lock(p);
  auto st = load_state(p);
  if (!st) return st.error();
  if (st->status != "pending") return Error{Error::Kind::state, "no change awaits confirmation"};
  if (now_seconds() >= st->deadline) {
    const std::string id = st->pending_id;
    if (auto e = settle_overdue_locked(p, *st)) return e;
    return Error{Error::Kind::state, fmt::format("change {} passed its deadline and was rolled back", id)};
  }
  auto text = read_file(applied_path(p));
  if (!text) return text.error();
  if (auto e = make_dir(p.config_dir)) return e;
  const FileUndo persisted_before(p.persisted());
  if (auto e = write_file_atomic(p.persisted(), *text)) return e;
  std::string id = st->pending_id;
  st->site_file.clear();
  st->site_backup.clear();
  st->status = "on";
  st->pending_id.clear();
  st->snapshot.clear();
  st->watchdog_pid = 0;
  st->changed_at = now_iso8601();
  st->changed_by = current_user();
  if (auto e = save_state(p, *st)) {
    // Still pending, so the watchdog rolls the kernel back: boot must not load the change either.
    persisted_before.restore();
    return Error{e->kind, e->message + "; the change is not confirmed"};
  }
  log_change(p, fmt::format("action=confirm pending={} hash={} persisted={} command=\"{}\"", id, st->hash.substr(0, 12),
                            p.persisted(), command));
  return std::nullopt;
}

Status rollback(const Paths& p, const std::string& id, const std::string& why) {
  Lock lock(p);
  auto st = load_state(p);
  if (!st) return st.error();
  return rollback_locked(p, *st, id, why);
}

Status settle_overdue(const Paths& p) {
  Lock lock(p);
  auto st = load_state(p);
  if (!st) return st.error();
  return settle_overdue_locked(p, *st);
}

int watchdog_main(const Paths& p, const std::string& id) {
  int failures = 0;
  while (true) {
    auto st = load_state(p);
    if (!st || st->status != "pending" || st->pending_id != id) return 0;
    double left = st->deadline - now_seconds();
    if (left <= 0) {
      if (!rollback(p, id, "not confirmed before the deadline")) return 0;
      // Not rolled back (the kernel refused, or the state could not be saved; the log says
      // which): giving up would keep the unconfirmed change for good. Try again, backing off to 30 s.
      std::this_thread::sleep_for(std::chrono::seconds(std::min(1 << std::min(failures++, 5), 30)));
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(std::min(left, 0.25) * 1000) + 1));
  }
}

Status disable(const Paths& p, const std::string& command) {
  Lock lock(p);
  auto st = load_state(p);
  std::string damaged;
  if (!st) {
    // Turning the firewall off must not depend on the tool's records: keep the damaged file
    // for a look, and start a new one.
    const std::string path = p.state_dir + "/state.json", kept = path + ".damaged";
    if (::rename(path.c_str(), kept.c_str()) != 0)
      return Error{st.error().kind, fmt::format("{}; and it cannot be moved aside: {}", st.error().message, std::strerror(errno))};
    damaged = fmt::format(" state=damaged kept={}", kept);
    st = State{};
  }
  if (auto e = settle_overdue_locked(p, *st)) return e;
  if (auto e = nft::delete_own_table()) return e;
  if (::unlink(p.persisted().c_str()) != 0 && errno != ENOENT)
    return Error{Error::Kind::io, fmt::format("cannot remove {}: {}", p.persisted(), std::strerror(errno))};
  std::string was = st->status;
  st->status = "off";
  st->hash.clear();
  st->pending_id.clear();  // a watchdog waiting on it sees this and stops
  st->snapshot.clear();
  st->watchdog_pid = 0;
  st->changed_at = now_iso8601();
  st->changed_by = current_user();
  st->command = command;
  if (auto e = save_state(p, *st)) return e;
  log_change(p, fmt::format("action=disable was={}{} command=\"{}\"", was, damaged, command));
  return std::nullopt;
}

}  // namespace portmatrix::hostfw
