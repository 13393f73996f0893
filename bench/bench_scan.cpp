// Scanner benchmark: all 65,535 TCP ports of a namespace host whose firewall drops
// everything but a few ports, scanned by `portmatrix scan`, `nmap -sT -T4 -p-` and
// (when it is installed) masscan, one after the other in the same run, from a
// scanner namespace joined to the target by a veth pair. States are compared port
// by port; the run is written to bench/runs/<date>/scan.{md,json}.
//
// Not a Google Benchmark loop: one run of each external scanner takes seconds to
// minutes, so each is timed once, end to end, as a user would see it.
//
// Usage (root): bench_scan PORTMATRIX_BINARY [OUTPUT_DIR]
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../tests/support/nmap_xml.hpp"
#include "portmatrix/netns.hpp"

using namespace portmatrix;

namespace {

const std::set<std::uint16_t> kOpen = {22, 80, 443};  // listeners, accepted
const std::set<std::uint16_t> kClosed = {8080};       // accepted, nothing listens
const char* kTarget = "192.0.2.2";

struct Outcome {
  std::string tool, command;
  double seconds = 0;
  int exit_code = -1;
  std::map<std::uint16_t, std::string> states;  // port -> state, for every port the tool reports
  std::string note;
};

[[noreturn]] void die(const std::string& what) {
  std::cerr << "bench_scan: " << what << "\n";
  std::exit(1);
}

void must(const Status& st, const char* what) {
  if (st) die(fmt::format("{}: {}", what, st->message));
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string command_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

Outcome timed(const netns::Namespace& ns, const std::string& tool, std::vector<std::string> argv,
             std::chrono::milliseconds timeout = std::chrono::minutes(30)) {
  Outcome o;
  o.tool = tool;
  o.command = command_line(argv);
  RunOptions ro;
  ro.timeout = timeout;
  std::cerr << "bench_scan: running " << o.command << "\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = ns.run(argv, ro);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r) die(r.error().message);
  o.exit_code = r->exit_code;
  if (tool == "portmatrix") {
    auto j = nlohmann::json::parse(r->out, nullptr, false);
    if (j.is_discarded()) die("portmatrix printed no JSON: " + r->err);
    for (const auto& x : j["results"]) o.states[x["port"].get<std::uint16_t>()] = x["state"].get<std::string>();
  } else {
    for (const auto& [key, state] : pmtest::parse_nmap_xml(r->out))
      if (key.first == "tcp") o.states[key.second] = state;
  }
  if (r->timed_out) o.note = fmt::format("did not exit within {} s and was killed", timeout.count() / 1000);
  else if (o.exit_code != 0) o.note = first_line(r->err);
  return o;
}

std::string machine() {
  utsname u{};
  ::uname(&u);
  std::string cpu;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  return fmt::format("{} CPUs ({}), Linux {} {}, load average at start {:.2f} {:.2f} {:.2f}",
                     ::sysconf(_SC_NPROCESSORS_ONLN), cpu, u.release, u.machine, load[0], load[1], load[2]);
}

std::string version(const std::vector<std::string>& argv) {
  // masscan prints its version after an empty line and exits with 1.
  auto r = run_command(argv);
  if (!r) return "not available";
  const std::string out = r->out + r->err;
  const auto at = out.find("ersion");
  if (at == std::string::npos) return "not available";
  const auto start = out.rfind('\n', at);
  return first_line(out.substr(start == std::string::npos ? 0 : start + 1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: bench_scan PORTMATRIX_BINARY [OUTPUT_DIR]");
  if (!netns::available()) die("needs root (network namespaces)");
  const std::string pm = std::filesystem::absolute(argv[1]).string();
  char date[16];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const std::string out_dir = argc > 2 ? argv[2] : std::string(PM_SOURCE_DIR) + "/bench/runs/" + date;

  netns::install_cleanup_handlers();
  netns::sweep_stale();
  auto s = netns::Namespace::create(netns::unique_name("bscan"));
  auto t = netns::Namespace::create(netns::unique_name("btarget"));
  if (!s || !t) die("cannot create namespaces");
  must(netns::add_veth(*s, "pms0", *t, "pmt0"), "veth");
  must(s->add_address("pms0", Prefix{*parse_ip("192.0.2.1"), 24}), "address");
  must(t->add_address("pmt0", Prefix{*parse_ip(kTarget), 24}), "address");
  std::string accept;
  for (auto p : kOpen) accept += std::to_string(p) + ", ";
  for (auto p : kClosed) accept += std::to_string(p);
  RunOptions nft;
  nft.input = fmt::format(
      "table inet bench {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n"
      "    iif lo accept\n    tcp dport {{ {} }} accept\n    meta l4proto tcp drop\n  }}\n}}\n",
      accept);
  must(t->check({"nft", "-f", "-"}, nft), "nft");
  std::vector<int> listeners;
  for (auto port : kOpen) {
    auto fd = t->socket(AF_INET, SOCK_STREAM, 0);
    if (!fd) die(fd.error().message);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (::bind(*fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(*fd, 1024) != 0) die("listen");
    listeners.push_back(*fd);
  }

  std::vector<Outcome> runs;
  runs.push_back(timed(*s, "portmatrix", {pm, "scan", kTarget, "-p", "-", "--format", "json"}));
  runs.push_back(timed(*s, "portmatrix", {pm, "scan", kTarget, "-p", "-", "--rate", "20000", "--format", "json"}));
  runs.push_back(timed(*s, "nmap", {"nmap", "-n", "-Pn", "-sT", "-T4", "-p-", "-oX", "-", kTarget}));
  const bool have_masscan = ::access("/usr/bin/masscan", X_OK) == 0;
  if (have_masscan) {
    // masscan sends raw SYNs itself; on a veth it needs the adapter and the peer's MAC.
    auto link = t->run({"ip", "-o", "link", "show", "pmt0"});
    std::string mac;
    if (link) {
      auto at = link->out.find("link/ether ");
      if (at != std::string::npos) mac = link->out.substr(at + 11, 17);
    }
    // masscan 1.3 sometimes never exits after its scan (a thread that does not
    // stop; upstream issues #144, #476): such a run is killed and tried again.
    const std::vector<std::string> argv = {"masscan", kTarget,     "-p1-65535", "--rate", "100000", "--adapter", "pms0",
                                           "--adapter-ip", "192.0.2.1", "--router-mac", mac, "--wait", "2", "-oX", "-"};
    for (int attempt = 1; attempt <= 3; ++attempt) {
      runs.push_back(timed(*s, "masscan", argv, std::chrono::seconds(60)));
      if (runs.back().exit_code == 0) break;
    }
  }
  for (int fd : listeners) ::close(fd);

  // The truth, as the target was built: kOpen open, kClosed closed, everything else filtered.
  auto truth = [](std::uint16_t p) {
    return kOpen.count(p) ? "open" : kClosed.count(p) ? "closed" : "filtered";
  };
  nlohmann::ordered_json j;
  j["date"] = date;
  j["machine"] = machine();
  j["versions"] = {{"nmap", version({"nmap", "--version"})}, {"masscan", version({"masscan", "--version"})}};
  j["target"] = fmt::format("{} in its own network namespace over veth; nftables accepts tcp {}, drops all other tcp; "
                            "listeners on {}",
                            kTarget, accept, "22, 80, 443");
  std::string md = fmt::format("# Scanner benchmark, {}\n\nMachine: {}\n\nTarget: {}\n\n", date, j["machine"].get<std::string>(),
                               j["target"].get<std::string>());
  md += "| tool | command | seconds | ports reported | states wrong |\n|---|---|---|---|---|\n";
  const double nmap_seconds = [&] {
    for (const auto& r : runs)
      if (r.tool == "nmap") return r.seconds;
    return 0.0;
  }();
  bool all_right = true;  // every portmatrix and nmap run right, and one masscan run (if any) right
  for (const auto& r : runs) {
    std::size_t wrong = 0;
    std::vector<std::uint16_t> examples;
    for (std::uint32_t p = 1; p <= 65535; ++p) {
      const auto port = static_cast<std::uint16_t>(p);
      auto it = r.states.find(port);
      std::string got = it == r.states.end() ? "" : it->second;
      std::string want = truth(port);
      if (r.tool == "masscan") {  // only open ports are reported
        got = got == "open" ? "open" : "";
        want = want == "open" ? "open" : "";
      }
      if (got != want) {
        ++wrong;
        if (examples.size() < 5) examples.push_back(port);
      }
    }
    if (r.tool != "masscan") all_right = all_right && wrong == 0 && r.exit_code == 0;
    nlohmann::ordered_json x;
    x["tool"] = r.tool;
    x["command"] = r.command;
    x["seconds"] = r.seconds;
    x["exit_code"] = r.exit_code;
    x["ports_reported"] = r.states.size();
    x["states_wrong"] = wrong;
    x["wrong_examples"] = examples;
    x["speedup_vs_nmap"] = nmap_seconds > 0 ? nmap_seconds / r.seconds : 0;
    if (!r.note.empty()) x["note"] = r.note;
    j["runs"].push_back(x);
    md += fmt::format("| {} | `{}` | {:.2f} | {} | {}{} |\n", r.tool, r.command, r.seconds, r.states.size(), wrong,
                      r.note.empty() ? "" : " (" + r.note + ")");
  }
  if (have_masscan) {
    bool masscan_ok = false;
    for (const auto& x : j["runs"])
      masscan_ok = masscan_ok || (x["tool"] == "masscan" && x["exit_code"] == 0 && x["states_wrong"] == 0);
    all_right = all_right && masscan_ok;
  }
  md += "\nRatios (nmap time / tool time, completed runs):\n\n";
  for (const auto& x : j["runs"])
    if (x["exit_code"] == 0) md += fmt::format("- {} `{}`: {:.1f}x\n", x["tool"].get<std::string>(), x["command"].get<std::string>(),
                      x["speedup_vs_nmap"].get<double>());
  md += fmt::format("\nVersions: nmap: {}; masscan: {}.\n", j["versions"]["nmap"].get<std::string>(),
                    j["versions"]["masscan"].get<std::string>());
  if (have_masscan) md += "\nmasscan reports only open ports, so it is compared on open ports.\n";

  std::filesystem::create_directories(out_dir);
  std::ofstream(out_dir + "/scan.json") << j.dump(2) << "\n";
  std::ofstream(out_dir + "/scan.md") << md;
  std::cout << md;
  return all_right ? 0 : 1;
}
