#include "portmatrix/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace portmatrix;

TEST(Address, ParsesAndPrints) {
  auto a = parse_ip("192.0.2.10");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, Family::ipv4);
  EXPECT_EQ(a->to_string(), "192.0.2.10");
  auto b = parse_ip("2001:db8::20");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->family, Family::ipv6);
  EXPECT_EQ(b->to_string(), "2001:db8::20");
  EXPECT_FALSE(parse_ip("192.0.2.256"));
  EXPECT_FALSE(parse_ip("cms.example"));
  EXPECT_FALSE(parse_ip(""));
}

TEST(Prefix, RejectsHostBits) {
  std::string err;
  EXPECT_FALSE(parse_prefix("192.0.2.5/24", &err));
  EXPECT_NE(err.find("192.0.2.0/24"), std::string::npos);
  EXPECT_FALSE(parse_prefix("192.0.2.0/33", &err));
  auto p = parse_prefix("2001:db8::/32");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*parse_ip("2001:db8:1::5")));
  EXPECT_FALSE(p->contains(*parse_ip("2001:db9::5")));
  EXPECT_FALSE(p->contains(*parse_ip("192.0.2.1")));
}

TEST(AddrSet, CanonicalMerge) {
  AddrSet s;
  s.add(*parse_prefix("192.0.2.0/25"));
  s.add(*parse_prefix("192.0.2.128/25"));
  ASSERT_EQ(s.prefixes(Family::ipv4).size(), 1u);
  EXPECT_EQ(s.prefixes(Family::ipv4)[0].to_string(), "192.0.2.0/24");
  s.add(*parse_prefix("192.0.2.7"));
  EXPECT_EQ(s.prefixes(Family::ipv4).size(), 1u);
  EXPECT_TRUE(s.empty(Family::ipv6));
  EXPECT_TRUE(s.contains(*parse_ip("192.0.2.200")));
  EXPECT_FALSE(s.contains(*parse_ip("192.0.3.0")));
  EXPECT_FALSE(s.contains(*parse_ip("2001:db8::1")));
}

TEST(AddrSet, AnyCoversBothFamilies) {
  auto any = AddrSet::any();
  EXPECT_TRUE(any.contains(*parse_ip("0.0.0.0")));
  EXPECT_TRUE(any.contains(*parse_ip("255.255.255.255")));
  EXPECT_TRUE(any.contains(*parse_ip("::")));
  EXPECT_TRUE(any.contains(*parse_ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_EQ(any.to_string(), "any");
  auto r = any.v4_ranges();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first, 0u);
  EXPECT_EQ(r[0].second, 0xffffffffu);
}

TEST(AddrSet, IntersectKeepsTheNarrowerPrefix) {
  AddrSet a;
  a.add(*parse_prefix("198.51.100.0/24"));
  AddrSet b;
  b.add(*parse_prefix("198.51.100.7"));
  b.add(*parse_prefix("203.0.113.0/24"));
  auto i = a.intersect(b);
  EXPECT_EQ(i.to_string(), "198.51.100.7");
}

// IpAddr::to_string formats without inet_ntop; it must give inet_ntop's text.
TEST(Address, TextIsInetNtops) {
  auto ntop = [](const IpAddr& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(a.family == Family::ipv4 ? AF_INET : AF_INET6, a.bytes.data(), buf, sizeof buf);
    return std::string(buf);
  };
  std::mt19937_64 rng(7);
  int checked = 0;
  for (int n = 0; n < 200000; ++n) {
    IpAddr a;
    a.family = n % 3 == 0 ? Family::ipv4 : Family::ipv6;
    for (auto& b : a.bytes) b = static_cast<std::uint8_t>(rng());
    if (a.family == Family::ipv4) {
      for (int i = 4; i < 16; ++i) a.bytes[i] = 0;
      // Small numbers too: one and two digit bytes.
      for (int i = 0; i < 4; ++i)
        if (rng() % 3 == 0) a.bytes[i] = static_cast<std::uint8_t>(a.bytes[i] % (rng() % 2 ? 10 : 100));
    } else {
      // Zero words in runs of every length and place, small words, and the IPv4-compatible and -mapped forms.
      for (int w = 0; w < 8; ++w) {
        auto r = rng() % 4;
        if (r == 0) a.bytes[2 * w] = a.bytes[2 * w + 1] = 0;
        if (r == 1) a.bytes[2 * w] = 0;
        if (r == 2 && rng() % 2) a.bytes[2 * w + 1] &= 0x0f, a.bytes[2 * w] = 0;
      }
      if (n % 7 == 0) {
        for (int i = 0; i < 10; ++i) a.bytes[i] = 0;
        a.bytes[10] = a.bytes[11] = n % 14 == 0 ? 0xff : 0;
      }
    }
    ASSERT_EQ(a.to_string(), ntop(a)) << "address " << n;
    ++checked;
  }
  for (const char* s : {"::", "::1", "1::", "::ffff:192.0.2.1", "::192.0.2.1", "::ffff:0:0", "1:0:0:1:0:0:0:1",
                        "1:0:0:1:0:0:1:1", "0:0:1::", "2001:db8::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                        "0.0.0.0", "255.255.255.255", "10.0.0.1"}) {
    auto a = parse_ip(s);
    ASSERT_TRUE(a) << s;
    EXPECT_EQ(a->to_string(), ntop(*a)) << s;
  }
  EXPECT_EQ(checked, 200000);
}

namespace {
Prefix v4_prefix(std::uint32_t addr, int len) {
  std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t(0) << (32 - len);
  return Prefix{IpAddr::v4(addr & mask), std::uint8_t(len)};
}
Prefix v6_prefix(u128 addr, int len) {
  u128 mask = len == 0 ? 0 : ~u128(0) << (128 - len);
  return Prefix{IpAddr::v6(addr & mask), std::uint8_t(len)};
}

// The set rebuilt from scratch for the whole list at once (the merge add(AddrSet) does).
AddrSet rebuilt(const std::vector<Prefix>& items) {
  AddrSet all;
  for (const auto& p : items) {
    AddrSet one;
    one.add(p);
    all.add(one);
  }
  return all;
}

// Random prefixes in a small IPv4 window (so they overlap, touch and nest) or at the ends of either family.
std::vector<Prefix> random_prefixes(std::mt19937& rng, int n, std::uint32_t v4_base) {
  std::vector<Prefix> items;
  for (int i = 0; i < n; ++i) {
    int kind = int(rng() % 10);
    if (kind < 7) items.push_back(v4_prefix(v4_base + rng() % 512, kind < 5 ? 32 : 24 + int(rng() % 9)));
    else if (kind < 9) items.push_back(v6_prefix((~u128(0) - 300) + rng() % 301, 120 + int(rng() % 9)));
    else items.push_back(v4_prefix(0xffffff00u + rng() % 256, 28 + int(rng() % 5)));
  }
  return items;
}
}  // namespace

TEST(AddrSet, AddOneAtATimeMatchesAReferenceInAnyOrder) {
  std::mt19937 rng(2024);
  for (int round = 0; round < 200; ++round) {
    const std::uint32_t v4_base = round % 2 ? 0 : 0xc0000200u;  // 0.0.0.0 or 192.0.2.0
    auto items = random_prefixes(rng, 1 + int(rng() % 80), v4_base);
    AddrSet incremental;
    for (const auto& p : items) incremental.add(p);
    EXPECT_EQ(incremental, rebuilt(items)) << "round " << round;
    // Independent reference: mark every IPv4 address of the window, compare the runs.
    std::vector<bool> in(512, false);
    for (const auto& p : items)
      if (p.addr.family == Family::ipv4 && p.addr.v4_value() - v4_base < 512) {
        std::uint32_t lo = p.addr.v4_value(), hi = lo | (p.len == 32 ? 0 : ~std::uint32_t(0) >> p.len);
        for (std::uint32_t a = lo; a <= hi; ++a)
          if (a - v4_base < 512) in[a - v4_base] = true;
      }
    std::vector<std::pair<std::uint32_t, std::uint32_t>> runs;
    for (std::uint32_t a = 0; a < 512; ++a) {
      if (!in[a]) continue;
      std::uint32_t b = a;
      while (b + 1 < 512 && in[b + 1]) ++b;
      runs.push_back({v4_base + a, v4_base + b});
      a = b;
    }
    auto got = incremental.v4_ranges();
    got.erase(std::remove_if(got.begin(), got.end(), [](auto r) { return r.first >= 0xffffff00u; }), got.end());
    EXPECT_EQ(got, runs) << "round " << round;
    // Canonical form: sorted, disjoint, each prefix aligned (host bits zero).
    for (Family f : {Family::ipv4, Family::ipv6}) {
      const auto& v = incremental.prefixes(f);
      EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
      for (const auto& p : v) EXPECT_TRUE(parse_prefix(p.to_string())) << p.to_string();  // host bits zero
    }
  }
  AddrSet s;
  s.add(v4_prefix(0xffffffffu, 32));
  s.add(v4_prefix(0, 32));
  s.add(v4_prefix(1, 32));
  s.add(v4_prefix(0x80000000u, 1));
  s.add(v4_prefix(2, 31));
  s.add(v4_prefix(4, 30));
  s.add(v4_prefix(8, 5));
  s.add(v4_prefix(0x08000000u, 5));
  s.add(v4_prefix(0x10000000u, 4));
  s.add(v4_prefix(0x20000000u, 3));
  s.add(v4_prefix(0x40000000u, 2));
  EXPECT_TRUE(s.is_any(Family::ipv4));
  EXPECT_EQ(s.prefixes(Family::ipv4).size(), 1u);
  s.add(v6_prefix(~u128(0), 128));
  s.add(v6_prefix(0, 0));
  EXPECT_EQ(s, AddrSet::any());
}

// A site can list tens of thousands of addresses: adding them one by one must
// not rebuild the set each time (that took 56 s for 16,000).
TEST(AddrSet, AddingManyAddressesInRandomOrderIsFast) {
  std::vector<Prefix> items;
  for (std::uint32_t i = 0; i < 40'000; ++i) items.push_back(v4_prefix(0x0a000000u + i * 3, 32));  // 10.0.0.0, .3, ...
  for (std::uint32_t i = 0; i < 5'000; ++i) items.push_back(v4_prefix(0xac100000u + i * 512, 24));  // 172.16.x.0/24
  for (std::uint32_t i = 0; i < 5'000; ++i)
    items.push_back(v6_prefix((u128(0x20010db8u) << 96) + (u128(i) << 64) + (i % 7), 128 - int(i % 3)));
  std::mt19937 rng(99);
  std::shuffle(items.begin(), items.end(), rng);
  AddrSet incremental;
  for (const auto& p : items) incremental.add(p);
  // No two items overlap or touch, so the canonical form is the items, sorted, by family.
  std::vector<Prefix> v4, v6;
  for (const auto& p : items) (p.addr.family == Family::ipv4 ? v4 : v6).push_back(p);
  std::sort(v4.begin(), v4.end());
  std::sort(v6.begin(), v6.end());
  EXPECT_EQ(incremental.prefixes(Family::ipv4), v4);
  EXPECT_EQ(incremental.prefixes(Family::ipv6), v6);
  // Ascending order (the slow reproducer's shape) gives the same set.
  std::sort(items.begin(), items.end());
  AddrSet ascending;
  for (const auto& p : items) ascending.add(p);
  EXPECT_EQ(ascending, incremental);
  // Filling the gaps merges everything into one /16 of 10.0.0.0 (plus the rest).
  for (std::uint32_t a = 0; a < 0x10000; ++a)
    if (a % 3 != 0) incremental.add(v4_prefix(0x0a000000u + a, 32));
  EXPECT_TRUE(incremental.contains(*parse_ip("10.0.255.255")));
  EXPECT_EQ(incremental.prefixes(Family::ipv4).front(), *parse_prefix("10.0.0.0/16"));
  EXPECT_TRUE(incremental.contains(*parse_ip("10.0.0.3")));
  EXPECT_TRUE(incremental.contains(*parse_ip("10.0.0.4")));
  EXPECT_TRUE(incremental.contains(*parse_ip("172.16.2.77")));
  EXPECT_FALSE(incremental.contains(*parse_ip("172.16.1.77")));
}
