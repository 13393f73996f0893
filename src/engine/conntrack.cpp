// The connection table: an open-addressing hash index (linear probing, deletion
// by backward shift, so no tombstones build up) over a slab of entries, plus one
// intrusive list per timeout class. Every entry in a list got the same timeout
// from a clock that never goes back, so each list is sorted by expiry: expiring
// is popping heads, and the entry nearest its timeout (the one evicted when the
// table is full) is the earliest of the list heads.
//
// The TCP state machine follows the kernel's nf_conntrack_proto_tcp without its
// sequence-window checks: a packet's class (SYN, SYN-ACK, FIN, ACK, RST) and
// direction move the state; packets that fit no transition count as invalid.
#include "portmatrix/conntrack.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/hash.hpp"
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
struct Key {
  IpAddr a, b;
  std::uint16_t pa = 0, pb = 0;
  std::uint8_t proto = 0;
  std::uint8_t qtype = 0;  // ICMP query class (the request type)
  bool operator==(const Key&) const = default;
};

struct Entry {
  Key key;
  std::uint64_t hash = 0;
  Connection c;
  std::int64_t expires = 0;
  std::uint32_t prev = kNil, next = kNil;
  std::uint8_t cls = kClasses;
  bool live = false;
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
      if (orig) return S::none;
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

std::uint64_t hash_key(const Key& k) {
  std::uint64_t h = mix64(std::uint64_t(k.pa) << 32 | std::uint64_t(k.pb) << 16 | std::uint64_t(k.proto) << 8 | k.qtype);
  return hash_addr(hash_addr(h, k.a), k.b);
}

int port_rank(std::uint16_t p) { return static_cast<int>(port_class(p)); }

}  // namespace

struct Conntrack::Impl {
  ConntrackOptions opt;
  Sink sink;
  ConntrackStats stats;
  std::vector<Entry> entries;
  std::vector<std::uint32_t> free_list;
  std::vector<std::uint32_t> slots;  // entry index or kNil; size a power of two
  std::array<std::uint32_t, kClasses> head, tail;
  std::array<std::int64_t, kClasses> timeout{};
  std::int64_t clock = std::numeric_limits<std::int64_t>::min();
  std::int64_t next_expiry = std::numeric_limits<std::int64_t>::max();

  Impl(ConntrackOptions o, Sink s) : opt(std::move(o)), sink(std::move(s)) {
    if (opt.max_entries < 1) opt.max_entries = 1;
    head.fill(kNil);
    tail.fill(kNil);
    const auto& t = opt.timeouts;
    timeout = {t.tcp_syn_sent, t.tcp_syn_recv, t.tcp_established, t.tcp_fin_wait, t.tcp_close_wait, t.tcp_last_ack,
               t.tcp_time_wait, t.tcp_close, t.udp, t.udp_stream, t.icmp, t.generic};
    slots.assign(1024, kNil);
  }

  std::size_t mask() const { return slots.size() - 1; }

  std::uint32_t find(const Key& k, std::uint64_t h) const {
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      std::uint32_t idx = slots[i];
      if (idx == kNil) return kNil;
      const Entry& e = entries[idx];
      if (e.hash == h && e.key == k) return idx;
    }
  }

  void slot_insert(std::uint32_t idx) {
    std::size_t i = entries[idx].hash & mask();
    while (slots[i] != kNil) i = (i + 1) & mask();
    slots[i] = idx;
  }

  void slot_erase(std::uint32_t idx) {
    std::size_t i = entries[idx].hash & mask();
    while (slots[i] != idx) i = (i + 1) & mask();
    // Backward shift: move later members of the probe run into the hole when their
    // home slot does not lie (cyclically) between the hole and their position.
    for (std::size_t j = (i + 1) & mask(); slots[j] != kNil; j = (j + 1) & mask()) {
      std::size_t home = entries[slots[j]].hash & mask();
      bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots[i] = slots[j];
        i = j;
      }
    }
    slots[i] = kNil;
  }

  void grow_index_if_needed() {
    // Keep the load at most one half; the index never exceeds twice max_entries rounded up.
    if ((stats.active + 1) * 2 <= slots.size()) return;
    slots.assign(slots.size() * 2, kNil);
    for (std::uint32_t i = 0; i < entries.size(); ++i)
      if (entries[i].live) slot_insert(i);
  }

  void unlink(std::uint32_t idx) {
    Entry& e = entries[idx];
    if (e.cls == kClasses) return;
    if (e.prev != kNil) entries[e.prev].next = e.next; else head[e.cls] = e.next;
    if (e.next != kNil) entries[e.next].prev = e.prev; else tail[e.cls] = e.prev;
    e.prev = e.next = kNil;
    e.cls = kClasses;
  }

  void touch(std::uint32_t idx, Cls cls) {
    unlink(idx);
    Entry& e = entries[idx];
    e.cls = cls;
    e.expires = add_ns(clock, timeout[cls]);
    e.prev = tail[cls];
    if (tail[cls] != kNil) entries[tail[cls]].next = idx; else head[cls] = idx;
    tail[cls] = idx;
    next_expiry = std::min(next_expiry, e.expires);
  }

  void remove(std::uint32_t idx, EndReason why) {
    Entry& e = entries[idx];
    e.c.end = why;
    e.c.open_at_end = why == EndReason::capture_end &&
                      !(e.c.proto == ipproto::tcp && (e.c.tcp_state == TcpState::time_wait || e.c.tcp_state == TcpState::close));
    switch (why) {
      case EndReason::timeout: ++stats.timed_out; break;
      case EndReason::evicted: ++stats.evicted; break;
      case EndReason::reused: ++stats.reused; break;
      case EndReason::capture_end: break;
    }
    if (sink) sink(e.c);
    unlink(idx);
    slot_erase(idx);
    e.live = false;
    free_list.push_back(idx);
    --stats.active;
  }

  void recompute_next_expiry() {
    next_expiry = std::numeric_limits<std::int64_t>::max();
    for (auto h : head)
      if (h != kNil) next_expiry = std::min(next_expiry, entries[h].expires);
  }

  void expire(std::int64_t now) {
    if (now < next_expiry) return;
    for (std::size_t c = 0; c < kClasses; ++c)
      while (head[c] != kNil && entries[head[c]].expires <= now) remove(head[c], EndReason::timeout);
    recompute_next_expiry();
  }

  void evict_one() {
    std::uint32_t victim = kNil;
    for (auto h : head)
      if (h != kNil && (victim == kNil || entries[h].expires < entries[victim].expires)) victim = h;
    PM_ASSERT(victim != kNil, "full table without entries");
    remove(victim, EndReason::evicted);
  }

  std::uint32_t allocate() {
    if (stats.active >= opt.max_entries) evict_one();
    grow_index_if_needed();
    std::uint32_t idx;
    if (!free_list.empty()) {
      idx = free_list.back();
      free_list.pop_back();
    } else {
      if (entries.size() == entries.capacity())
        entries.reserve(std::min(opt.max_entries, std::max<std::size_t>(1024, entries.capacity() * 2)));
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

  static Cls udp_class(const Connection& c, std::int64_t now) {
    return c.packets[1] > 0 && elapsed_ns(now, c.first_ns) >= kUdpStreamAfter ? c_udp_stream : c_udp;
  }

  static bool from_initiator(const Connection& c, const FlowKey& k) {
    if (c.src == c.dst && c.sport == c.dport)
      return is_icmp(c.proto) ? icmp_query(c.proto, k.icmp_type).is_request : true;
    return k.src == c.src && k.sport == c.sport;
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
    Entry& e = entries[idx];
    e = Entry{};
    e.key = key;
    e.hash = h;
    e.live = true;
    Connection& c = e.c;
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
    slot_insert(idx);
    count(c, sender_initiates, p, ts);
    touch(idx, cls_for(c));
    return sender_initiates ? CtState::new_ : CtState::established;
  }

  Cls cls_for(const Connection& c) const {
    if (c.proto == ipproto::tcp) return class_of(c.tcp_state);
    if (c.proto == ipproto::udp) return udp_class(c, clock);
    if (is_icmp(c.proto)) return c_icmp;
    return c_generic;
  }

  static void count(Connection& c, bool orig, const DecodedPacket& p, std::int64_t ts) {
    int d = orig ? 0 : 1;
    ++c.packets[d];
    c.bytes[d] += p.ip_bytes;
    c.last_ns = std::max(c.last_ns, ts);
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
      if (idx == kNil) {
        ++stats.icmp_errors_unmatched;
        return CtState::invalid;
      }
      ++entries[idx].c.related;
      ++stats.icmp_errors_related;
      return CtState::related;
    }

    Key key = make_key(p.key);
    std::uint64_t h = hash_key(key);
    std::uint32_t idx = find(key, h);
    if (idx == kNil) return create(p, key, h, ts, itf);

    Connection& c = entries[idx].c;
    bool orig = from_initiator(c, p.key);
    bool invalid = false;
    if (c.proto == ipproto::tcp && !p.later_fragment) {
      Seg seg = segment_class(p.tcp_flags);
      if (seg == Seg::syn && orig && (c.tcp_state == TcpState::time_wait || c.tcp_state == TcpState::close)) {
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

  void finish() {
    std::vector<std::uint32_t> live;
    for (std::uint32_t i = 0; i < entries.size(); ++i)
      if (entries[i].live) live.push_back(i);
    // Reported in order of appearance, so the output does not depend on hashing.
    std::sort(live.begin(), live.end(), [&](std::uint32_t x, std::uint32_t y) {
      const auto& a = entries[x].c;
      const auto& b = entries[y].c;
      return a.first_ns != b.first_ns ? a.first_ns < b.first_ns : x < y;
    });
    for (auto i : live) remove(i, EndReason::capture_end);
    recompute_next_expiry();
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
}
void Conntrack::finish() { impl_->finish(); }
const ConntrackStats& Conntrack::stats() const { return impl_->stats; }
std::size_t Conntrack::size() const { return impl_->stats.active; }
std::size_t Conntrack::memory_bytes() const {
  return impl_->entries.capacity() * sizeof(Entry) + impl_->slots.capacity() * sizeof(std::uint32_t) +
         impl_->free_list.capacity() * sizeof(std::uint32_t);
}

}  // namespace portmatrix
