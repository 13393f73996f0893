#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/testing.hpp"

using pmtest::pm;

TEST(CliShow, TableByDefault) {
  auto r = pm({"show"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hist-connectors"), std::string::npos);
  EXPECT_NE(r.out.find("localhost-only"), std::string::npos);
}

TEST(CliShow, JsonIsTheDocumentedShape) {
  auto r = pm({"show", "--matrix", "cms-r20", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "cms-r20");
  ASSERT_EQ(j["flows"].size(), 15u);
  auto spi = j["flows"][7];
  EXPECT_EQ(spi["id"], "spi");
  EXPECT_EQ(spi["destination_ports"]["ranges"][0][0], 5001);
  EXPECT_EQ(spi["destination_ports"]["ranges"][0][1], 64500);
  EXPECT_EQ(spi["destination_ports"]["configurable"], true);
  EXPECT_EQ(spi["source_ports"]["ephemeral"], true);
  EXPECT_EQ(j["flows"][3]["protocols"].size(), 0u);
  EXPECT_EQ(j["notes"].size(), 6u);
}

TEST(CliShow, YamlRoundTripsThroughAFile) {
  std::string path = ::testing::TempDir() + "/cms.yaml";
  auto r = pm({"show", "--format", "yaml", "-o", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto again = pm({"show", "--matrix", path, "--format", "yaml"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(again.out, text);
}

TEST(CliShow, CsvAndMarkdown) {
  auto csv = pm({"show", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_NE(csv.out.find("ssh,\"Admin terminal, Avaya Supervisor, SAL Gateway, SSH/SFTP client\""), std::string::npos);
  auto md = pm({"show", "--format", "markdown"});
  ASSERT_EQ(md.exit_code, 0);
  EXPECT_NE(md.out.find("| telnet |"), std::string::npos);
}

TEST(CliShow, BadInputExitsTwoWithLocation) {
  std::string path = ::testing::TempDir() + "/bad.yaml";
  std::ofstream(path) << "portmatrix: 1\nname: x\nflows:\n  - id: a\n    bogus: 1\n";
  auto r = pm({"show", "--matrix", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("portmatrix: " + path + ":5:5: error: flow: unknown key 'bogus'"), std::string::npos) << r.err;
  EXPECT_EQ(pm({"show", "--matrix", "nope"}).exit_code, 2);
  EXPECT_EQ(pm({"show", "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(pm({"frobnicate"}).exit_code, 2);
}

TEST(CliShow, OutputFileIsNotTouchedOnError) {
  std::string out = ::testing::TempDir() + "/keep.txt";
  std::ofstream(out) << "old";
  auto r = pm({"show", "--matrix", "nope", "-o", out});
  EXPECT_EQ(r.exit_code, 2);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "old");
}

TEST(CliLint, FindingsExitOne) {
  auto r = pm({"lint"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("[wide-range]"), std::string::npos);
  auto j = pm({"lint", "--format", "json"});
  EXPECT_EQ(j.exit_code, 1);
  auto doc = nlohmann::json::parse(j.out);
  bool wide = false;
  for (const auto& f : doc["findings"]) wide |= f["code"] == "wide-range" && f["row"] == "spi";
  EXPECT_TRUE(wide);
}

TEST(CliLint, CleanMatrixExitsZeroAndValueProblemsAreFindings) {
  std::string path = ::testing::TempDir() + "/clean.yaml";
  std::ofstream(path) << "portmatrix: 1\nname: x\nsystems: [{name: A}, {name: B}]\nflows:\n"
                         "  - {id: a, sources: [A], destinations: [B], destination_ports: [22], protocols: [tcp], application: ssh}\n";
  auto r = pm({"lint", "--matrix", path});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::ofstream(path) << "portmatrix: 1\nname: x\nsystems: [{name: A}, {name: B}]\nflows:\n"
                         "  - {id: a, sources: [A], destinations: [B], destination_ports: [99999], protocols: [tcp]}\n";
  r = pm({"lint", "--matrix", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("[port-range]"), std::string::npos) << r.out;
  std::ofstream(path) << "portmatrix: 1\nname: [x\n";
  EXPECT_EQ(pm({"lint", "--matrix", path}).exit_code, 2);
}
