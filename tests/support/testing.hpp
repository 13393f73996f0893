// Helpers shared by the test suites.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

namespace pmtest {

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string_view(ci) == "true";
}

// Skips a test outside CI when a requirement is missing; in CI (CI=true) a skip is a failure.
#define PM_REQUIRE(cond, why)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      if (::pmtest::in_ci()) FAIL() << "required in CI: " << (why);            \
      GTEST_SKIP() << (why);                                                   \
    }                                                                          \
  } while (0)

#define PM_REQUIRE_ROOT() PM_REQUIRE(::geteuid() == 0, "this test needs root (network namespaces, nftables)")

inline std::string source_path(std::string_view rel) { return std::string(PM_SOURCE_DIR) + "/" + std::string(rel); }

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits until the file at `path` contains `needle` (a child's log saying it is
// ready, say); false if it does not within `limit`.
inline bool wait_for_text(const std::string& path, std::string_view needle, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (read_all(path).find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// A fresh directory under /tmp, removed with everything in it when the test ends.
class ScratchDir {
 public:
  ScratchDir() {
    char t[] = "/tmp/pmtest-XXXXXX";
    if (::mkdtemp(t) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir_ = t;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return dir_; }
  std::string operator/(std::string_view name) const { return dir_ + "/" + std::string(name); }
  // Writes text to the file name in the directory and returns its path.
  std::string write(std::string_view name, std::string_view text) const {
    std::string p = *this / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::string dir_;
};

}  // namespace pmtest
