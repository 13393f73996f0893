#include "portmatrix/address.hpp"

#include <arpa/inet.h>

#include <random>
#include <string>

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
