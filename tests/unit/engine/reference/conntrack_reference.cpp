// The connection table before the performance work (commit 832cb56), frozen:
// see conntrack_reference.hpp. Only the namespace and the public wrappers differ
// from the original src/engine/conntrack.cpp; the hash and time helpers it used
// are copied in, so later changes to them do not reach this copy.
#include "conntrack_reference.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace pmref {

using namespace portmatrix;

namespace {

std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

std::int64_t elapsed_ns(std::int64_t now, std::int64_t then) {
  std::int64_t d;
  if (__builtin_sub_overflow(now, then, &d))
    return now > then ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  return d;
}

std::int64_t add_ns(std::int64_t t, std::int64_t d) {
  std::int64_t r;
  if (__builtin_add_overflow(t, d, &r))
    return d > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  return r;
}

}  // namespace

namespace {

enum Cls : std::uint8_t {
  c_syn_sent, c_syn_recv, c_established, c_fin_wait, c_close_wait, c_last_ack, c_time_wait, c_close,
  c_udp, c_udp_stream, c_icmp, c_generic, kClasses
};
constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
// A replied UDP flow gets the stream timeout once it has lived this long (the kernel's rule).
constexpr std::int64_t kUdpStreamAfter = 2'000'000'000;

// The table key: both sockets in a canonical order, so both directions meet.
struct Key {
  IpAddr a, b;
  std::uint16_t pa = 0, pb = 0;
  std::uint8_t proto = 0;
  std::uint8_t qtype = 0;  // ICMP query class (the request type)
  bool operator==(const Key&) const = default;
};

// What a packet touches first, in one cache line; the timeout class is kept
// apart (Impl::cls) to fit.
struct alignas(64) Hot {
  Key key;
  std::int64_t touched = 0;  // clock at the entry's last packet
  std::int64_t due = 0;      // when its timer list looks at it again (<= its real expiry)
  std::uint32_t prev = kNil, next = kNil;
};
static_assert(sizeof(Hot) == 64);

struct Slot {
  std::uint32_t idx = kNil;
  std::uint32_t hash = 0;  // low bits of the key's hash: the home slot, and a cheap filter before comparing keys
};

enum class Seg : std::uint8_t { none, syn, synack, fin, ack, rst };

Seg segment_class(std::uint8_t f) {
  if (f & tcpflag::rst) return Seg::rst;
  if (f & tcpflag::syn) return (f & tcpflag::ack) ? Seg::synack : Seg::syn;
  if (f & tcpflag::fin) return Seg::fin;
  if (f & tcpflag::ack) return Seg::ack;
  return Seg::none;
}

// The state after a segment of class seg in direction orig (from the initiator),
// or none when the segment does not fit the state (the kernel's "invalid").
TcpState tcp_next(TcpState s, Seg seg, bool orig) {
  using S = TcpState;
  switch (seg) {
    case Seg::syn:
      // A retransmitted SYN, or the other side's SYN of a simultaneous open.
      return s == S::syn_sent ? s : S::none;
    case Seg::synack:
      // From the initiator only in a simultaneous open, where both sides answer
      // each other's SYN (the kernel's SYN_SENT2 -> SYN_RECV).
      if (orig) return s == S::syn_recv ? s : S::none;
      if (s == S::syn_sent || s == S::syn_recv) return S::syn_recv;
      // A retransmitted SYN-ACK whose ACK was lost: harmless.
      return s == S::established ? s : S::none;
    case Seg::ack:
      switch (s) {
        case S::syn_sent: return S::none;
        case S::syn_recv: return orig ? S::established : S::syn_recv;
        case S::fin_wait: return S::close_wait;
        case S::last_ack: return S::time_wait;
        default: return s;
      }
    case Seg::fin:
      switch (s) {
        case S::syn_sent: return S::none;
        case S::syn_recv:
        case S::established: return S::fin_wait;
        case S::fin_wait:
        case S::close_wait: return S::last_ack;
        default: return s;
      }
    case Seg::rst: return S::close;
    case Seg::none: return S::none;
  }
  return S::none;
}

Cls class_of(TcpState s) {
  switch (s) {
    case TcpState::syn_sent: return c_syn_sent;
    case TcpState::syn_recv: return c_syn_recv;
    case TcpState::established: return c_established;
    case TcpState::fin_wait: return c_fin_wait;
    case TcpState::close_wait: return c_close_wait;
    case TcpState::last_ack: return c_last_ack;
    case TcpState::time_wait: return c_time_wait;
    case TcpState::close:
    case TcpState::none: return c_close;
  }
  return c_close;
}

// ICMP queries pair a request type with its reply type; other messages stand alone.
struct IcmpQuery {
  std::uint8_t request;
  bool is_request;
};
IcmpQuery icmp_query(std::uint8_t proto, std::uint8_t type) {
  if (proto == ipproto::icmpv6) {
    if (type == 128 || type == 129) return {128, type == 128};
    return {type, true};
  }
  switch (type) {
    case 8: case 13: case 15: case 17: return {type, true};
    case 0: return {8, false};
    case 14: case 16: case 18: return {static_cast<std::uint8_t>(type - 1), false};
    default: return {type, true};
  }
}

bool is_icmp(std::uint8_t proto) { return proto == ipproto::icmp || proto == ipproto::icmpv6; }

int socket_cmp(const IpAddr& x, std::uint16_t px, const IpAddr& y, std::uint16_t py) {
  int c = std::memcmp(x.bytes.data(), y.bytes.data(), x.bytes.size());
  if (c != 0) return c;
  return int(px) - int(py);
}

Key make_key(const FlowKey& k) {
  Key key;
  key.proto = k.proto;
  std::uint16_t ps = k.sport, pd = k.dport;
  if (is_icmp(k.proto)) {
    key.qtype = icmp_query(k.proto, k.icmp_type).request;
    pd = ps;  // the identifier, the same both ways
  } else if (k.proto != ipproto::tcp && k.proto != ipproto::udp) {
    ps = pd = 0;
  }
  if (socket_cmp(k.src, ps, k.dst, pd) <= 0) {
    key.a = k.src, key.pa = ps, key.b = k.dst, key.pb = pd;
  } else {
    key.a = k.dst, key.pa = pd, key.b = k.src, key.pb = ps;
  }
  return key;
}

// The key's 40 bytes as five words, each multiplied by its own odd constant,
// then one finaliser: a few cycles, and every input bit reaches the low bits
// that pick the slot.
static_assert(sizeof(Key) == 40 && std::has_unique_object_representations_v<IpAddr>);
std::uint64_t hash_key(const Key& k) {
  std::uint64_t w[5];
  std::memcpy(w, &k, sizeof w);
  std::uint64_t h = w[0] * 0x9e3779b97f4a7c15ull ^ w[1] * 0xc2b2ae3d27d4eb4full ^ w[2] * 0x165667b19e3779f9ull ^
                    w[3] * 0xd6e8feb86659fd93ull ^ w[4] * 0xff51afd7ed558ccdull;
  return mix64(h);
}

int port_rank(std::uint16_t p) { return static_cast<int>(port_class(p)); }

}  // namespace

struct Conntrack::Impl {
  ConntrackOptions opt;
  Sink sink;
  ConntrackStats stats;
  std::vector<Hot> hot;              // parallel to conns and cls
  std::vector<std::uint8_t> cls;     // timeout class of each entry; kClasses: free
  std::vector<Connection> conns;
  std::vector<std::uint32_t> free_list;
  std::vector<Slot> slots;           // size a power of two, load at most one half
  std::array<std::uint32_t, kClasses> head, tail;
  std::array<std::int64_t, kClasses> timeout{};
  std::int64_t clock = std::numeric_limits<std::int64_t>::min();
  std::int64_t next_due = std::numeric_limits<std::int64_t>::max();

  Impl(ConntrackOptions o, Sink s) : opt(std::move(o)), sink(std::move(s)) {
    if (opt.max_entries < 1) opt.max_entries = 1;
    if (opt.max_entries > kNil / 2) opt.max_entries = kNil / 2;
    head.fill(kNil);
    tail.fill(kNil);
    const auto& t = opt.timeouts;
    timeout = {t.tcp_syn_sent, t.tcp_syn_recv, t.tcp_established, t.tcp_fin_wait, t.tcp_close_wait, t.tcp_last_ack,
               t.tcp_time_wait, t.tcp_close, t.udp, t.udp_stream, t.icmp, t.generic};
    slots.assign(1024, Slot{});
    // Reserve the table now (up to a million entries): growing would copy it, and
    // reserved memory costs nothing until used.
    std::size_t reserve = std::min<std::size_t>(opt.max_entries, 1u << 20);
    hot.reserve(reserve);
    conns.reserve(reserve);
    cls.reserve(reserve);
  }

  std::size_t mask() const { return slots.size() - 1; }
  static std::uint32_t low(std::uint64_t h) { return static_cast<std::uint32_t>(h); }

  std::uint32_t find(const Key& k, std::uint64_t h) const {
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      const Slot& s = slots[i];
      if (s.idx == kNil) return kNil;
      if (s.hash == low(h) && hot[s.idx].key == k) return s.idx;
    }
  }

  void prefetch_slot(std::uint64_t h) const { __builtin_prefetch(&slots[h & mask()]); }
  // Starts loading everything a packet or a removal reads of entry idx.
  void prefetch_lines(std::uint32_t idx) const {
    __builtin_prefetch(&hot[idx]);
    __builtin_prefetch(&cls[idx]);
    __builtin_prefetch(&conns[idx]);
    __builtin_prefetch(reinterpret_cast<const char*>(&conns[idx]) + 64);
  }
  void prefetch_entry(std::uint64_t h) const {
    const Slot& s = slots[h & mask()];
    if (s.idx != kNil && s.hash == low(h)) {
      prefetch_lines(s.idx);
    }
  }

  void slot_insert(std::uint32_t idx, std::uint64_t h) {
    std::size_t i = h & mask();
    while (slots[i].idx != kNil) i = (i + 1) & mask();
    slots[i] = {idx, low(h)};
  }

  void slot_erase(std::uint32_t idx) {
    std::size_t i = hash_key(hot[idx].key) & mask();
    while (slots[i].idx != idx) i = (i + 1) & mask();
    // Backward shift: move later members of the probe run into the hole when their
    // home slot does not lie (cyclically) between the hole and their position.
    for (std::size_t j = (i + 1) & mask(); slots[j].idx != kNil; j = (j + 1) & mask()) {
      std::size_t home = slots[j].hash & mask();
      bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots[i] = slots[j];
        i = j;
      }
    }
    slots[i] = Slot{};
  }

  void grow_index_if_needed() {
    if ((stats.active + 1) * 2 <= slots.size()) return;
    std::vector<Slot> old(slots.size() * 2, Slot{});
    old.swap(slots);
    for (const Slot& s : old)
      if (s.idx != kNil) slot_insert(s.idx, s.hash);
  }

  void unlink(std::uint32_t idx) {
    Hot& e = hot[idx];
    if (e.prev != kNil) hot[e.prev].next = e.next; else head[cls[idx]] = e.next;
    if (e.next != kNil) hot[e.next].prev = e.prev; else tail[cls[idx]] = e.prev;
    e.prev = e.next = kNil;
  }

  // Appends to the tail of list cls, due no earlier than the current tail (keeps the list sorted).
  void enqueue(std::uint32_t idx, Cls c, std::int64_t due) {
    Hot& e = hot[idx];
    cls[idx] = c;
    if (tail[c] != kNil) due = std::max(due, hot[tail[c]].due);
    e.due = due;
    e.prev = tail[c];
    e.next = kNil;
    if (tail[c] != kNil) hot[tail[c]].next = idx; else head[c] = idx;
    tail[c] = idx;
    next_due = std::min(next_due, due);
  }

  std::int64_t expiry(std::uint32_t idx) const { return add_ns(hot[idx].touched, timeout[cls[idx]]); }

  // Notes a packet on an entry at the current clock, moving it when its class changes.
  void touch(std::uint32_t idx, Cls c) {
    hot[idx].touched = clock;
    if (cls[idx] == c) return;
    if (cls[idx] != kClasses) unlink(idx);
    enqueue(idx, c, add_ns(clock, timeout[c]));
  }

  void remove(std::uint32_t idx, EndReason why) {
    Connection& c = conns[idx];
    c.end = why;
    c.open_at_end = why == EndReason::capture_end &&
                    !(c.proto == ipproto::tcp && (c.tcp_state == TcpState::time_wait || c.tcp_state == TcpState::close));
    switch (why) {
      case EndReason::timeout: ++stats.timed_out; break;
      case EndReason::evicted: ++stats.evicted; break;
      case EndReason::reused: ++stats.reused; break;
      case EndReason::capture_end: break;
    }
    if (sink) sink(c);
    unlink(idx);
    slot_erase(idx);
    cls[idx] = kClasses;
    free_list.push_back(idx);
    --stats.active;
  }

  void recompute_next_due() {
    next_due = std::numeric_limits<std::int64_t>::max();
    for (auto h : head)
      if (h != kNil) next_due = std::min(next_due, hot[h].due);
  }

  void expire(std::int64_t now) {
    if (now < next_due) return;
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (head[c] != kNil && hot[head[c]].due <= now) {
        std::uint32_t idx = head[c];
        std::int64_t real = expiry(idx);
        if (real <= now) {
          remove(idx, EndReason::timeout);
        } else {
          unlink(idx);
          enqueue(idx, static_cast<Cls>(c), real);
        }
      }
    }
    recompute_next_due();
  }

  void evict_one() {
    std::uint32_t victim = kNil;
    for (auto h : head)
      if (h != kNil && (victim == kNil || hot[h].due < hot[victim].due)) victim = h;
    PM_ASSERT(victim != kNil, "full table without entries");
    // The next victims are likely the ones after this: start loading the index slot
    // of the next (its entry was prefetched by the previous eviction) and the entry
    // of the one after, so that evictions do not wait for memory.
    if (std::uint32_t n1 = hot[victim].next; n1 != kNil) {
      prefetch_slot(hash_key(hot[n1].key));
      if (std::uint32_t n2 = hot[n1].next; n2 != kNil) prefetch_lines(n2);
    }
    remove(victim, expiry(victim) <= clock ? EndReason::timeout : EndReason::evicted);
  }

  std::uint32_t allocate() {
    if (stats.active >= opt.max_entries) evict_one();
    grow_index_if_needed();
    std::uint32_t idx;
    if (!free_list.empty()) {
      idx = free_list.back();
      free_list.pop_back();
    } else {
      idx = static_cast<std::uint32_t>(hot.size());
      hot.emplace_back();
      conns.emplace_back();
      cls.push_back(kClasses);
    }
    ++stats.active;
    stats.peak_active = std::max(stats.peak_active, stats.active);
    ++stats.connections;
    return idx;
  }

  // Which side of a packet with no opening seen is the responder: true when it is the destination.
  bool destination_is_server(const FlowKey& k) const {
    if (!opt.service_ports.empty()) {
      bool s = opt.service_ports.contains(k.sport), d = opt.service_ports.contains(k.dport);
      if (s != d) return d;
    }
    int rs = port_rank(k.sport), rd = port_rank(k.dport);
    if (rs != rd) return rd < rs;
    if (rs != static_cast<int>(PortClass::dynamic) && k.sport != k.dport) return k.dport < k.sport;
    return true;  // tie: the first packet seen goes from initiator to responder
  }

  Cls cls_for(const Connection& c) const {
    if (c.proto == ipproto::tcp) return class_of(c.tcp_state);
    if (c.proto == ipproto::udp)
      return c.packets[1] > 0 && elapsed_ns(clock, c.first_ns) >= kUdpStreamAfter ? c_udp_stream : c_udp;
    if (is_icmp(c.proto)) return c_icmp;
    return c_generic;
  }

  static bool from_initiator(const Connection& c, const FlowKey& k) {
    // Both sockets the same: an ICMP query (whose dport is 0, the identifier being
    // sport) tells by its type. Fixed in both tables on 2026-11-24: an echo
    // to itself with a non-zero identifier counted its replies as requests.
    if (c.src == c.dst && (is_icmp(c.proto) || c.sport == c.dport))
      return is_icmp(c.proto) ? icmp_query(c.proto, k.icmp_type).is_request : true;
    return k.src == c.src && k.sport == c.sport;
  }

  static void count(Connection& c, bool orig, const DecodedPacket& p, std::int64_t ts) {
    int d = orig ? 0 : 1;
    ++c.packets[d];
    c.bytes[d] += p.ip_bytes;
    c.last_ns = std::max(c.last_ns, ts);
  }

  CtState create(const DecodedPacket& p, const Key& key, std::uint64_t h, std::int64_t ts, std::uint32_t itf) {
    const FlowKey& k = p.key;
    bool sender_initiates = true;
    InitiatorSource how = InitiatorSource::inferred;
    TcpState state = TcpState::none;
    if (k.proto == ipproto::tcp) {
      Seg seg = p.later_fragment ? Seg::ack : segment_class(p.tcp_flags);
      if (seg == Seg::syn) {
        how = InitiatorSource::observed;
        state = TcpState::syn_sent;
      } else if (seg == Seg::synack) {
        how = InitiatorSource::observed;
        sender_initiates = false;
        state = TcpState::syn_recv;
      } else {
        // Picked up mid-stream: established, then the segment's own effect (FIN, RST).
        sender_initiates = destination_is_server(k);
        state = seg == Seg::rst ? TcpState::close : seg == Seg::fin ? TcpState::fin_wait : TcpState::established;
      }
    } else if (k.proto == ipproto::udp) {
      sender_initiates = destination_is_server(k);
    } else if (is_icmp(k.proto)) {
      how = InitiatorSource::observed;
      sender_initiates = icmp_query(k.proto, k.icmp_type).is_request;
    }

    std::uint32_t idx = allocate();
    hot[idx] = Hot{};
    hot[idx].key = key;
    Connection& c = conns[idx];
    c = Connection{};
    c.family = k.family;
    c.proto = k.proto;
    c.src = sender_initiates ? k.src : k.dst;
    c.dst = sender_initiates ? k.dst : k.src;
    if (is_icmp(k.proto)) {
      c.sport = k.sport;
      c.icmp_type = key.qtype;
    } else if (k.proto == ipproto::tcp || k.proto == ipproto::udp) {
      c.sport = sender_initiates ? k.sport : k.dport;
      c.dport = sender_initiates ? k.dport : k.sport;
    }
    c.initiator = how;
    c.tcp_state = state;
    c.interface = itf;
    c.first_ns = ts;
    slot_insert(idx, h);
    count(c, sender_initiates, p, ts);
    touch(idx, cls_for(c));
    return sender_initiates ? CtState::new_ : CtState::established;
  }

  CtState add(const DecodedPacket& p, std::int64_t ts, std::uint32_t itf) {
    ++stats.packets;
    if (!p.has_flow()) {
      ++stats.untracked;
      return CtState::invalid;
    }
    clock = std::max(clock, ts);
    expire(clock);

    if (p.icmp_error) {
      Key qk = make_key(p.quoted);
      std::uint32_t idx = find(qk, hash_key(qk));
      if (idx == kNil || expiry(idx) <= clock) {
        ++stats.icmp_errors_unmatched;
        return CtState::invalid;
      }
      ++conns[idx].related;
      ++stats.icmp_errors_related;
      return CtState::related;
    }
    Key key = make_key(p.key);
    return add_keyed(p, key, hash_key(key), ts, itf);
  }

  CtState add_keyed(const DecodedPacket& p, const Key& key, std::uint64_t h, std::int64_t ts, std::uint32_t itf) {
    std::uint32_t idx = find(key, h);
    if (idx != kNil && expiry(idx) <= clock) {
      // Timed out, though its list has not reached it yet.
      remove(idx, EndReason::timeout);
      idx = kNil;
    }
    if (idx == kNil) return create(p, key, h, ts, itf);

    Connection& c = conns[idx];
    bool orig = from_initiator(c, p.key);
    bool invalid = false;
    if (c.proto == ipproto::tcp && !p.later_fragment) {
      Seg seg = segment_class(p.tcp_flags);
      if (seg == Seg::syn && (c.tcp_state == TcpState::time_wait || (orig && c.tcp_state == TcpState::close))) {
        // A new connection on the sockets of a finished one.
        remove(idx, EndReason::reused);
        return create(p, key, h, ts, itf);
      }
      TcpState next = tcp_next(c.tcp_state, seg, orig);
      if (next == TcpState::none) {
        invalid = true;
        ++stats.invalid;
      } else {
        c.tcp_state = next;
      }
    }
    bool replied_before = c.packets[1] > 0;
    count(c, orig, p, ts);
    touch(idx, cls_for(c));
    if (invalid) return CtState::invalid;
    return orig && !replied_before ? CtState::new_ : CtState::established;
  }

  void add_batch(std::span<const TrackInput> in, CtState* states) {
    // Overlap the cache misses of the lookups: first the index slots, then the entries.
    constexpr std::size_t kChunk = 16;
    Key keys[kChunk];
    std::uint64_t hashes[kChunk];
    for (std::size_t base = 0; base < in.size(); base += kChunk) {
      std::size_t n = std::min(kChunk, in.size() - base);
      for (std::size_t i = 0; i < n; ++i) {
        const DecodedPacket& p = *in[base + i].packet;
        if (!p.has_flow() || p.icmp_error) continue;
        keys[i] = make_key(p.key);
        hashes[i] = hash_key(keys[i]);
        prefetch_slot(hashes[i]);
      }
      for (std::size_t i = 0; i < n; ++i) {
        const DecodedPacket& p = *in[base + i].packet;
        if (p.has_flow() && !p.icmp_error) prefetch_entry(hashes[i]);
      }
      for (std::size_t i = 0; i < n; ++i) {
        const TrackInput& t = in[base + i];
        const DecodedPacket& p = *t.packet;
        CtState st;
        if (!p.has_flow() || p.icmp_error) {
          st = add(p, t.ts_ns, t.interface);
        } else {
          ++stats.packets;
          clock = std::max(clock, t.ts_ns);
          expire(clock);
          st = add_keyed(p, keys[i], hashes[i], t.ts_ns, t.interface);
        }
        if (states) states[base + i] = st;
      }
    }
  }

  void finish() {
    // Reported in order of appearance, so the output does not depend on hashing.
    std::vector<std::pair<std::int64_t, std::uint32_t>> live;
    live.reserve(stats.active);
    for (std::uint32_t i = 0; i < hot.size(); ++i)
      if (cls[i] != kClasses) live.emplace_back(conns[i].first_ns, i);
    std::sort(live.begin(), live.end());
    for (auto [first, i] : live) remove(i, expiry(i) <= clock ? EndReason::timeout : EndReason::capture_end);
    recompute_next_due();
  }
};

Conntrack::Conntrack(ConntrackOptions options, Sink sink)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(sink))) {}
Conntrack::Conntrack(Conntrack&&) noexcept = default;
Conntrack::~Conntrack() = default;

CtState Conntrack::add(const DecodedPacket& packet, std::int64_t ts_ns, std::uint32_t interface) {
  return impl_->add(packet, ts_ns, interface);
}
void Conntrack::expire(std::int64_t now_ns) {
  impl_->clock = std::max(impl_->clock, now_ns);
  impl_->expire(impl_->clock);
  for (std::size_t c = 0; c < kClasses; ++c) {
    for (std::uint32_t idx = impl_->head[c]; idx != kNil;) {
      std::uint32_t next = impl_->hot[idx].next;
      if (impl_->expiry(idx) <= impl_->clock) impl_->remove(idx, EndReason::timeout);
      idx = next;
    }
  }
  impl_->recompute_next_due();
}
void Conntrack::add_batch(std::span<const TrackInput> packets, CtState* states) { impl_->add_batch(packets, states); }
void Conntrack::finish() { impl_->finish(); }
const ConntrackStats& Conntrack::stats() const { return impl_->stats; }
std::size_t Conntrack::size() const { return impl_->stats.active; }

}  // namespace pmref
