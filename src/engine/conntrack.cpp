// The connection table: an open-addressing hash index (linear probing with a
// hash tag per slot, deletion by backward shift so no tombstones build up) over
// 128-byte entries (key and timer links in the first cache line, counters and
// state in the second); the Connection record is built only to report it.
//
// Timers: one list per timeout class. An entry joins the tail of its class's list
// when created or when its class changes (a TCP state change, a UDP flow turning
// into a stream); a packet that keeps the class only notes the time. A list is
// sorted by "due" time, and an entry's real expiry (last packet + timeout) is never
// earlier than its due time. Expiring pops due heads: a head that has seen
// packets since it was queued goes back to the tail instead. So a packet costs no
// list surgery, connections are never reported before their timeout, and a packet
// arriving for a connection whose timeout passed finds it expired (exact
// connection boundaries); only the report of an idle connection may come later
// than its timeout (by at most one timeout).
//
// The TCP state machine follows the kernel's nf_conntrack_proto_tcp without its
// sequence-window checks: a packet's class (SYN, SYN-ACK, FIN, ACK, RST) and
// direction move the state; packets that fit no transition count as invalid.
#include "portmatrix/conntrack.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/bytes.hpp"
#include "engine/hash.hpp"
#include "engine/huge_pages.hpp"
#include "engine/timeutil.hpp"

namespace portmatrix {

std::string_view to_string(TcpState s) {
  switch (s) {
    case TcpState::none: return "NONE";
    case TcpState::syn_sent: return "SYN_SENT";
    case TcpState::syn_recv: return "SYN_RECV";
    case TcpState::established: return "ESTABLISHED";
    case TcpState::fin_wait: return "FIN_WAIT";
    case TcpState::close_wait: return "CLOSE_WAIT";
    case TcpState::last_ack: return "LAST_ACK";
    case TcpState::time_wait: return "TIME_WAIT";
    case TcpState::close: return "CLOSE";
  }
  return "NONE";
}

std::string_view to_string(InitiatorSource s) { return s == InitiatorSource::observed ? "observed" : "inferred"; }

std::string_view to_string(EndReason r) {
  switch (r) {
    case EndReason::timeout: return "timeout";
    case EndReason::evicted: return "evicted";
    case EndReason::reused: return "reused";
    case EndReason::capture_end: return "capture-end";
  }
  return "timeout";
}

namespace {

enum Cls : std::uint8_t {
  c_syn_sent, c_syn_recv, c_established, c_fin_wait, c_close_wait, c_last_ack, c_time_wait, c_close,
  c_udp, c_udp_stream, c_icmp, c_generic, kClasses
};
constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
// A replied UDP flow gets the stream timeout once it has lived this long (the kernel's rule).
constexpr std::int64_t kUdpStreamAfter = 2'000'000'000;

// The table key: both sockets in a canonical order, so both directions meet.
// Held as five words, built in registers and compared and hashed a word at a
// time (building it byte by byte and reading it back by words stalled every
// lookup on store forwarding): the address bytes of socket a, those of socket b,
// then pa | pb << 16 | proto << 32 | qtype << 40 | a's family << 48 | b's family << 56.
// qtype is the ICMP query class (the request type).
struct Key {
  std::uint64_t w[5];
  std::uint16_t port(int side) const { return static_cast<std::uint16_t>(w[4] >> (16 * side)); }
  std::uint8_t proto() const { return static_cast<std::uint8_t>(w[4] >> 32); }
  std::uint8_t qtype() const { return static_cast<std::uint8_t>(w[4] >> 40); }
  Family family(int side) const { return static_cast<Family>(static_cast<std::uint8_t>(w[4] >> (48 + 8 * side))); }
  IpAddr addr(int side) const {
    IpAddr a;
    a.family = family(side);
    std::memcpy(a.bytes.data(), &w[2 * side], 16);
    return a;
  }
};

// One connection in two cache lines: the first is what a lookup reads (key,
// timer links), the second what a packet updates (counters, state). The
// Connection record is built from it only when the connection is reported, so a
// packet touches these two adjacent lines and its index slot, nothing else.
struct alignas(64) Entry {
  Key key;
  std::int64_t touched = 0;  // clock at the entry's last packet
  std::int64_t due = 0;      // when its timer list looks at it again (<= its real expiry)
  std::uint32_t prev = kNil, next = kNil;

  std::array<std::uint64_t, 2> packets{};  // as Connection: [0] from the initiator
  std::array<std::uint64_t, 2> bytes{};
  std::uint64_t related = 0;
  std::int64_t first_ns = 0, last_ns = 0;
  std::uint32_t interface = 0;
  std::uint8_t cls = kClasses;  // timeout class; kClasses: free
  TcpState tcp_state = TcpState::none;
  Family family = Family::ipv4;
  std::uint8_t initiator : 1 = 0;  // the initiator's side of the key (0: a, 1: b)
  bool observed : 1 = false;        // InitiatorSource::observed
};
static_assert(sizeof(Entry) == 128);

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

// A packet's key, and which side of it the packet comes from.
constexpr std::uint8_t kBothSides = 2;
struct Keyed {
  Key key;
  // The side (0 or 1) holding the packet's source socket; kBothSides when both
  // sockets are the same (a host talking to itself on one port, or ICMP to itself).
  std::uint8_t sender;
};

// Inlined: it runs for every packet, and a call would cost a tenth of its work.
[[gnu::always_inline]] inline Keyed make_key(const FlowKey& k) {
  std::uint16_t ps = k.sport, pd = k.dport;
  std::uint8_t qtype = 0;
  if (is_icmp(k.proto)) {
    qtype = icmp_query(k.proto, k.icmp_type).request;
    pd = ps;  // the identifier, the same both ways
  } else if (k.proto != ipproto::tcp && k.proto != ipproto::udp) {
    ps = pd = 0;
  }
  std::uint64_t s[2], d[2];
  std::memcpy(s, k.src.bytes.data(), sizeof s);
  std::memcpy(d, k.dst.bytes.data(), sizeof d);
  // The source first when it sorts first: address bytes in memcmp's order, then the port.
  bool src_first, same = false;
  if (s[0] != d[0]) {
    src_first = bytes::be64(k.src.bytes.data()) < bytes::be64(k.dst.bytes.data());
  } else if (s[1] != d[1]) {
    src_first = bytes::be64(k.src.bytes.data() + 8) < bytes::be64(k.dst.bytes.data() + 8);
  } else {
    src_first = ps <= pd;
    same = ps == pd && k.src.family == k.dst.family;
  }
  auto word4 = [&](std::uint16_t pa, std::uint16_t pb, Family fa, Family fb) {
    return std::uint64_t(pa) | std::uint64_t(pb) << 16 | std::uint64_t(k.proto) << 32 | std::uint64_t(qtype) << 40 |
           std::uint64_t(fa) << 48 | std::uint64_t(fb) << 56;
  };
  std::uint8_t sender = same ? kBothSides : src_first ? 0 : 1;
  if (src_first) return {Key{{s[0], s[1], d[0], d[1], word4(ps, pd, k.src.family, k.dst.family)}}, sender};
  return {Key{{d[0], d[1], s[0], s[1], word4(pd, ps, k.dst.family, k.src.family)}}, sender};
}

// Each word multiplied by its own odd constant, then one finaliser: a few
// cycles, and every input bit reaches the low bits that pick the slot.
std::uint64_t hash_key(const Key& k) {
  const std::uint64_t* w = k.w;
  std::uint64_t h = w[0] * 0x9e3779b97f4a7c15ull ^ w[1] * 0xc2b2ae3d27d4eb4full ^ w[2] * 0x165667b19e3779f9ull ^
                    w[3] * 0xd6e8feb86659fd93ull ^ w[4] * 0xff51afd7ed558ccdull;
  return mix64(h);
}

bool same_key(const Key& x, const Key& y) {
  const std::uint64_t *a = x.w, *b = y.w;
  return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

int port_rank(std::uint16_t p) { return static_cast<int>(port_class(p)); }

// The ports of an entry's Connection: the initiator's first.
struct Ports {
  std::uint16_t sport, dport;
};
Ports ports_of(const Entry& e) {
  const Key& k = e.key;
  if (is_icmp(k.proto())) return {k.port(0), 0};  // the identifier (the same on both sides)
  return {k.port(e.initiator), k.port(1 - e.initiator)};
}

}  // namespace

struct Conntrack::Impl {
  ConntrackOptions opt;
  Sink sink;
  ConntrackStats stats;
  std::vector<Entry, HugePageAllocator<Entry>> entries;
  std::vector<std::uint32_t> free_list;
  std::vector<Slot, HugePageAllocator<Slot>> slots;  // size a power of two, load at most one half
  std::array<std::uint32_t, kClasses> head, tail;
  // The due time of each list's head (the maximum when the list is empty), kept
  // beside the heads so that choosing an eviction victim reads one array, not
  // twelve entries.
  std::array<std::int64_t, kClasses> head_due;
  std::array<std::int64_t, kClasses> timeout{};
  std::int64_t clock = std::numeric_limits<std::int64_t>::min();
  std::int64_t next_due = std::numeric_limits<std::int64_t>::max();

  Impl(ConntrackOptions o, Sink s) : opt(std::move(o)), sink(std::move(s)) {
    if (opt.max_entries < 1) opt.max_entries = 1;
    if (opt.max_entries > kNil / 2) opt.max_entries = kNil / 2;
    head.fill(kNil);
    tail.fill(kNil);
    head_due.fill(std::numeric_limits<std::int64_t>::max());
    const auto& t = opt.timeouts;
    timeout = {t.tcp_syn_sent, t.tcp_syn_recv, t.tcp_established, t.tcp_fin_wait, t.tcp_close_wait, t.tcp_last_ack,
               t.tcp_time_wait, t.tcp_close, t.udp, t.udp_stream, t.icmp, t.generic};
    slots.assign(1024, Slot{});
    // Reserve the table now (up to a million entries): growing would copy it, and
    // reserved memory costs nothing until used.
    entries.reserve(std::min<std::size_t>(opt.max_entries, 1u << 20));
  }

  std::size_t mask() const { return slots.size() - 1; }
  static std::uint32_t low(std::uint64_t h) { return static_cast<std::uint32_t>(h); }

  std::uint32_t find(const Key& k, std::uint64_t h) const {
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      const Slot& s = slots[i];
      if (s.idx == kNil) return kNil;
      if (s.hash == low(h) && same_key(entries[s.idx].key, k)) return s.idx;
    }
  }

  void prefetch_slot(std::uint64_t h) const { __builtin_prefetch(&slots[h & mask()]); }
  // Starts loading everything a packet or a removal reads of entry idx.
  void prefetch_lines(std::uint32_t idx) const {
    const char* p = reinterpret_cast<const char*>(&entries[idx]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
  }
  // Prefetches the entry of the first slot of the probe run whose tag matches
  // (not only at the home slot: at half load a quarter of the keys sit further on).
  void prefetch_entry(std::uint64_t h) const {
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      const Slot& s = slots[i];
      if (s.idx == kNil) return;
      if (s.hash == low(h)) return prefetch_lines(s.idx);
    }
  }

  void slot_insert(std::uint32_t idx, std::uint64_t h) {
    std::size_t i = h & mask();
    while (slots[i].idx != kNil) i = (i + 1) & mask();
    slots[i] = {idx, low(h)};
  }

  void slot_erase(std::uint32_t idx) {
    std::size_t i = hash_key(entries[idx].key) & mask();
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
    decltype(slots) old(slots.size() * 2, Slot{});
    old.swap(slots);
    for (const Slot& s : old)
      if (s.idx != kNil) slot_insert(s.idx, s.hash);
  }

  void unlink(std::uint32_t idx) {
    Entry& e = entries[idx];
    if (e.prev != kNil) {
      entries[e.prev].next = e.next;
    } else {
      head[e.cls] = e.next;
      head_due[e.cls] = e.next != kNil ? entries[e.next].due : std::numeric_limits<std::int64_t>::max();
    }
    if (e.next != kNil) entries[e.next].prev = e.prev; else tail[e.cls] = e.prev;
    e.prev = e.next = kNil;
  }

  // Appends to the tail of list cls, due no earlier than the current tail (keeps the list sorted).
  void enqueue(std::uint32_t idx, Cls c, std::int64_t due) {
    Entry& e = entries[idx];
    e.cls = c;
    if (tail[c] != kNil) due = std::max(due, entries[tail[c]].due);
    e.due = due;
    e.prev = tail[c];
    e.next = kNil;
    if (tail[c] != kNil) {
      entries[tail[c]].next = idx;
    } else {
      head[c] = idx;
      head_due[c] = due;
    }
    tail[c] = idx;
    next_due = std::min(next_due, due);
  }

  std::int64_t expiry(const Entry& e) const { return add_ns(e.touched, timeout[e.cls]); }
  std::int64_t expiry(std::uint32_t idx) const { return expiry(entries[idx]); }

  // Notes a packet on an entry at the current clock, moving it when its class changes.
  void touch(std::uint32_t idx, Cls c) {
    Entry& e = entries[idx];
    e.touched = clock;
    if (e.cls == c) return;
    if (e.cls != kClasses) unlink(idx);
    enqueue(idx, c, add_ns(clock, timeout[c]));
  }

  // The record the sink receives.
  static Connection record(const Entry& e, EndReason why) {
    Connection c;
    Ports ports = ports_of(e);
    c.family = e.family;
    c.proto = e.key.proto();
    c.src = e.key.addr(e.initiator);
    c.dst = e.key.addr(1 - e.initiator);
    if (is_icmp(c.proto)) {
      c.sport = ports.sport;
      c.icmp_type = e.key.qtype();
    } else if (c.proto == ipproto::tcp || c.proto == ipproto::udp) {
      c.sport = ports.sport;
      c.dport = ports.dport;
    }
    c.initiator = e.observed ? InitiatorSource::observed : InitiatorSource::inferred;
    c.tcp_state = e.tcp_state;
    c.interface = e.interface;
    c.packets = e.packets;
    c.bytes = e.bytes;
    c.related = e.related;
    c.first_ns = e.first_ns;
    c.last_ns = e.last_ns;
    c.end = why;
    c.open_at_end = why == EndReason::capture_end &&
                    !(c.proto == ipproto::tcp && (c.tcp_state == TcpState::time_wait || c.tcp_state == TcpState::close));
    return c;
  }

  void remove(std::uint32_t idx, EndReason why) {
    switch (why) {
      case EndReason::timeout: ++stats.timed_out; break;
      case EndReason::evicted: ++stats.evicted; break;
      case EndReason::reused: ++stats.reused; break;
      case EndReason::capture_end: break;
    }
    if (sink) sink(record(entries[idx], why));
    unlink(idx);
    slot_erase(idx);
    entries[idx].cls = kClasses;
    free_list.push_back(idx);
    --stats.active;
  }

  void recompute_next_due() {
    next_due = *std::min_element(head_due.begin(), head_due.end());
  }

  // Cheap enough to run for every packet: most packets find nothing due.
  void expire(std::int64_t now) {
    if (now >= next_due) expire_due(now);
  }
  [[gnu::noinline]] void expire_due(std::int64_t now) {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (head[c] != kNil && head_due[c] <= now) {
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
    std::int64_t victim_due = 0;
    for (std::size_t c = 0; c < kClasses; ++c) {
      if (head[c] != kNil && (victim == kNil || head_due[c] < victim_due)) {
        victim = head[c];
        victim_due = head_due[c];
      }
    }
    PM_ASSERT(victim != kNil, "full table without entries");
    // The next victims are likely the ones after this: start loading the index slot
    // of the next (its entry was prefetched by the previous eviction) and the entry
    // of the one after, so that evictions do not wait for memory.
    if (std::uint32_t n1 = entries[victim].next; n1 != kNil) {
      prefetch_slot(hash_key(entries[n1].key));
      if (std::uint32_t n2 = entries[n1].next; n2 != kNil) prefetch_lines(n2);
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
      idx = static_cast<std::uint32_t>(entries.size());
      entries.emplace_back();
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

  Cls cls_for(const Entry& e) const {
    std::uint8_t proto = e.key.proto();
    if (proto == ipproto::tcp) return class_of(e.tcp_state);
    if (proto == ipproto::udp)
      return e.packets[1] > 0 && elapsed_ns(clock, e.first_ns) >= kUdpStreamAfter ? c_udp_stream : c_udp;
    if (is_icmp(proto)) return c_icmp;
    return c_generic;
  }

  // Whether a packet from key side `sender` (Keyed::sender) goes from the initiator.
  // When both sockets are the same, an ICMP query tells by its type, and other
  // packets count as the initiator's.
  static bool from_initiator(const Entry& e, std::uint8_t sender, const FlowKey& k) {
    if (sender == kBothSides) return is_icmp(k.proto) ? icmp_query(k.proto, k.icmp_type).is_request : true;
    return sender == e.initiator;
  }

  static void count(Entry& e, bool orig, const DecodedPacket& p, std::int64_t ts) {
    int d = orig ? 0 : 1;
    ++e.packets[d];
    e.bytes[d] += p.ip_bytes;
    e.last_ns = std::max(e.last_ns, ts);
  }

  CtState create(const DecodedPacket& p, const Keyed& keyed, std::uint64_t h, std::int64_t ts, std::uint32_t itf) {
    const FlowKey& k = p.key;
    bool sender_initiates = true;
    bool observed = false;
    TcpState state = TcpState::none;
    if (k.proto == ipproto::tcp) {
      Seg seg = p.later_fragment ? Seg::ack : segment_class(p.tcp_flags);
      if (seg == Seg::syn) {
        observed = true;
        state = TcpState::syn_sent;
      } else if (seg == Seg::synack) {
        observed = true;
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
      observed = true;
      sender_initiates = icmp_query(k.proto, k.icmp_type).is_request;
    }

    std::uint32_t idx = allocate();
    Entry& e = entries[idx];
    e.key = keyed.key;
    e.touched = 0;
    e.due = 0;
    e.prev = e.next = kNil;
    e.packets = {};
    e.bytes = {};
    e.related = 0;
    e.first_ns = e.last_ns = ts;
    e.interface = itf;
    e.cls = kClasses;
    e.tcp_state = state;
    e.family = k.family;
    int sender = keyed.sender == 1 ? 1 : 0;
    e.initiator = static_cast<std::uint8_t>(sender_initiates ? sender : 1 - sender);
    e.observed = observed;
    slot_insert(idx, h);
    count(e, sender_initiates, p, ts);
    touch(idx, cls_for(e));
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
      Key qk = make_key(p.quoted).key;
      std::uint32_t idx = find(qk, hash_key(qk));
      if (idx == kNil || expiry(idx) <= clock) {
        ++stats.icmp_errors_unmatched;
        return CtState::invalid;
      }
      ++entries[idx].related;
      ++stats.icmp_errors_related;
      return CtState::related;
    }
    Keyed keyed = make_key(p.key);
    return add_keyed(p, keyed, hash_key(keyed.key), ts, itf);
  }

  CtState add_keyed(const DecodedPacket& p, const Keyed& keyed, std::uint64_t h, std::int64_t ts, std::uint32_t itf) {
    const Key& key = keyed.key;
    std::uint32_t idx = find(key, h);
    // Not there, or timed out though its list has not reached it yet.
    if (idx == kNil || expiry(idx) <= clock) return replace(p, keyed, h, ts, itf, idx, EndReason::timeout);

    Entry& e = entries[idx];
    bool orig = from_initiator(e, keyed.sender, p.key);
    bool invalid = false;
    if (key.proto() == ipproto::tcp && !p.later_fragment) {
      Seg seg = segment_class(p.tcp_flags);
      // A new connection on the sockets of a finished one. After a FIN exchange
      // (TIME_WAIT) either side may open it, as the kernel allows; after a RST
      // (CLOSE) only the initiator's SYN does (the kernel's table makes the
      // other side's invalid).
      if (seg == Seg::syn && (e.tcp_state == TcpState::time_wait || (orig && e.tcp_state == TcpState::close))) {
        return replace(p, keyed, h, ts, itf, idx, EndReason::reused);
      }
      TcpState next = tcp_next(e.tcp_state, seg, orig);
      if (next == TcpState::none) {
        invalid = true;
        ++stats.invalid;
      } else {
        e.tcp_state = next;
      }
    }
    bool replied_before = e.packets[1] > 0;
    count(e, orig, p, ts);
    touch(idx, cls_for(e));
    if (invalid) return CtState::invalid;
    return orig && !replied_before ? CtState::new_ : CtState::established;
  }

  // Ends the connection at idx (if any) for `why` and creates the packet's. Out of
  // line so that add_keyed, which most packets leave early, stays small.
  [[gnu::noinline]] CtState replace(const DecodedPacket& p, const Keyed& keyed, std::uint64_t h, std::int64_t ts,
                                    std::uint32_t itf, std::uint32_t idx, EndReason why) {
    if (idx != kNil) remove(idx, why);
    return create(p, keyed, h, ts, itf);
  }

  void add_batch(std::span<const TrackInput> in, CtState* states) {
    // Overlap the cache misses of the lookups: first the index slots, then the entries.
    constexpr std::size_t kChunk = 16;
    Keyed keys[kChunk];
    std::uint64_t hashes[kChunk];
    bool keyed[kChunk];  // tracked by its own key (not untracked, not an ICMP error)
    for (std::size_t base = 0; base < in.size(); base += kChunk) {
      std::size_t n = std::min(kChunk, in.size() - base);
      for (std::size_t i = 0; i < n; ++i) {
        const DecodedPacket& p = *in[base + i].packet;
        keyed[i] = p.has_flow() && !p.icmp_error;
        if (!keyed[i]) continue;
        keys[i] = make_key(p.key);
        hashes[i] = hash_key(keys[i].key);
        prefetch_slot(hashes[i]);
      }
      for (std::size_t i = 0; i < n; ++i)
        if (keyed[i]) prefetch_entry(hashes[i]);
      for (std::size_t i = 0; i < n; ++i) {
        const TrackInput& t = in[base + i];
        const DecodedPacket& p = *t.packet;
        CtState st;
        if (!keyed[i]) {
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
    for (std::uint32_t i = 0; i < entries.size(); ++i)
      if (entries[i].cls != kClasses) live.emplace_back(entries[i].first_ns, i);
    std::sort(live.begin(), live.end());
    for (auto [first, i] : live) remove(i, expiry(i) <= clock ? EndReason::timeout : EndReason::capture_end);
    recompute_next_due();
  }
};

Conntrack::Conntrack(ConntrackOptions options, Sink sink)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(sink))) {}
Conntrack::Conntrack(Conntrack&&) noexcept = default;
Conntrack& Conntrack::operator=(Conntrack&&) noexcept = default;
Conntrack::~Conntrack() = default;

CtState Conntrack::add(const DecodedPacket& packet, std::int64_t ts_ns, std::uint32_t interface) {
  return impl_->add(packet, ts_ns, interface);
}
void Conntrack::expire(std::int64_t now_ns) {
  impl_->clock = std::max(impl_->clock, now_ns);
  impl_->expire(impl_->clock);
  // Expire on time here: a caller asking wants every connection whose timeout passed.
  for (std::size_t c = 0; c < kClasses; ++c) {
    for (std::uint32_t idx = impl_->head[c]; idx != kNil;) {
      std::uint32_t next = impl_->entries[idx].next;
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
std::size_t Conntrack::memory_bytes() const {
  return impl_->entries.size() * sizeof(Entry) + impl_->slots.size() * sizeof(Slot) +
         impl_->free_list.capacity() * sizeof(std::uint32_t);
}

}  // namespace portmatrix
