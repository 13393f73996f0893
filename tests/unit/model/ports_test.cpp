#include "portmatrix/ports.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

using namespace portmatrix;

TEST(PortSet, MergesOverlappingAndAdjacentRanges) {
  PortSet s({{10, 20}, {21, 30}, {5, 12}, {40, 40}});
  ASSERT_EQ(s.ranges().size(), 2u);
  EXPECT_EQ(s.ranges()[0], (PortRange{5, 30}));
  EXPECT_EQ(s.ranges()[1], (PortRange{40, 40}));
  EXPECT_EQ(s.count(), 27u);
  EXPECT_TRUE(s.contains(5));
  EXPECT_TRUE(s.contains(30));
  EXPECT_FALSE(s.contains(31));
  EXPECT_FALSE(s.contains(4));
}

TEST(PortSet, FullAndEmpty) {
  EXPECT_TRUE(PortSet::full().is_full());
  EXPECT_EQ(PortSet::full().count(), 65536u);
  EXPECT_TRUE(PortSet().empty());
  EXPECT_FALSE(PortSet().contains(0));
  EXPECT_TRUE(PortSet::full().contains(65535));
}

TEST(PortSet, IntersectAndSubtract) {
  PortSet a({{1, 100}, {200, 300}});
  PortSet b({{50, 250}});
  EXPECT_EQ(a.intersect(b), PortSet({{50, 100}, {200, 250}}));
  EXPECT_EQ(a.subtract(b), PortSet({{1, 49}, {251, 300}}));
  EXPECT_EQ(PortSet::full().subtract(PortSet::single(0)), PortSet({{1, 65535}}));
  EXPECT_EQ(PortSet::full().subtract(PortSet::single(65535)), PortSet({{0, 65534}}));
  EXPECT_TRUE(PortSet::single(7).subset_of(a));
  EXPECT_FALSE(PortSet::single(150).subset_of(a));
}

TEST(PortList, Parses) {
  EXPECT_EQ(*parse_port_list("22"), PortSet::single(22));
  EXPECT_EQ(*parse_port_list("1556, 13724"), PortSet({{1556, 1556}, {13724, 13724}}));
  EXPECT_EQ(*parse_port_list("5001-64500"), PortSet({{5001, 64500}}));
  std::string err;
  EXPECT_FALSE(parse_port_list("65536", &err));
  EXPECT_NE(err.find("65536"), std::string::npos);
  EXPECT_FALSE(parse_port_list("30-20", &err));
  EXPECT_NE(err.find("reversed"), std::string::npos);
  EXPECT_FALSE(parse_port_list("", &err));
  EXPECT_FALSE(parse_port_list("22,", &err));
  EXPECT_FALSE(parse_port_list("-5", &err));
}

TEST(PortClass, MatchesTheIanaRanges) {
  EXPECT_EQ(port_class(0), PortClass::well_known);
  EXPECT_EQ(port_class(1023), PortClass::well_known);
  EXPECT_EQ(port_class(1024), PortClass::registered);
  EXPECT_EQ(port_class(49151), PortClass::registered);
  EXPECT_EQ(port_class(49152), PortClass::dynamic);
  EXPECT_EQ(port_class(65535), PortClass::dynamic);
}

TEST(PortSpec, ResolvesEphemeral) {
  PortSpec s{PortSet::single(22), true, false};
  EXPECT_EQ(s.resolve({32768, 60999}), PortSet({{22, 22}, {32768, 60999}}));
  EXPECT_EQ(s.to_string(), "22, ephemeral");
}

namespace {
// The canonical form built the obvious way: mark every port, then read off runs.
PortSet reference_port_set(const std::vector<PortRange>& items) {
  std::vector<bool> in(65536, false);
  for (auto r : items)
    for (std::uint32_t p = r.lo; p <= r.hi; ++p) in[p] = true;
  std::vector<PortRange> runs;
  for (std::uint32_t p = 0; p < 65536; ++p) {
    if (!in[p]) continue;
    std::uint32_t q = p;
    while (q + 1 < 65536 && in[q + 1]) ++q;
    runs.push_back({std::uint16_t(p), std::uint16_t(q)});
    p = q;
  }
  PortSet s;
  for (auto r : runs) s.add(r);  // already disjoint and non-adjacent
  return s;
}
}  // namespace

TEST(PortSet, AddOneAtATimeMatchesAReferenceInAnyOrder) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<PortRange> items;
    const int n = 1 + int(rng() % 60);
    // Small universe so items overlap, touch and nest often, plus the edges 0 and 65535.
    const std::uint32_t base = round % 3 == 0 ? 0 : round % 3 == 1 ? 65535 - 200 : 1000;
    for (int i = 0; i < n; ++i) {
      std::uint32_t lo = base + rng() % 200, hi = std::min<std::uint32_t>(lo + rng() % (i % 4 == 0 ? 30 : 2), 65535);
      items.push_back({std::uint16_t(lo), std::uint16_t(hi)});
    }
    PortSet incremental;
    for (auto r : items) incremental.add(r);
    EXPECT_EQ(incremental, reference_port_set(items)) << "round " << round;
    EXPECT_EQ(incremental, PortSet(items)) << "round " << round;  // the constructor sorts and merges
    // Invariant: sorted, disjoint, non-adjacent.
    const auto& rs = incremental.ranges();
    for (std::size_t i = 1; i < rs.size(); ++i) EXPECT_GT(std::uint32_t(rs[i].lo), std::uint32_t(rs[i - 1].hi) + 1);
  }
  PortSet s;
  s.add({0, 65535});
  s.add({5, 5});
  EXPECT_TRUE(s.is_full());
  PortSet t;
  t.add({65535, 65535});
  t.add({0, 0});
  t.add({1, 65534});
  EXPECT_TRUE(t.is_full());
}

// A matrix can list tens of thousands of single ports: adding them one by one
// must not sort and rebuild the set each time (that took 23 s for 32,768).
TEST(PortSet, AddingEveryPortSinglyInRandomOrderIsFast) {
  std::vector<std::uint16_t> ports(65536);
  for (std::uint32_t p = 0; p < 65536; ++p) ports[p] = std::uint16_t(p);
  std::mt19937 rng(7);
  std::shuffle(ports.begin(), ports.end(), rng);
  PortSet all, even;
  for (auto p : ports) {
    all.add({p, p});
    if (p % 2 == 0) even.add({p, p});
  }
  EXPECT_TRUE(all.is_full());
  EXPECT_EQ(even.ranges().size(), 32768u);
  EXPECT_EQ(even.count(), 32768u);
  EXPECT_TRUE(even.contains(65534));
  EXPECT_FALSE(even.contains(65535));
  // In ascending order, every second port (the slow reproducer's shape).
  PortSet ascending;
  for (std::uint32_t p = 0; p < 65536; p += 2) ascending.add({std::uint16_t(p), std::uint16_t(p)});
  EXPECT_EQ(ascending, even);
}
