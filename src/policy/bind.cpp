// Matrix + site -> Policy IR.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "portmatrix/texttable.hpp"
#include "portmatrix/site.hpp"

namespace portmatrix {

namespace {

class Binder {
 public:
  Binder(const Matrix& m, const Site& s, Diagnostics& d) : m_(m), s_(s), d_(d) {}

  std::optional<Policy> bind() {
    check_names();
    Policy p;
    p.matrix = m_.name;
    p.host = s_.host;
    p.ephemeral = s_.ephemeral;
    p.default_action = s_.default_action;
    p.allow_echo = s_.allow_echo;
    p.log_dropped = s_.log_dropped;
    p.log_rate = s_.log_rate;
    p.log_prefix = s_.log_prefix;
    for (const auto& i : s_.interfaces) p.interfaces.push_back(i.name);
    for (const auto& sys : s_.systems) {
      SystemBinding b{sys.name, sys.addresses, {}};
      for (const auto& i : s_.interfaces)
        if (std::find(i.systems.begin(), i.systems.end(), sys.name) != i.systems.end()) b.interfaces.push_back(i.name);
      p.systems.push_back(std::move(b));
    }
    const SiteSystem* host = s_.find_system(s_.host);
    if (m_.find_system(s_.host) && !host)
      d_.error(s_.host_loc, fmt::format("the host '{}' needs its addresses under 'systems:'", s_.host));
    if (host) p.host_addresses = host->addresses;

    std::vector<Rule> closed, local, allowed;
    for (const auto& f : m_.flows) p.rows.push_back(bind_row(f, p, closed, local, allowed));
    for (auto* group : {&closed, &local, &allowed}) p.rules.insert(p.rules.end(), group->begin(), group->end());
    if (d_.has_errors()) return std::nullopt;
    return p;
  }

 private:
  void check_names() {
    if (!m_.find_system(s_.host))
      d_.error(s_.host_loc, fmt::format("host '{}' is not a system of matrix '{}'", s_.host, m_.name));
    for (const auto& sys : s_.systems)
      if (!m_.find_system(sys.name))
        d_.error(sys.loc, fmt::format("unknown system '{}' (matrix '{}' has: {})", sys.name, m_.name, system_names()));
    for (const auto& i : s_.interfaces)
      for (const auto& name : i.systems)
        if (!m_.find_system(name))
          d_.error(i.loc, fmt::format("interface {}: unknown system '{}' (matrix '{}' has: {})", i.name, name, m_.name,
                                      system_names()));
        else if (name == s_.host)
          d_.error(i.loc, fmt::format("interface {}: the host '{}' is not reached over its own interface", i.name, name));
    for (const auto& [id, o] : s_.flows) {
      if (!m_.find_flow(id)) {
        std::vector<std::string> ids;
        for (const auto& f : m_.flows) ids.push_back(f.id);
        d_.error(o.loc, fmt::format("unknown row id '{}' (matrix '{}' has: {})", id, m_.name, join(ids)));
      }
    }
  }

  std::string system_names() const {
    std::vector<std::string> v;
    for (const auto& s : m_.systems) v.push_back(s.name);
    return join(v);
  }

  const FlowOverride* override_of(const Flow& f) const {
    auto it = s_.flows.find(f.id);
    return it == s_.flows.end() ? nullptr : &it->second;
  }

  SourceLoc where(const Flow& f) const {
    if (const auto* o = override_of(f)) return o->loc;
    return {s_.file, 1, 1};
  }

  PortSet resolve_ports(const Flow& f, const PortSpec& spec, const std::optional<PortSet>& over, const SourceLoc& loc,
                        std::string_view what) {
    PortSet documented = spec.resolve(s_.ephemeral);
    if (!over) return documented;
    if (!over->subset_of(documented))
      d_.warning(loc, fmt::format("row '{}': {} {} go beyond the matrix's {} ({})", f.id, what, over->to_string(),
                                  spec.to_string(), over->subtract(documented).to_string()));
    return *over;
  }

  // Addresses per interface group of the named systems (the host left out).
  std::map<std::string, AddrSet> groups(const Flow& f, const std::vector<std::string>& names, const Policy& p) {
    std::map<std::string, AddrSet> out;
    for (const auto& name : names) {
      if (name == s_.host) continue;
      const SystemBinding* b = p.find_system(name);
      if (!b) {
        d_.error(override_of(f) ? where(f) : s_.systems_loc,
                 fmt::format("row '{}' is enabled and needs the addresses of '{}': add it under 'systems:' "
                                       "(an empty list if the site has none), or disable the row",
                                       f.id, name));
        continue;
      }
      if (b->addresses.empty()) continue;  // the site says it has no such system
      if (b->interfaces.empty()) out[""].add(b->addresses);
      for (const auto& i : b->interfaces) out[i].add(b->addresses);
    }
    return out;
  }

  RowBinding bind_row(const Flow& f, const Policy& p, std::vector<Rule>& closed, std::vector<Rule>& local,
                      std::vector<Rule>& allowed) {
    const FlowOverride* o = override_of(f);
    RowBinding rb;
    rb.id = f.id;
    rb.when_firewalled = f.when_firewalled;
    rb.sources = f.sources;
    rb.destinations = f.destinations;
    rb.symmetric = f.symmetric;
    rb.enabled = row_enabled(f, s_);
    const bool host_src = std::count(f.sources.begin(), f.sources.end(), s_.host) > 0;
    const bool host_dst = std::count(f.destinations.begin(), f.destinations.end(), s_.host) > 0;
    rb.host_involved = host_src || host_dst;
    if (o && o->enabled && !*o->enabled && !f.optional)
      d_.warning(o->enabled_loc, fmt::format("row '{}' is not optional in the matrix; disabling it may stop the product "
                                             "from working",
                                             f.id));
    rb.sport = resolve_ports(f, f.source_ports, o ? o->source_ports : std::nullopt, o ? o->source_ports_loc : SourceLoc{},
                             "source ports");
    rb.dport = resolve_ports(f, f.destination_ports, o ? o->destination_ports : std::nullopt,
                             o ? o->destination_ports_loc : SourceLoc{}, "destination ports");
    ProtocolSet protos = o && o->protocols ? *o->protocols : f.protocols;
    if (o && o->protocols && !f.protocols.unknown()) {
      // Like ports: narrowing a row is the site's business, widening it departs from the matrix.
      std::vector<std::string> beyond, documented;
      for (Protocol x : o->protocols->list())
        if (!f.protocols.has(x)) beyond.emplace_back(to_string(x));
      for (Protocol x : f.protocols.list()) documented.emplace_back(to_string(x));
      if (!beyond.empty())
        d_.warning(o->protocols_loc, fmt::format("row '{}': protocols {} go beyond the matrix's ({})", f.id,
                                                 join(beyond, ", "), join(documented, ", ")));
    }
    if (protos.unknown() && f.when_firewalled == FirewallAction::closed) protos = {Protocol::tcp, Protocol::udp};
    rb.protocols = protos.list();

    if (!rb.enabled) {
      rb.reason = o && o->enabled ? "disabled by the site" : "add-on, not enabled by the site";
      return rb;
    }
    if (!rb.host_involved) {
      rb.reason = fmt::format("neither end is the host '{}'", s_.host);
      return rb;
    }
    if (protos.unknown()) {
      d_.error(where(f), fmt::format("row '{}' is enabled but the matrix does not name its protocol (NA): set "
                                     "'flows: {{{}: {{protocols: [tcp]}}}}' or disable the row",
                                     f.id, f.id));
      return rb;
    }

    auto rule = [&](Direction dir, std::string iface, Protocol proto, AddrSet src, AddrSet dst, Action act) {
      Rule r;
      r.direction = dir;
      r.iface = std::move(iface);
      r.protocol = proto;
      r.src = std::move(src);
      r.dst = std::move(dst);
      r.sport = has_ports(proto) ? rb.sport : PortSet::full();
      r.dport = has_ports(proto) ? rb.dport : PortSet::full();
      r.action = act;
      r.row = f.id;
      return r;
    };

    switch (f.when_firewalled) {
      case FirewallAction::closed:
        // The input chain sees only traffic to the host, including loopback: close the port to all of it,
        // whatever the source port.
        for (Protocol proto : rb.protocols) {
          closed.push_back(rule(Direction::in, "", proto, AddrSet::any(), AddrSet::any(), s_.default_action));
          closed.back().sport = PortSet::full();
        }
        break;
      case FirewallAction::localhost_only:
        // The client is the host itself, whose own ephemeral range the site does not describe.
        for (Protocol proto : rb.protocols) {
          local.push_back(rule(Direction::in, std::string(kLoopback), proto, AddrSet::any(), AddrSet::any(), Action::accept));
          local.back().sport = PortSet::full();
        }
        break;
      case FirewallAction::allow: {
        const AddrSet& host = p.host_addresses;
        if (host_dst) {
          // Peers that start connections to the host; a symmetric row's destinations do so too.
          std::vector<std::string> initiators = f.sources;
          if (f.symmetric) initiators.insert(initiators.end(), f.destinations.begin(), f.destinations.end());
          for (auto& [iface, addrs] : groups(f, initiators, p))
            for (Protocol proto : rb.protocols) allowed.push_back(rule(Direction::in, iface, proto, addrs, host, Action::accept));
          if (host_src)
            for (Protocol proto : rb.protocols) {
              allowed.push_back(rule(Direction::in, std::string(kLoopback), proto, AddrSet::any(), AddrSet::any(), Action::accept));
              allowed.back().sport = PortSet::full();
            }
        }
        if (host_src) {
          std::vector<std::string> targets = f.destinations;
          if (f.symmetric) targets.insert(targets.end(), f.sources.begin(), f.sources.end());
          for (auto& [iface, addrs] : groups(f, targets, p))
            for (Protocol proto : rb.protocols) allowed.push_back(rule(Direction::out, iface, proto, host, addrs, Action::accept));
          if (f.symmetric && !host_dst)
            for (auto& [iface, addrs] : groups(f, f.destinations, p))
              for (Protocol proto : rb.protocols) allowed.push_back(rule(Direction::in, iface, proto, addrs, host, Action::accept));
        }
        break;
      }
    }
    return rb;
  }

  const Matrix& m_;
  const Site& s_;
  Diagnostics& d_;
};

}  // namespace

Parsed<Policy> bind_policy(const Matrix& m, const Site& s) {
  Parsed<Policy> out;
  Binder b(m, s, out.diags);
  auto p = b.bind();
  if (p && !out.diags.has_errors()) out.value = std::move(p);
  return out;
}

}  // namespace portmatrix
