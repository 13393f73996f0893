// Compiling the policy IR into classifiers (PolicyClassifier).
#include "portmatrix/policy_classifier.hpp"

#include <fmt/format.h>

namespace portmatrix {

namespace {

std::vector<PortRange> port_ranges(const Rule& r, const PortSet& s) {
  // Ports only take part for TCP and UDP (rule_matches ignores them otherwise).
  if (!has_ports(r.protocol)) return {{0, 65535}};
  return s.ranges();
}

// Appends the classifier rules of one IR rule for one family.
template <class Addr, class Ranges>
void expand(const Rule& r, int index, std::uint32_t iface, const Ranges& src, const Ranges& dst,
            std::vector<BasicClassRule<Addr>>& out) {
  for (const auto& [slo, shi] : src)
    for (const auto& [dlo, dhi] : dst)
      for (const PortRange& sp : port_ranges(r, r.sport))
        for (const PortRange& dp : port_ranges(r, r.dport)) {
          BasicClassRule<Addr> c;
          c.src_lo = slo, c.src_hi = shi, c.dst_lo = dlo, c.dst_hi = dhi;
          c.sport_lo = sp.lo, c.sport_hi = sp.hi, c.dport_lo = dp.lo, c.dport_hi = dp.hi;
          c.proto = static_cast<std::uint8_t>(r.protocol), c.proto_mask = 0xff;
          c.direction = r.direction == Direction::in ? 0 : 1;
          c.iface = iface;
          c.id = index;
          out.push_back(c);
        }
}

}  // namespace

Expected<PolicyClassifier> PolicyClassifier::compile(const Policy& policy, const ClassifierVariant* variant,
                                                     const ClassifierOptions& options) {
  PolicyClassifier pc;
  pc.policy_ = policy;
  std::vector<ClassRule> v4;
  std::vector<ClassRule6> v6;
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& r = policy.rules[i];
    std::uint32_t iface = kAnyTag;
    if (!r.iface.empty()) {
      auto [it, fresh] = pc.ifaces_.try_emplace(r.iface, static_cast<std::uint32_t>(pc.ifaces_.size() + 1));
      if (it->second > kMaxIfaceId)
        return Error{Error::Kind::input, fmt::format("the policy names more than {} interfaces", kMaxIfaceId)};
      iface = it->second;
    }
    const int index = static_cast<int>(i);
    expand<std::uint32_t>(r, index, iface, r.src.v4_ranges(), r.dst.v4_ranges(), v4);
    expand<u128>(r, index, iface, r.src.v6_ranges(), r.dst.v6_ranges(), v6);
  }
  pc.entries_ = v4.size() + v6.size();
  pc.v4_ = build_classifier(v4, variant, options);
  pc.v6_ = std::make_unique<Classifier6>(v6, variant, options);
  return pc;
}

int PolicyClassifier::first_rule(const Packet& p) const {
  if (p.src.family != p.dst.family) {
    // No header has two families; rule_matches would test each address in its
    // own family, which the compiled form does not model. Ask the reference.
    for (std::size_t i = 0; i < policy_.rules.size(); ++i)
      if (rule_matches(policy_.rules[i], p)) return static_cast<int>(i);
    return -1;
  }
  const bool ports = has_ports(p.protocol);
  std::uint32_t iface = 0;
  if (auto it = ifaces_.find(p.iface); it != ifaces_.end()) iface = it->second;
  // The fields both key families share; the caller sets the addresses.
  auto fill = [&](auto& k) {
    k.sport = ports ? p.sport : 0, k.dport = ports ? p.dport : 0;
    k.proto = static_cast<std::uint8_t>(p.protocol);
    k.direction = p.direction == Direction::in ? 0 : 1;
    k.iface = iface;
  };
  if (p.src.family == Family::ipv4) {
    ClassKey k;
    k.src = p.src.v4_value(), k.dst = p.dst.v4_value();
    fill(k);
    return v4_->classify(k);
  }
  ClassKey6 k;
  k.src = p.src.v6_value(), k.dst = p.dst.v6_value();
  fill(k);
  return v6_->classify(k);
}

Verdict PolicyClassifier::evaluate(const Packet& p) const {
  return evaluate_frame(policy_, p, [&] { return first_rule(p); });
}

std::size_t PolicyClassifier::memory_bytes() const { return v4_->memory_bytes() + v6_->memory_bytes(); }

}  // namespace portmatrix
