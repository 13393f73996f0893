// Helpers shared by the test suites.
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

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

}  // namespace pmtest
