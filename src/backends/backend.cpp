#include <fmt/format.h>

#include "portmatrix/backend.hpp"

namespace portmatrix {

Diagnostics Backend::check(const Policy& p) const {
  Diagnostics d;
  const Capabilities c = capabilities();
  auto warn = [&](const std::string& row, std::string what) {
    d.warning({}, fmt::format("{}: row '{}': {}", name(), row, what));
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
  }
  if (p.default_action == Action::reject && !c.reject)
    d.warning({}, fmt::format("{}: the default action 'reject' becomes 'drop'", name()));
  if (p.log_dropped && !c.logging) d.warning({}, fmt::format("{}: cannot log dropped packets; logging left out", name()));
  if (!c.stateful)
    d.warning({}, fmt::format("{}: stateless: replies are admitted by explicit return entries (TCP 'established'), "
                              "and ICMP errors related to a connection are not",
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

}  // namespace portmatrix
