// portmatrix firewall: switch the host firewall on and off safely.
#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "portmatrix/backend.hpp"
#include "portmatrix/drift.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/hostfw.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/process.hpp"
#include "portmatrix/site_edit.hpp"
#include "portmatrix/texttable.hpp"

namespace pmcli {
namespace {

namespace hf = portmatrix::hostfw;

struct FwOptions {
  std::string matrix, site, format, row, ports, id;
  int timeout = 120;
  bool dry_run = false, force = false, wait = false;
  std::vector<std::string> keep;
  std::string command;
};

// The command as typed, for the state file and the change log.
std::string command_line() {
  auto text = portmatrix::read_file("/proc/self/cmdline");
  if (!text) return "portmatrix";
  std::string s = *text;
  for (auto& c : s)
    if (c == '\0') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string show_diff(const hf::Paths& paths, const std::string& next) {
  std::string before_path = paths.state_dir + "/applied.nft", label = "applied";
  auto live = portmatrix::nft::list_own_table();
  std::string before;
  if (auto applied = portmatrix::read_file(before_path); applied && live && !live->empty()) {
    before = *applied;
  } else if (live && !live->empty()) {
    before = *live;
    label = "kernel (nft list table inet portmatrix)";
  } else {
    return "the firewall is off now: every port is open; the new ruleset below turns it on\n" + next;
  }
  char tmpl[] = "/tmp/portmatrix-diff-XXXXXX";
  std::string dir = ::mkdtemp(tmpl) ? tmpl : "/tmp";
  portmatrix::write_file_atomic(dir + "/before", before);
  portmatrix::write_file_atomic(dir + "/after", next);
  auto r = portmatrix::run_command({"diff", "-u", "--label", label, "--label", "new", dir + "/before", dir + "/after"});
  ::unlink((dir + "/before").c_str());
  ::unlink((dir + "/after").c_str());
  ::rmdir(dir.c_str());
  if (!r) return "(diff unavailable: " + r.error().message + ")\n";
  return r->exit_code == 0 ? "no change from the applied ruleset\n" : r->out;
}

// The site as state.json records it: a file by its absolute path, so that `audit` (run from
// any directory) finds the site the firewall was enabled with; a bundled name as it is.
std::string recorded_site(const std::string& file) {
  if (file.empty() || file.front() == '/' || file.ends_with(" (bundled)")) return file;
  std::error_code ec;
  auto abs = std::filesystem::absolute(file, ec);
  return ec ? file : abs.lexically_normal().string();
}

// Compiles, guards, and applies. site_edit: the edited site text when allow/deny/ports changed it.
int enable_with(const FwOptions& o, const std::optional<std::string>& edited_site) {
  portmatrix::Parsed<portmatrix::LoadedPolicy> lp;
  if (edited_site) {
    auto s = portmatrix::read_site_yaml(*edited_site, o.site);
    print_diags(s.diags);
    if (!s) return kUsage;
    std::string matrix = o.matrix.empty() ? (s.value->matrix.empty() ? "cms-r20" : s.value->matrix) : o.matrix;
    auto m = portmatrix::load_matrix(matrix);
    print_diags(m.diags);
    if (!m) return kUsage;
    auto p = portmatrix::bind_policy(*m.value, *s.value);
    print_diags(p.diags);
    if (!p) return kUsage;
    lp.value = portmatrix::LoadedPolicy{*m.value, *s.value, *p.value};
  } else {
    auto loaded = load_policy_args(o.matrix, o.site);
    if (!loaded) return kUsage;
    lp.value = std::move(*loaded);
  }
  const auto& policy = lp.value->policy;
  auto rendered = portmatrix::find_backend("nftables")->compile(policy);
  print_diags(rendered.warnings);
  const std::string& ruleset = rendered.files.at(0).content;
  auto paths = hf::Paths::from_env();
  std::cout << show_diff(paths, ruleset);

  std::vector<hf::Keep> keep;
  if (auto k = hf::keep_from_ssh_connection(std::getenv("SSH_CONNECTION"))) keep.push_back(*k);
  for (const auto& text : o.keep) {
    auto k = hf::parse_keep(text);
    if (!k) {
      std::cerr << fmt::format("portmatrix: error: --keep '{}' is not ADDRESS[:PORT]\n", text);
      return kUsage;
    }
    keep.push_back(*k);
  }
  auto lockouts = hf::lockout_check(policy, keep);
  for (const auto& f : lockouts) std::cerr << fmt::format("portmatrix: {}: {}\n", o.force ? "warning" : "error", f.reason);
  if (!lockouts.empty() && !o.force) {
    std::cerr << "portmatrix: refused: the new policy would lock out an address that must keep access (use --force to apply anyway)\n";
    return kFindings;
  }
  if (o.dry_run) {
    std::cerr << "portmatrix: dry run: nothing applied\n";
    return kOk;
  }
  hf::ApplyRequest req;
  req.ruleset = ruleset;
  req.matrix = lp.value->matrix.name;
  req.site = recorded_site(lp.value->site.file);
  req.command = o.command;
  req.confirm_timeout = std::chrono::seconds(o.timeout);
  if (edited_site) {
    auto before = portmatrix::read_file(o.site);
    if (!before) return report(before.error());
    req.site_file = o.site;
    req.site_backup = *before;
  }
  auto res = hf::apply(paths, req);
  if (!res) return report(res.error());
  if (edited_site) {
    if (auto e = portmatrix::write_file_atomic(o.site, *edited_site)) {
      std::cerr << "portmatrix: error: the firewall changed but the site file could not be written: " << e->message << "\n";
      return kFindings;
    }
  }
  if (!res->pending) {
    std::cerr << fmt::format("portmatrix: firewall on (ruleset {}), saved for boot\n", res->hash.substr(0, 12));
    return kOk;
  }
  std::cerr << fmt::format("portmatrix: firewall on (ruleset {}); keep it with 'portmatrix firewall confirm' within {} s, "
                           "otherwise the previous state comes back{}\n",
                           res->hash.substr(0, 12), o.timeout, edited_site ? " (and the site file's previous text)" : "");
  if (!o.wait) return kOk;
  // Wait for the confirmation: a prompt on a terminal, else until another shell confirms or the watchdog rolls back.
  const bool tty = ::isatty(0) && ::isatty(2);
  if (tty) std::cerr << "Keep the new firewall? [y/N] " << std::flush;
  while (true) {
    auto st = hf::load_state(paths);
    if (!st || st->status != "pending" || st->pending_id != res->id) {
      bool kept = st && st->status == "on" && st->hash == res->hash;
      std::cerr << (kept ? "\nportmatrix: confirmed\n" : "\nportmatrix: rolled back\n");
      return kept ? kOk : kFindings;
    }
    pollfd p{0, POLLIN, 0};
    if (tty && ::poll(&p, 1, 250) > 0) {
      std::string answer;
      std::getline(std::cin, answer);
      if (answer == "y" || answer == "Y" || answer == "yes") {
        if (auto e = hf::confirm(paths, o.command)) return report(*e);
        std::cerr << "portmatrix: confirmed\n";
        return kOk;
      }
      std::cerr << "portmatrix: not confirmed; rolling back\n";
      if (auto e = hf::rollback(paths, res->id, "declined at the prompt")) return report(*e);
      return kFindings;
    }
    if (!tty) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

int run_status(const FwOptions& o) {
  auto paths = hf::Paths::from_env();
  if (auto e = hf::settle_overdue(paths)) return report(*e);
  auto st = hf::load_state(paths);
  if (!st) return report(st.error());
  auto live = portmatrix::nft::list_own_table();
  if (!live) return report(live.error());
  auto counters = portmatrix::nft::own_counters();
  if (!counters) return report(counters.error());
  const bool on = !live->empty();
  std::string state = on ? (st->status == "pending" ? "pending" : "on") : "off";
  // Whether the loaded table is still the ruleset portmatrix applied (a hand edit, another
  // tool, or `nft -f` of another file changes it while state.json still names the hash).
  std::optional<std::size_t> changes;
  if (on)
    if (auto applied = portmatrix::read_file(paths.state_dir + "/applied.nft")) {
      auto live_rs = portmatrix::drift::read_live();
      auto applied_rs = portmatrix::drift::read_expected(*applied);
      if (live_rs && applied_rs) changes = portmatrix::drift::compare(*applied_rs, *live_rs).differences.size();
    }
  double left = st->status == "pending" ? st->deadline - std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() : 0;
  if (o.format == "json") {
    nlohmann::ordered_json j;
    j["state"] = state;
    j["matrix"] = on ? st->matrix : "";
    j["site"] = on ? st->site : "";
    j["hash"] = on ? st->hash : "";
    j["modified"] = changes ? nlohmann::ordered_json(*changes > 0) : nlohmann::ordered_json(nullptr);
    j["changed_at"] = st->changed_at;
    j["changed_by"] = st->changed_by;
    j["command"] = st->command;
    if (st->status == "pending") j["pending"] = {{"id", st->pending_id}, {"seconds_left", std::max(0.0, left)}};
    j["rows"] = nlohmann::ordered_json::array();
    for (const auto& [row, c] : *counters) j["rows"].push_back({{"row", row}, {"packets", c.packets}, {"bytes", c.bytes}});
    std::cout << portmatrix::json_text(j, 2) << "\n";
  } else {
    if (!on) {
      std::cout << "firewall: off (table inet portmatrix is not loaded): by default every port is open\n";
    } else {
      std::cout << fmt::format("firewall: {}\nmatrix:   {}\nsite:     {}\nruleset:  {}\n", state, st->matrix, st->site,
                               st->hash.empty() ? "(not recorded by portmatrix)" : st->hash);
      if (changes && *changes > 0)
        std::cout << fmt::format("modified: the loaded table differs from the ruleset portmatrix applied ({} difference(s); "
                                 "'portmatrix audit' lists them)\n",
                                 *changes);
      if (st->status == "pending")
        std::cout << fmt::format("pending:  change {} rolls back in {:.0f} s unless confirmed\n", st->pending_id, std::max(0.0, left));
    }
    if (!st->changed_at.empty())
      std::cout << fmt::format("changed:  {} by {}: {}\n", st->changed_at, st->changed_by, st->command);
    if (on) {
      portmatrix::TextTable t({"ROW", "PACKETS", "BYTES"});
      for (const auto& [row, c] : *counters) t.add({row, std::to_string(c.packets), std::to_string(c.bytes)});
      std::cout << "\n" << t.render();
    }
  }
  return kOk;
}

int run_edit(const FwOptions& o, const std::string& key, const std::string& value) {
  if (o.site.empty()) {
    std::cerr << "portmatrix: error: --site FILE is required: the change is written into the site file\n";
    return kUsage;
  }
  auto text = portmatrix::read_file(o.site);
  if (!text) return report(text.error());
  auto edited = portmatrix::edit_site_flow(*text, o.site, o.row, key, value);
  if (!edited) return report(edited.error());
  return enable_with(o, *edited);
}

void common_apply_flags(CLI::App* sub, FwOptions& o) {
  add_policy_options(sub, o.matrix, o.site);
  sub->add_option("--confirm-timeout", o.timeout, "Seconds to wait for 'firewall confirm' before rolling back (0: no guard)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  sub->add_flag("--dry-run", o.dry_run, "Show the difference and the guard's verdict; apply nothing");
  sub->add_option("--keep", o.keep, "ADDR[:PORT] that must keep access (default port 22); SSH_CONNECTION's client is kept too");
  sub->add_flag("--force", o.force, "Apply even if the lock-out guard objects");
  sub->add_flag("--wait", o.wait, "Stay until the change is confirmed (prompt on a terminal) or rolled back");
}

void setup_firewall(CLI::App& app) {
  auto o = std::make_shared<FwOptions>();
  auto* fw = app.add_subcommand("firewall", "Switch the host firewall on and off, with confirm-or-rollback");
  fw->require_subcommand(1);
  auto* status = fw->add_subcommand("status", "On or off, what is loaded, per-row hit counters, last change");
  add_format_option(status, o->format, {"text", "json"});
  status->callback([o] { set_exit(run_status(*o)); });

  auto* enable = fw->add_subcommand("enable", "Compile and apply the policy atomically; roll back unless confirmed");
  common_apply_flags(enable, *o);
  enable->callback([o] {
    o->command = command_line();
    set_exit(enable_with(*o, std::nullopt));
  });

  auto* confirm = fw->add_subcommand("confirm", "Keep the change that awaits confirmation (and save it for boot)");
  confirm->callback([] {
    auto e = hf::confirm(hf::Paths::from_env(), command_line());
    if (e) {
      set_exit(report(*e));
      return;
    }
    std::cerr << "portmatrix: confirmed; the ruleset is saved for boot\n";
  });

  auto* disable = fw->add_subcommand("disable", "Remove the tool's table (other tables stay as they are)");
  disable->callback([] {
    const auto paths = hf::Paths::from_env();
    if (auto st = hf::load_state(paths); !st)
      std::cerr << "portmatrix: warning: " << st.error().message << "; turning the firewall off anyway (the file is kept as "
                << paths.state_dir << "/state.json.damaged)\n";
    auto e = hf::disable(paths, command_line());
    if (e) {
      set_exit(report(*e));
      return;
    }
    std::cerr << "portmatrix: firewall off: by default every port is open\n";
  });

  auto* allow = fw->add_subcommand("allow", "Enable a row in the site file and re-apply");
  allow->add_option("row", o->row, "Row id")->required();
  common_apply_flags(allow, *o);
  allow->callback([o] {
    o->command = command_line();
    set_exit(run_edit(*o, "enabled", "true"));
  });
  auto* deny = fw->add_subcommand("deny", "Disable a row in the site file and re-apply");
  deny->add_option("row", o->row, "Row id")->required();
  common_apply_flags(deny, *o);
  deny->callback([o] {
    o->command = command_line();
    set_exit(run_edit(*o, "enabled", "false"));
  });
  auto* ports = fw->add_subcommand("ports", "Set a row's destination ports in the site file and re-apply");
  ports->add_option("row", o->row, "Row id")->required();
  ports->add_option("list", o->ports, "Ports and ranges, e.g. 5001,5002 or 5001-5004")->required();
  common_apply_flags(ports, *o);
  ports->callback([o] {
    o->command = command_line();
    std::string err;
    auto ps = portmatrix::parse_port_list(o->ports, &err);
    if (!ps) {
      std::cerr << "portmatrix: error: " << err << "\n";
      set_exit(kUsage);
      return;
    }
    std::string list;
    for (const auto& r : ps->ranges())
      list += (list.empty() ? "" : ", ") + (r.lo == r.hi ? std::to_string(r.lo) : fmt::format("{}-{}", r.lo, r.hi));
    set_exit(run_edit(*o, "destination_ports", "[" + list + "]"));
  });

  auto* watchdog = fw->add_subcommand("watchdog", "Internal: the rollback watchdog");
  watchdog->group("");
  watchdog->add_option("--id", o->id)->required();
  watchdog->callback([o] { set_exit(hf::watchdog_main(hf::Paths::from_env(), o->id)); });
}

const Registrar register_firewall(60, setup_firewall);

}  // namespace
}  // namespace pmcli
