#include "portmatrix/conntrack.hpp"

#include <gtest/gtest.h>

#include "support/packets.hpp"

using namespace portmatrix;
using namespace pmtest::pkt;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'000 * kSec;

IpAddr ip(const char* s) { return *parse_ip(s); }

// Feeds raw IP packets through a decoder into a table and collects what it reports.
struct Harness {
  std::vector<Connection> done;
  Decoder decoder;
  Conntrack table;
  explicit Harness(ConntrackOptions o = {}) : table(std::move(o), [this](const Connection& c) { done.push_back(c); }) {}

  CtState feed(const Bytes& ip_packet, std::int64_t ts) {
    DecodedPacket p;
    decoder.decode(linktype::raw, ip_packet.data(), static_cast<std::uint32_t>(ip_packet.size()),
                   static_cast<std::uint32_t>(ip_packet.size()), ts, p);
    return table.add(p, ts);
  }
};

Bytes c2s(std::uint8_t flags, const Bytes& data = {}) {
  return ipv4("192.0.2.10", "192.0.2.20", ipproto::tcp, tcp(51000, 22, flags, data));
}
Bytes s2c(std::uint8_t flags, const Bytes& data = {}) {
  return ipv4("192.0.2.20", "192.0.2.10", ipproto::tcp, tcp(22, 51000, flags, data));
}
constexpr std::uint8_t SYN = tcpflag::syn, ACK = tcpflag::ack, FIN = tcpflag::fin, RST = tcpflag::rst, PSH = tcpflag::psh;

}  // namespace

TEST(Conntrack, TcpHandshakeAndCloseFollowTheKernelStates) {
  Harness h;
  EXPECT_EQ(h.feed(c2s(SYN), kT0), CtState::new_);
  EXPECT_EQ(h.feed(s2c(SYN | ACK), kT0 + 1), CtState::established);
  EXPECT_EQ(h.feed(c2s(ACK), kT0 + 2), CtState::established);
  h.feed(c2s(PSH | ACK, filler(100)), kT0 + 3);
  h.feed(s2c(ACK), kT0 + 4);
  h.feed(c2s(FIN | ACK), kT0 + 5);
  h.feed(s2c(ACK), kT0 + 6);
  h.feed(s2c(FIN | ACK), kT0 + 7);
  h.feed(c2s(ACK), kT0 + 8);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 1u);
  const Connection& c = h.done[0];
  EXPECT_EQ(c.src, ip("192.0.2.10"));
  EXPECT_EQ(c.sport, 51000);
  EXPECT_EQ(c.dst, ip("192.0.2.20"));
  EXPECT_EQ(c.dport, 22);
  EXPECT_EQ(c.initiator, InitiatorSource::observed);
  EXPECT_EQ(c.tcp_state, TcpState::time_wait);
  EXPECT_EQ(c.packets[0], 5u);
  EXPECT_EQ(c.packets[1], 4u);
  EXPECT_EQ(c.bytes[0], 5 * 40u + 100);
  EXPECT_EQ(c.bytes[1], 4 * 40u);
  EXPECT_EQ(c.first_ns, kT0);
  EXPECT_EQ(c.last_ns, kT0 + 8);
  EXPECT_EQ(c.end, EndReason::capture_end);
  EXPECT_FALSE(c.open_at_end);
}

TEST(Conntrack, StatesStepByStep) {
  struct Step {
    Bytes packet;
    TcpState after;
  };
  // Each prefix of the close sequence, ended at capture end, shows the state reached.
  std::vector<Step> steps = {{c2s(SYN), TcpState::syn_sent},          {s2c(SYN | ACK), TcpState::syn_recv},
                             {c2s(ACK), TcpState::established},       {s2c(FIN | ACK), TcpState::fin_wait},
                             {c2s(ACK), TcpState::close_wait},        {c2s(FIN | ACK), TcpState::last_ack},
                             {s2c(ACK), TcpState::time_wait}};
  for (std::size_t n = 1; n <= steps.size(); ++n) {
    Harness h;
    for (std::size_t i = 0; i < n; ++i) h.feed(steps[i].packet, kT0 + std::int64_t(i));
    h.table.finish();
    ASSERT_EQ(h.done.size(), 1u);
    EXPECT_EQ(h.done[0].tcp_state, steps[n - 1].after) << "after " << n << " packets";
    EXPECT_EQ(h.done[0].open_at_end, steps[n - 1].after != TcpState::time_wait);
  }
  Harness reset;
  reset.feed(c2s(SYN), kT0);
  reset.feed(s2c(RST | ACK), kT0 + 1);
  reset.table.finish();
  EXPECT_EQ(reset.done[0].tcp_state, TcpState::close);
}

TEST(Conntrack, InvalidSegmentsAreCounted) {
  Harness h;
  h.feed(c2s(SYN), kT0);
  EXPECT_EQ(h.feed(c2s(ACK), kT0 + 1), CtState::invalid);  // ACK before the SYN-ACK
  EXPECT_EQ(h.feed(c2s(SYN | ACK), kT0 + 2), CtState::invalid);  // SYN-ACK from the initiator
  EXPECT_EQ(h.table.stats().invalid, 2u);
}

TEST(Conntrack, TcpTimeoutsAreTheKernelDefaults) {
  Harness h;
  h.feed(c2s(SYN), kT0);
  // SYN_SENT lasts 120 s: still there at 119 s, gone at 121 s.
  h.table.expire(kT0 + 119 * kSec);
  EXPECT_EQ(h.table.size(), 1u);
  h.table.expire(kT0 + 121 * kSec);
  ASSERT_EQ(h.done.size(), 1u);
  EXPECT_EQ(h.done[0].end, EndReason::timeout);
  EXPECT_FALSE(h.done[0].open_at_end);

  Harness est;
  est.feed(c2s(SYN), kT0);
  est.feed(s2c(SYN | ACK), kT0);
  est.feed(c2s(ACK), kT0);
  est.table.expire(kT0 + 4 * 86400 * kSec);  // ESTABLISHED lasts 5 days
  EXPECT_EQ(est.table.size(), 1u);
  est.table.expire(kT0 + 5 * 86400 * kSec + 1);
  EXPECT_EQ(est.done.size(), 1u);

  Harness closing;
  closing.feed(c2s(SYN), kT0);
  closing.feed(s2c(RST), kT0);
  closing.table.expire(kT0 + 9 * kSec);  // CLOSE lasts 10 s
  EXPECT_EQ(closing.table.size(), 1u);
  closing.table.expire(kT0 + 11 * kSec);
  EXPECT_EQ(closing.table.size(), 0u);
}

TEST(Conntrack, NewSynOnClosedSocketsStartsANewConnection) {
  Harness h;
  std::vector<Bytes> close = {c2s(SYN), s2c(SYN | ACK), c2s(ACK), c2s(FIN | ACK), s2c(ACK), s2c(FIN | ACK), c2s(ACK)};
  for (std::size_t i = 0; i < close.size(); ++i) h.feed(close[i], kT0 + std::int64_t(i));
  h.feed(c2s(SYN), kT0 + 100);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 2u);
  EXPECT_EQ(h.done[0].end, EndReason::reused);
  EXPECT_EQ(h.done[1].tcp_state, TcpState::syn_sent);
  EXPECT_EQ(h.table.stats().reused, 1u);
}

// The kernel reopens a TIME_WAIT connection on a SYN from either side; we kept the
// other side's SYN in the old connection (as invalid), so a connection the server
// opened back to the client's socket was never judged in its own direction.
TEST(Conntrack, ReverseSynInTimeWaitStartsANewConnectionFromThatSide) {
  Harness h;
  std::vector<Bytes> close = {c2s(SYN), s2c(SYN | ACK), c2s(ACK), c2s(FIN | ACK), s2c(FIN | ACK), c2s(ACK)};
  for (std::size_t i = 0; i < close.size(); ++i) h.feed(close[i], kT0 + std::int64_t(i));
  EXPECT_EQ(h.feed(s2c(SYN), kT0 + 5 * kSec), CtState::new_);
  h.feed(c2s(SYN | ACK), kT0 + 5 * kSec + 1);
  h.feed(s2c(ACK), kT0 + 5 * kSec + 2);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 2u);
  EXPECT_EQ(h.done[0].end, EndReason::reused);
  EXPECT_EQ(h.done[0].packets[0] + h.done[0].packets[1], 6u);
  const Connection& back = h.done[1];
  EXPECT_EQ(back.src, ip("192.0.2.20"));
  EXPECT_EQ(back.sport, 22);
  EXPECT_EQ(back.dst, ip("192.0.2.10"));
  EXPECT_EQ(back.dport, 51000);
  EXPECT_EQ(back.initiator, InitiatorSource::observed);
  EXPECT_EQ(back.tcp_state, TcpState::established);
  EXPECT_EQ(h.table.stats().invalid, 0u);

  // After a RST (CLOSE) the kernel's table makes the other side's SYN invalid.
  Harness reset;
  reset.feed(c2s(SYN), kT0);
  reset.feed(s2c(RST | ACK), kT0 + 1);
  EXPECT_EQ(reset.feed(s2c(SYN), kT0 + 2), CtState::invalid);
  reset.table.finish();
  EXPECT_EQ(reset.done.size(), 1u);
}

// Both sides send a SYN, then each answers the other's with a SYN-ACK: the
// kernel (SYN_SENT2) takes the initiator's SYN-ACK as valid; we counted it invalid.
TEST(Conntrack, SimultaneousOpenIsValid) {
  Harness h;
  EXPECT_EQ(h.feed(c2s(SYN), kT0), CtState::new_);
  h.feed(s2c(SYN), kT0 + 1);
  h.feed(s2c(SYN | ACK), kT0 + 2);
  EXPECT_NE(h.feed(c2s(SYN | ACK), kT0 + 3), CtState::invalid);
  h.feed(c2s(ACK), kT0 + 4);
  h.feed(s2c(ACK), kT0 + 5);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 1u);
  EXPECT_EQ(h.done[0].src, ip("192.0.2.10"));
  EXPECT_EQ(h.done[0].tcp_state, TcpState::established);
  EXPECT_EQ(h.done[0].packets[0] + h.done[0].packets[1], 6u);
  EXPECT_EQ(h.table.stats().invalid, 0u);
}

TEST(Conntrack, MidStreamPickupInfersTheInitiator) {
  // The capture starts after the handshake; the first packet seen comes from the server.
  Harness h;
  EXPECT_EQ(h.feed(s2c(PSH | ACK, filler(10)), kT0), CtState::established);
  h.feed(c2s(ACK), kT0 + 1);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 1u);
  EXPECT_EQ(h.done[0].initiator, InitiatorSource::inferred);
  EXPECT_EQ(h.done[0].src, ip("192.0.2.10"));
  EXPECT_EQ(h.done[0].dport, 22);
  EXPECT_EQ(h.done[0].tcp_state, TcpState::established);
  EXPECT_EQ(h.done[0].packets[0], 1u);
  EXPECT_EQ(h.done[0].packets[1], 1u);
}

TEST(Conntrack, SynAckFirstIsObserved) {
  Harness h;
  h.feed(s2c(SYN | ACK), kT0);
  h.table.finish();
  EXPECT_EQ(h.done[0].initiator, InitiatorSource::observed);
  EXPECT_EQ(h.done[0].src, ip("192.0.2.10"));
  EXPECT_EQ(h.done[0].tcp_state, TcpState::syn_recv);
}

TEST(Conntrack, PortHeuristic) {
  auto initiator_port = [](std::uint16_t first_sport, std::uint16_t first_dport, ConntrackOptions o = {}) {
    Harness h(std::move(o));
    h.feed(ipv4("198.51.100.1", "198.51.100.2", ipproto::udp, udp(first_sport, first_dport)), kT0);
    h.table.finish();
    EXPECT_EQ(h.done[0].initiator, InitiatorSource::inferred);
    return h.done[0].sport;
  };
  EXPECT_EQ(initiator_port(53, 50000), 50000);    // well-known beats dynamic
  EXPECT_EQ(initiator_port(5060, 40000), 40000);  // both registered: the lower is the service
  EXPECT_EQ(initiator_port(3306, 60000), 60000);  // registered beats dynamic
  EXPECT_EQ(initiator_port(123, 123), 123);       // same port: the first sender initiated
  EXPECT_EQ(initiator_port(60001, 50002), 60001); // both dynamic: the first sender initiated
  ConntrackOptions hint;
  hint.service_ports = PortSet::single(8472);
  EXPECT_EQ(initiator_port(8472, 4789, hint), 4789);  // a known service port overrides the ranking
}

TEST(Conntrack, UdpTimeouts) {
  Harness h;
  Bytes q = ipv4("192.0.2.10", "192.0.2.53", ipproto::udp, udp(40000, 53));
  Bytes a = ipv4("192.0.2.53", "192.0.2.10", ipproto::udp, udp(53, 40000));
  EXPECT_EQ(h.feed(q, kT0), CtState::new_);
  EXPECT_EQ(h.feed(q, kT0 + 1), CtState::new_);  // not replied yet
  EXPECT_EQ(h.feed(a, kT0 + 2), CtState::established);
  // Replied within 2 s: still the 30 s timeout.
  h.table.expire(kT0 + 31 * kSec);
  ASSERT_EQ(h.done.size(), 1u);
  EXPECT_EQ(h.done[0].end, EndReason::timeout);
  EXPECT_EQ(h.done[0].packets[0], 2u);
  EXPECT_EQ(h.done[0].packets[1], 1u);

  // A stream: replied and active after 2 s gets 120 s.
  Harness s;
  s.feed(q, kT0);
  s.feed(a, kT0 + kSec);
  s.feed(q, kT0 + 3 * kSec);
  s.table.expire(kT0 + 100 * kSec);
  EXPECT_EQ(s.table.size(), 1u);
  s.table.expire(kT0 + 124 * kSec);
  EXPECT_EQ(s.table.size(), 0u);

  // An unreplied flow idle for more than 30 s comes back as a second connection.
  Harness u;
  u.feed(q, kT0);
  u.feed(q, kT0 + 31 * kSec);
  u.table.finish();
  ASSERT_EQ(u.done.size(), 2u);
  EXPECT_EQ(u.done[0].end, EndReason::timeout);
  EXPECT_TRUE(u.done[1].open_at_end);
}

TEST(Conntrack, IcmpEchoIsOneConnection) {
  Harness h;
  EXPECT_EQ(h.feed(ipv4("192.0.2.1", "192.0.2.2", ipproto::icmp, icmp(8, 0, 0x00420001)), kT0), CtState::new_);
  EXPECT_EQ(h.feed(ipv4("192.0.2.2", "192.0.2.1", ipproto::icmp, icmp(0, 0, 0x00420001)), kT0 + 1), CtState::established);
  h.feed(ipv6("2001:db8::2", "2001:db8::1", ipproto::icmpv6, icmp(129, 0, 0x00070001)), kT0 + 2);  // reply first
  h.table.finish();
  ASSERT_EQ(h.done.size(), 2u);
  EXPECT_EQ(h.done[0].icmp_type, 8);
  EXPECT_EQ(h.done[0].sport, 0x42);
  EXPECT_EQ(h.done[0].packets[1], 1u);
  EXPECT_EQ(h.done[1].icmp_type, 128);
  EXPECT_EQ(h.done[1].src, ip("2001:db8::1"));
}

TEST(Conntrack, EchoToItselfTellsRequestsFromReplies) {
  // Both sockets are the same (ping 127.0.0.1 as captured on lo): the type tells the direction.
  Harness h;
  for (std::uint32_t rest : {0x00000001u, 0x12340001u}) {
    EXPECT_EQ(h.feed(ipv4("127.0.0.1", "127.0.0.1", ipproto::icmp, icmp(8, 0, rest)), kT0), CtState::new_);
    EXPECT_EQ(h.feed(ipv4("127.0.0.1", "127.0.0.1", ipproto::icmp, icmp(0, 0, rest)), kT0 + 1), CtState::established);
    EXPECT_EQ(h.feed(ipv4("127.0.0.1", "127.0.0.1", ipproto::icmp, icmp(8, 0, rest + 1)), kT0 + 2), CtState::established);
  }
  // UDP from a socket to itself: every datagram is the initiator's.
  h.feed(ipv4("127.0.0.1", "127.0.0.1", ipproto::udp, udp(5000, 5000)), kT0);
  h.feed(ipv4("127.0.0.1", "127.0.0.1", ipproto::udp, udp(5000, 5000)), kT0 + 1);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 3u);
  for (const auto& c : h.done) {
    EXPECT_EQ(c.src, ip("127.0.0.1"));
    EXPECT_EQ(c.dst, ip("127.0.0.1"));
  }
  EXPECT_EQ(h.done[0].sport, 0);
  EXPECT_EQ(h.done[0].packets, (std::array<std::uint64_t, 2>{2, 1}));
  EXPECT_EQ(h.done[1].sport, 0x1234);
  EXPECT_EQ(h.done[1].packets, (std::array<std::uint64_t, 2>{2, 1}));
  EXPECT_EQ(h.done[2].proto, ipproto::udp);
  EXPECT_EQ(h.done[2].packets, (std::array<std::uint64_t, 2>{2, 0}));
}

TEST(Conntrack, IcmpErrorsAreRelatedToTheQuotedConnection) {
  Harness h;
  Bytes syn = ipv4("192.0.2.1", "198.51.100.7", ipproto::tcp, tcp(51000, 443, SYN));
  h.feed(syn, kT0);
  Bytes quote(syn.begin(), syn.begin() + 28);
  EXPECT_EQ(h.feed(ipv4("203.0.113.1", "192.0.2.1", ipproto::icmp, icmp(3, 13, 0, quote)), kT0 + 1), CtState::related);
  // The same error about a connection never seen.
  Bytes other = ipv4("192.0.2.1", "198.51.100.8", ipproto::tcp, tcp(51000, 443, SYN));
  Bytes quote2(other.begin(), other.begin() + 28);
  EXPECT_EQ(h.feed(ipv4("203.0.113.1", "192.0.2.1", ipproto::icmp, icmp(3, 13, 0, quote2)), kT0 + 2), CtState::invalid);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 1u);
  EXPECT_EQ(h.done[0].related, 1u);
  EXPECT_EQ(h.table.stats().icmp_errors_related, 1u);
  EXPECT_EQ(h.table.stats().icmp_errors_unmatched, 1u);
}

TEST(Conntrack, LaterFragmentsCountToTheirConnection) {
  Harness h;
  V4Opts first;
  first.id = 9;
  first.more_fragments = true;
  h.feed(ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, udp(40000, 4789, filler(100), 1480), first), kT0);
  V4Opts later;
  later.id = 9;
  later.frag_offset8 = 14;
  h.feed(ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, filler(1000), later), kT0 + 1);
  h.table.finish();
  ASSERT_EQ(h.done.size(), 1u);
  EXPECT_EQ(h.done[0].packets[0], 2u);
  EXPECT_EQ(h.done[0].bytes[0], 128u + 1020u);
}

TEST(Conntrack, FullTableEvictsAndCounts) {
  ConntrackOptions o;
  o.max_entries = 100;
  Harness h(o);
  for (int i = 0; i < 1000; ++i) {
    Bytes p = ipv4("192.0.2.1", "192.0.2.2", ipproto::udp, udp(static_cast<std::uint16_t>(10000 + i), 53));
    h.feed(p, kT0 + i);
    ASSERT_LE(h.table.size(), 100u);
  }
  EXPECT_EQ(h.table.stats().evicted, 900u);
  EXPECT_EQ(h.table.stats().peak_active, 100u);
  // The one nearest its timeout goes first: the oldest flows.
  EXPECT_EQ(h.done.front().sport, 10000);
  EXPECT_EQ(h.done.front().end, EndReason::evicted);
  h.table.finish();
  EXPECT_EQ(h.done.size(), 1000u);
  EXPECT_EQ(h.table.stats().connections, 1000u);
}

TEST(Conntrack, MemoryIsBoundedByTheTableSize) {
  // Many distinct connections through a small table: memory stays put while all are reported.
  ConntrackOptions o;
  o.max_entries = 4096;
  std::uint64_t reported = 0;
  Conntrack table(o, [&](const Connection&) { ++reported; });
  DecodedPacket p;
  p.layer = Layer::transport;
  p.key.family = Family::ipv4;
  p.key.proto = ipproto::udp;
  p.key.src = ip("192.0.2.1");
  p.key.dst = ip("198.51.100.1");
  p.key.dport = 53;
  p.ip_bytes = 60;
  std::size_t bound = 0;
  for (std::uint32_t i = 0; i < 300000; ++i) {
    p.key.src.bytes[2] = static_cast<std::uint8_t>(i >> 16);
    p.key.src.bytes[3] = static_cast<std::uint8_t>(i >> 8);
    p.key.sport = static_cast<std::uint16_t>(i);
    table.add(p, kT0 + i);
    if (i == 10000) bound = table.memory_bytes();
  }
  EXPECT_EQ(table.memory_bytes(), bound);
  EXPECT_LE(table.size(), 4096u);
  table.finish();
  EXPECT_EQ(reported, 300000u);
}

TEST(Conntrack, UntrackablePacketsAreCounted) {
  Harness h;
  h.feed(Bytes{0x45, 0, 0}, kT0);
  EXPECT_EQ(h.table.stats().untracked, 1u);
  EXPECT_EQ(h.table.size(), 0u);
}

TEST(Conntrack, BatchesGiveTheSameResultsAsSinglePackets) {
  // A random stream over few addresses and ports (so packets meet their connections
  // again), with ICMP errors, through a small table (so eviction happens).
  std::vector<Bytes> packets;
  std::vector<std::int64_t> times;
  std::uint64_t rnd = 12345;
  auto next = [&](std::uint64_t n) {
    rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
    return (rnd >> 33) % n;
  };
  const char* hosts[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.9"};
  const std::uint8_t flags[] = {SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, RST};
  std::int64_t t = kT0;
  for (int i = 0; i < 5000; ++i) {
    const char* a = hosts[next(4)];
    const char* b = hosts[next(4)];
    auto pa = static_cast<std::uint16_t>(next(2) ? 443 : 50000 + next(20));
    auto pb = static_cast<std::uint16_t>(next(2) ? 53 : 50000 + next(20));
    Bytes p;
    switch (next(4)) {
      case 0: p = ipv4(a, b, ipproto::tcp, tcp(pa, pb, flags[next(6)])); break;
      case 1: p = ipv4(a, b, ipproto::udp, udp(pa, pb)); break;
      case 2: p = ipv4(a, b, ipproto::icmp, icmp(next(2) ? 8 : 0, 0, static_cast<std::uint32_t>(next(3)) << 16)); break;
      default: {
        Bytes q = ipv4(b, a, ipproto::udp, udp(pb, pa));
        p = ipv4("203.0.113.1", b, ipproto::icmp, icmp(3, 3, 0, Bytes(q.begin(), q.begin() + 28)));
      }
    }
    packets.push_back(p);
    t += static_cast<std::int64_t>(next(4000)) * 10'000'000;  // up to 40 s apart: timeouts fire
    times.push_back(t);
  }
  ConntrackOptions o;
  o.max_entries = 50;
  Harness single(o), batched(o);
  std::vector<CtState> one;
  for (std::size_t i = 0; i < packets.size(); ++i) one.push_back(single.feed(packets[i], times[i]));
  std::vector<DecodedPacket> decoded(packets.size());
  std::vector<TrackInput> in;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    batched.decoder.decode(linktype::raw, packets[i].data(), static_cast<std::uint32_t>(packets[i].size()),
                           static_cast<std::uint32_t>(packets[i].size()), times[i], decoded[i]);
    in.push_back({&decoded[i], times[i], 0});
  }
  std::vector<CtState> many(in.size());
  for (std::size_t at = 0; at < in.size();) {
    std::size_t n = std::min<std::size_t>(1 + next(40), in.size() - at);
    batched.table.add_batch({in.data() + at, n}, many.data() + at);
    at += n;
  }
  single.table.finish();
  batched.table.finish();
  EXPECT_EQ(one, many);
  ASSERT_EQ(single.done.size(), batched.done.size());
  EXPECT_GT(single.table.stats().evicted, 0u);
  EXPECT_GT(single.table.stats().timed_out, 0u);
  EXPECT_GT(single.table.stats().icmp_errors_related, 0u);
  for (std::size_t i = 0; i < single.done.size(); ++i) {
    const Connection &x = single.done[i], &y = batched.done[i];
    ASSERT_TRUE(x.src == y.src && x.dst == y.dst && x.sport == y.sport && x.dport == y.dport && x.proto == y.proto &&
                x.packets == y.packets && x.bytes == y.bytes && x.related == y.related && x.end == y.end &&
                x.tcp_state == y.tcp_state && x.first_ns == y.first_ns && x.last_ns == y.last_ns)
        << "connection " << i;
  }
}
