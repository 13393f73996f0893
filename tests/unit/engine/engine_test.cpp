#include "portmatrix/engine.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include "support/packets.hpp"

using namespace portmatrix;
using namespace pmtest::pkt;

namespace {
constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;
std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "pm_engine_" + std::to_string(::getpid()) + "_" + name;
}
}  // namespace

TEST(Engine, CapturesAreOneStreamAndInterfacesAreNumberedAcrossThem) {
  // First file: a pcap with the start of a connection; second: a pcapng with its
  // end on an SLL2 interface plus a UDP exchange on a second, Ethernet, interface.
  auto a = temp_path("a.pcap"), b = temp_path("b.pcapng");
  Bytes syn = ipv4("192.0.2.10", "192.0.2.20", ipproto::tcp, tcp(51000, 22, tcpflag::syn));
  Bytes synack = ipv4("192.0.2.20", "192.0.2.10", ipproto::tcp, tcp(22, 51000, tcpflag::syn | tcpflag::ack));
  ASSERT_TRUE(write_pcap(a, DLT_EN10MB, {{kT0, ether(kIpv4, syn)}, {kT0 + 1000, ether(kIpv4, synack)}}));
  PcapngWriter w;
  w.section();
  w.interface(linktype::linux_sll2, 65535, "any");
  w.interface(linktype::ethernet, 65535, "eth1");
  w.enhanced(0, kT0 / 1000 + 2, sll2(kIpv4, ipv4("192.0.2.10", "192.0.2.20", ipproto::tcp, tcp(51000, 22, tcpflag::ack))));
  w.enhanced(1, kT0 / 1000 + 3, ether(kIpv6, ipv6("2001:db8::1", "2001:db8::53", ipproto::udp, udp(40000, 53))));
  w.enhanced(1, kT0 / 1000 + 4, ether(kIpv6, ipv6("2001:db8::53", "2001:db8::1", ipproto::udp, udp(53, 40000))));
  w.enhanced(1, kT0 / 1000 + 5, ether(kArp, filler(28)));
  write_all(b, w.bytes());

  std::vector<Connection> conns;
  std::uint64_t hooked = 0, progress_calls = 0;
  auto report = track_captures(
      {a, b}, {}, [&](const Connection& c) { conns.push_back(c); },
      [&](const Frame&, const DecodedPacket&, CtState) { ++hooked; },
      [&](std::size_t, std::uint64_t done, std::uint64_t total) {
        ++progress_calls;
        EXPECT_EQ(done, total);
      });
  unlink(a.c_str());
  unlink(b.c_str());
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(hooked, 6u);
  EXPECT_EQ(progress_calls, 2u);
  ASSERT_EQ(report->captures.size(), 2u);
  EXPECT_EQ(report->captures[1].format, CaptureFormat::pcapng);
  ASSERT_EQ(report->interfaces.size(), 3u);
  EXPECT_EQ(report->interfaces[2].interface.name, "eth1");
  EXPECT_EQ(report->interfaces[2].capture, 1u);
  EXPECT_EQ(report->decoder.non_ip, 1u);
  EXPECT_EQ(report->conntrack.untracked, 1u);
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_EQ(conns[0].proto, ipproto::tcp);
  EXPECT_EQ(conns[0].tcp_state, TcpState::established);
  EXPECT_EQ(conns[0].interface, 0u);
  EXPECT_EQ(conns[0].packets[0] + conns[0].packets[1], 3u);
  EXPECT_EQ(conns[1].proto, ipproto::udp);
  EXPECT_EQ(conns[1].interface, 2u);
  EXPECT_EQ(conns[1].dport, 53);
  EXPECT_TRUE(conns[1].open_at_end);
}

TEST(Engine, UnreadableCaptureIsAnError) {
  auto r = track_captures({temp_path("missing.pcap")}, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Error::Kind::io);
}

// Fragments that came before their first fragment (reordered, or a sender that
// sends the last first) were orphan-fragments, untracked: a datagram of three
// fragments sent last-first counted as one packet of 1500 bytes instead of three
// of 3028. They are held until their first comes and then counted with it; those
// whose first never comes are still orphans.
TEST(Engine, FragmentsBeforeTheirFirstAreTrackedWhenItComes) {
  auto path = temp_path("reordered_fragments.pcap");
  Bytes payload = cat(udp(40010, 514, filler(2992)), {});  // 3000 bytes of UDP
  auto frag = [&](std::size_t from, std::size_t len, bool more, std::uint16_t id, const char* src) {
    V4Opts o;
    o.id = id;
    o.more_fragments = more;
    o.frag_offset8 = static_cast<std::uint16_t>(from / 8);
    return ether(kIpv4, ipv4(src, "192.0.2.1", ipproto::udp, Bytes(payload.begin() + from, payload.begin() + from + len), o));
  };
  std::vector<Rec> recs = {{kT0 + 1000, frag(2960, 40, false, 7, "198.51.100.5")},
                           {kT0 + 2000, frag(1480, 1480, true, 7, "198.51.100.5")},
                           {kT0 + 3000, frag(0, 1480, true, 7, "198.51.100.5")},
                           // A later fragment whose first never comes.
                           {kT0 + 4000, frag(1480, 1480, true, 8, "198.51.100.6")}};
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, recs));
  for (bool hook : {false, true}) {
    std::vector<Connection> conns;
    PacketHook on_packet;
    if (hook) on_packet = [](const Frame&, const DecodedPacket&, CtState) {};
    auto report = track_captures({path}, {}, [&](const Connection& c) { conns.push_back(c); }, on_packet);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0].sport, 40010);
    EXPECT_EQ(conns[0].dport, 514);
    EXPECT_EQ(conns[0].packets[0] + conns[0].packets[1], 3u);
    EXPECT_EQ(conns[0].bytes[0] + conns[0].bytes[1], 3000u + 3 * 20);
    EXPECT_EQ(report->decoder.count(DecodeAnomaly::orphan_fragment), 1u);
    EXPECT_EQ(report->decoder.fragments_attributed, 2u);
    EXPECT_EQ(report->conntrack.untracked, 1u);
  }
}
