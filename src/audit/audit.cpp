// The live host against the policy (see audit.hpp).
#include "portmatrix/texttable.hpp"
#include "portmatrix/audit.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "portmatrix/backend.hpp"
#include "portmatrix/evaluate.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/nft.hpp"

namespace portmatrix::audit {

std::string_view to_string(FirewallState s) {
  switch (s) {
    case FirewallState::on: return "on";
    case FirewallState::off: return "off";
    case FirewallState::drift: return "drift";
    case FirewallState::unknown: return "unknown";
  }
  return "?";
}

std::string_view to_string(Reach r) {
  switch (r) {
    case Reach::none: return "none";
    case Reach::loopback: return "loopback";
    case Reach::some: return "some";
    case Reach::any: return "any";
    case Reach::unknown: return "unknown";
  }
  return "?";
}

namespace {

// The legacy iptables tables of the calling thread's namespace: the kernel lists each
// x_tables table once something (iptables-legacy, an old program) has used it there.
std::vector<std::string> legacy_tables() {
  std::vector<std::string> out;
  for (const auto& [family, file] : {std::pair{"ip", "ip_tables_names"}, std::pair{"ip6", "ip6_tables_names"}}) {
    auto text = read_file(std::string("/proc/thread-self/net/") + file);  // absent: the module is not loaded
    if (!text) continue;
    std::vector<std::string> names;
    std::size_t pos = 0;
    while (pos < text->size()) {
      std::size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) nl = text->size();
      if (nl > pos) names.push_back(text->substr(pos, nl - pos));
      pos = nl + 1;
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out.push_back(fmt::format("{} {}", family, n));
  }
  return out;
}

}  // namespace

Firewall inspect_firewall(const Policy& policy) {
  Firewall fw;
  fw.legacy_tables = legacy_tables();
  auto live = drift::read_live();
  if (!live) {
    fw.error = "cannot read the nftables ruleset: " + live.error().message;
    if (live.error().kind == Error::Kind::permission) fw.error += " (the audit needs root)";
    return fw;
  }
  fw.live = std::move(*live);
  fw.read = true;
  const auto rendered = find_backend("nftables")->compile(policy);
  auto expected = drift::read_expected(rendered.files.at(0).content);
  if (expected) fw.expected = std::move(*expected);
  fw.comparison = drift::compare(fw.expected, fw.live);
  if (!fw.comparison.table_present) {
    fw.state = FirewallState::off;
  } else if (!expected) {
    // Without the compiled side every live rule would look extra: report what is known only.
    fw.comparison.differences.clear();
    fw.error = "table inet portmatrix is loaded but could not be compared with the compiled ruleset: " + expected.error().message;
    fw.state = FirewallState::unknown;
  } else {
    fw.state = FirewallState::on;
  }
  if (fw.state == FirewallState::on) {
    bool foreign = std::any_of(fw.comparison.foreign.begin(), fw.comparison.foreign.end(),
                               [](const drift::ForeignChain& f) { return !f.dormant && (f.drops || f.accepts); });
    if (!fw.comparison.differences.empty() || foreign || !fw.legacy_tables.empty()) fw.state = FirewallState::drift;
  }
  return fw;
}

namespace {

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The host is a destination of the row (or one end of a symmetric row).
bool inbound(const Policy& p, const RowBinding& rb) {
  return rb.host_involved && (has(rb.destinations, p.host) || (rb.symmetric && has(rb.sources, p.host)));
}

void add_unique(std::vector<std::string>& v, const std::string& x) {
  if (!has(v, x)) v.push_back(x);
}

// Addresses in no system of the site, to stand for "everyone else".
IpAddr outsider(const Policy& p, Family f) {
  const char* v4[] = {"192.0.2.254", "198.51.100.254", "203.0.113.254", "192.0.2.200", "198.51.100.200", "203.0.113.200"};
  const char* v6[] = {"2001:db8:ffff:ffff::fe", "2001:db8:fffe::fe", "2001:db8:1234:5678::fe"};
  std::vector<IpAddr> candidates;
  if (f == Family::ipv4)
    for (const char* c : v4) candidates.push_back(*parse_ip(c));
  else
    for (const char* c : v6) candidates.push_back(*parse_ip(c));
  for (const auto& a : candidates)
    if (!p.host_addresses.contains(a) && std::none_of(p.systems.begin(), p.systems.end(), [&](const SystemBinding& s) {
          return s.name != p.host && !s.addresses.is_any(f) && s.addresses.contains(a);
        }))
      return a;
  return candidates.front();
}

std::string describe_owner(const sockets::Listener& l) {
  if (l.owners.empty()) return "owner unknown";
  std::vector<std::string> parts;
  for (const auto& o : l.owners) parts.push_back(fmt::format("{}, pid {}", o.command, o.pid));
  return join(parts, "; ");
}

}  // namespace

std::vector<const RowBinding*> rows_for(const Policy& policy, Protocol protocol, std::uint16_t port) {
  std::vector<const RowBinding*> out;
  for (const auto& rb : policy.rows) {
    if (!inbound(policy, rb) || !rb.dport.contains(port)) continue;
    // A disabled row the matrix leaves without a protocol (NA) could be either.
    if (!rb.protocols.empty() && std::find(rb.protocols.begin(), rb.protocols.end(), protocol) == rb.protocols.end()) continue;
    out.push_back(&rb);
  }
  std::stable_sort(out.begin(), out.end(), [](const RowBinding* a, const RowBinding* b) { return a->enabled > b->enabled; });
  return out;
}

PolicyReach policy_reach(const Policy& policy, const sockets::Listener& l) {
  PolicyReach pr;
  const IpAddr bound = l.effective_address();
  const sockets::Scope scope = l.scope();
  std::vector<Family> families{bound.family};
  // An IPv6 wildcard socket without IPV6_V6ONLY takes IPv4 connections too (unknown: Linux's default, dual stack).
  if (scope == sockets::Scope::wildcard && bound.family == Family::ipv6 && !l.v6only.value_or(false))
    families.push_back(Family::ipv4);
  const std::string device = l.device.value_or("");
  bool first_verdict = true;
  for (Family f : families) {
    std::vector<IpAddr> dsts;
    if (scope == sockets::Scope::wildcard) {
      for (const auto& p : policy.host_addresses.prefixes(f)) dsts.push_back(p.addr);
      if (dsts.empty()) dsts.push_back(IpAddr{f, {}});  // no address in the site: a packet rules for the host's addresses miss
    } else {
      dsts.push_back(bound);
    }
    struct Sample {
      IpAddr src;
      std::string iface, label;
      bool anywhere;
    };
    std::vector<Sample> samples;
    for (const auto& sys : policy.systems) {
      if (sys.name == policy.host) continue;
      for (const auto& p : sys.addresses.prefixes(f)) {
        const bool any = p.len == 0;
        std::vector<std::string> ifaces = sys.interfaces.empty() ? std::vector<std::string>{""} : sys.interfaces;
        for (const auto& i : ifaces) samples.push_back({any ? outsider(policy, f) : p.addr, i, sys.name, any});
      }
    }
    const IpAddr other = outsider(policy, f);
    samples.push_back({other, "", "other addresses", true});
    for (const auto& i : policy.interfaces) samples.push_back({other, i, "other addresses", true});
    for (const auto& dst : dsts) {
      for (auto s : samples) {
        // A socket bound to a device hears only that device; "" stands for interfaces the site does not name.
        if (!device.empty()) {
          if (s.iface.empty()) s.iface = device;
          else if (s.iface != device) continue;
        }
        Packet pk;
        pk.direction = Direction::in;
        pk.iface = s.iface;
        pk.src = s.src;
        pk.dst = dst;
        pk.protocol = l.protocol;
        pk.sport = policy.ephemeral.lo;
        pk.dport = l.port;
        const Verdict v = evaluate(policy, pk);
        if (v.action == Action::accept) {
          add_unique(pr.systems, s.label);
          if (!v.row.empty()) add_unique(pr.rows, v.row);
          if (s.anywhere) pr.reach = Reach::any;
          else if (pr.reach == Reach::none) pr.reach = Reach::some;
        } else if (first_verdict) {
          pr.deciding_row = v.row;
          pr.deciding_action = v.action;
          first_verdict = false;
        }
      }
      // The host itself, over lo (a socket bound to another device does not hear lo).
      if (device.empty() || device == kLoopback) {
        Packet pk;
        pk.direction = Direction::in;
        pk.iface = std::string(kLoopback);
        pk.src = scope == sockets::Scope::wildcard ? *parse_ip(f == Family::ipv4 ? "127.0.0.1" : "::1") : dst;
        pk.dst = scope == sockets::Scope::wildcard ? pk.src : dst;
        pk.protocol = l.protocol;
        pk.sport = policy.ephemeral.lo;
        pk.dport = l.port;
        const Verdict v = evaluate(policy, pk);
        if (v.action == Action::accept) {
          pr.loopback = true;
          if (!v.row.empty()) add_unique(pr.rows, v.row);
        }
      }
    }
  }
  if (pr.reach == Reach::none && pr.loopback) pr.reach = Reach::loopback;
  return pr;
}

namespace {

// What differences of the loaded table, and other chains on the input hook, may do to one listener.
struct DriftEffect {
  std::vector<std::string> may_open;   // may let in what the policy keeps out
  std::vector<std::string> may_close;  // may keep out what the policy lets in
};

// A rule that drops or rejects whatever reaches it.
bool unconditional_drop(const drift::NftRule& r) {
  const bool matches_something = std::any_of(r.expr.begin(), r.expr.end(), [](const auto& e) {
    return e.is_object() && (e.contains("match") || e.contains("limit"));
  });
  return !matches_something && drift::verdicts_of(r).drop;
}

// Whether a chain of the live table has a rule that drops or rejects whatever reaches it.
bool ends_in_drop(const drift::NftRuleset& live, const std::string& chain) {
  return std::any_of(live.rules.begin(), live.rules.end(), [&](const drift::NftRule& r) {
    return r.family == nft::kFamily && r.table == nft::kTable && r.chain == chain && unconditional_drop(r);
  });
}

// Whether the live table's chain drops what no rule decides (its policy).
bool policy_drops(const drift::NftRuleset& live, const std::string& chain) {
  return std::any_of(live.chains.begin(), live.chains.end(), [&](const drift::NftChain& c) {
    return c.family == nft::kFamily && c.table == nft::kTable && c.name == chain && c.policy == "drop";
  });
}

DriftEffect drift_effect(const Firewall& fw, const sockets::Listener& l, const std::vector<const RowBinding*>& rows) {
  DriftEffect e;
  const auto& cmp = fw.comparison;
  // The listener's row that a compiled rule's comment names, nullptr when none does.
  auto row_named = [&](const std::string& comment) -> const RowBinding* {
    auto it = std::find_if(rows.begin(), rows.end(), [&](const RowBinding* r) { return row_comment(r->id) == comment; });
    return it == rows.end() ? nullptr : *it;
  };
  for (const auto& d : cmp.differences) {
    if (d.chain != "input") continue;
    using K = drift::DiffKind;
    if (d.kind == K::chain_missing)
      e.may_open.push_back("chain input of table inet portmatrix is missing: it filters no incoming connection");
    // The compiled chain ends in an unconditional drop or reject; while that rule is there the policy is never reached.
    if (d.kind == K::chain_changed && d.found.find("policy accept") != std::string::npos && !ends_in_drop(fw.live, d.chain))
      e.may_open.push_back(fmt::format("chain input has `{}` and no unconditional drop: what no rule drops is accepted", d.found));
    // A loaded rule the compiled table lacks, or has elsewhere, that may see this port.
    if (d.live_rule && drift::may_match_port(*d.live_rule, fw.live, l.protocol, l.port)) {
      const auto v = drift::verdicts_of(*d.live_rule);
      if (v.accept) e.may_open.push_back(fmt::format("the loaded rule `{}` may accept it", d.found));
      if (v.drop) e.may_close.push_back(fmt::format("the loaded rule `{}` may drop it", d.found));
    }
    // A compiled rule that is not loaded: one of its own row's accepts, or any drop that would see this port.
    if ((d.kind == K::rule_missing || d.kind == K::rule_changed) && d.expected_rule &&
        drift::may_match_port(*d.expected_rule, fw.expected, l.protocol, l.port)) {
      const auto v = drift::verdicts_of(*d.expected_rule);
      if (const RowBinding* rb = v.accept ? row_named(d.row) : nullptr)
        e.may_close.push_back(fmt::format("the compiled rule `{}` (row {}) is not loaded", d.expected, rb->id));
      // The default rule missing under policy drop changes nothing but counters.
      if (v.drop && !(unconditional_drop(*d.expected_rule) && policy_drops(fw.live, d.chain)))
        e.may_open.push_back(fmt::format("the compiled rule `{}` that drops it is not loaded", d.expected));
    }
  }
  for (const auto& f : cmp.foreign) {
    if (f.dormant || f.chain.hook != "input") continue;
    const std::string where = fmt::format("table {} {} chain {}", f.chain.family, f.chain.table, f.chain.name);
    bool said = false;
    for (const drift::NftRule* r : f.dropping)
      if (drift::may_match_port(*r, fw.live, l.protocol, l.port)) {
        e.may_close.push_back(fmt::format("{} may drop it: `{}`", where, r->text.empty() ? r->expr.dump() : r->text));
        said = true;
        break;
      }
    if (!said && f.chain.policy == "drop")
      e.may_close.push_back(fmt::format("{} (policy drop) drops it unless one of its rules accepts it", where));
  }
  return e;
}

std::string reach_words(const PolicyReach& pr) {
  const std::string rows = pr.rows.empty() ? "" : fmt::format(" (row {})", join(pr.rows));
  const std::string blocks = fmt::format("the firewall {}s it", to_string(pr.deciding_action));
  const std::string why = pr.deciding_row.empty() ? fmt::format(" (default {})", to_string(pr.deciding_action))
                                                  : fmt::format(" (row {})", pr.deciding_row);
  switch (pr.reach) {
    case Reach::any: return "the firewall accepts it from every address" + rows;
    case Reach::some: return fmt::format("the firewall accepts it from {}{}", join(pr.systems), rows);
    case Reach::loopback: return fmt::format("{} from other hosts{} and accepts it only on lo{}", blocks, why, rows);
    case Reach::none: return blocks + why;
    case Reach::unknown: break;
  }
  return "unknown";
}

std::string with_effects(std::string text, const DriftEffect& e) {
  std::vector<std::string> all = e.may_open;
  all.insert(all.end(), e.may_close.begin(), e.may_close.end());
  if (!all.empty()) text += "; but " + join(all, "; ");
  return text;
}

class Auditor {
 public:
  Auditor(const Policy& p, const Firewall& fw, Report& r) : p_(p), fw_(fw), r_(r) {}

  void listener(const sockets::Listener& l) {
    ListenerReport lr;
    lr.listener = l;
    const auto rows = rows_for(p_, l.protocol, l.port);
    if (!rows.empty()) {
      lr.row = rows.front()->id;
      lr.row_enabled = rows.front()->enabled;
    }
    const std::string proto(to_string(l.protocol));
    const std::string what = fmt::format("{} {} ({})", proto, l.endpoint(), describe_owner(l));
    if (l.scope() == sockets::Scope::loopback) {
      lr.reach = Reach::loopback;
      lr.reach_text = "bound to loopback: only the host itself can connect";
      lr.note = "loopback only, not exposure";
      r_.listeners.push_back(std::move(lr));
      return;
    }
    DriftEffect effect;
    if (!fw_.read) {
      lr.reach = Reach::unknown;
      lr.reach_text = "whether the firewall blocks it is unknown (the ruleset could not be read)";
    } else if (!fw_.enforcing()) {
      lr.reach = Reach::any;
      lr.reach_text = "the firewall is off: reachable from every address";
      effect = drift_effect(fw_, l, rows);
      lr.reach_text = with_effects(lr.reach_text, effect);
    } else {
      const PolicyReach pr = policy_reach(p_, l);
      lr.reach = pr.reach;
      effect = drift_effect(fw_, l, rows);
      lr.reach_text = with_effects(reach_words(pr), effect);
    }
    const std::string bound = l.scope() == sockets::Scope::wildcard ? "bound wide" : fmt::format("bound to {}", l.address.to_string());

    if (rows.empty()) {
      const bool blocked = (lr.reach == Reach::none || lr.reach == Reach::loopback) && effect.may_open.empty();
      lr.note = blocked ? "no row explains it; the firewall blocks it from other hosts anyway" : "no row explains it";
      finding(lr, "unexpected-listener", "",
              fmt::format("{}: no row of the matrix explains {} port {}; {}", what, proto, l.port, lr.reach_text));
    } else if (!rows.front()->enabled) {
      const RowBinding& rb = *rows.front();
      lr.note = fmt::format("row {} is disabled but its service listens", rb.id);
      finding(lr, "disabled-row-listening", rb.id,
              fmt::format("row {} is disabled ({}), but {} still listens; {}", rb.id, rb.reason, what, lr.reach_text));
    } else {
      const RowBinding& rb = *rows.front();
      const bool kept_in = fw_.enforcing() && effect.may_open.empty() && (lr.reach == Reach::none || lr.reach == Reach::loopback);
      switch (rb.when_firewalled) {
        case FirewallAction::localhost_only:
          if (kept_in) {
            lr.note = fmt::format("{} on {}: {}, but the firewall accepts it only on lo", rb.id, l.endpoint(), bound);
          } else {
            lr.note = fmt::format("{} on {}: {} and reachable beyond the host", rb.id, l.endpoint(), bound);
            const std::string consequence =
                fw_.enforcing() || !fw_.read
                    ? lr.reach_text
                    : with_effects(fmt::format("the firewall is off: {} is reachable from every address", rb.id), effect);
            finding(lr, "bound-too-wide", rb.id,
                    fmt::format("{} on {} ({}): {}, and {}; row {} allows connections from the host itself only (bind it to "
                                "loopback, or keep the firewall on)",
                                rb.id, l.endpoint(), describe_owner(l), bound, consequence, rb.id));
          }
          break;
        case FirewallAction::closed:
          if (kept_in) {
            lr.note = fmt::format("row {} is for the host's own use; the firewall closes it", rb.id);
          } else {
            lr.note = fmt::format("row {} is for the host's own use, but {} is reachable", rb.id, l.endpoint());
            finding(lr, "bound-too-wide", rb.id,
                    fmt::format("{}: row {} is for the host's own use and closed when the firewall is on, but it is {} and {}",
                                what, rb.id, bound, lr.reach_text));
          }
          break;
        case FirewallAction::allow: lr.note = lr.reach_text; break;
      }
    }
    r_.listeners.push_back(std::move(lr));
  }

  void needed_ports(const std::vector<sockets::Listener>& ls) {
    // Wider sets are ranges of which a product uses some (configurable ports): one listener is enough.
    constexpr std::uint32_t kEveryPortUpTo = 64;
    for (const auto& rb : p_.rows) {
      if (!rb.enabled || !inbound(p_, rb) || rb.when_firewalled == FirewallAction::closed) continue;
      for (Protocol proto : rb.protocols) {
        if (!has_ports(proto)) continue;
        PortSet serving, loopback_only;
        std::vector<std::string> loopback_eps;
        for (const auto& l : ls) {
          if (l.protocol != proto || !rb.dport.contains(l.port)) continue;
          if (l.scope() != sockets::Scope::loopback || rb.when_firewalled == FirewallAction::localhost_only) {
            serving.add({l.port, l.port});
          } else {
            loopback_only.add({l.port, l.port});
            loopback_eps.push_back(l.endpoint());
          }
        }
        PortSet missing = rb.dport.subtract(serving);
        if (missing.empty()) continue;
        if (rb.dport.count() > kEveryPortUpTo && !serving.empty()) continue;
        std::string msg = fmt::format("row {} needs {} {} inbound (from {}), but nothing listens on {}{}", rb.id, to_string(proto),
                                      rb.dport.to_string(), rb.sources.empty() ? "?" : join(rb.sources),
                                      rb.dport.count() > kEveryPortUpTo ? "any of them" : missing.to_string(),
                                      rb.when_firewalled == FirewallAction::localhost_only ? " (not even on loopback)" : "");
        if (!loopback_eps.empty())
          msg += fmt::format("; {} listens on loopback only, out of reach of the row's sources", join(loopback_eps));
        r_.findings.push_back({"not-listening", msg, rb.id, std::nullopt});
      }
    }
  }

  void firewall(const std::vector<sockets::Listener>& ls) {
    if (!fw_.error.empty()) r_.findings.push_back({"firewall-unknown", fw_.error, "", std::nullopt});
    if (!fw_.read) return;
    if (!fw_.comparison.table_present) {
      std::vector<std::string> exposed;
      for (const auto& l : ls)
        if (l.scope() != sockets::Scope::loopback) exposed.push_back(fmt::format("{} {}", to_string(l.protocol), l.endpoint()));
      r_.findings.push_back({"firewall-off",
                             fmt::format("the firewall is off: table inet portmatrix is not loaded, so by default every port is "
                                         "open{}",
                                         exposed.empty() ? "" : fmt::format("; reachable from every address: {}", join(exposed))),
                             "", std::nullopt});
    }
    for (const auto& d : fw_.comparison.differences)
      r_.findings.push_back({"firewall-drift", d.message, row_of_comment(p_, d.row), std::nullopt});
    for (const auto& f : fw_.comparison.foreign)
      if (!f.dormant && (f.drops || f.accepts)) r_.findings.push_back({"foreign-chain", f.consequence, "", std::nullopt});
      else r_.notes.push_back(f.consequence);
    if (!fw_.legacy_tables.empty())
      r_.findings.push_back(
          {"legacy-iptables",
           fmt::format("legacy iptables tables are loaded ({}): their chains run on the same hooks as nftables' and a drop in "
                       "them is final, so they can block what the policy allows, but nft cannot list them and the audit does "
                       "not read them (see iptables-legacy-save and ip6tables-legacy-save)",
                       join(fw_.legacy_tables, ", ")),
           "", std::nullopt});
  }

 private:
  void finding(ListenerReport& lr, std::string code, std::string row, std::string message) {
    lr.finding = code;
    r_.findings.push_back({std::move(code), std::move(message), std::move(row), r_.listeners.size()});
  }

  const Policy& p_;
  const Firewall& fw_;
  Report& r_;
};

}  // namespace

Report compare(const Policy& policy, const std::vector<sockets::Listener>& listeners, const Firewall& firewall) {
  Report r;
  Auditor a(policy, firewall, r);
  a.firewall(listeners);
  for (const auto& l : listeners) a.listener(l);
  a.needed_ports(listeners);
  return r;
}

}  // namespace portmatrix::audit
