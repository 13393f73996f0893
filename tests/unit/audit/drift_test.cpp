// Ruleset drift on fixture listings: the compiled cms-default ruleset as nft
// 1.0.6 lists it (tests/data/audit/cms-default.{json,nft}), edited the ways a
// live ruleset drifts.
#include "portmatrix/drift.hpp"

#include <gtest/gtest.h>

#include "portmatrix/fileio.hpp"
#include "support/testing.hpp"

using namespace portmatrix;
using namespace portmatrix::drift;
using nlohmann::json;

namespace {

json fixture() {
  auto text = read_file(pmtest::source_path("tests/data/audit/cms-default.json"));
  EXPECT_TRUE(text);
  return json::parse(*text);
}

std::string fixture_text() {
  auto text = read_file(pmtest::source_path("tests/data/audit/cms-default.nft"));
  EXPECT_TRUE(text);
  return *text;
}

NftRuleset parse(const json& j, bool with_text = true) {
  auto rs = parse_json(j.dump());
  EXPECT_TRUE(rs) << rs.error().message;
  if (with_text) attach_text(*rs, fixture_text());
  return *rs;
}

// Index in the listing of the n-th rule of a chain with a comment.
std::size_t rule_index(const json& j, const std::string& chain, const std::string& comment, int n = 0) {
  const auto& items = j["nftables"];
  for (std::size_t i = 0; i < items.size(); ++i)
    if (items[i].contains("rule") && items[i]["rule"]["chain"] == chain && items[i]["rule"].value("comment", "") == comment && n-- == 0)
      return i;
  ADD_FAILURE() << "no rule " << comment << " in " << chain;
  return 0;
}

json match(const json& left, const json& right, const char* op = "==") {
  return {{"match", {{"op", op}, {"left", left}, {"right", right}}}};
}
json payload(const char* proto, const char* field) { return {{"payload", {{"protocol", proto}, {"field", field}}}}; }
json verdict(const char* v) { return {{v, nullptr}}; }

NftRule rule_of(json expr) {
  NftRule r;
  r.family = "inet";
  r.table = "portmatrix";
  r.chain = "input";
  r.expr = std::move(expr);
  return r;
}

const Difference* find_kind(const Comparison& c, DiffKind k) {
  for (const auto& d : c.differences)
    if (d.kind == k) return &d;
  return nullptr;
}

}  // namespace

TEST(Drift, ParsesTheKernelsListing) {
  auto rs = parse(fixture());
  ASSERT_EQ(rs.tables.size(), 1u);
  EXPECT_FALSE(rs.tables[0].dormant);
  ASSERT_EQ(rs.chains.size(), 2u);
  EXPECT_EQ(rs.chains[0].hook, "input");
  EXPECT_EQ(rs.chains[0].policy, "drop");
  EXPECT_EQ(rs.chains[0].priority, 0);
  EXPECT_EQ(rs.sets.size(), 5u);
  ASSERT_EQ(rs.rules.size(), 33u);
  for (const auto& r : rs.rules) {
    EXPECT_FALSE(r.text.empty()) << "every rule has its text, by handle: " << r.expr.dump();
    EXPECT_EQ(r.text.find("packets"), std::string::npos) << r.text;
    EXPECT_EQ(r.expr.dump().find("packets"), std::string::npos) << "counter values are zeroed";
  }
  EXPECT_EQ(rs.rules[6].comment, "ssh");
  EXPECT_EQ(rs.rules[6].text, "ip daddr 192.0.2.1 tcp sport 32768-65535 tcp dport 22 counter accept comment \"ssh\"");
  EXPECT_FALSE(parse_json("{\"tables\": []}"));
  EXPECT_FALSE(parse_json("not json"));
}

TEST(Drift, IdenticalRulesetsMatchWhateverTheHandlesAndCounters) {
  json live = fixture();
  for (auto& item : live["nftables"])
    for (auto& [kind, obj] : item.items())
      if (obj.is_object() && obj.contains("handle")) obj["handle"] = obj["handle"].get<int>() + 100;
  live["nftables"][rule_index(live, "input", "default")]["rule"]["expr"][0]["counter"] = {{"packets", 12}, {"bytes", 3456}};
  auto c = compare(parse(fixture()), parse(live, false));
  EXPECT_TRUE(c.table_present);
  EXPECT_TRUE(c.matches()) << c.differences.front().message;
  EXPECT_TRUE(c.foreign.empty());
}

TEST(Drift, TableMissing) {
  auto c = compare(parse(fixture()), parse(json{{"nftables", json::array()}}, false));
  EXPECT_FALSE(c.table_present);
  EXPECT_FALSE(c.matches());
  EXPECT_TRUE(c.differences.empty()) << "a missing table is reported as off, not rule by rule";
}

TEST(Drift, ExtraRuleIsNamedWithItsText) {
  json live = fixture();
  auto& items = live["nftables"];
  json extra = {{"rule",
                 {{"family", "inet"},
                  {"table", "portmatrix"},
                  {"chain", "input"},
                  {"handle", 900},
                  {"expr", {match(payload("tcp", "dport"), 4444), verdict("accept")}}}}};
  items.insert(items.begin() + static_cast<long>(rule_index(live, "input", "invalid")), extra);
  auto rs = parse(live, false);
  attach_text(rs, "table inet portmatrix { # handle 2\n\tchain input { # handle 1\n\t\ttcp dport 4444 accept # handle 900\n\t}\n}\n");
  auto c = compare(parse(fixture()), rs);
  ASSERT_EQ(c.differences.size(), 1u) << c.differences.back().message;
  const auto& d = c.differences[0];
  EXPECT_EQ(d.kind, DiffKind::rule_extra);
  EXPECT_EQ(d.chain, "input");
  EXPECT_EQ(d.found, "tcp dport 4444 accept");
  EXPECT_NE(d.message.find("extra rule"), std::string::npos);
  ASSERT_NE(d.live_rule, nullptr);
  EXPECT_TRUE(may_match_port(*d.live_rule, rs, Protocol::tcp, 4444));
  EXPECT_FALSE(may_match_port(*d.live_rule, rs, Protocol::tcp, 4445));
}

TEST(Drift, MissingRuleIsNamedByRow) {
  json live = fixture();
  auto& items = live["nftables"];
  items.erase(items.begin() + static_cast<long>(rule_index(live, "input", "ssh", 2)));
  auto c = compare(parse(fixture()), parse(live));
  ASSERT_EQ(c.differences.size(), 1u);
  const auto& d = c.differences[0];
  EXPECT_EQ(d.kind, DiffKind::rule_missing);
  EXPECT_EQ(d.row, "ssh");
  EXPECT_NE(d.expected.find("iifname \"eth1\" ip saddr @r4_saddr4"), std::string::npos) << d.expected;
  ASSERT_NE(d.expected_rule, nullptr);
  EXPECT_EQ(d.message.rfind("chain input: rule \"ssh\" is missing", 0), 0u) << d.message;
}

TEST(Drift, ChangedRuleAndOrder) {
  json live = fixture();
  auto& items = live["nftables"];
  auto web = rule_index(live, "input", "web");
  items[web]["rule"]["expr"][4]["match"]["right"] = 8080;
  auto c = compare(parse(fixture()), parse(live, false));
  ASSERT_EQ(c.differences.size(), 1u) << c.differences.back().message;
  EXPECT_EQ(c.differences[0].kind, DiffKind::rule_changed);
  EXPECT_EQ(c.differences[0].row, "web");
  EXPECT_NE(c.differences[0].expected.find("dport 8443"), std::string::npos);
  EXPECT_NE(c.differences[0].found.find("8080"), std::string::npos);

  live = fixture();
  auto telnet = rule_index(live, "input", "telnet"), closed = rule_index(live, "input", "web-internal");
  std::swap(live["nftables"][telnet], live["nftables"][closed]);
  c = compare(parse(fixture()), parse(live));
  ASSERT_EQ(c.differences.size(), 1u);
  EXPECT_EQ(c.differences[0].kind, DiffKind::rule_order);
  EXPECT_NE(c.differences[0].message.find("comes after"), std::string::npos);
}

TEST(Drift, ChainAndSetChanges) {
  json live = fixture();
  for (auto& item : live["nftables"])
    if (item.contains("chain") && item["chain"]["name"] == "input") item["chain"]["policy"] = "accept";
  for (auto& item : live["nftables"])
    if (item.contains("set") && item["set"]["name"] == "r8_dport") item["set"]["elem"] = {1556, 13724, 4444};
  auto c = compare(parse(fixture()), parse(live));
  const Difference* chain = find_kind(c, DiffKind::chain_changed);
  ASSERT_NE(chain, nullptr);
  EXPECT_NE(chain->found.find("policy accept"), std::string::npos);
  const Difference* set = find_kind(c, DiffKind::set_changed);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->found, "{ 1556, 4444, 13724 }");
  EXPECT_EQ(c.differences.size(), 2u);

  live = fixture();
  auto& items = live["nftables"];
  items.erase(std::remove_if(items.begin(), items.end(),
                             [](const json& i) { return i.contains("chain") && i["chain"]["name"] == "output"; }),
              items.end());
  items.erase(std::remove_if(items.begin(), items.end(),
                             [](const json& i) { return i.contains("rule") && i["rule"]["chain"] == "output"; }),
              items.end());
  c = compare(parse(fixture()), parse(live));
  ASSERT_EQ(c.differences.size(), 1u) << "a missing chain is one difference, not one per rule";
  EXPECT_EQ(c.differences[0].kind, DiffKind::chain_missing);
}

TEST(Drift, DormantTableIsADifference) {
  auto live = parse(fixture(), false);
  attach_text(live, "table inet portmatrix { # handle 2\n\tflags dormant\n\n\tchain input { # handle 1\n\t}\n}\n");
  auto c = compare(parse(fixture()), live);
  EXPECT_TRUE(c.dormant);
  ASSERT_NE(find_kind(c, DiffKind::table_dormant), nullptr);
}

TEST(Drift, OtherBaseChainsOnTheSameHooks) {
  json live = fixture();
  auto& items = live["nftables"];
  auto add = [&](json item) { items.push_back(std::move(item)); };
  add({{"table", {{"family", "ip"}, {"name", "other"}, {"handle", 7}}}});
  add({{"chain", {{"family", "ip"}, {"table", "other"}, {"name", "c"}, {"handle", 1}, {"type", "filter"}, {"hook", "input"}, {"prio", -10}, {"policy", "accept"}}}});
  add({{"chain", {{"family", "ip"}, {"table", "other"}, {"name", "y"}, {"handle", 2}}}});
  add({{"rule", {{"family", "ip"}, {"table", "other"}, {"chain", "c"}, {"handle", 3}, {"expr", {{{"jump", {{"target", "y"}}}}}}}}});
  add({{"rule", {{"family", "ip"}, {"table", "other"}, {"chain", "y"}, {"handle", 4}, {"expr", {match(payload("tcp", "dport"), 22), verdict("drop")}}}}});
  add({{"table", {{"family", "ip6"}, {"name", "acc"}, {"handle", 8}}}});
  add({{"chain", {{"family", "ip6"}, {"table", "acc"}, {"name", "o"}, {"handle", 1}, {"type", "filter"}, {"hook", "output"}, {"prio", 10}, {"policy", "accept"}}}});
  add({{"rule", {{"family", "ip6"}, {"table", "acc"}, {"chain", "o"}, {"handle", 2}, {"expr", {verdict("accept")}}}}});
  add({{"table", {{"family", "ip"}, {"name", "filter"}, {"handle", 9}}}});
  add({{"chain", {{"family", "ip"}, {"table", "filter"}, {"name", "INPUT"}, {"handle", 1}, {"type", "filter"}, {"hook", "input"}, {"prio", 0}, {"policy", "accept"}}}});
  add({{"chain", {{"family", "ip"}, {"table", "filter"}, {"name", "FORWARD"}, {"handle", 2}, {"type", "filter"}, {"hook", "forward"}, {"prio", 0}, {"policy", "drop"}}}});
  auto rs = parse(live);
  auto c = compare(parse(fixture()), rs);
  EXPECT_TRUE(c.differences.empty());
  ASSERT_EQ(c.foreign.size(), 3u) << "the forward hook is not the host's";
  const ForeignChain& dropper = c.foreign[0];
  EXPECT_EQ(dropper.chain.table, "other");
  EXPECT_TRUE(dropper.drops) << "through the jump to y";
  EXPECT_FALSE(dropper.accepts);
  EXPECT_EQ(dropper.rules, 2u);
  ASSERT_EQ(dropper.dropping.size(), 1u);
  EXPECT_TRUE(may_match_port(*dropper.dropping[0], rs, Protocol::tcp, 22));
  EXPECT_NE(dropper.consequence.find("before portmatrix's input chain"), std::string::npos) << dropper.consequence;
  EXPECT_NE(dropper.consequence.find("a drop in any of them is final"), std::string::npos);
  const ForeignChain& accepter = c.foreign[1];
  EXPECT_TRUE(accepter.accepts);
  EXPECT_FALSE(accepter.drops);
  EXPECT_NE(accepter.consequence.find("An accept ends only its own chain"), std::string::npos) << accepter.consequence;
  const ForeignChain& empty = c.foreign[2];
  EXPECT_FALSE(empty.drops || empty.accepts);
  EXPECT_NE(empty.consequence.find("filters nothing"), std::string::npos);

  // iptables-nft's REJECT is an xt target.
  auto xt = rule_of({match(payload("tcp", "dport"), 5), {{"xt", {{"type", "target"}, {"name", "REJECT"}}}}});
  EXPECT_TRUE(verdicts_of(xt).drop);
  auto vmap = rule_of({{{"vmap", {{"key", payload("tcp", "dport")}, {"data", {{"set", {{22, verdict("accept")}, {4444, verdict("drop")}}}}}}}}});
  EXPECT_TRUE(verdicts_of(vmap).drop);
  EXPECT_TRUE(verdicts_of(vmap).accept);
}

TEST(Drift, MayMatchPort) {
  auto rs = parse(fixture());
  auto tcp22 = rule_of({match(payload("tcp", "dport"), 22), verdict("accept")});
  EXPECT_TRUE(may_match_port(tcp22, rs, Protocol::tcp, 22));
  EXPECT_FALSE(may_match_port(tcp22, rs, Protocol::tcp, 23));
  EXPECT_FALSE(may_match_port(tcp22, rs, Protocol::udp, 22)) << "a tcp header match needs tcp";

  auto range = rule_of({match(payload("tcp", "dport"), {{"range", {50000, 50001}}}), verdict("accept")});
  EXPECT_TRUE(may_match_port(range, rs, Protocol::tcp, 50001));
  EXPECT_FALSE(may_match_port(range, rs, Protocol::tcp, 50002));

  auto anon = rule_of({match(payload("th", "dport"), {{"set", {22, {{"range", {8000, 8999}}}}}}), verdict("drop")});
  EXPECT_TRUE(may_match_port(anon, rs, Protocol::udp, 8443)) << "th matches either protocol";
  EXPECT_FALSE(may_match_port(anon, rs, Protocol::udp, 23));

  auto named = rule_of({match(payload("tcp", "dport"), "@r8_dport"), verdict("accept")});
  EXPECT_TRUE(may_match_port(named, rs, Protocol::tcp, 13724));
  EXPECT_FALSE(may_match_port(named, rs, Protocol::tcp, 1557));
  auto unknown_set = rule_of({match(payload("tcp", "dport"), "@nosuchset"), verdict("accept")});
  EXPECT_TRUE(may_match_port(unknown_set, rs, Protocol::tcp, 1)) << "what it cannot tell, it assumes";

  auto negated = rule_of({match(payload("tcp", "dport"), 22, "!="), verdict("drop")});
  EXPECT_FALSE(may_match_port(negated, rs, Protocol::tcp, 22));
  EXPECT_TRUE(may_match_port(negated, rs, Protocol::tcp, 23));

  auto l4 = rule_of({match({{"meta", {{"key", "l4proto"}}}}, "udp"), verdict("drop")});
  EXPECT_TRUE(may_match_port(l4, rs, Protocol::udp, 53));
  EXPECT_FALSE(may_match_port(l4, rs, Protocol::tcp, 53));

  auto addr_only = rule_of({match(payload("ip", "saddr"), "192.0.2.9"), verdict("drop")});
  EXPECT_TRUE(may_match_port(addr_only, rs, Protocol::tcp, 9999)) << "a rule without port matches may match any port";
}
