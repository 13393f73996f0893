// verify's probe plan, without namespaces: the predictions follow the rows.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "portmatrix/site.hpp"
#include "portmatrix/verify.hpp"

using namespace portmatrix;

TEST(VerifyPlan, PredictionsFollowTheRows) {
  auto lp = load_policy("", "cms-site");
  ASSERT_TRUE(lp);
  std::vector<std::string> notes;
  auto probes = plan_probes(lp.value->policy, VerifyOptions{}, &notes);
  ASSERT_GT(probes.size(), 100u);
  std::map<std::string, int> kinds;
  for (const auto& p : probes) {
    ++kinds[p.kind];
    if (p.kind == "allowed" || p.kind == "localhost") {
      EXPECT_TRUE(p.expect_connect()) << p.describe();
      EXPECT_EQ(p.predicted.row, p.row) << p.describe();
    }
    if (p.kind == "not-localhost" || p.kind == "unlisted" || p.kind == "closed") {
      EXPECT_FALSE(p.expect_connect()) << p.describe();
    }
    if (p.kind == "disabled" && p.expect_connect()) {
      EXPECT_NE(p.predicted.row, p.row) << p.describe();
    }
    EXPECT_EQ(p.src.family, p.dst.family);
  }
  EXPECT_GT(kinds["allowed"], 20);
  EXPECT_GT(kinds["localhost"], 0);
  EXPECT_GT(kinds["not-localhost"], 0);
  EXPECT_GT(kinds["closed"], 0);
  EXPECT_GT(kinds["disabled"], 0);
  EXPECT_GT(kinds["unlisted"], 0);
}

TEST(VerifyPlan, RangesAreProbedAtBothEnds) {
  auto lp = load_policy("", "cms-site");
  ASSERT_TRUE(lp);
  std::set<std::uint16_t> odbc;
  for (const auto& p : plan_probes(lp.value->policy, VerifyOptions{}))
    if (p.row == "odbc-jdbc") odbc.insert(p.dport);
  EXPECT_TRUE(odbc.count(50000) && odbc.count(50001));
}

TEST(VerifyPlan, SameSeedSamePlan) {
  auto lp = load_policy("", "cms-site");
  ASSERT_TRUE(lp);
  auto a = plan_probes(lp.value->policy, VerifyOptions{});
  auto b = plan_probes(lp.value->policy, VerifyOptions{});
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].describe(), b[i].describe());
  VerifyOptions v4;
  v4.ipv6 = false;
  for (const auto& p : plan_probes(lp.value->policy, v4)) EXPECT_EQ(p.src.family, Family::ipv4);
}
