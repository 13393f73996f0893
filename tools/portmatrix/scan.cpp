// portmatrix scan: scan one host's TCP or UDP ports without privileges.
#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/scan.hpp"
#include "portmatrix/texttable.hpp"

namespace pmcli {
namespace {

namespace ps = portmatrix::scan;

struct ScanOptions {
  std::string host;
  std::optional<std::string> ports;  // nullopt: the default; given but empty is an error
  bool udp = false;
  bool ipv4 = false, ipv6 = false;
  double rate = ps::Options::kDefaultRate;
  int timeout_ms = 3000;
  int retries = 2;
  std::string format;
  std::string output;
  std::string matrix, site;  // comparing with the policy when either is given
  std::string firewall;      // "on" (the default) or "off"; only when comparing
  std::string source;        // the scan's source address as the policy sees it (default: the local one)
  bool comparing() const { return !matrix.empty() || !site.empty(); }
};

constexpr const char* kDefaultPorts = "1-1024";

// One line of the result: what the scan saw and, when comparing, what was expected.
struct Line {
  ps::PortResult result;
  std::optional<portmatrix::PortState> expected;
  std::string row;
  bool mismatch() const { return expected && !ps::consistent(result.state, *expected); }
};

// Lets the scan open as many sockets as the hard limit allows.
void raise_descriptor_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

bool show_progress(const ps::Progress& p) {
  std::fprintf(stderr, "\rscan: %u/%u ports, %u in flight, %llu probes, srtt %.2f ms, timeout %.0f ms   ", p.done, p.total,
               p.in_flight, static_cast<unsigned long long>(p.probes_sent), p.srtt.count() / 1000.0,
               p.timeout.count() / 1000.0);
  if (p.done == p.total) std::fputs("\n", stderr);
  return true;
}

std::map<ps::ScanState, std::size_t> tally(const std::vector<Line>& lines) {
  std::map<ps::ScanState, std::size_t> n;
  for (const auto& l : lines) ++n[l.result.state];
  return n;
}

std::string render_json(const ScanOptions& o, const ps::Report& rep, const std::vector<Line>& lines) {
  nlohmann::ordered_json j;
  j["host"] = o.host;
  j["address"] = rep.target.addr.to_string();
  if (o.comparing()) j["firewall"] = o.firewall.empty() ? "on" : o.firewall;
  auto& results = j["results"] = nlohmann::ordered_json::array();
  std::size_t mismatches = 0;
  for (const auto& l : lines) {
    nlohmann::ordered_json r;
    r["proto"] = std::string(portmatrix::to_string(l.result.protocol));
    r["port"] = l.result.port;
    r["state"] = std::string(ps::to_string(l.result.state));
    r["reason"] = std::string(ps::to_string(l.result.reason));
    r["expected"] = l.expected ? nlohmann::ordered_json(std::string(portmatrix::to_string(*l.expected))) : nullptr;
    r["row"] = l.row.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(l.row);
    results.push_back(std::move(r));
    mismatches += l.mismatch();
  }
  auto counts = tally(lines);
  auto& s = j["summary"];
  s["ports"] = lines.size();
  for (auto st : {ps::ScanState::open, ps::ScanState::closed, ps::ScanState::filtered, ps::ScanState::open_filtered})
    s[std::string(ps::to_string(st))] = counts[st];
  s["mismatches"] = mismatches;
  s["cancelled"] = rep.cancelled;
  s["probes"] = rep.probes_sent;
  s["elapsed_ms"] = rep.elapsed.count();
  return portmatrix::json_text(j, 2) + "\n";
}

std::string render_text(const ScanOptions& o, const ps::Report& rep, const std::vector<Line>& lines, bool comparing) {
  auto counts = tally(lines);
  // Like nmap, leave out the most common state when it would flood the table.
  std::optional<ps::ScanState> hidden;
  std::size_t most = 0;
  for (auto [st, n] : counts)
    if (n > most) most = n, hidden = st;
  if (most <= 25) hidden.reset();

  std::string out = fmt::format("portmatrix scan {} ({}), {} {} ports in {:.1f} s\n", o.host, rep.target.addr.to_string(),
                                lines.size(), portmatrix::to_string(rep.protocol), rep.elapsed.count() / 1000.0);
  std::vector<std::string> header = {"PORT", "STATE", "REASON"};
  if (comparing) header.insert(header.end(), {"EXPECTED", "ROW", ""});
  portmatrix::TextTable t(header);
  std::map<ps::Reason, std::size_t> hidden_reasons;
  for (const auto& l : lines) {
    if (hidden && l.result.state == *hidden && !l.mismatch()) {
      ++hidden_reasons[l.result.reason];
      continue;
    }
    std::vector<std::string> row = {fmt::format("{}/{}", l.result.port, portmatrix::to_string(l.result.protocol)),
                                    std::string(ps::to_string(l.result.state)), std::string(ps::to_string(l.result.reason))};
    if (comparing)
      row.insert(row.end(), {l.expected ? std::string(portmatrix::to_string(*l.expected)) : "-",
                             l.row.empty() ? "-" : portmatrix::printable(l.row), l.mismatch() ? "MISMATCH" : ""});
    t.add(std::move(row));
  }
  if (hidden) {
    std::string why;
    for (auto [r, n] : hidden_reasons) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, ps::to_string(r));
    out += fmt::format("Not shown: {} {} {} ports ({})\n", counts[*hidden], ps::to_string(*hidden),
                       portmatrix::to_string(rep.protocol), why);
  }
  if (t.size() > 0) out += t.render();
  std::string summary;
  for (auto [st, n] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, ps::to_string(st));
  out += fmt::format("{}{}\n", summary.empty() ? "no ports" : summary, rep.cancelled ? " (scan cancelled)" : "");
  return out;
}

// The expected state of every scanned port; nullopt (after printing why) on error.
std::optional<std::vector<Line>> compare(const ScanOptions& o, const portmatrix::Policy& policy,
                                         const portmatrix::IpAddr& source, const ps::Report& rep) {
  std::vector<Line> lines;
  const auto fw = o.firewall == "off" ? ps::Firewall::off : ps::Firewall::on;  // "" means on
  for (const auto& r : rep.results) {
    auto e = ps::expect(policy, source, rep.target.addr, r.protocol, r.port, fw);
    if (!e) {
      report(e.error());
      return std::nullopt;
    }
    lines.push_back({r, e->state, e->row});
  }
  return lines;
}

int run_scan(const ScanOptions& o) {
  if (o.host.find('/') != std::string::npos) {
    std::cerr << "portmatrix: error: scan takes one host, not a network: '" << o.host << "'\n";
    return kUsage;
  }
  if (!o.comparing() && (!o.firewall.empty() || !o.source.empty())) {
    std::cerr << "portmatrix: error: --firewall and --source compare with a policy: add --site (and --matrix)\n";
    return kUsage;
  }
  const auto protocol = o.udp ? portmatrix::Protocol::udp : portmatrix::Protocol::tcp;
  std::optional<portmatrix::LoadedPolicy> lp;
  if (o.comparing()) {
    lp = load_policy_args(o.matrix, o.site);
    if (!lp) return kUsage;
  }
  auto ports = ps::parse_scan_ports(o.ports ? *o.ports : kDefaultPorts);
  print_diags(ports.diags);
  if (!ports) return kUsage;
  // By default a comparison also covers every port the policy names for the host.
  if (lp && !o.ports) ports.value->add(ps::policy_ports(lp->policy, protocol));
  std::optional<portmatrix::Family> family;
  if (o.ipv4) family = portmatrix::Family::ipv4;
  if (o.ipv6) family = portmatrix::Family::ipv6;
  auto target = ps::resolve_target(o.host, family);
  if (!target) return report(target.error());
  portmatrix::IpAddr source;
  if (lp) {
    if (!o.source.empty()) {
      auto a = portmatrix::parse_ip(o.source);
      if (!a || a->family != target->addr.family) {
        std::cerr << fmt::format("portmatrix: error: --source '{}' is not an {} address\n", o.source,
                                 target->addr.family == portmatrix::Family::ipv4 ? "IPv4" : "IPv6");
        return kUsage;
      }
      source = *a;
    } else {
      auto a = ps::source_address(*target);
      if (!a) return report(a.error());
      source = *a;
    }
    // Checked before scanning, so a wrong host fails in a moment, not after the scan.
    auto probe = ps::expect(lp->policy, source, target->addr, protocol, 1, ps::Firewall::on);
    if (!probe) return report(probe.error());
  }

  raise_descriptor_limit();
  ps::Options so;
  so.protocol = protocol;
  so.ports = std::move(*ports.value);
  so.rate = o.rate;
  so.retries = o.retries;
  so.max_timeout = std::chrono::milliseconds(o.timeout_ms);
  so.initial_timeout = std::min(so.initial_timeout, so.max_timeout);
  so.min_timeout = std::min(so.min_timeout, so.max_timeout);
  if (stderr_is_tty()) so.progress = show_progress;
  // The policy's rules accept only the site's ephemeral range as clients' source ports.
  if (lp) so.source_ports = lp->policy.ephemeral;
  auto rep = ps::run(*target, so);
  if (!rep) return report(rep.error());
  for (const auto& w : rep->warnings) std::cerr << "portmatrix: warning: " << w << "\n";

  std::vector<Line> lines;
  if (lp) {
    auto compared = compare(o, lp->policy, source, *rep);
    if (!compared) return kUsage;
    lines = std::move(*compared);
  } else {
    for (const auto& r : rep->results) lines.push_back({r, std::nullopt, {}});
  }
  const std::string text = o.format == "json" ? render_json(o, *rep, lines) : render_text(o, *rep, lines, o.comparing());
  if (int rc = emit(o.output, text); rc != kOk) return rc;
  for (const auto& l : lines)
    if (l.mismatch()) return kFindings;
  return rep->cancelled ? kFindings : kOk;
}

void setup_scan(CLI::App& app) {
  auto o = std::make_shared<ScanOptions>();
  auto* sub = app.add_subcommand("scan", "Scan one host's TCP or UDP ports (no privileges needed)");
  sub->add_option("host", o->host, "Host name or address to scan (only this one host is probed)")->required();
  sub->add_option("-p,--ports", o->ports,
                  "Ports: 22,80,8000-8100; '-' for 1-65535 (default: 1-1024, plus the policy's ports when comparing)");
  sub->add_flag("-u,--udp", o->udp, "Probe UDP instead of TCP");
  sub->add_flag("-4", o->ipv4, "Use the host's IPv4 address");
  sub->add_flag("-6", o->ipv6, "Use the host's IPv6 address")->excludes("-4");
  sub->add_option("--rate", o->rate, "Probes per second at most (retries included)")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  sub->add_option("--timeout", o->timeout_ms, "Longest wait for an answer, in ms (the adaptive timeout stays below)")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
  sub->add_option("--retries", o->retries, "Extra probes for a silent port")->check(CLI::Range(0, 20))->capture_default_str();
  add_policy_options(sub, o->matrix, o->site);
  sub->add_option("--firewall", o->firewall, "Compare with the host's firewall on (default), or off (every listed port open)")
      ->check(CLI::IsMember({"on", "off"}));
  sub->add_option("--source", o->source, "The scan's source address as the host sees it (behind NAT; default: local)");
  add_format_option(sub, o->format, {"text", "json"});
  sub->add_option("-o,--output", o->output, "Write to FILE (atomically) instead of standard output");
  sub->callback([o] { set_exit(run_scan(*o)); });
}

const Registrar register_scan(50, setup_scan);

}  // namespace
}  // namespace pmcli
