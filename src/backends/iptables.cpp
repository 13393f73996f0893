// iptables: one file for iptables-restore (rules.v4) and one for ip6tables-restore
// (rules.v6). The tool owns two chains of the filter table, PORTMATRIX-INPUT and
// PORTMATRIX-OUTPUT. Loading with --noflush replaces their contents in one
// transaction and leaves every other chain and table alone; the jumps into them
// from INPUT and OUTPUT are added once, first in the chain, and kept on reloads.
#include <algorithm>

#include <fmt/format.h>

#include "backends/backends.hpp"

namespace portmatrix {

namespace {

constexpr std::string_view kInputChain = "PORTMATRIX-INPUT";
constexpr std::string_view kOutputChain = "PORTMATRIX-OUTPUT";
// The kernel's limit on a LOG prefix (29 characters and the terminating zero).
constexpr std::size_t kLogPrefixMax = 29;
// -m multiport takes at most 15 ports; a range counts as two.
constexpr int kMultiportSlots = 15;

std::string_view chain_of(Direction d) { return d == Direction::in ? kInputChain : kOutputChain; }

// A port set split into groups that each fit one match: a single range (for
// --sport/--dport) or at most 15 multiport slots. The full set is one empty group.
std::vector<std::vector<PortRange>> port_groups(const PortSet& ps) {
  if (ps.is_full()) return {{}};
  std::vector<std::vector<PortRange>> out;
  int used = kMultiportSlots;
  for (const auto& r : ps.ranges()) {
    const int slots = r.lo == r.hi ? 1 : 2;
    if (used + slots > kMultiportSlots) {
      out.emplace_back();
      used = 0;
    }
    out.back().push_back(r);
    used += slots;
  }
  return out;
}

std::string range_text(const PortRange& r) { return r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}:{}", r.lo, r.hi); }

// "-m tcp --sport 1:2 -m multiport --dports 3,4 " for one group of each.
std::string port_matches(const char* proto, const std::vector<PortRange>& sport, const std::vector<PortRange>& dport) {
  std::string single, multi;
  auto add = [&](const std::vector<PortRange>& g, const char* one, const char* many) {
    if (g.empty()) return;
    if (g.size() == 1) {
      single += fmt::format("--{} {} ", one, range_text(g[0]));
      return;
    }
    std::string list;
    for (const auto& r : g) list += (list.empty() ? "" : ",") + range_text(r);
    multi += fmt::format("-m multiport --{} {} ", many, list);
  };
  add(sport, "sport", "sports");
  add(dport, "dport", "dports");
  return (single.empty() ? "" : fmt::format("-m {} {}", proto, single)) + multi;
}

}  // namespace

std::string iptables_target(Action a, Protocol proto) {
  switch (a) {
    case Action::accept: return "ACCEPT";
    case Action::drop: return "DROP";
    case Action::reject: return proto == Protocol::tcp ? "REJECT --reject-with tcp-reset" : "REJECT";
  }
  return "DROP";
}

std::vector<std::string> iptables_matches(const Rule& r, Family f) {
  std::string head;
  if (!r.iface.empty()) head += fmt::format("{} {} ", r.direction == Direction::in ? "-i" : "-o", config_token(r.iface, 15));
  const char* proto = nullptr;
  switch (r.protocol) {
    case Protocol::tcp: proto = "tcp"; break;
    case Protocol::udp: proto = "udp"; break;
    case Protocol::icmp: proto = "icmp"; break;
    case Protocol::icmpv6: proto = "ipv6-icmp"; break;
  }
  head += fmt::format("-p {} ", proto);
  auto prefixes = [&](const AddrSet& a) {
    std::vector<std::string> out;
    if (a.is_any(f)) out.push_back("");
    else
      for (const auto& pf : a.prefixes(f)) out.push_back(pf.to_string());
    return out;
  };
  const auto sgroups = has_ports(r.protocol) ? port_groups(r.sport) : std::vector<std::vector<PortRange>>{{}};
  const auto dgroups = has_ports(r.protocol) ? port_groups(r.dport) : std::vector<std::vector<PortRange>>{{}};
  std::vector<std::string> out;
  for (const auto& src : prefixes(r.src))
    for (const auto& dst : prefixes(r.dst))
      for (const auto& sg : sgroups)
        for (const auto& dg : dgroups) {
          std::string m = head;
          if (!src.empty()) m += fmt::format("-s {} ", src);
          if (!dst.empty()) m += fmt::format("-d {} ", dst);
          if (has_ports(r.protocol)) m += port_matches(proto, sg, dg);
          out.push_back(std::move(m));
        }
  return out;
}

namespace {

// A LOG prefix within the kernel's limit (printable, no quote or backslash); a
// shortened prefix is reported.
std::string log_prefix(const std::string& text, std::string_view what, Diagnostics& warnings) {
  std::string s;
  for (char c : text)
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') s += c;
  if (s.size() > kLogPrefixMax) {
    warnings.warning({}, fmt::format("iptables: {}: log prefix '{}' shortened to '{}' ({} characters at most)", what, s,
                                     s.substr(0, kLogPrefixMax), kLogPrefixMax));
    s.resize(kLogPrefixMax);
  }
  return s;
}

// The log prefixes a policy needs, each checked once for both files.
struct LogPrefixes {
  std::string dropped;
  std::vector<std::string> rule;  // by rule index, "" for rules that do not log
  LogPrefixes(const Policy& p, Diagnostics& warnings) {
    if (p.log_dropped) dropped = log_prefix(p.log_prefix, "dropped packets", warnings);
    for (const auto& r : p.rules)
      rule.push_back(r.log ? log_prefix(fmt::format("portmatrix {}: ", config_token(r.row)), fmt::format("row '{}'", r.row),
                                        warnings)
                           : "");
  }
};

class IptWriter {
 public:
  IptWriter(const Policy& p, Family f, const LogPrefixes& logs) : p_(p), f_(f), logs_(logs) {}

  std::string write() {
    const bool v4 = f_ == Family::ipv4;
    const char* restore = v4 ? "iptables-restore" : "ip6tables-restore";
    const char* tool = v4 ? "iptables" : "ip6tables";
    std::string s;
    s += fmt::format("# Generated by portmatrix {} from matrix {} for host {}. Regenerate rather than edit.\n",
                     PORTMATRIX_VERSION_STRING, config_token(p_.matrix), config_token(p_.host));
    s += fmt::format("# Load with `{} --noflush`: it replaces the contents of {} and {} in one\n", restore, kInputChain,
                     kOutputChain);
    s += "# transaction and leaves every other chain and table alone. Hook the chains once:\n";
    s += fmt::format("#   {} -I INPUT 1 -j {}; {} -I OUTPUT 1 -j {}\n", tool, kInputChain, tool, kOutputChain);
    s += "*filter\n";
    s += fmt::format(":{} - [0:0]\n:{} - [0:0]\n", kInputChain, kOutputChain);
    s += chain(Direction::in);
    s += chain(Direction::out);
    s += "COMMIT\n";
    return s;
  }

 private:
  std::string rule_lines(const Rule& r, const std::string& log) {
    std::string lines;
    const std::string_view ch = chain_of(r.direction);
    const std::string comment = fmt::format("-m comment --comment \"{}\" ", row_comment(r.row));
    for (const auto& m : iptables_matches(r, f_)) {
      if (r.log) lines += fmt::format("-A {} {}{}-j LOG --log-prefix \"{}\"\n", ch, m, comment, log);
      lines += fmt::format("-A {} {}{}-j {}\n", ch, m, comment, iptables_target(r.action, r.protocol));
    }
    return lines;
  }

  std::string chain(Direction dir) {
    const bool in = dir == Direction::in, v4 = f_ == Family::ipv4;
    const std::string_view ch = chain_of(dir);
    std::string s;
    if (!v4)
      for (const char* t : {"130", "131", "132", "router-solicitation", "router-advertisement", "neighbour-solicitation",
                            "neighbour-advertisement", "143"})
        s += fmt::format("-A {} -p ipv6-icmp -m icmp6 --icmpv6-type {} -m comment --comment \"neighbour discovery, MLD\" -j ACCEPT\n",
                         ch, t);
    s += fmt::format("-A {} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"replies and related ICMP "
                     "errors\" -j ACCEPT\n",
                     ch);
    s += fmt::format("-A {} -m conntrack --ctstate INVALID -m comment --comment \"invalid\" -j DROP\n", ch);
    for (std::size_t i = 0; i < p_.rules.size(); ++i) {
      const Rule& r = p_.rules[i];
      if (r.direction != dir) continue;
      const auto fams = rule_families(r);
      if (std::find(fams.begin(), fams.end(), f_) != fams.end()) s += rule_lines(r, logs_.rule[i]);
    }
    s += fmt::format("-A {} {} lo -m comment --comment \"loopback\" -j ACCEPT\n", ch, in ? "-i" : "-o");
    if (p_.allow_echo)
      s += fmt::format("-A {} {} -m comment --comment \"echo\" -j ACCEPT\n", ch,
                       v4 ? "-p icmp -m icmp --icmp-type echo-request" : "-p ipv6-icmp -m icmp6 --icmpv6-type echo-request");
    if (p_.log_dropped)
      s += fmt::format("-A {} -m limit --limit {} -m comment --comment \"log dropped\" -j LOG --log-prefix \"{}\"\n", ch,
                       config_token(p_.log_rate, 24), logs_.dropped);
    if (p_.default_action == Action::reject) {
      s += fmt::format("-A {} -p tcp -m comment --comment \"default\" -j REJECT --reject-with tcp-reset\n", ch);
      s += fmt::format("-A {} -m comment --comment \"default\" -j REJECT\n", ch);
    } else {
      s += fmt::format("-A {} -m comment --comment \"default\" -j DROP\n", ch);
    }
    return s;
  }

  const Policy& p_;
  Family f_;
  const LogPrefixes& logs_;
};

class Iptables final : public Backend {
 public:
  std::string_view name() const override { return "iptables"; }
  std::string_view summary() const override {
    return "iptables-restore/ip6tables-restore files (rules.v4, rules.v6), chains PORTMATRIX-INPUT/OUTPUT";
  }
  Capabilities capabilities() const override { return {}; }
  std::vector<std::vector<std::string>> load_commands() const override {
    return {{"iptables-restore", "--noflush"}, {"ip6tables-restore", "--noflush"}};
  }

  // Loads both files, then adds the jumps from INPUT and OUTPUT unless they are there.
  Expected<std::unique_ptr<LoadedRuleset>> load(const Rendered& r, int netns_fd) const override {
    auto loaded = Backend::load(r, netns_fd);
    if (!loaded) return loaded;
    for (const char* tool : {"iptables", "ip6tables"})
      for (auto [hook, ch] : {std::pair{"INPUT", kInputChain}, std::pair{"OUTPUT", kOutputChain}}) {
        const std::vector<std::string> jump = {"-j", std::string(ch)};
        std::vector<std::string> probe = {tool, "-w", "-C", hook};
        probe.insert(probe.end(), jump.begin(), jump.end());
        if (!run_checked(probe, netns_fd)) continue;  // already hooked
        std::vector<std::string> add = {tool, "-w", "-I", hook, "1"};
        add.insert(add.end(), jump.begin(), jump.end());
        if (auto e = run_checked(add, netns_fd)) return *e;
      }
    return loaded;
  }

 protected:
  Rendered render(const Policy& p) const override {
    Rendered r;
    const LogPrefixes logs(p, r.warnings);
    r.files.push_back({"rules.v4", IptWriter(p, Family::ipv4, logs).write()});
    r.files.push_back({"rules.v6", IptWriter(p, Family::ipv6, logs).write()});
    return r;
  }
};

}  // namespace

const Backend& iptables_backend() {
  static const Iptables b;
  return b;
}

}  // namespace portmatrix
