#include "portmatrix/address.hpp"

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
