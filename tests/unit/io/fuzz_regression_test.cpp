// Replays every input kept under tests/regression/<target>/ (minimized crash
// inputs found by the fuzz targets, docs/fuzzing.md) through the same checks the
// fuzz targets run. A file's name says which bug it caught.
#include <dirent.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "../../../fuzz/fuzz_checks.hpp"
#include "support/testing.hpp"

namespace {

std::vector<std::string> inputs(const std::string& target) {
  std::string dir = pmtest::source_path("tests/regression/" + target);
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(FuzzRegression, Import) {
  for (const auto& f : inputs("import")) EXPECT_EQ(pmfuzz::import_one(pmtest::read_all(f)), "") << f;
}

TEST(FuzzRegression, MatrixYaml) {
  for (const auto& f : inputs("matrix_yaml")) EXPECT_EQ(pmfuzz::matrix_yaml_one(pmtest::read_all(f)), "") << f;
}

// Found by fuzz_matrix_yaml: a port map without 'ports' threw YAML::InvalidNode
// out of read_matrix_yaml instead of reporting the missing key.
TEST(FuzzRegression, PortSpecMapWithoutPortsIsAnError) {
  auto text = pmtest::read_all(pmtest::source_path("tests/regression/matrix_yaml/port-spec-map-without-ports.yaml"));
  auto parsed = portmatrix::read_matrix_yaml(text, "m.yaml");
  EXPECT_FALSE(parsed);
  ASSERT_EQ(parsed.diags.items().size(), 1u);
  EXPECT_EQ(parsed.diags.items()[0].format(), "m.yaml:8:24: error: destination_ports: missing required key 'ports'");
}
