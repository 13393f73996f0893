#include "portmatrix/ports.hpp"

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
