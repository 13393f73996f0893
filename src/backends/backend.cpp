#include <fmt/format.h>

#include "backends/backends.hpp"
#include "portmatrix/process.hpp"

namespace portmatrix {

Diagnostics Backend::check(const Policy& p) const {
  Diagnostics d;
  const Capabilities c = capabilities();
  RowWarnings warn(name(), d);
  auto check_limit = [&](const Rule& r, std::string_view what, const PortSet& ps) {
    if (c.max_port_ranges == 0 || ps.ranges().size() <= c.max_port_ranges) return;
    const PortSet wide = port_limit(ps, c.max_port_ranges);
    warn(r.row, fmt::format("{} ports {} name {} ranges, more than the {} one rule takes here; widened to {}, which "
                            "also matches {} ports the row does not name",
                            what, ps.to_string(), ps.ranges().size(), c.max_port_ranges, wide.to_string(),
                            wide.count() - ps.count()));
  };
  for (const auto& r : p.rules) {
    if (r.families().empty()) warn(r.row, "a rule has no addresses in any family and matches nothing; left out");
    if (r.iface == kLoopback && !c.loopback)
      warn(r.row, "cannot tell loopback traffic apart; the rule is left out (the device never sees the host's loopback)");
    else if (!r.iface.empty() && r.iface != kLoopback && !c.interfaces)
      warn(r.row, fmt::format("cannot match interface {}; the rule applies on every interface", r.iface));
    if (!c.ipv6 && !r.src.empty(Family::ipv6) && !r.dst.empty(Family::ipv6))
      warn(r.row, "cannot express IPv6; the IPv6 part of the rule is left out");
    if (r.action == Action::reject && !c.reject) warn(r.row, "cannot reject; the rule drops instead");
    if ((r.protocol == Protocol::icmp || r.protocol == Protocol::icmpv6) && !c.icmp)
      warn(r.row, "cannot match ICMP; the rule is left out");
    if (has_ports(r.protocol)) {
      if (!c.source_ports && !r.sport.is_full())
        warn(r.row, fmt::format("cannot match source ports together with destination ports; source ports {} are not "
                                "checked (any source port matches)",
                                r.sport.to_string()));
      else
        check_limit(r, "source", r.sport);
      check_limit(r, "destination", r.dport);
    }
  }
  if (p.default_action == Action::reject && !c.reject)
    d.warning({}, fmt::format("{}: the default action 'reject' becomes 'drop'", name()));
  if (p.log_dropped && !c.logging) d.warning({}, fmt::format("{}: cannot log dropped packets; logging left out", name()));
  if (!c.stateful)
    d.warning({}, fmt::format("{}: stateless: replies are admitted by return entries (TCP with ACK or RST only: "
                              "'established'; UDP by its ports), and ICMP errors from any address whether or not they "
                              "belong to a connection",
                              name()));
  return d;
}

Rendered Backend::compile(const Policy& p) const {
  Diagnostics pre = check(p);
  Rendered r = render(p);
  pre.append(r.warnings);
  r.warnings = std::move(pre);
  return r;
}

Expected<std::unique_ptr<LoadedRuleset>> Backend::load(const Rendered& r, int netns_fd) const {
  const auto cmds = load_commands();
  if (cmds.empty())
    return Error{Error::Kind::unsupported, fmt::format("target {} cannot be loaded into a Linux kernel", name())};
  if (cmds.size() != r.files.size())
    return Error{Error::Kind::internal,
                 fmt::format("target {}: {} files but {} load commands", name(), r.files.size(), cmds.size())};
  for (std::size_t i = 0; i < cmds.size(); ++i)
    if (auto e = run_checked(cmds[i], netns_fd, r.files[i].content)) return *e;
  return std::make_unique<LoadedRuleset>();
}

void RowWarnings::operator()(const std::string& row, const std::string& what) {
  std::string m = fmt::format("{}: row '{}': {}", target_, row, what);
  if (said_.insert(m).second) into_.warning({}, std::move(m));
}

Status run_checked(const std::vector<std::string>& argv, int netns_fd, const std::string& input) {
  RunOptions o;
  o.netns_fd = netns_fd;
  o.input = input;
  auto r = run_command(argv, o);
  if (!r) return r.error();
  if (r->exit_code == 0) return std::nullopt;
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  return Error{Error::Kind::kernel, fmt::format("{}: {}", cmd, r->err.empty() ? r->out : r->err)};
}

PortSet port_limit(const PortSet& ports, std::size_t max) {
  if (max == 0 || ports.ranges().size() <= max) return ports;
  return PortSet({{ports.ranges().front().lo, ports.ranges().back().hi}});
}

std::string port_list(const PortSet& ports, std::string_view sep, std::string_view range_sep) {
  std::string s;
  for (const auto& r : ports.ranges()) {
    if (!s.empty()) s += sep;
    s += r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}{}{}", r.lo, range_sep, r.hi);
  }
  return s;
}

std::vector<Family> rule_families(const Rule& r) {
  std::vector<Family> out;
  for (Family f : r.families()) {
    if ((r.protocol == Protocol::icmp && f == Family::ipv6) || (r.protocol == Protocol::icmpv6 && f == Family::ipv4))
      continue;
    out.push_back(f);
  }
  return out;
}

std::string config_token(std::string_view text, std::size_t max_len) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max_len) break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-' || c == '/';
    out += ok ? c : '_';
  }
  return out;
}

std::string row_comment(std::string_view row, std::size_t max_len) {
  constexpr std::size_t kSuffix = 9;  // "~" and 8 hex digits
  PM_ASSERT(max_len > kSuffix, "a row comment has room for its hash");
  if (row.size() <= max_len) return config_token(row, max_len);
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits
  for (unsigned char c : row) h = (h ^ c) * 0x100000001b3ull;
  return fmt::format("{}~{:08x}", config_token(row, max_len - kSuffix), (h ^ (h >> 32)) & 0xffffffffu);
}

std::string row_of_comment(const Policy& p, std::string_view comment) {
  for (const auto& rb : p.rows)
    if (row_comment(rb.id) == comment) return rb.id;
  for (const auto& r : p.rules)
    if (row_comment(r.row) == comment) return r.row;
  return std::string(comment);
}

}  // namespace portmatrix
