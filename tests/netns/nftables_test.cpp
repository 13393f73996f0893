// The nftables backend against the real kernel: every golden ruleset passes
// `nft -c`, loads, replaces only its own table, and text from the matrix or site
// cannot change a rule.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "portmatrix/backend.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/site.hpp"
#include "support/hostile.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

std::string nft_of(const Policy& p) { return find_backend("nftables")->compile(p).files.at(0).content; }

Policy policy_of(const std::string& site) {
  auto lp = load_policy("", pmtest::source_path("tests/golden/cases/" + site + ".yaml"));
  EXPECT_TRUE(lp);
  return lp.value->policy;
}

// The ruleset as JSON with handles and comments removed, for comparing meaning.
nlohmann::json rules_without_text(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text);
  nlohmann::json out = nlohmann::json::array();
  for (auto& item : j["nftables"]) {
    if (item.contains("metainfo")) continue;
    for (auto& [kind, obj] : item.items()) {
      obj.erase("handle");
      obj.erase("comment");
    }
    out.push_back(item);
  }
  return out;
}

}  // namespace

TEST(Nftables, GoldenRulesetsPassTheKernelCheckAndLoad) {
  PM_REQUIRE_ROOT();
  for (const char* c : {"cms-default", "cms-all", "cms-minimal-reject"}) {
    SCOPED_TRACE(c);
    auto ns = netns::Namespace::create(netns::unique_name("nft"));
    ASSERT_TRUE(ns) << ns.error().message;
    std::string text = nft_of(policy_of(c));
    RunOptions o;
    o.input = text;
    ASSERT_FALSE(ns->check({"nft", "-c", "-f", "-"}, o));
    ASSERT_FALSE(ns->check({"nft", "-f", "-"}, o));
    // Loading again replaces the table rather than adding to it.
    ASSERT_FALSE(ns->check({"nft", "-f", "-"}, o));
    auto listed = ns->run({"nft", "list", "table", "inet", "portmatrix"});
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->exit_code, 0);
    std::size_t count = 0;
    for (std::size_t pos = 0; (pos = listed->out.find("chain input", pos)) != std::string::npos; ++pos) ++count;
    EXPECT_EQ(count, 1u);
  }
}

TEST(Nftables, LoadingLeavesOtherTablesAlone) {
  PM_REQUIRE_ROOT();
  auto ns = netns::Namespace::create(netns::unique_name("nft"));
  ASSERT_TRUE(ns);
  RunOptions other;
  other.input = "table ip other {\n chain c {\n type filter hook input priority 10; policy accept;\n tcp dport 9 counter drop\n }\n}\n";
  ASSERT_FALSE(ns->check({"nft", "-f", "-"}, other));
  auto before = ns->run({"nft", "list", "table", "ip", "other"});
  RunOptions o;
  o.input = nft_of(policy_of("cms-default"));
  ASSERT_FALSE(ns->check({"nft", "-f", "-"}, o));
  ASSERT_FALSE(ns->check({"nft", "-f", "-"}, o));
  auto after = ns->run({"nft", "list", "table", "ip", "other"});
  EXPECT_EQ(before->out, after->out);
}

TEST(Nftables, HostileTextCannotChangeRules) {
  PM_REQUIRE_ROOT();
  auto pair = pmtest::hostile_pair("cms-all");
  ASSERT_FALSE(pair.hostile.rules.empty());
  nlohmann::json results[2];
  const Policy* policies[2] = {&pair.plain.policy, &pair.hostile};
  for (int k = 0; k < 2; ++k) {
    auto ns = netns::Namespace::create(netns::unique_name("nft"));
    ASSERT_TRUE(ns);
    RunOptions o;
    o.input = nft_of(*policies[k]);
    ASSERT_FALSE(ns->check({"nft", "-f", "-"}, o));
    auto listed = ns->run({"nft", "-j", "list", "ruleset"});
    ASSERT_TRUE(listed);
    results[k] = rules_without_text(listed->out);
    for (const auto& item : results[k]) {
      if (item.contains("table")) {
        EXPECT_EQ(item["table"]["name"], "portmatrix") << "an input string created a table";
      }
    }
  }
  EXPECT_EQ(results[0], results[1]);
}
