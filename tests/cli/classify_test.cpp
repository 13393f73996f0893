// portmatrix classify, run as a program: output equal to the library's linear
// scan for every variant, the stderr summary line, and exit 2 with a located
// diagnostic for bad input.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "portmatrix/classbench.hpp"
#include "portmatrix/classifier.hpp"
#include "portmatrix/fileio.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

struct CliRun {
  int status = -1;
  std::string out, err;
};

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("pm_classify_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Runs the CLI with args (shell-quoted by the caller), capturing stdout and stderr.
CliRun run(const std::string& args) {
  const std::string out = temp_path("out"), err = temp_path("err");
  const std::string cmd = std::string(PM_BINARY) + " " + args + " >" + out + " 2>" + err;
  CliRun r;
  const int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(out).value();
  r.err = read_file(err).value();
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

std::string fixture(const std::string& name) { return pmtest::source_path("tests/cli/classbench/" + name); }

// The expected stdout: the linear scan's answer per trace line.
std::string expected_text() {
  auto rules = parse_classbench_rules(read_file(fixture("acl1_120")).value(), "rules");
  auto trace = parse_classbench_trace(read_file(fixture("acl1_120_trace")).value(), "trace");
  auto linear = build_classifier(*rules.value, &classifier_variants().front());
  std::string s;
  for (const auto& k : trace.value->keys) s += std::to_string(linear->classify(k)) + "\n";
  return s;
}

const std::string kArgs = "classify --rules " + fixture("acl1_120") + " --trace " + fixture("acl1_120_trace");

}  // namespace

TEST(ClassifyCli, EveryVariantPrintsTheLinearScansAnswers) {
  const std::string want = expected_text();
  ASSERT_EQ(std::count(want.begin(), want.end(), '\n'), 500);
  for (const ClassifierVariant& v : classifier_variants()) {
    if (!v.available()) continue;
    const CliRun r = run(kArgs + " --variant " + std::string(v.name));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, want) << v.name;
  }
}

TEST(ClassifyCli, SummaryLineOnStderr) {
  const CliRun r = run(kArgs);
  ASSERT_EQ(r.status, 0) << r.err;
  static const std::regex line(
      R"(classify: rules=120 packets=500 build_ms=[0-9]+\.[0-9]{3} lookups_per_s=[1-9][0-9]* memory_bytes=[1-9][0-9]*\n)");
  EXPECT_TRUE(std::regex_match(r.err, line)) << r.err;
}

TEST(ClassifyCli, JsonHoldsTheSameAnswers) {
  const CliRun r = run(kArgs + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("rules"), 120);
  EXPECT_EQ(j.at("packets"), 500);
  std::string text;
  for (const auto& m : j.at("matches")) text += std::to_string(m.get<int>()) + "\n";
  EXPECT_EQ(text, expected_text());
}

TEST(ClassifyCli, BadRuleFileExitsTwoWithLocation) {
  const std::string bad = temp_path("bad_rules");
  std::ofstream(bad) << "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\n"
                        "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\n"
                        "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t90 : 80\t0x06/0xFF\n";
  const CliRun r = run("classify --rules " + bad + " --trace " + fixture("acl1_120_trace"));
  std::filesystem::remove(bad);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "portmatrix: " + bad + ":3:34: error: the destination port range 90 : 80 is empty (low above high)\n");
}

TEST(ClassifyCli, BadTraceExitsTwoWithLocation) {
  const std::string bad = temp_path("bad_trace");
  std::ofstream(bad) << "1 2 3 4 6 0 0\n1 2 3 4 x\n";
  const CliRun r = run("classify --rules " + fixture("acl1_120") + " --trace " + bad);
  std::filesystem::remove(bad);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "portmatrix: " + bad + ":2:9: error: expected the protocol\n");
}

TEST(ClassifyCli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("classify --rules " + fixture("acl1_120")).status, 2) << "--trace is required";
  EXPECT_EQ(run(kArgs + " --variant no-such").status, 2);
  EXPECT_EQ(run(kArgs + " --format yaml").status, 2);
  const CliRun missing = run("classify --rules /nonexistent/rules --trace " + fixture("acl1_120_trace"));
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("/nonexistent/rules"), std::string::npos) << missing.err;
}
