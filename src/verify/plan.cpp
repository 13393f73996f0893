// Planning verify's probes: which addresses stand for each system, and which
// connections to try for every row. Pure: no namespaces, no sockets.
#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "verify/topology.hpp"

namespace portmatrix {

std::string Probe::describe() const {
  auto ep = [&](const IpAddr& a, std::uint16_t port) {
    if (!has_ports(protocol)) return a.family == Family::ipv6 ? fmt::format("[{}]", a.to_string()) : a.to_string();
    return a.family == Family::ipv6 ? fmt::format("[{}]:{}", a.to_string(), port) : fmt::format("{}:{}", a.to_string(), port);
  };
  return fmt::format("{} {} -> {} {}/{}", from, ep(src, sport), to, ep(dst, dport), to_string(protocol));
}

namespace verify {

namespace {

// Documentation addresses that stand for "any" when no system claims them.
const char* kAnyCandidates4[] = {"203.0.113.254", "198.51.100.254", "192.0.2.254", "203.0.113.253", "198.51.100.253"};
const char* kAnyCandidates6[] = {"2001:db8:ffff::fe", "2001:db8:fffe::fe", "2001:db8:fffd::fe"};

IpAddr nth_in(const Prefix& p, u128 n) {
  if (p.addr.family == Family::ipv4) return IpAddr::v4(p.addr.v4_value() + static_cast<std::uint32_t>(n));
  return IpAddr::v6(p.addr.v6_value() + n);
}

u128 size_of(const Prefix& p) {
  int host_bits = p.addr.bits() - p.len;
  return host_bits >= 127 ? ~u128(0) : (u128(1) << host_bits);
}

}  // namespace

Topology plan_topology(const Policy& policy, const VerifyOptions& opt, std::vector<std::string>& notes) {
  Topology t;
  std::mt19937 rng(opt.seed);
  std::set<IpAddr> taken;
  std::vector<Family> families;
  if (opt.ipv4) families.push_back(Family::ipv4);
  if (opt.ipv6) families.push_back(Family::ipv6);

  for (Family f : families) {
    const auto& ps = policy.host_addresses.prefixes(f);
    if (ps.empty()) {
      notes.push_back(fmt::format("the host has no {} address: {} is not probed", f == Family::ipv4 ? "IPv4" : "IPv6",
                                  f == Family::ipv4 ? "IPv4" : "IPv6"));
      continue;
    }
    IpAddr a = ps[0].len == 0 ? *parse_ip(f == Family::ipv4 ? "192.0.2.1" : "2001:db8::1")
                              : (ps[0].is_host() ? ps[0].addr : nth_in(ps[0], 1));
    t.host.push_back(a);
    taken.insert(a);
  }

  for (const auto& sys : policy.systems) {
    if (sys.name == policy.host) continue;
    std::string iface = sys.interfaces.empty() ? std::string(kDefaultIface) : sys.interfaces.front();
    for (Family f : families) {
      if (std::none_of(t.host.begin(), t.host.end(), [&](const IpAddr& h) { return h.family == f; })) continue;
      const auto& ps = sys.addresses.prefixes(f);
      std::vector<IpAddr> candidates;
      if (sys.addresses.is_any(f)) {
        for (const char* c : f == Family::ipv4 ? std::vector<const char*>(std::begin(kAnyCandidates4), std::end(kAnyCandidates4))
                                               : std::vector<const char*>(std::begin(kAnyCandidates6), std::end(kAnyCandidates6)))
          candidates.push_back(*parse_ip(c));
      } else {
        // At most two prefixes per family; inside each, the first addresses and a random one.
        for (std::size_t i = 0; i < ps.size() && i < 2; ++i) {
          const Prefix& p = ps[i];
          if (p.is_host()) {
            candidates.push_back(p.addr);
            continue;
          }
          u128 n = size_of(p);
          for (u128 k : {u128(1), u128(2), u128(3)})
            if (k < n) candidates.push_back(nth_in(p, k));
          if (n > 4) candidates.push_back(nth_in(p, 4 + (u128(rng()) % (n - 4 > 1000000 ? 1000000 : n - 4))));
        }
      }
      // Prefer addresses whose most specific system is this one, so probes stand for it alone.
      int picked = 0;
      std::set<const Prefix*> used_prefix;
      for (const auto& c : candidates) {
        if (picked >= (sys.addresses.is_any(f) ? 1 : std::min<int>(2, int(ps.size())))) break;
        if (taken.count(c) || c.is_loopback()) continue;
        const SystemBinding* owner = policy.system_of(c);
        if (owner && owner->name != sys.name) continue;
        const Prefix* from = nullptr;
        for (const auto& p : ps)
          if (p.contains(c)) from = &p;
        if (from && used_prefix.count(from)) continue;
        used_prefix.insert(from);
        taken.insert(c);
        t.peers.push_back({sys.name, c, iface});
        ++picked;
      }
      if (picked == 0 && !ps.empty())
        notes.push_back(fmt::format("no free {} address stands for '{}' alone (its addresses overlap other systems'); "
                                    "it is probed through them",
                                    f == Family::ipv4 ? "IPv4" : "IPv6", sys.name));
    }
  }
  std::set<std::string> ifaces;
  for (const auto& p : t.peers) ifaces.insert(p.iface);
  // Keep the site's order, the default interface last.
  for (const auto& i : policy.interfaces)
    if (ifaces.count(i)) t.interfaces.push_back(i);
  if (ifaces.count(std::string(kDefaultIface))) t.interfaces.push_back(std::string(kDefaultIface));
  return t;
}

std::vector<const Peer*> Topology::peers_of(const std::string& system) const {
  std::vector<const Peer*> out;
  for (const auto& p : peers)
    if (p.system == system) out.push_back(&p);
  return out;
}

const IpAddr* Topology::host_addr(Family f) const {
  for (const auto& h : host)
    if (h.family == f) return &h;
  return nullptr;
}

}  // namespace verify

namespace {

using verify::Peer;
using verify::Topology;

class Planner {
 public:
  Planner(const Policy& p, const VerifyOptions& o, const Topology& t, std::vector<std::string>& notes)
      : p_(p), o_(o), t_(t), notes_(notes), rng_(o.seed + 1) {}

  std::vector<Probe> plan() {
    for (const auto& rb : p_.rows) plan_row(rb);
    plan_unlisted();
    plan_echo();
    // Edge and outsider probes reach the same notes as the row's own probes; say each once.
    std::set<std::string> said;
    std::erase_if(notes_, [&](const std::string& n) { return !said.insert(n).second; });
    return std::move(probes_);
  }

 private:
  std::uint16_t pick(const PortSet& s) {
    std::uniform_int_distribution<std::uint32_t> d(0, s.count() - 1);
    std::uint32_t k = d(rng_);
    for (const auto& r : s.ranges()) {
      if (k < r.size()) return static_cast<std::uint16_t>(r.lo + k);
      k -= r.size();
    }
    return s.ranges().front().lo;
  }

  // Both ends of every range (up to three ranges) and two random ports inside.
  std::vector<std::uint16_t> samples(const PortSet& s) {
    std::set<std::uint16_t> out;
    std::size_t n = 0;
    for (const auto& r : s.ranges()) {
      if (n++ >= 3) break;
      out.insert(r.lo);
      out.insert(r.hi);
    }
    if (s.count() > out.size())
      for (int i = 0; i < 2; ++i) out.insert(pick(s));
    return {out.begin(), out.end()};
  }

  static std::vector<std::uint16_t> ports_of(const PortSet& s) {
    std::vector<std::uint16_t> out;
    for (const auto& r : s.ranges())
      for (std::uint32_t p = r.lo; p <= r.hi; ++p) out.push_back(static_cast<std::uint16_t>(p));
    return out;
  }

  Verdict predict(const Probe& pr, const std::string& iface) {
    Packet pkt;
    pkt.src = pr.src;
    pkt.dst = pr.dst;
    pkt.sport = pr.sport;
    pkt.dport = pr.dport;
    pkt.protocol = pr.protocol;
    pkt.icmp_type = pr.protocol == Protocol::icmp ? 8 : pr.protocol == Protocol::icmpv6 ? 128 : 0;  // echo request
    pkt.ct = CtState::new_;
    if (iface == kLoopback) {
      // Loopback traffic passes the output chain, then the input chain.
      pkt.iface = std::string(kLoopback);
      pkt.direction = Direction::out;
      Verdict out = evaluate(p_, pkt);
      if (out.action != Action::accept) return out;
      pkt.direction = Direction::in;
      return evaluate(p_, pkt);
    }
    pkt.iface = iface;
    pkt.direction = pr.from_host ? Direction::out : Direction::in;
    return evaluate(p_, pkt);
  }

  // Adds a probe unless one with the same socket pair (in either direction) exists:
  // two connections on one socket pair cannot run side by side.
  void add(Probe pr, const std::string& iface) {
    auto a = std::make_pair(pr.src, pr.sport), b = std::make_pair(pr.dst, pr.dport);
    if (b < a) std::swap(a, b);
    // Echo probes have no ports: each ping socket gets its own identifier, so they never collide.
    if (has_ports(pr.protocol) && !pairs_.insert({pr.protocol, a, b}).second) return;
    pr.predicted = predict(pr, iface);
    probes_.push_back(std::move(pr));
  }

  void loopback_probes(const RowBinding& rb, const std::string& kind) {
    for (Family f : {Family::ipv4, Family::ipv6}) {
      if ((f == Family::ipv4 && !o_.ipv4) || (f == Family::ipv6 && !o_.ipv6)) continue;
      IpAddr lo = *parse_ip(f == Family::ipv4 ? "127.0.0.1" : "::1");
      for (Protocol proto : rb.protocols) {
        if (!has_ports(proto)) continue;
        for (auto port : samples(rb.dport)) {
          Probe pr{rb.id, kind, p_.host, p_.host, proto, lo, lo, pick(PortSet({p_.ephemeral})), port, true, {}};
          add(pr, std::string(kLoopback));
        }
      }
    }
  }

  // Probes from each sample of the initiating systems to each sample of the listeners.
  void between(const RowBinding& rb, const std::vector<std::string>& initiators, const std::vector<std::string>& listeners,
               const std::string& kind, bool all_ports = false) {
    for (const auto& from : initiators) {
      for (const auto& to : listeners) {
        if (from == to) continue;
        const bool from_host = from == p_.host, to_host = to == p_.host;
        if (!from_host && !to_host) continue;
        const std::string& peer_name = from_host ? to : from;
        auto peers = t_.peers_of(peer_name);
        if (peers.empty()) {
          notes_.push_back(fmt::format("row '{}': '{}' has no address at this site; not probed", rb.id, peer_name));
          continue;
        }
        for (const Peer* peer : peers) {
          const IpAddr* host = t_.host_addr(peer->addr.family);
          if (!host) continue;
          for (Protocol proto : rb.protocols) {
            if (!has_ports(proto)) {
              notes_.push_back(fmt::format("row '{}': {} is not probed (only tcp and udp are)", rb.id, to_string(proto)));
              continue;
            }
            for (auto port : all_ports ? ports_of(rb.dport) : samples(rb.dport)) {
              Probe pr;
              pr.row = rb.id;
              pr.kind = kind;
              pr.from = from;
              pr.to = to;
              pr.protocol = proto;
              pr.src = from_host ? *host : peer->addr;
              pr.dst = from_host ? peer->addr : *host;
              pr.sport = pick(rb.sport);
              pr.dport = port;
              pr.from_host = from_host;
              add(pr, peer->iface);
            }
          }
        }
      }
    }
  }

  // The ports just outside each of the row's ranges (lo-1, hi+1), from the
  // row's own initiators: a backend that opens one port too many is caught.
  void edges(const RowBinding& rb, const std::vector<std::string>& initiators, const std::vector<std::string>& listeners) {
    PortSet outside;
    for (const auto& r : rb.dport.ranges()) {
      if (r.lo > 1) outside.add(PortRange{static_cast<std::uint16_t>(r.lo - 1), static_cast<std::uint16_t>(r.lo - 1)});
      if (r.hi < 65535) outside.add(PortRange{static_cast<std::uint16_t>(r.hi + 1), static_cast<std::uint16_t>(r.hi + 1)});
    }
    outside = outside.subtract(rb.dport);
    if (outside.empty()) return;
    RowBinding edge = rb;
    edge.dport = outside;
    between(edge, initiators, listeners, "edge", /*all_ports=*/true);
  }

  // The row's ports from (or to) systems the row does not name, one per host
  // interface and family: a rule that lost its interface or address match is caught.
  void outsiders(const RowBinding& rb, bool into_host) {
    const auto& named = into_host ? rb.sources : rb.destinations;
    std::set<std::pair<std::string, Family>> seen;
    std::vector<std::string> others;
    for (const auto& peer : t_.peers) {
      if (std::count(named.begin(), named.end(), peer.system)) continue;
      if (!seen.insert({peer.iface, peer.addr.family}).second) continue;
      if (std::find(others.begin(), others.end(), peer.system) == others.end()) others.push_back(peer.system);
    }
    if (others.empty()) return;
    RowBinding ends = rb;
    ends.dport = PortSet({PortRange{rb.dport.ranges().front().lo, rb.dport.ranges().front().lo},
                          PortRange{rb.dport.ranges().back().hi, rb.dport.ranges().back().hi}});
    if (into_host) between(ends, others, {p_.host}, "outsider", true);
    else between(ends, {p_.host}, others, "outsider", true);
  }

  void plan_row(const RowBinding& rb) {
    if (!rb.host_involved) {
      notes_.push_back(fmt::format("row '{}': neither end is the host; nothing to probe here", rb.id));
      return;
    }
    std::vector<std::string> reverse_src = rb.destinations, reverse_dst = rb.sources;
    switch (rb.when_firewalled) {
      case FirewallAction::closed:
        loopback_probes(rb, rb.enabled ? "closed" : "disabled");
        between(rb, rb.sources, rb.destinations, rb.enabled ? "closed" : "disabled");
        // Also from every system that talks to the host: the port is closed to all.
        if (rb.enabled) {
          std::vector<std::string> others;
          for (const auto& peer : t_.peers)
            if (std::find(others.begin(), others.end(), peer.system) == others.end()) others.push_back(peer.system);
          between(rb, others, {p_.host}, "closed");
        }
        break;
      case FirewallAction::localhost_only:
        if (rb.enabled) loopback_probes(rb, "localhost");
        between(rb, rb.sources, rb.destinations, rb.enabled ? "not-localhost" : "disabled");
        if (rb.enabled && !rb.dport.empty()) outsiders(rb, true);
        break;
      case FirewallAction::allow:
        if (std::count(rb.sources.begin(), rb.sources.end(), p_.host) &&
            std::count(rb.destinations.begin(), rb.destinations.end(), p_.host))
          loopback_probes(rb, rb.enabled ? "allowed" : "disabled");
        between(rb, rb.sources, rb.destinations, rb.enabled ? "allowed" : "disabled");
        if (rb.symmetric) between(rb, reverse_src, reverse_dst, rb.enabled ? "reverse" : "disabled");
        if (rb.enabled && !rb.dport.empty()) {
          edges(rb, rb.sources, rb.destinations);
          if (rb.symmetric) edges(rb, reverse_src, reverse_dst);
          const bool in = std::count(rb.destinations.begin(), rb.destinations.end(), p_.host) > 0;
          const bool out = std::count(rb.sources.begin(), rb.sources.end(), p_.host) > 0;
          if (in || rb.symmetric) outsiders(rb, true);
          if (out || rb.symmetric) outsiders(rb, false);
        }
        break;
    }
  }

  void plan_unlisted() {
    // Ports no enabled row names, in each direction.
    PortSet listed_in_tcp, listed_out_tcp, listed_in_udp, listed_out_udp;
    for (const auto& r : p_.rules) {
      if (r.action != Action::accept) continue;
      PortSet& s = r.protocol == Protocol::tcp ? (r.direction == Direction::in ? listed_in_tcp : listed_out_tcp)
                                               : (r.direction == Direction::in ? listed_in_udp : listed_out_udp);
      s.add(r.dport);
    }
    for (const auto& peer : t_.peers) {
      const IpAddr* host = t_.host_addr(peer.addr.family);
      if (!host) continue;
      for (int dir = 0; dir < 2; ++dir) {
        const bool from_host = dir == 1;
        for (int i = 0; i < o_.unlisted_ports; ++i) {
          Protocol proto = i % 3 == 2 ? Protocol::udp : Protocol::tcp;
          const PortSet& listed = proto == Protocol::tcp ? (from_host ? listed_out_tcp : listed_in_tcp)
                                                         : (from_host ? listed_out_udp : listed_in_udp);
          PortSet free = PortSet({{1, 65535}}).subtract(listed);
          if (free.empty()) continue;
          Probe pr;
          pr.kind = "unlisted";
          pr.from = from_host ? p_.host : peer.system;
          pr.to = from_host ? peer.system : p_.host;
          pr.protocol = proto;
          pr.src = from_host ? *host : peer.addr;
          pr.dst = from_host ? peer.addr : *host;
          pr.sport = pick(PortSet({p_.ephemeral}));
          pr.dport = pick(free);
          pr.from_host = from_host;
          add(pr, peer.iface);
        }
      }
    }
  }

  // ICMP and ICMPv6 echo requests from every peer to the host and back: the
  // site's `echo` setting, and ICMP any row allows, seen in the kernel.
  void plan_echo() {
    for (const auto& peer : t_.peers) {
      const IpAddr* host = t_.host_addr(peer.addr.family);
      if (!host) continue;
      for (const bool from_host : {false, true}) {
        Probe pr;
        pr.kind = p_.allow_echo ? "echo" : "echo-off";
        pr.from = from_host ? p_.host : peer.system;
        pr.to = from_host ? peer.system : p_.host;
        pr.protocol = peer.addr.family == Family::ipv4 ? Protocol::icmp : Protocol::icmpv6;
        pr.src = from_host ? *host : peer.addr;
        pr.dst = from_host ? peer.addr : *host;
        pr.from_host = from_host;
        add(pr, peer.iface);
      }
    }
  }

  const Policy& p_;
  const VerifyOptions& o_;
  const Topology& t_;
  std::vector<std::string>& notes_;
  std::mt19937 rng_;
  std::vector<Probe> probes_;
  std::set<std::tuple<Protocol, std::pair<IpAddr, std::uint16_t>, std::pair<IpAddr, std::uint16_t>>> pairs_;
};

}  // namespace

namespace verify {
std::vector<Probe> plan_probes(const Policy& policy, const VerifyOptions& options, const Topology& topology,
                               std::vector<std::string>& notes) {
  return Planner(policy, options, topology, notes).plan();
}
}  // namespace verify

std::vector<Probe> plan_probes(const Policy& policy, const VerifyOptions& options, std::vector<std::string>* notes) {
  std::vector<std::string> local;
  auto& n = notes ? *notes : local;
  auto t = verify::plan_topology(policy, options, n);
  return verify::plan_probes(policy, options, t, n);
}

}  // namespace portmatrix
