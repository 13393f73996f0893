// portmatrix replay: what the policy would do with every connection of a capture.
// portmatrix learn: the matrix a capture shows.
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/replay.hpp"
#include "portmatrix/texttable.hpp"

namespace pmcli {
namespace {

struct ReplayCliOptions {
  std::vector<std::string> captures;
  std::string matrix, site, format, output;
  // Signed: CLI11 reads "-1" into an unsigned type by wrapping it.
  long long table = 262144;
};

portmatrix::ProgressHook progress_bar() {
  if (!stderr_is_tty()) return {};
  return [last = -1](std::size_t capture, std::uint64_t done, std::uint64_t total) mutable {
    if (total == 0) return;
    int pct = static_cast<int>(100 * done / total);
    if (pct == last) return;
    last = pct;
    std::string bar(static_cast<std::size_t>(pct / 4), '#');
    std::cerr << fmt::format("\rcapture {}: [{:<25}] {:3}%", capture + 1, bar, pct) << (pct == 100 ? "\n" : "") << std::flush;
  };
}

void print_anomalies(const portmatrix::EngineReport& e) {
  for (const auto& c : e.captures)
    for (const auto& i : c.stats.issues)
      std::cerr << fmt::format("portmatrix: {}: warning: offset {}: {} {}\n", c.name, i.offset, portmatrix::to_string(i.kind),
                               i.detail);
  if (e.conntrack.evicted)
    std::cerr << fmt::format("portmatrix: warning: {} connections were evicted from a full table (raise --table)\n",
                             e.conntrack.evicted);
}

int run_replay(const ReplayCliOptions& o) {
  auto lp = load_policy_args(o.matrix, o.site);
  if (!lp) return kUsage;
  const bool json = o.format == "json";
  portmatrix::ReplayOptions ro;
  ro.engine.conntrack.max_entries = static_cast<std::size_t>(o.table);
  ro.progress = progress_bar();
  bool first = true;
  // Lines gather in a buffer written out in large pieces: a capture can hold millions of connections.
  // The head waits for the first connection, so that a capture that cannot be read leaves stdout empty.
  const std::string head = json ? "{\"connections\":[" : portmatrix::replay_text_header();
  std::string out;
  auto flush = [&] {
    std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
  };
  ro.on_connection = [&](const portmatrix::ReplayedConnection& r) {
    if (first) out += head;
    if (json) {
      out += first ? "\n" : ",\n";
      out += portmatrix::replay_connection_json(r);
    } else {
      portmatrix::append_replay_text(out, r);
    }
    first = false;
    if (out.size() >= (1u << 20)) flush();
  };
  auto res = portmatrix::replay_captures(lp->policy, o.captures, ro);
  if (!res) {
    flush();
    if (json && !first) std::cout << "]}\n";
    return report(res.error());
  }
  if (first) out += head;
  flush();
  print_anomalies(res->engine);
  const auto& s = res->summary;
  if (json) {
    std::string tail = portmatrix::replay_summary_json(*res);
    std::cout << "\n]," << tail.substr(1) << "\n";
  } else {
    std::cout << fmt::format("\n{} connections: {} allowed, {} would be blocked, {} not to or from the host ({} with the "
                             "initiator inferred)\n",
                             s.connections, s.allowed, s.blocked, s.not_host, s.inferred);
    if (!s.blocked_groups.empty()) {
      portmatrix::TextTable t({"BLOCKED FROM", "TO", "PROTO", "PORT", "CONNECTIONS", "PACKETS", "BYTES"});
      for (const auto& g : s.blocked_groups)
        t.add({g.src_system, g.dst_system, g.protocol, std::to_string(g.port), std::to_string(g.connections),
               std::to_string(g.packets), std::to_string(g.bytes)});
      std::cout << "\n" << t.render();
    }
  }
  return s.blocked ? kFindings : kOk;
}

int run_learn(const ReplayCliOptions& o) {
  portmatrix::Policy empty;
  std::optional<portmatrix::LoadedPolicy> lp;
  if (!o.site.empty() || !o.matrix.empty()) {
    lp = load_policy_args(o.matrix, o.site);
    if (!lp) return kUsage;
  }
  portmatrix::LearnOptions lo;
  lo.engine.conntrack.max_entries = static_cast<std::size_t>(o.table);
  lo.progress = progress_bar();
  portmatrix::EngineReport rep;
  auto m = portmatrix::learn_matrix(lp ? lp->policy : empty, o.captures, lo, &rep);
  if (!m) return report(m.error());
  print_anomalies(rep);
  return emit(o.output, portmatrix::write_matrix_yaml(*m));
}

// The connection table holds at least one connection and at most 2^31 - 1 (the bound of its indexes).
CLI::Range table_range() { return CLI::Range(1LL, (1LL << 31) - 1); }

void setup_replay(CLI::App& app) {
  auto o = std::make_shared<ReplayCliOptions>();
  auto* sub = app.add_subcommand("replay", "What the policy would do with every connection in captures (exit 1 if any would be blocked)");
  sub->add_option("captures", o->captures, "pcap or pcapng files ('-' for standard input)")->required();
  add_policy_options(sub, o->matrix, o->site);
  add_format_option(sub, o->format, {"text", "json"});
  sub->add_option("--table", o->table, "Connections tracked at once (more are evicted, and counted)")
      ->check(table_range())
      ->capture_default_str();
  sub->callback([o] { set_exit(run_replay(*o)); });

  auto l = std::make_shared<ReplayCliOptions>();
  auto* learn = app.add_subcommand("learn", "Write the matrix that captures show (systems named from the site when given)");
  learn->add_option("captures", l->captures, "pcap or pcapng files ('-' for standard input)")->required();
  add_policy_options(learn, l->matrix, l->site);
  learn->add_option("-o,--output", l->output, "Write the matrix to FILE (atomically)");
  learn->add_option("--table", l->table, "Connections tracked at once")->check(table_range())->capture_default_str();
  learn->callback([l] { set_exit(run_learn(*l)); });
}

const Registrar register_replay(80, setup_replay);

}  // namespace
}  // namespace pmcli
