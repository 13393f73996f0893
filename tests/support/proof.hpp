// Judging a verify report in tests.
#pragma once
#include <gtest/gtest.h>

#include "portmatrix/verify.hpp"

namespace pmtest {

// Every probe passed, and allowed probes connected in both address families.
inline void expect_proven(const portmatrix::VerifyReport& rep) {
  EXPECT_TRUE(rep.ok()) << portmatrix::verify_table(rep);
  bool v4 = false, v6 = false;
  for (const auto& r : rep.results) {
    v4 |= r.probe.src.family == portmatrix::Family::ipv4 && r.connected;
    v6 |= r.probe.src.family == portmatrix::Family::ipv6 && r.connected;
  }
  EXPECT_TRUE(v4 && v6) << "both families must carry allowed probes";
}

}  // namespace pmtest
