// Connection tracking over decoded packets, modelled on Linux conntrack: packets
// become connections (a pair of sockets, IPv4 or IPv6) with the initiator
// identified, TCP states and the kernel's default timeouts, UDP and ICMP
// pseudo-connections, and ICMP errors attributed to the connection they quote.
// Time is the capture's: timeouts fire as packet timestamps advance. The table
// is bounded; every connection is handed to a callback once when it ends (timeout,
// eviction, reuse of its sockets, or the end of the capture), so memory stays
// bounded by the table size however many connections a capture holds.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "portmatrix/address.hpp"
#include "portmatrix/decode.hpp"
#include "portmatrix/evaluate.hpp"
#include "portmatrix/ports.hpp"

namespace portmatrix {

// TCP states as nf_conntrack names them.
enum class TcpState : std::uint8_t { none, syn_sent, syn_recv, established, fin_wait, close_wait, last_ack, time_wait, close };
std::string_view to_string(TcpState s);

// How the initiator was identified: seen opening the connection (TCP SYN or
// SYN-ACK, ICMP request or reply), or inferred by the port heuristic.
enum class InitiatorSource : std::uint8_t { observed, inferred };
std::string_view to_string(InitiatorSource s);

enum class EndReason : std::uint8_t {
  timeout,      // idle longer than its state's timeout
  evicted,      // pushed out to make room in a full table
  reused,       // a new SYN reused the sockets of a closing TCP connection
  capture_end,  // still in the table when the capture ended
};
std::string_view to_string(EndReason r);

// One connection, from the initiator's point of view: src/sport opened it to dst/dport.
struct Connection {
  Family family = Family::ipv4;
  std::uint8_t proto = 0;                   // IP protocol number (see ipproto::)
  IpAddr src, dst;
  std::uint16_t sport = 0, dport = 0;       // tcp/udp ports; ICMP queries: sport = identifier
  std::uint8_t icmp_type = 0;               // ICMP/ICMPv6: the request's type (8 echo, 128 echo, ...)
  InitiatorSource initiator = InitiatorSource::observed;
  TcpState tcp_state = TcpState::none;      // the last state (tcp only)
  std::uint32_t interface = 0;              // capture interface of the first packet
  std::array<std::uint64_t, 2> packets{};   // [0] initiator -> responder, [1] responder -> initiator
  std::array<std::uint64_t, 2> bytes{};     // IP bytes, same directions
  std::uint64_t related = 0;                // ICMP errors that quoted this connection
  std::int64_t first_ns = 0, last_ns = 0;   // capture timestamps of the first and last packet
  EndReason end = EndReason::capture_end;
  bool open_at_end = false;                 // reported at capture end and not closed (TCP TIME_WAIT/CLOSE are closed)
};

// Timeouts in nanoseconds; the defaults are the kernel's nf_conntrack_*_timeout* sysctls.
struct ConntrackTimeouts {
  static constexpr std::int64_t s = 1'000'000'000;
  std::int64_t tcp_syn_sent = 120 * s;
  std::int64_t tcp_syn_recv = 60 * s;
  std::int64_t tcp_established = 432000 * s;  // 5 days
  std::int64_t tcp_fin_wait = 120 * s;
  std::int64_t tcp_close_wait = 60 * s;
  std::int64_t tcp_last_ack = 30 * s;
  std::int64_t tcp_time_wait = 120 * s;
  std::int64_t tcp_close = 10 * s;
  std::int64_t udp = 30 * s;                  // unreplied, or replied within the first 2 s
  std::int64_t udp_stream = 120 * s;          // replied and still active after 2 s
  std::int64_t icmp = 30 * s;
  std::int64_t generic = 600 * s;             // other IP protocols
};

struct ConntrackOptions {
  std::size_t max_entries = 262144;  // connections held at once; more evict the one nearest its timeout
  ConntrackTimeouts timeouts;
  // Ports known to be services (e.g. a matrix's destination ports): when exactly
  // one side of an inferred connection uses one, that side is the responder.
  PortSet service_ports;
};

struct ConntrackStats {
  std::uint64_t packets = 0;                // packets offered
  std::uint64_t untracked = 0;              // not attributable: non-IP, malformed, orphan fragments
  std::uint64_t invalid = 0;                // TCP packets that do not fit the connection's state
  std::uint64_t connections = 0;            // connections created
  std::uint64_t timed_out = 0, evicted = 0, reused = 0;
  std::uint64_t icmp_errors_related = 0;    // ICMP errors attributed to a tracked connection
  std::uint64_t icmp_errors_unmatched = 0;  // ICMP errors quoting no tracked connection
  std::size_t active = 0, peak_active = 0;
};

// One packet for Conntrack::add_batch.
struct TrackInput {
  const DecodedPacket* packet = nullptr;
  std::int64_t ts_ns = 0;
  std::uint32_t interface = 0;
};

class Conntrack {
 public:
  // Called once for each connection as it ends; the reference is valid during the call only.
  using Sink = std::function<void(const Connection&)>;

  Conntrack(ConntrackOptions options, Sink sink);
  Conntrack(Conntrack&&) noexcept;
  Conntrack& operator=(Conntrack&&) noexcept;
  ~Conntrack();

  // Adds one decoded packet seen at ts_ns on a capture interface (first reporting
  // connections whose timers fell due). Returns the packet's conntrack state
  // (new, established, related or invalid), as the kernel would classify it.
  CtState add(const DecodedPacket& packet, std::int64_t ts_ns, std::uint32_t interface = 0);
  // The same as add() on each packet in order, but overlaps their table lookups
  // (faster on large tables). states, when not null, receives each packet's state.
  void add_batch(std::span<const TrackInput> packets, CtState* states = nullptr);
  // Reports every connection whose timeout passed by now_ns. (add() reports timed-out
  // connections as its timer lists reach them, possibly later than their timeout;
  // this call scans the whole table.)
  void expire(std::int64_t now_ns);
  // Reports every remaining connection (EndReason::capture_end) and empties the table.
  void finish();

  const ConntrackStats& stats() const;
  std::size_t size() const;
  // Bytes of table in use (entries ever used, index, free list); bounded by a function of max_entries.
  std::size_t memory_bytes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace portmatrix
