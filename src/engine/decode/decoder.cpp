// Decoder: picks the link decoder by link type, then the network and transport
// decoders by protocol, and keeps the fragment table that gives later IP
// fragments the ports of their first fragment.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "engine/decode/common_case.hpp"
#include "engine/decode/ethernet.hpp"
#include "engine/decode/ipv4.hpp"
#include "engine/decode/ipv6.hpp"
#include "engine/decode/tcp.hpp"
#include "engine/decode/udp.hpp"
#include "engine/decode/layers.hpp"
#include "engine/hash.hpp"
#include "engine/timeutil.hpp"

namespace portmatrix {

std::string_view to_string(DecodeAnomaly a) {
  switch (a) {
    case DecodeAnomaly::none: return "none";
    case DecodeAnomaly::unsupported_linktype: return "unsupported-linktype";
    case DecodeAnomaly::truncated_link: return "truncated-link";
    case DecodeAnomaly::truncated_vlan: return "truncated-vlan";
    case DecodeAnomaly::too_many_vlan_tags: return "too-many-vlan-tags";
    case DecodeAnomaly::bad_ip_version: return "bad-ip-version";
    case DecodeAnomaly::truncated_ipv4: return "truncated-ipv4";
    case DecodeAnomaly::bad_ipv4_header_length: return "bad-ipv4-header-length";
    case DecodeAnomaly::bad_ipv4_total_length: return "bad-ipv4-total-length";
    case DecodeAnomaly::bad_ipv4_options: return "bad-ipv4-options";
    case DecodeAnomaly::truncated_ipv6: return "truncated-ipv6";
    case DecodeAnomaly::bad_ipv6_payload_length: return "bad-ipv6-payload-length";
    case DecodeAnomaly::bad_ipv6_extension: return "bad-ipv6-extension";
    case DecodeAnomaly::too_many_ipv6_extensions: return "too-many-ipv6-extensions";
    case DecodeAnomaly::tiny_fragment: return "tiny-fragment";
    case DecodeAnomaly::orphan_fragment: return "orphan-fragment";
    case DecodeAnomaly::truncated_tcp: return "truncated-tcp";
    case DecodeAnomaly::bad_tcp_offset: return "bad-tcp-offset";
    case DecodeAnomaly::truncated_udp: return "truncated-udp";
    case DecodeAnomaly::bad_udp_length: return "bad-udp-length";
    case DecodeAnomaly::truncated_icmp: return "truncated-icmp";
    case DecodeAnomaly::bad_icmp_quote: return "bad-icmp-quote";
    case DecodeAnomaly::count_: break;
  }
  return "unknown";
}

std::uint64_t DecoderStats::total_anomalies() const {
  std::uint64_t n = 0;
  for (auto c : anomalies) n += c;
  return n;
}

namespace {
// Whether connections of the packet's protocol are told apart by more than
// addresses (ports, an ICMP identifier), so that a later fragment needs its first
// fragment. An IPv6 later fragment may name only an extension header that comes
// before the upper layer: that needs the first fragment too.
bool keyed_beyond_addresses(const FlowKey& k) {
  switch (k.proto) {
    case ipproto::tcp: case ipproto::udp: case ipproto::icmp: case ipproto::icmpv6: return true;
    default: break;
  }
  if (k.family != Family::ipv6) return false;
  switch (k.proto) {
    case decode::kHopByHop: case decode::kRouting: case decode::kFragment: case decode::kAh: case decode::kDestOpts:
    case decode::kMobility: case decode::kHip: case decode::kShim6: return true;
    default: return false;
  }
}

constexpr std::size_t kWays = 4;  // fragment table associativity
// What decode() starts from. Copied rather than assigned: GCC zeroes a
// value-initialised DecodedPacket with `rep stos`, slow to start for 108 bytes.
constexpr DecodedPacket kEmptyPacket{};
static_assert(std::is_trivially_copyable_v<DecodedPacket>);
}  // namespace

Decoder::Decoder(DecoderOptions options) : options_(options) {
  // Round down to a power of two number of sets of kWays entries, at least one set.
  std::size_t sets = 1;
  while (sets * 2 * kWays <= options_.fragment_capacity) sets *= 2;
  fragments_.resize(sets * kWays);
}

void Decoder::decode(std::uint16_t linktype, const std::uint8_t* data, std::uint32_t caplen, std::uint32_t origlen,
                     std::int64_t ts_ns, DecodedPacket& out) {
  Frame frame;
  frame.linktype = linktype;
  frame.data = data;
  frame.caplen = caplen;
  frame.origlen = origlen;
  frame.ts_ns = ts_ns;
  decode(frame, out);
}

// The per-packet entry point of the engine: it takes the frame itself rather
// than forwarding six arguments to the other overload.
void Decoder::decode(const Frame& frame, DecodedPacket& out) {
  const std::uint16_t linktype = frame.linktype;
  const std::uint8_t* data = frame.data;
  const std::uint32_t caplen = frame.caplen;
  std::uint32_t origlen = frame.origlen;
  const std::int64_t ts_ns = frame.ts_ns;
  std::memcpy(static_cast<void*>(&out), &kEmptyPacket, sizeof out);
  if (options_.fast_path) {
    if (decode::common_case(frame, out, stats_)) [[likely]] return;
    std::memcpy(static_cast<void*>(&out), &kEmptyPacket, sizeof out);
  }
  ++stats_.packets;
  if (origlen < caplen) origlen = caplen;
  auto fail = [&](DecodeAnomaly a, std::uint32_t at) {
    out.anomaly = a;
    out.opaque_offset = at;
    ++stats_.anomalies[static_cast<std::size_t>(a)];
  };

  // Link layer.
  std::uint32_t off = 0;
  DecodeAnomaly a = DecodeAnomaly::none;
  switch (linktype) {
    case linktype::ethernet: a = decode::ethernet(data, caplen, out, off); break;
    case linktype::linux_sll: a = decode::linux_sll(data, caplen, out, off); break;
    case linktype::linux_sll2: a = decode::linux_sll2(data, caplen, out, off); break;
    case linktype::null: a = decode::bsd_loopback(data, caplen, false, out, off); break;
    case linktype::loop: a = decode::bsd_loopback(data, caplen, true, out, off); break;
    case linktype::ipv4: out.ethertype = decode::kEtherIpv4; break;
    case linktype::ipv6: out.ethertype = decode::kEtherIpv6; break;
    case linktype::raw:
      if (caplen == 0) {
        a = DecodeAnomaly::truncated_link;
        break;
      }
      out.ethertype = (data[0] >> 4) == 6 ? decode::kEtherIpv6 : decode::kEtherIpv4;
      break;
    default: a = DecodeAnomaly::unsupported_linktype; break;
  }
  if (a != DecodeAnomaly::none) return fail(a, 0);
  out.layer = Layer::link;
  out.opaque_offset = off;
  if (out.ethertype != decode::kEtherIpv4 && out.ethertype != decode::kEtherIpv6) {
    ++stats_.non_ip;
    return;
  }

  // Network layer.
  const std::uint8_t* ip = data + off;
  std::uint32_t avail = caplen - off, wire = origlen - off;
  decode::NetInfo info;
  bool bad_options = false;
  if (out.ethertype == decode::kEtherIpv4) {
    ++stats_.ipv4;
    a = decode::ipv4(ip, avail, wire, false, out.key, info, out.ip_bytes, bad_options);
  } else {
    ++stats_.ipv6;
    a = decode::ipv6(ip, avail, wire, false, out.key, info, out.ip_bytes);
  }
  if (a != DecodeAnomaly::none) return fail(a, off);
  out.layer = Layer::network;
  if (bad_options) fail(DecodeAnomaly::bad_ipv4_options, off);
  out.fragment = info.fragment;
  off += info.header_len;
  out.opaque_offset = off;

  if (info.fragment) {
    ++stats_.fragments;
    if (!info.first_fragment) {
      out.later_fragment = true;
      if (!lookup_fragment(out.key, info.frag_id, ts_ns)) {
        // GRE, ESP and the like are tracked by addresses alone: a later fragment
        // needs nothing from its first.
        if (!keyed_beyond_addresses(out.key)) return;
        if (options_.early_fragments) return hold(out, info.frag_id, frame);
        return fail(DecodeAnomaly::orphan_fragment, off);
      }
      ++stats_.fragments_attributed;
      out.layer = Layer::transport;
      return;
    }
    if (info.l4_wire < 8 && keyed_beyond_addresses(out.key)) return fail(DecodeAnomaly::tiny_fragment, off);
  }

  // Transport layer: bounded by the IP length fields, not by link padding.
  const std::uint8_t* l4 = data + off;
  std::uint32_t l4_avail = std::min(caplen - std::min(caplen, off), info.l4_wire);
  std::uint32_t l4_wire = info.l4_wire;
  std::uint32_t hl = 0;
  switch (out.key.proto) {
    case ipproto::tcp:
      a = decode::tcp(l4, l4_avail, l4_wire, false, out.key, out.tcp_flags, hl);
      break;
    case ipproto::udp:
      // A first fragment's UDP length counts the whole datagram, not this fragment.
      a = decode::udp(l4, l4_avail, info.first_fragment ? 0xffff : l4_wire, false, out.key);
      hl = 8;
      break;
    case ipproto::icmp:
    case ipproto::icmpv6:
      a = decode::icmp(l4, l4_avail, out);
      hl = 8;
      break;
    default:
      // Another protocol: tracked by addresses, payload opaque. Its first fragment is
      // remembered for an IPv6 datagram whose later fragments name an extension header.
      if (info.first_fragment) first_fragment(out, info.frag_id, ts_ns);
      return;
  }
  if (a != DecodeAnomaly::none) return fail(a, off);
  out.layer = Layer::transport;
  // A header cut short by the snaplen (TCP needs only 14 bytes for ports and flags) ends the frame.
  out.opaque_offset = std::min(off + hl, caplen);
  if (info.first_fragment) first_fragment(out, info.frag_id, ts_ns);
}

void Decoder::first_fragment(const DecodedPacket& first, std::uint32_t id, std::int64_t ts_ns) {
  remember_fragment(first.key, id, ts_ns);
  if (!held_.empty()) release_early(first, id, ts_ns);
}

namespace {
// The protocol that is part of a datagram's identity. IPv4 identifies a datagram by
// addresses, protocol and id (RFC 791); IPv6 by addresses and id alone (RFC 8200
// 4.5): its later fragments show only the fragment header's next header, which is
// not the first fragment's upper-layer protocol when extension headers (destination
// options, say) follow the fragment header.
std::uint8_t datagram_proto(const FlowKey& k) { return k.family == Family::ipv6 ? 0 : k.proto; }

// A later fragment takes its first fragment's protocol, ports and ICMP type.
void follow_first(FlowKey& later, const FlowKey& first) {
  later.proto = first.proto;
  later.sport = first.sport;
  later.dport = first.dport;
  later.icmp_type = first.icmp_type;
}
}  // namespace

std::size_t Decoder::fragment_slot(const FlowKey& key, std::uint32_t id) const {
  std::uint64_t h = mix64((std::uint64_t(id) << 8) | datagram_proto(key));
  h = hash_addr(hash_addr(h, key.src), key.dst);
  std::size_t sets = fragments_.size() / kWays;
  return (h & (sets - 1)) * kWays;
}

namespace {
bool same_datagram(const FlowKey& a, const FlowKey& b) {
  return datagram_proto(a) == datagram_proto(b) && a.src == b.src && a.dst == b.dst;
}
}  // namespace

void Decoder::remember_fragment(const FlowKey& key, std::uint32_t id, std::int64_t ts_ns) {
  FragmentEntry* set = &fragments_[fragment_slot(key, id)];
  FragmentEntry* victim = nullptr;
  // A retransmitted first fragment refreshes its entry; otherwise take a free or
  // expired way; otherwise evict the oldest datagram of the set.
  for (std::size_t i = 0; i < kWays && !victim; ++i)
    if (set[i].used && set[i].id == id && same_datagram(set[i].key, key)) victim = &set[i];
  for (std::size_t i = 0; i < kWays && !victim; ++i)
    if (!set[i].used || elapsed_ns(ts_ns, set[i].seen_ns) > options_.fragment_timeout_ns) victim = &set[i];
  if (!victim) {
    victim = std::min_element(set, set + kWays, [](auto& x, auto& y) { return x.seen_ns < y.seen_ns; });
    ++stats_.fragment_evictions;
  }
  victim->key = key;
  victim->id = id;
  victim->seen_ns = ts_ns;
  victim->used = true;
}

bool Decoder::lookup_fragment(FlowKey& key, std::uint32_t id, std::int64_t ts_ns) {
  std::size_t base = fragment_slot(key, id);
  for (std::size_t i = 0; i < kWays; ++i) {
    FragmentEntry& e = fragments_[base + i];
    if (e.used && e.id == id && same_datagram(e.key, key) && elapsed_ns(ts_ns, e.seen_ns) <= options_.fragment_timeout_ns) {
      follow_first(key, e.key);
      return true;
    }
  }
  return false;
}

void Decoder::hold(const DecodedPacket& p, std::uint32_t id, const Frame& frame) {
  if (held_.size() >= options_.early_fragments) {
    release_orphan(held_.front());
    held_.erase(held_.begin());
  }
  held_.push_back({{p, frame.ts_ns, frame.interface}, id});
  held_last_ = true;
}

void Decoder::release_orphan(HeldFragment& h) {
  h.r.packet.anomaly = DecodeAnomaly::orphan_fragment;
  ++stats_.anomalies[static_cast<std::size_t>(DecodeAnomaly::orphan_fragment)];
  released_.push_back(h.r);
}

void Decoder::release_early(const DecodedPacket& first, std::uint32_t id, std::int64_t ts_ns) {
  for (auto it = held_.begin(); it != held_.end();) {
    DecodedPacket& p = it->r.packet;
    if (it->id != id || !same_datagram(p.key, first.key) ||
        elapsed_ns(ts_ns, it->r.ts_ns) > options_.fragment_timeout_ns) {
      ++it;
      continue;
    }
    follow_first(p.key, first.key);
    p.layer = Layer::transport;
    ++stats_.fragments_attributed;
    released_.push_back(it->r);
    it = held_.erase(it);
  }
}

void Decoder::take_released(std::int64_t now_ns, std::vector<Released>& out, bool flush) {
  held_last_ = false;
  while (!held_.empty() && (flush || elapsed_ns(now_ns, held_.front().r.ts_ns) > options_.fragment_timeout_ns)) {
    release_orphan(held_.front());
    held_.erase(held_.begin());
  }
  out.insert(out.end(), released_.begin(), released_.end());
  released_.clear();
}

}  // namespace portmatrix
