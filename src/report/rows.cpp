// The rows of a report: each matrix row with its binding at the site and what
// the host firewall does with it.
#include <fmt/format.h>

#include "portmatrix/report.hpp"

namespace portmatrix::report {

std::string_view to_string(Fate f) {
  switch (f) {
    case Fate::allowed: return "allowed";
    case Fate::localhost_only: return "localhost-only";
    case Fate::closed: return "closed";
    case Fate::addon_off: return "add-on-off";
    case Fate::site_off: return "disabled";
    case Fate::not_here: return "not-here";
  }
  return "?";
}

std::string_view describe(Fate f) {
  switch (f) {
    case Fate::allowed: return "allowed";
    case Fate::localhost_only: return "localhost only";
    case Fate::closed: return "closed";
    case Fate::addon_off: return "add-on, not enabled";
    case Fate::site_off: return "disabled by the site";
    case Fate::not_here: return "not through this host";
  }
  return "?";
}

const std::vector<Fate>& all_fates() {
  static const std::vector<Fate> fates = {Fate::allowed,   Fate::localhost_only, Fate::closed,
                                          Fate::addon_off, Fate::site_off,       Fate::not_here};
  return fates;
}

Fate fate_of(const Flow& f, const RowBinding* b) {
  if (b && !b->enabled) return f.addon ? Fate::addon_off : Fate::site_off;
  if (!b && f.addon) return Fate::addon_off;
  if (b && !b->host_involved) return Fate::not_here;
  switch (f.when_firewalled) {
    case FirewallAction::allow: return Fate::allowed;
    case FirewallAction::localhost_only: return Fate::localhost_only;
    case FirewallAction::closed: return Fate::closed;
  }
  return Fate::allowed;
}

std::vector<Row> rows(const Input& in) {
  PM_ASSERT(in.matrix, "a report needs a matrix");
  std::vector<Row> out;
  for (const auto& f : in.matrix->flows) {
    Row r;
    r.flow = &f;
    r.binding = in.policy ? in.policy->find_row(f.id) : nullptr;
    r.fate = fate_of(f, r.binding);
    if (r.binding) {
      r.dports = r.binding->dport;
      r.sports = r.binding->sport;
      r.reason = r.binding->reason;
    } else {
      r.dports = f.destination_ports.resolve(kDefaultEphemeral);
      r.sports = f.source_ports.resolve(kDefaultEphemeral);
      if (f.addon) r.reason = "add-on, not part of the standard product";
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<PortClass> port_classes(const PortSet& ports) {
  std::vector<PortClass> out;
  for (PortClass c : {PortClass::well_known, PortClass::registered, PortClass::dynamic}) {
    for (const auto& r : ports.ranges()) {
      // A range spans a class when its ends fall in or around it; port_class is monotonic.
      if (port_class(r.lo) <= c && c <= port_class(r.hi)) {
        out.push_back(c);
        break;
      }
    }
  }
  return out;
}

std::string port_classes_label(const PortSet& ports) {
  std::string s;
  for (PortClass c : port_classes(ports)) s += (s.empty() ? "" : " + ") + std::string(to_string(c));
  return s;
}

}  // namespace portmatrix::report
