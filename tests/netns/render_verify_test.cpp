// portmatrix render --verify: the proof's results in the HTML report (root).
#include <gtest/gtest.h>

#include "support/cli.hpp"
#include "support/run_cli.hpp"
#include "support/testing.hpp"

TEST(RenderVerify, ProofInTheReport) {
  PM_REQUIRE_ROOT();
  std::string out = ::testing::TempDir() + "/verified.html";
  auto r = pmtest::pm({"render", "--verify", "--target", "nftables", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string html = pmtest::read_all(out);
  EXPECT_NE(html.find("<section id=\"verify\">"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"verdict ok\">"), std::string::npos);
  EXPECT_NE(html.find(" failed in "), std::string::npos);
  EXPECT_EQ(html.find("<h3>Failures</h3>"), std::string::npos);
  EXPECT_NE(html.find("<section id=\"ruleset\">"), std::string::npos);
}

TEST(RenderVerify, NeedsTheHtmlFormat) {
  EXPECT_EQ(pmtest::pm({"render", "--verify", "--format", "markdown"}).exit_code, 2);
}
