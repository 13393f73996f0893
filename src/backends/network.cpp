#include "backends/network.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "backends/backends.hpp"

namespace portmatrix::device {

namespace {

std::string_view family_name(Family f) { return f == Family::ipv4 ? "IPv4" : "IPv6"; }

AddrSet only(const AddrSet& a, const std::vector<Family>& fams) {
  AddrSet out;
  for (Family f : fams) out.add(a.only(f));
  return out;
}

bool overlaps(const Entry& a, const Entry& b) {
  return a.protocol == b.protocol && !a.src.intersect(b.src).empty() && !a.dst.intersect(b.dst).empty() &&
         a.sport.overlaps(b.sport) && a.dport.overlaps(b.dport);
}

// The entry that lets replies to the connections e starts through the other list.
Entry reply_of(const Entry& e) {
  Entry r = e;
  r.kind = Kind::reply;
  std::swap(r.src, r.dst);
  std::swap(r.sport, r.dport);
  r.established = e.protocol == Protocol::tcp;
  if (e.protocol == Protocol::icmp) r.icmp_types = {kEchoReply4};
  if (e.protocol == Protocol::icmpv6) r.icmp_types = {kEchoReply6};
  r.log = false;
  return r;
}

}  // namespace

bool has_family(const View& v, Family f) {
  for (const auto* list : {&v.to_host, &v.from_host})
    for (const Entry& e : *list) {
      if (e.kind == Kind::default_) continue;
      const auto fams = e.families();
      if (std::find(fams.begin(), fams.end(), f) != fams.end()) return true;
    }
  return false;
}

std::vector<Family> Entry::families() const {
  std::vector<Family> out;
  for (Family f : {Family::ipv4, Family::ipv6})
    if (!src.empty(f) && !dst.empty(f)) out.push_back(f);
  return out;
}

View build(const Policy& p, const Options& o, std::string_view target, Diagnostics& warnings) {
  RowWarnings warn(target, warnings);
  std::vector<Entry> rules[2], replies[2];  // indexed by Direction: in = toward the host
  for (const Rule& r : p.rules) {
    if (r.iface == kLoopback) continue;  // Backend::check() reports it
    const auto fams = rule_families(r);
    if (fams.empty()) continue;
    Entry e;
    e.kind = Kind::rule;
    e.action = r.action == Action::reject && !o.reject ? Action::drop : r.action;
    e.protocol = r.protocol;
    e.src = only(r.src, fams);
    e.dst = only(r.dst, fams);
    // Toward the host means to one of its addresses; from it, from one of them.
    if (r.direction == Direction::in) e.dst = e.dst.intersect(p.host_addresses);
    else e.src = e.src.intersect(p.host_addresses);
    if (has_ports(r.protocol)) {
      e.sport = port_limit(r.sport, o.max_port_ranges);
      e.dport = port_limit(r.dport, o.max_port_ranges);
    }
    e.row = r.row;
    e.log = r.log;
    for (Family f : fams)
      if (e.src.empty(f) || e.dst.empty(f))
        warn(r.row, fmt::format("the host has no {} address at this site, so a network device cannot tell its {} traffic "
                                "apart; that part of the rule is left out",
                                family_name(f), family_name(f)));
    if (e.families().empty()) continue;
    const int d = r.direction == Direction::in ? 0 : 1;
    if (o.stateless && e.action == Action::accept) {
      for (const Entry& earlier : rules[d])
        if (earlier.action != Action::accept && overlaps(earlier, e))
          warn(r.row, fmt::format("stateless: its return entry also admits replies to connections row '{}' blocks before "
                                  "it (no such connection can start, but forged replies pass)",
                                  earlier.row));
      replies[1 - d].push_back(reply_of(e));
    }
    rules[d].push_back(std::move(e));
  }

  // The frame around the rules, per family the host has addresses in.
  std::vector<Entry> echo[2], errors[2];
  for (Family f : {Family::ipv4, Family::ipv6}) {
    const AddrSet host = p.host_addresses.only(f), any = AddrSet::any_of(f);
    if (host.empty()) continue;
    const Protocol icmp = f == Family::ipv4 ? Protocol::icmp : Protocol::icmpv6;
    auto entry = [&](Kind k, bool to_host, std::vector<std::uint8_t> types) {
      Entry e;
      e.kind = k;
      e.protocol = icmp;
      e.src = to_host ? any : host;
      e.dst = to_host ? host : any;
      e.icmp_types = std::move(types);
      return e;
    };
    for (int d = 0; d < 2; ++d) {
      const bool to_host = d == 0;
      if (p.allow_echo) {
        echo[d].push_back(entry(Kind::echo, to_host, {f == Family::ipv4 ? kEchoRequest4 : kEchoRequest6}));
        if (o.stateless) replies[d].push_back(entry(Kind::reply, to_host, {f == Family::ipv4 ? kEchoReply4 : kEchoReply6}));
      }
      if (o.stateless) errors[d].push_back(entry(Kind::icmp_error, to_host, f == Family::ipv4 ? kIcmpErrors4 : kIcmpErrors6));
    }
  }

  View v;
  for (int d = 0; d < 2; ++d) {
    auto& out = d == 0 ? v.to_host : v.from_host;
    for (auto* part : {&replies[d], &errors[d], &rules[d], &echo[d]}) out.insert(out.end(), part->begin(), part->end());
    Entry def;
    def.kind = Kind::default_;
    def.action = p.default_action == Action::reject && !o.reject ? Action::drop : p.default_action;
    def.src = AddrSet::any();
    def.dst = AddrSet::any();
    def.log = p.log_dropped;
    out.push_back(std::move(def));
  }
  return v;
}

Capabilities NetworkBackend::capabilities() const {
  Capabilities c;
  c.host = false;
  c.loopback = false;
  c.interfaces = false;
  c.reject = t_.reject;
  c.stateful = t_.stateful;
  c.max_port_ranges = kMaxPortRanges;
  return c;
}

Rendered NetworkBackend::render(const Policy& p) const {
  Rendered r;
  Options o;
  o.stateless = !t_.stateful;
  o.reject = t_.reject;
  o.max_port_ranges = kMaxPortRanges;
  const View v = build(p, o, name(), r.warnings);
  warn_device(v, r.warnings);
  if (p.log_dropped)
    r.warnings.warning({}, fmt::format("{}: dropped packets are logged by {}; the site's rate and prefix are device "
                                       "settings, not set here",
                                       name(), t_.log_note));
  r.files.push_back({std::string(t_.file), write(p, v)});
  return r;
}

}  // namespace portmatrix::device
