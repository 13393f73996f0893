// Golden files: generated output compared byte for byte with a file in the tree.
// PORTMATRIX_REGENERATE=1 rewrites them; a missing golden file is a failure.
#pragma once
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "portmatrix/fileio.hpp"

namespace pmtest {

inline void expect_golden(const std::string& path, const std::string& actual) {
  if (const char* r = std::getenv("PORTMATRIX_REGENERATE"); r && std::string(r) == "1") {
    ASSERT_FALSE(portmatrix::write_file_atomic(path, actual)) << "cannot write " << path;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path << " (run the test with PORTMATRIX_REGENERATE=1 to create it)";
  std::string expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(actual, expected) << "output differs from " << path << " (PORTMATRIX_REGENERATE=1 updates it)";
}

}  // namespace pmtest
