// Differential tests of the packet engine against a frozen copy of the
// connection table as it was before the performance work
// (reference/conntrack_reference.hpp): over seeded random traffic (many
// protocols, damage, fragments, ICMP errors, timeouts, tiny tables that evict),
// the library must report the same connections in the same order, with the same
// states, counters and per-packet conntrack states.
#include <unistd.h>

#include <sstream>

#include <gtest/gtest.h>

#include "portmatrix/engine.hpp"
#include "reference/conntrack_reference.hpp"
#include "support/traffic.hpp"

using namespace portmatrix;
namespace tr = pmtest::traffic;

namespace {

std::string describe(const Connection& c) {
  std::ostringstream o;
  o << "fam=" << int(c.family) << " proto=" << int(c.proto) << " " << c.src.to_string() << ":" << c.sport << " -> "
    << c.dst.to_string() << ":" << c.dport << " icmp=" << int(c.icmp_type) << " init=" << to_string(c.initiator)
    << " tcp=" << to_string(c.tcp_state) << " itf=" << c.interface << " pk=" << c.packets[0] << "/" << c.packets[1]
    << " by=" << c.bytes[0] << "/" << c.bytes[1] << " rel=" << c.related << " first=" << c.first_ns
    << " last=" << c.last_ns << " end=" << to_string(c.end) << " open=" << c.open_at_end;
  return o.str();
}

std::string describe(const ConntrackStats& s) {
  std::ostringstream o;
  o << "packets=" << s.packets << " untracked=" << s.untracked << " invalid=" << s.invalid
    << " connections=" << s.connections << " timed_out=" << s.timed_out << " evicted=" << s.evicted
    << " reused=" << s.reused << " related=" << s.icmp_errors_related << " unmatched=" << s.icmp_errors_unmatched
    << " active=" << s.active << " peak=" << s.peak_active;
  return o.str();
}

// Compares what two tables reported, connection by connection.
void expect_same(const std::vector<Connection>& want, const std::vector<Connection>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(describe(want[i]), describe(got[i])) << "connection " << i;
}

struct Config {
  std::size_t table;
  bool short_timeouts;
  bool service_ports;
};

ConntrackOptions options_for(const Config& c) {
  ConntrackOptions o;
  o.max_entries = c.table;
  if (c.short_timeouts) {
    // Seconds instead of minutes, so that timeouts of every class fire in a short stream.
    auto& t = o.timeouts;
    constexpr std::int64_t s = ConntrackTimeouts::s;
    t = {3 * s, 2 * s, 40 * s, 3 * s, 2 * s, 1 * s, 4 * s, s / 2, 2 * s, 5 * s, 2 * s, 10 * s};
  }
  if (c.service_ports) {
    o.service_ports.add(PortSet::single(53));
    o.service_ports.add(PortSet::single(40000));
    o.service_ports.add(PortSet::single(5060));
  }
  return o;
}

const Config kConfigs[] = {{1, false, false},  {2, true, false},      {5, true, true},
                           {16, false, true},  {64, true, false},     {300, true, true},
                           {4096, false, false}, {262144, true, false}};

}  // namespace

TEST(EngineEquivalence, ConnectionTableMatchesTheReference) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    for (const Config& cfg : kConfigs) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " table " + std::to_string(cfg.table) +
                   (cfg.short_timeouts ? " short timeouts" : "") + (cfg.service_ports ? " service ports" : ""));
      tr::Profile prof;
      if (cfg.short_timeouts) prof.max_gap_ns = 300'000'000;
      tr::Generator gen(seed, prof);
      auto frames = gen.take(6000);
      Decoder decoder;
      std::vector<DecodedPacket> packets(frames.size());
      for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto& f = frames[i];
        auto n = static_cast<std::uint32_t>(f.data.size());
        decoder.decode(linktype::ethernet, f.data.data(), n, n, f.ts_ns, packets[i]);
      }
      std::vector<Connection> want, got;
      pmref::Conntrack ref(options_for(cfg), [&](const Connection& c) { want.push_back(c); });
      Conntrack lib(options_for(cfg), [&](const Connection& c) { got.push_back(c); });
      std::vector<CtState> want_states(frames.size()), got_states(frames.size());
      std::vector<TrackInput> in(frames.size());
      for (std::size_t i = 0; i < frames.size(); ++i) in[i] = {&packets[i], frames[i].ts_ns, frames[i].iface};

      // The same stream through both, fed alike: single packets, batches of any
      // size, and now and then an explicit expire().
      tr::Rng r(seed * 77 + cfg.table);
      for (std::size_t at = 0; at < in.size();) {
        std::uint64_t how = r.below(10);
        if (how < 3) {
          want_states[at] = ref.add(*in[at].packet, in[at].ts_ns, in[at].interface);
          got_states[at] = lib.add(*in[at].packet, in[at].ts_ns, in[at].interface);
          ++at;
        } else if (how < 9) {
          std::size_t n = std::min<std::size_t>(1 + r.below(70), in.size() - at);
          ref.add_batch({in.data() + at, n}, want_states.data() + at);
          lib.add_batch({in.data() + at, n}, got_states.data() + at);
          at += n;
        } else {
          std::int64_t now = in[at].ts_ns + static_cast<std::int64_t>(r.below(3)) * 1'000'000'000;
          ref.expire(now);
          lib.expire(now);
        }
        ASSERT_EQ(ref.size(), lib.size()) << "after packet " << at;
      }
      ref.finish();
      lib.finish();
      expect_same(want, got);
      for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(want_states[i], got_states[i]) << "packet " << i;
      EXPECT_EQ(describe(ref.stats()), describe(lib.stats()));
      EXPECT_EQ(lib.size(), 0u);
    }
  }
}

TEST(EngineEquivalence, TrafficExercisesEveryPath) {
  // The generator must reach what the comparison above is meant to cover.
  tr::Profile prof;
  prof.max_gap_ns = 300'000'000;
  tr::Generator gen(1, prof);
  auto frames = gen.take(6000);
  Decoder decoder;
  Config cfg{5, true, true};
  pmref::Conntrack ref(options_for(cfg), [](const Connection&) {});
  for (const auto& f : frames) {
    DecodedPacket p;
    auto n = static_cast<std::uint32_t>(f.data.size());
    decoder.decode(linktype::ethernet, f.data.data(), n, n, f.ts_ns, p);
    ref.add(p, f.ts_ns, f.iface);
  }
  ref.finish();
  const auto& s = ref.stats();
  EXPECT_GT(s.untracked, 0u);
  EXPECT_GT(s.invalid, 0u);
  EXPECT_GT(s.timed_out, 0u);
  EXPECT_GT(s.evicted, 0u);
  EXPECT_GT(s.reused, 0u);
  EXPECT_GT(s.icmp_errors_related, 0u);
  EXPECT_GT(s.icmp_errors_unmatched, 0u);
  const auto& d = decoder.stats();
  EXPECT_GT(d.fragments_attributed, 0u);
  EXPECT_GT(d.count(DecodeAnomaly::orphan_fragment), 0u);
  EXPECT_GT(d.count(DecodeAnomaly::bad_ipv4_header_length) + d.count(DecodeAnomaly::truncated_ipv4), 0u);
  EXPECT_GT(d.non_ip, 0u);
  EXPECT_GT(d.ipv6, 0u);
}
