// Replays the inputs kept under tests/regression/engine/ (minimized fuzzer
// findings and hand-made damaged inputs) through the fuzz targets' harness: each
// must run to the end without tripping an assertion or a sanitizer.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <gtest/gtest.h>

#include "../../../fuzz/harness.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;

namespace {
std::vector<fs::path> inputs(const char* kind) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(pmtest::source_path(std::string("tests/regression/engine/") + kind)))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST(EngineRegression, CaptureInputs) {
  auto files = inputs("capture");
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    auto b = bytes_of(f);
    // A damaged capture must be reported as such; files named valid_* are well-formed extremes.
    std::uint64_t issues = pmfuzz::run_capture(b.data(), b.size());
    if (f.filename().string().rfind("valid_", 0) == 0) {
      EXPECT_EQ(issues, 0u);
    } else {
      EXPECT_GT(issues, 0u);
    }
  }
}

TEST(EngineRegression, DecodeInputs) {
  auto files = inputs("decode");
  ASSERT_FALSE(files.empty());
  portmatrix::Decoder decoder, general(pmfuzz::general_decoder_options());
  portmatrix::Conntrack table({}, [](const portmatrix::Connection&) {});
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    auto b = bytes_of(f);
    pmfuzz::run_frame(decoder, general, table, b.data(), b.size());
  }
}
