#include "portmatrix/classbench.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "../../../fuzz/classbench_harness.hpp"
#include "portmatrix/fileio.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

std::string classbench_dir() { return pmtest::source_path("../shared/classbench"); }

// The diagnostics of a parse as "LINE:COL: message" lines.
template <class T>
std::vector<std::string> errors(const Parsed<T>& p) {
  std::vector<std::string> out;
  for (const auto& d : p.diags.items())
    out.push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + ": " + d.message);
  return out;
}

}  // namespace

TEST(ClassBenchRules, ParsesTheGeneratorsFormat) {
  auto p = parse_classbench_rules(
      "@91.52.57.0/28\t80.148.174.16/29\t123 : 123\t80 : 80\t0x11/0xFF\t0x0000/0x0000\t\n"
      "\n"
      "@0.0.0.0/0\t255.255.255.255/32\t0 : 65535\t1024 : 65535\t0x00/0x00\r\n",
      "r");
  ASSERT_TRUE(p) << (p.diags.empty() ? "" : p.diags.items()[0].format());
  ASSERT_EQ(p.value->size(), 2u);
  const ClassRule& a = (*p.value)[0];
  EXPECT_EQ(a.src_lo, 0x5b343900u);
  EXPECT_EQ(a.src_hi, 0x5b34390fu);
  EXPECT_EQ(a.dst_lo, 0x5094ae10u);
  EXPECT_EQ(a.dst_hi, 0x5094ae17u);
  EXPECT_EQ(a.sport_lo, 123);
  EXPECT_EQ(a.sport_hi, 123);
  EXPECT_EQ(a.dport_lo, 80);
  EXPECT_EQ(a.proto, 0x11);
  EXPECT_EQ(a.proto_mask, 0xff);
  EXPECT_EQ(a.id, 0);
  const ClassRule& b = (*p.value)[1];
  EXPECT_EQ(b.src_lo, 0u);
  EXPECT_EQ(b.src_hi, 0xffffffffu);
  EXPECT_EQ(b.dst_lo, 0xffffffffu);
  EXPECT_EQ(b.dport_lo, 1024);
  EXPECT_EQ(b.proto_mask, 0);
  EXPECT_EQ(b.id, 1) << "ids count rules, not lines";
}

TEST(ClassBenchRules, ReportsEveryBadLineWithItsColumn) {
  auto p = parse_classbench_rules(
      "91.52.57.0/28\t80.148.174.16/29\t123 : 123\t80 : 80\t0x11/0xFF\n"        // 1: no '@'
      "@91.52.57.0/28\t80.148.174.16/33\t123 : 123\t80 : 80\t0x11/0xFF\n"       // 2: /33
      "@91.52.57.1/28\t80.148.174.16/29\t123 : 123\t80 : 80\t0x11/0xFF\n"       // 3: host bits
      "@91.52.57.0/28\t80.148.174.16/29\t123 : 12\t80 : 80\t0x11/0xFF\n"        // 4: empty range
      "@91.52.57.0/28\t80.148.174.16/29\t123 : 123\t80 : 70000\t0x11/0xFF\n"    // 5: port too big
      "@91.52.57.0/28\t80.148.174.16/29\t123 : 123\t80 : 80\t17/0xFF\n"         // 6: not hex
      "@91.52.57.0/28\t80.148.174.16/29\t123 : 123\t80 : 80\t0x11/0xFF\t0x0000/0x0000 x\n"  // 7: trailing text
      "@91.256.57.0/28\t80.148.174.16/29\t123 : 123\t80 : 80\t0x11/0xFF\n"      // 8: byte > 255
      "@91.52.57.0/28\t80.148.174.16/29\t123 123\t80 : 80\t0x11/0xFF\n",        // 9: no ':'
      "rules.txt");
  EXPECT_FALSE(p);
  EXPECT_EQ(errors(p), (std::vector<std::string>{
                           "1:1: expected '@' at the start of a rule",
                           "2:30: the destination prefix length is greater than 32",
                           "3:2: the source prefix has host bits set (below /28)",
                           "4:33: the source port range 123 : 12 is empty (low above high)",
                           "5:48: the high destination port is greater than 65535",
                           "6:51: expected the protocol value in hexadecimal (0x...)",
                           "7:75: unexpected text after the rule",
                           "8:5: a byte of the source address is greater than 255",
                           "9:37: expected ':' between the source ports",
                       }));
  EXPECT_EQ(p.diags.items()[0].format(), "rules.txt:1:1: error: expected '@' at the start of a rule");
}

TEST(ClassBenchRules, StopsAfterManyErrors) {
  std::string junk;
  for (int i = 0; i < 500; ++i) junk += "junk\n";
  auto p = parse_classbench_rules(junk, "j");
  EXPECT_FALSE(p);
  EXPECT_EQ(p.diags.error_count(), 50u);
  EXPECT_EQ(p.diags.items().back().severity, Severity::note);
}

TEST(ClassBenchTrace, ParsesFiveToSevenColumns) {
  auto p = parse_classbench_trace(
      "4294967295\t1465751432\t65535\t1024\t17\t4294967295\t7969\n"
      "1 2 3 4 6\n"
      "\n"
      "1 2 3 4 6 0\r\n",
      "t");
  ASSERT_TRUE(p);
  ASSERT_EQ(p.value->keys.size(), 3u);
  EXPECT_EQ(p.value->keys[0].src, 4294967295u);
  EXPECT_EQ(p.value->keys[0].dst, 1465751432u);
  EXPECT_EQ(p.value->keys[0].sport, 65535);
  EXPECT_EQ(p.value->keys[0].dport, 1024);
  EXPECT_EQ(p.value->keys[0].proto, 17);
  EXPECT_EQ(p.value->hints, (std::vector<std::int32_t>{7969, -1, -1}));
}

TEST(ClassBenchTrace, ReportsBadLines) {
  auto p = parse_classbench_trace(
      "1 2 3 4\n"                 // too few
      "4294967296 2 3 4 6 0 1\n"  // address too big
      "1 2 3 65536 6\n"           // port too big
      "1 2 3 4 256\n"             // protocol too big
      "1 2 3 4 6 0 1 9\n"         // too many
      "1 2 x 4 6\n",              // not a number
      "trace");
  EXPECT_FALSE(p);
  EXPECT_EQ(errors(p), (std::vector<std::string>{
                           "1:8: expected the protocol (a trace line has 5 to 7 numbers)",
                           "2:1: the source address is greater than 4294967295",
                           "3:7: the destination port is greater than 65535",
                           "4:9: the protocol is greater than 255",
                           "5:15: unexpected text after the trace line (a trace line has 5 to 7 numbers)",
                           "6:5: expected the source port",
                       }));
}

// Inputs kept from fuzzing (and hand-made edge cases) go through the fuzz
// target's own harness: parse or fail with diagnostics, never crash, and every
// variant agrees with the linear scan.
TEST(ClassBench, RegressionInputs) {
  const auto dir = std::filesystem::path(pmtest::source_path("tests/regression/classbench"));
  ASSERT_TRUE(std::filesystem::is_directory(dir));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".md") continue;
    auto text = read_file(e.path().string());
    ASSERT_TRUE(text) << e.path();
    SCOPED_TRACE(e.path().string());
    pmfuzz::run_classbench(reinterpret_cast<const std::uint8_t*>(text->data()), text->size());
    ++files;
  }
  EXPECT_GT(files, 0);
}

// The real acl1 1K set and its whole trace: every variant gives the linear
// scan's answer for every header, and the generator's hint is never beaten by
// a later rule (the hinted rule matches, so the answer is it or an earlier one).
TEST(ClassBench, Acl1kTraceEveryVariantEqualsLinearScan) {
  const std::string rules_path = classbench_dir() + "/acl1_1k", trace_path = rules_path + "_trace";
  PM_REQUIRE(std::filesystem::exists(rules_path) && std::filesystem::exists(trace_path),
             "the ClassBench sets are not at ../shared/classbench");
  auto rules = parse_classbench_rules(*read_file(rules_path), rules_path);
  auto trace = parse_classbench_trace(*read_file(trace_path), trace_path);
  ASSERT_TRUE(rules);
  ASSERT_TRUE(trace);
  ASSERT_EQ(rules.value->size(), 941u);
  const auto& keys = trace.value->keys;
  auto linear = build_classifier(*rules.value, &classifier_variants().front());
  std::vector<std::int32_t> want(keys.size());
  linear->classify(keys, want);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_GE(want[i], 0) << "line " << i + 1;
    ASSERT_LE(want[i], trace.value->hints[i]) << "line " << i + 1;
    ASSERT_TRUE(rule_matches((*rules.value)[static_cast<std::size_t>(trace.value->hints[i])], keys[i])) << "line " << i + 1;
  }
  for (const ClassifierVariant& v : classifier_variants()) {
    if (!v.available()) continue;
    auto c = build_classifier(*rules.value, &v);
    std::vector<std::int32_t> got(keys.size());
    c->classify(keys, got);
    for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(got[i], want[i]) << v.name << ", trace line " << i + 1;
  }
}
