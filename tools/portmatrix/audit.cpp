// portmatrix audit: the running host (its listening sockets and active firewall) against the policy.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "portmatrix/audit.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/hostfw.hpp"
#include "portmatrix/texttable.hpp"

namespace pmcli {
namespace {

namespace au = portmatrix::audit;
namespace so = portmatrix::sockets;
using ojson = nlohmann::ordered_json;

struct AuditOptions {
  std::string matrix, site, format, sockets;
};

ojson null_or(const std::string& s) { return s.empty() ? ojson(nullptr) : ojson(s); }

ojson to_json(const au::Report& rep, const au::Firewall& fw) {
  ojson j;
  j["listeners"] = ojson::array();
  for (const auto& lr : rep.listeners) {
    const so::Listener& l = lr.listener;
    ojson x;
    x["proto"] = std::string(portmatrix::to_string(l.protocol));
    x["address"] = l.address.to_string();
    x["port"] = l.port;
    x["interface"] = l.device ? ojson(*l.device) : ojson(nullptr);
    x["scope"] = std::string(so::to_string(l.scope()));
    x["pid"] = l.owners.empty() ? ojson(nullptr) : ojson(l.owners.front().pid);
    x["command"] = l.owners.empty() ? ojson(nullptr) : ojson(l.owners.front().command);
    x["owners"] = ojson::array();
    for (const auto& o : l.owners) x["owners"].push_back({{"pid", o.pid}, {"command", o.command}});
    x["source"] = std::string(so::to_string(l.source));
    x["row"] = null_or(lr.row);
    x["reach"] = std::string(au::to_string(lr.reach));
    x["finding"] = null_or(lr.finding);
    x["note"] = lr.note;
    j["listeners"].push_back(std::move(x));
  }
  ojson f;
  f["state"] = std::string(au::to_string(fw.state));
  f["table"] = fw.comparison.table_present;
  f["dormant"] = fw.comparison.dormant;
  f["error"] = null_or(fw.error);
  f["differences"] = ojson::array();
  for (const auto& d : fw.comparison.differences)
    f["differences"].push_back({{"kind", std::string(portmatrix::drift::to_string(d.kind))},
                                {"chain", null_or(d.chain)},
                                {"row", null_or(d.row)},
                                {"expected", null_or(d.expected)},
                                {"found", null_or(d.found)},
                                {"message", d.message}});
  f["other_chains"] = ojson::array();
  for (const auto& c : fw.comparison.foreign)
    f["other_chains"].push_back({{"family", c.chain.family},
                                 {"table", c.chain.table},
                                 {"chain", c.chain.name},
                                 {"hook", c.chain.hook},
                                 {"priority", c.chain.priority},
                                 {"policy", c.chain.policy},
                                 {"rules", c.rules},
                                 {"drops", c.drops},
                                 {"accepts", c.accepts},
                                 {"dormant", c.dormant},
                                 {"consequence", c.consequence}});
  f["legacy_iptables"] = fw.legacy_tables;
  j["firewall"] = std::move(f);
  j["findings"] = ojson::array();
  for (const auto& x : rep.findings)
    j["findings"].push_back({{"code", x.code},
                             {"row", null_or(x.row)},
                             {"listener", x.listener ? ojson(*x.listener) : ojson(nullptr)},
                             {"message", x.message}});
  j["notes"] = rep.notes;
  return j;
}

std::string to_text(const au::Report& rep, const au::Firewall& fw) {
  portmatrix::TextTable t({"PROTO", "LOCAL", "PROCESS", "ROW", "REACH", "FINDING"});
  for (const auto& lr : rep.listeners) {
    const so::Listener& l = lr.listener;
    std::string process = "-";
    if (!l.owners.empty()) {
      process.clear();
      for (const auto& o : l.owners) process += fmt::format("{}{}[{}]", process.empty() ? "" : ",", portmatrix::printable(o.command), o.pid);
    }
    t.add({std::string(portmatrix::to_string(l.protocol)), l.endpoint(), process,
           lr.row.empty() ? "-" : lr.row + (lr.row_enabled ? "" : " (disabled)"), std::string(au::to_string(lr.reach)),
           lr.finding.empty() ? "-" : lr.finding});
  }
  std::string s = t.render();
  switch (fw.state) {
    case au::FirewallState::on: s += "\nfirewall: on (table inet portmatrix is loaded as compiled)\n"; break;
    case au::FirewallState::off: s += "\nfirewall: off (table inet portmatrix is not loaded): by default every port is open\n"; break;
    case au::FirewallState::drift:
      s += fmt::format("\nfirewall: drift ({} difference(s) from the compiled ruleset, {} other chain(s) filtering on its hooks{})\n",
                       fw.comparison.differences.size(),
                       std::count_if(fw.comparison.foreign.begin(), fw.comparison.foreign.end(),
                                     [](const auto& c) { return !c.dormant && (c.drops || c.accepts); }),
                       fw.legacy_tables.empty() ? "" : ", legacy iptables tables " + portmatrix::join(fw.legacy_tables));
      break;
    case au::FirewallState::unknown: s += "\nfirewall: unknown\n"; break;
  }
  if (rep.findings.empty()) {
    s += "\nno findings: the host matches the policy\n";
  } else {
    s += fmt::format("\nfindings ({}):\n", rep.findings.size());
    for (const auto& f : rep.findings) s += fmt::format("  {}: {}\n", f.code, portmatrix::printable(f.message));
  }
  for (const auto& lr : rep.listeners)
    if (lr.finding.empty() && !lr.note.empty())
      s += fmt::format("note: {} {}: {}\n", portmatrix::to_string(lr.listener.protocol), lr.listener.endpoint(), lr.note);
  for (const auto& n : rep.notes) s += fmt::format("note: {}\n", portmatrix::printable(n));
  return s;
}

// The site `firewall enable` recorded, when it can be found again (bundled, or an
// absolute path): auditing a host against the bundled example when it was
// enabled with its own site would report drift that is not there.
std::string enabled_site() {
  auto st = portmatrix::hostfw::load_state(portmatrix::hostfw::Paths::from_env());
  if (!st || (st->status != "on" && st->status != "pending")) return "";
  const std::string& s = st->site;
  constexpr std::string_view bundled = " (bundled)";
  if (s.size() > bundled.size() && s.ends_with(bundled)) return s.substr(0, s.size() - bundled.size());
  return !s.empty() && s[0] == '/' ? s : "";
}

int run_audit(const AuditOptions& o) {
  std::string site = o.site;
  if (site.empty() && o.matrix.empty()) {
    site = enabled_site();
    if (!site.empty()) std::cerr << "portmatrix: note: auditing against " << site << ", the site the firewall was enabled with\n";
  }
  auto lp = load_policy_args(o.matrix, site);
  if (!lp) return kUsage;
  const so::Method method = o.sockets == "netlink" ? so::Method::netlink
                            : o.sockets == "proc"  ? so::Method::procfs
                                                   : so::Method::automatic;
  auto listing = so::list_listeners(method);
  if (!listing) return report(listing.error());
  for (const auto& n : listing->notes) std::cerr << "portmatrix: note: " << n << "\n";
  const au::Firewall fw = au::inspect_firewall(lp->policy);
  const au::Report rep = au::compare(lp->policy, listing->listeners, fw);
  if (o.format == "json") std::cout << portmatrix::json_text(to_json(rep, fw), 2) << "\n";
  else std::cout << to_text(rep, fw);
  return rep.clean() ? kOk : kFindings;
}

void setup_audit(CLI::App& app) {
  auto o = std::make_shared<AuditOptions>();
  auto* sub = app.add_subcommand("audit", "Compare this host's listening sockets and active firewall with the policy (exit 1 on findings)");
  add_policy_options(sub, o->matrix, o->site);
  sub->get_option("--site")->description(
      "Site file (default: the one 'firewall enable' recorded, else the bundled example site of the matrix)");
  add_format_option(sub, o->format, {"text", "json"});
  o->sockets = "auto";
  sub->add_option("--sockets", o->sockets, "How to read sockets: netlink sock_diag, /proc/net, or netlink with /proc/net as fallback")
      ->check(CLI::IsMember({"auto", "netlink", "proc"}))
      ->capture_default_str();
  sub->callback([o] { set_exit(run_audit(*o)); });
}

const Registrar register_audit(70, setup_audit);

}  // namespace
}  // namespace pmcli
