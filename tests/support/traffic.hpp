// Seeded random traffic for the engine's differential tests: Ethernet frames
// (some VLAN-tagged) of TCP conversations with realistic and unrealistic flag
// sequences, UDP, ICMP and ICMPv6 queries, ICMP errors quoting recent flows, IPv4
// and IPv6 fragments, other IP protocols, non-IP frames and damaged frames, over
// small pools of hosts and ports so that packets meet their connections again.
// Timestamps advance irregularly (gaps that fire timeouts, ties, steps back).
#pragma once
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "support/packets.hpp"

namespace pmtest::traffic {

using pkt::Bytes;
inline constexpr std::uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmp6 = 58;

// A small deterministic generator (PCG-style LCG), the same on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  std::uint64_t next() {
    s_ = s_ * 6364136223846793005ull + 1442695040888963407ull;
    return s_ >> 17;
  }
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  std::uint64_t s_;
};

struct Profile {
  int hosts = 6;              // addresses per family
  int ports = 6;              // client ports per host
  unsigned v6_percent = 30;
  unsigned damaged_percent = 3;
  unsigned fragment_percent = 4;
  unsigned icmp_error_percent = 4;
  unsigned vlan_percent = 15;
  std::int64_t max_gap_ns = 2'000'000'000;  // usual gap between packets is up to this
  unsigned long_gap_percent = 2;            // ... and sometimes minutes
  unsigned back_step_percent = 2;           // a timestamp earlier than the last
  unsigned tie_percent = 10;                // the same timestamp as the last
};

// Flips, cuts or extends a frame to exercise every decoder's checks.
inline void damage(Rng& r, Bytes& f) {
  switch (r.below(5)) {
    case 0:
      if (!f.empty()) f.resize(r.below(f.size()));
      break;
    case 1:
      for (int i = 0, n = 1 + static_cast<int>(r.below(4)); i < n && !f.empty(); ++i)
        f[r.below(f.size())] ^= static_cast<std::uint8_t>(1u << r.below(8));
      break;
    case 2:
      if (f.size() > 14) f[14 + r.below(std::min<std::size_t>(f.size() - 14, 60))] = static_cast<std::uint8_t>(r.next());
      break;
    case 3: f.resize(f.size() + r.below(40), 0); break;
    default:
      if (f.size() > 16) f[14] = static_cast<std::uint8_t>(0x40 | r.below(16));  // IHL anything
      break;
  }
}

class Generator {
 public:
  Generator(std::uint64_t seed, Profile p = {}) : r_(seed), p_(p) {}

  // The next frame (Ethernet) with its timestamp and capture interface.
  pkt::Rec next() {
    advance_clock();
    pkt::Rec rec;
    rec.ts_ns = t_;
    rec.iface = static_cast<std::uint32_t>(r_.below(3));
    Bytes ip;
    bool v6 = r_.chance(p_.v6_percent);
    std::uint64_t what = r_.below(100);
    if (what < 2) {
      rec.data = pkt::ether(pkt::kArp, pkt::filler(28));
      return rec;
    }
    if (what < 2 + p_.icmp_error_percent && !recent_.empty()) {
      ip = icmp_error();
    } else if (what < 2 + p_.icmp_error_percent + p_.fragment_percent) {
      ip = fragment(v6);
    } else if (what < 60) {
      ip = tcp(v6);
    } else if (what < 85) {
      ip = udp(v6);
    } else if (what < 95) {
      ip = icmp_query(v6);
    } else {
      ip = other(v6);
    }
    if (ip.size() < 60 && r_.chance(50)) ip.resize(ip.size() + r_.below(8), 0);  // link padding
    bool v6frame = !ip.empty() && (ip[0] >> 4) == 6;
    std::uint16_t type = v6frame ? pkt::kIpv6 : pkt::kIpv4;
    if (r_.chance(p_.vlan_percent)) {
      if (r_.chance(20)) {
        rec.data = pkt::ether(type, ip, {{0x88a8, 7}, {0x8100, static_cast<std::uint16_t>(r_.below(4096))}});
      } else {
        rec.data = pkt::ether(type, ip, {{0x8100, static_cast<std::uint16_t>(r_.below(4096))}});
      }
    } else {
      rec.data = pkt::ether(type, ip);
    }
    if (r_.chance(p_.damaged_percent)) damage(r_, rec.data);
    return rec;
  }

  std::vector<pkt::Rec> take(std::size_t n) {
    std::vector<pkt::Rec> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(next());
    return out;
  }

 private:
  struct Sock {
    std::string a, b;
    std::uint16_t pa, pb;
    bool v6;
    std::uint8_t proto;
  };

  void advance_clock() {
    if (r_.chance(p_.tie_percent)) return;
    if (r_.chance(p_.back_step_percent)) {
      t_ -= static_cast<std::int64_t>(r_.below(5'000'000'000));
      return;
    }
    if (r_.chance(p_.long_gap_percent)) {
      t_ += static_cast<std::int64_t>(r_.below(200)) * 1'000'000'000;
      return;
    }
    t_ += 1 + static_cast<std::int64_t>(r_.below(static_cast<std::uint64_t>(p_.max_gap_ns)));
  }

  std::string host(bool v6, bool server) {
    auto i = r_.below(static_cast<std::uint64_t>(p_.hosts));
    if (v6) return (server ? "2001:db8:2::" : "2001:db8:1::") + std::to_string(i + 1);
    return (server ? "192.0.2." : "198.51.100.") + std::to_string(i + 1);
  }
  std::uint16_t client_port() {
    static constexpr std::uint16_t kPorts[] = {40000, 50001, 60002, 1024, 5060, 49152, 33000, 65535};
    return kPorts[r_.below(std::min<std::uint64_t>(8, static_cast<std::uint64_t>(p_.ports)))];
  }
  std::uint16_t server_port() {
    static constexpr std::uint16_t kPorts[] = {22, 53, 443, 123, 3306, 8080, 5060, 40000};
    return kPorts[r_.below(8)];
  }

  // A socket pair; one side a "client", the other a "server", or the same host and port.
  Sock sock(bool v6, std::uint8_t proto) {
    Sock s{host(v6, false), host(v6, true), client_port(), server_port(), v6, proto};
    if (r_.chance(3)) s.b = s.a, s.pb = s.pa;  // a socket talking to itself
    else if (r_.chance(5)) s.b = host(v6, false);  // client to client
    if (r_.chance(50)) std::swap(s.a, s.b), std::swap(s.pa, s.pb);
    return s;
  }

  Bytes wrap(const Sock& s, bool forward, const Bytes& l4) {
    const std::string& src = forward ? s.a : s.b;
    const std::string& dst = forward ? s.b : s.a;
    if (s.v6) return pkt::ipv6(src.c_str(), dst.c_str(), s.proto, l4);
    pkt::V4Opts o;
    o.id = static_cast<std::uint16_t>(r_.below(65536));
    if (r_.chance(3)) o.options = {7, 7, 4, 0, 0, 0, 0, 1};  // record route, then end of list
    return pkt::ipv4(src.c_str(), dst.c_str(), s.proto, l4, o);
  }

  void remember(const Sock& s, bool forward, const Bytes& ip) {
    Bytes q(ip.begin(), ip.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(ip.size(), s.v6 ? 48 : 28)));
    recent_.push_back({q, s.v6, forward});
    if (recent_.size() > 64) recent_.erase(recent_.begin());
  }

  // TCP: mostly conversations that go on (handshake, data, close, and a new SYN
  // on the same sockets), sometimes a random segment on random sockets.
  Bytes tcp(bool v6) {
    static constexpr std::uint8_t kFlags[] = {0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x00, 0x03, 0x19, 0x10};
    // (flags, from the opener) of a whole conversation; then it starts over.
    static constexpr std::pair<std::uint8_t, bool> kConversation[] = {
        {0x02, true}, {0x12, false}, {0x10, true}, {0x18, true}, {0x18, false}, {0x11, true},
        {0x10, false}, {0x11, false}, {0x10, true}};
    Sock s;
    bool forward;
    std::uint8_t flags;
    if (!live_.empty() && r_.chance(75)) {
      auto& c = live_[r_.below(live_.size())];
      if (r_.chance(8)) c.step = static_cast<int>(r_.below(std::size(kConversation)));  // lost or repeated segments
      auto [f, fwd] = kConversation[c.step];
      c.step = (c.step + 1) % static_cast<int>(std::size(kConversation));
      s = c.sock;
      forward = fwd;
      flags = r_.chance(5) ? kFlags[r_.below(sizeof kFlags)] : f;
    } else {
      s = sock(v6, kTcp);
      forward = r_.chance(55);
      flags = kFlags[r_.below(sizeof kFlags)];
      if (r_.chance(30)) {
        live_.push_back({s, 0});
        if (live_.size() > 24) live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(r_.below(live_.size())));
      }
    }
    std::size_t payload = (flags & 0x08) ? r_.below(200) : 0;
    Bytes l4 = forward ? pkt::tcp(s.pa, s.pb, flags, pkt::filler(payload)) : pkt::tcp(s.pb, s.pa, flags, pkt::filler(payload));
    Bytes ip = wrap(s, forward, l4);
    remember(s, forward, ip);
    return ip;
  }

  Bytes udp(bool v6) {
    Sock s = sock(v6, kUdp);
    bool forward = r_.chance(55);
    std::size_t payload = r_.below(120);
    Bytes l4 = forward ? pkt::udp(s.pa, s.pb, pkt::filler(payload)) : pkt::udp(s.pb, s.pa, pkt::filler(payload));
    Bytes ip = wrap(s, forward, l4);
    remember(s, forward, ip);
    return ip;
  }

  Bytes icmp_query(bool v6) {
    Sock s = sock(v6, v6 ? kIcmp6 : kIcmp);
    static constexpr std::uint8_t kV4[] = {8, 0, 13, 14, 15, 16, 17, 18, 9, 10};
    static constexpr std::uint8_t kV6[] = {128, 129, 133, 135, 136, 130};
    std::uint8_t type = v6 ? kV6[r_.below(sizeof kV6)] : kV4[r_.below(sizeof kV4)];
    auto id = static_cast<std::uint32_t>(r_.below(3));
    Bytes ip = wrap(s, r_.chance(50), pkt::icmp(type, 0, id << 16 | static_cast<std::uint32_t>(r_.below(100)), pkt::filler(r_.below(60))));
    remember(s, true, ip);
    return ip;
  }

  Bytes icmp_error() {
    const auto& q = recent_[r_.below(recent_.size())];
    Bytes quote = q.bytes;
    if (r_.chance(10)) quote.resize(r_.below(quote.size() + 1));
    std::string router = q.v6 ? "2001:db8:ff::1" : "203.0.113.1";
    // The error goes back to the quoted packet's source.
    std::string to = q.v6 ? "2001:db8:1::1" : "198.51.100.1";
    if (q.v6) {
      static constexpr std::uint8_t kTypes[] = {1, 2, 3, 4};
      return pkt::ipv6(router.c_str(), to.c_str(), kIcmp6, pkt::icmp(kTypes[r_.below(4)], 0, 0, quote));
    }
    static constexpr std::uint8_t kTypes[] = {3, 4, 5, 11, 12};
    return pkt::ipv4(router.c_str(), to.c_str(), kIcmp, pkt::icmp(kTypes[r_.below(5)], 3, 0, quote));
  }

  // A first fragment, or a later one: mostly of the last first fragment (attributed), else of anything (orphan).
  Bytes fragment(bool v6) {
    bool first = r_.chance(50);
    Sock s = !first && has_frag_ && r_.chance(70) ? frag_sock_ : sock(v6, r_.chance(70) ? kUdp : kTcp);
    auto id = !first && has_frag_ && s.a == frag_sock_.a ? frag_id_ : static_cast<std::uint16_t>(1 + r_.below(4));
    if (first) frag_sock_ = s, frag_id_ = id, has_frag_ = true;
    Bytes l4;
    if (first) {
      l4 = s.proto == kUdp ? pkt::udp(s.pa, s.pb, pkt::filler(64), 1480) : pkt::tcp(s.pa, s.pb, 0x10, pkt::filler(64));
      if (r_.chance(10)) l4.resize(r_.below(8));  // tiny
    } else {
      l4 = pkt::filler(64 + r_.below(64));
    }
    if (s.v6) {
      Bytes after = pkt::cat(pkt::ext_fragment(s.proto, first ? 0 : static_cast<std::uint16_t>(1 + r_.below(100)), r_.chance(60), id), l4);
      return pkt::ipv6(s.a.c_str(), s.b.c_str(), 44, after);
    }
    pkt::V4Opts o;
    o.id = id;
    o.more_fragments = first || r_.chance(60);
    o.frag_offset8 = first ? 0 : static_cast<std::uint16_t>(1 + r_.below(100));
    return pkt::ipv4(s.a.c_str(), s.b.c_str(), s.proto, l4, o);
  }

  Bytes other(bool v6) {
    Sock s = sock(v6, r_.chance(50) ? 47 : 50);  // GRE, ESP
    if (v6 && r_.chance(50)) {
      // Extension headers before the upper layer.
      Bytes after = pkt::cat(pkt::ext(kUdp, static_cast<std::uint8_t>(r_.below(3))), pkt::udp(s.pa, s.pb, pkt::filler(10)));
      return pkt::ipv6(s.a.c_str(), s.b.c_str(), 0, pkt::cat(pkt::ext(60), after));
    }
    return wrap(s, r_.chance(50), pkt::filler(r_.below(80)));
  }

  struct Quote {
    Bytes bytes;
    bool v6;
    bool forward;
  };

  struct Live {
    Sock sock;
    int step;
  };

  Rng r_;
  Profile p_;
  std::vector<Live> live_;
  Sock frag_sock_;
  std::uint16_t frag_id_ = 0;
  bool has_frag_ = false;
  std::int64_t t_ = 1'700'000'000'000'000'000;
  std::vector<Quote> recent_;
};

}  // namespace pmtest::traffic
