// `portmatrix audit` usage and input errors (exit 2 before looking at the host).
// What it finds on a host is tested in tests/netns/audit_test.cpp.
#include <fstream>

#include <gtest/gtest.h>

#include "support/cli.hpp"
#include "support/testing.hpp"

using pmtest::pm;

TEST(CliAudit, HelpNamesTheOptions) {
  auto r = pm({"audit", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* opt : {"--matrix", "--site", "--format", "--sockets"}) EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

TEST(CliAudit, UsageErrorsExitTwo) {
  EXPECT_EQ(pm({"audit", "--sockets", "carrier-pigeon"}).exit_code, 2);
  EXPECT_EQ(pm({"audit", "--format", "yaml"}).exit_code, 2);
  EXPECT_EQ(pm({"audit", "surplus"}).exit_code, 2);
}

TEST(CliAudit, BadSiteIsAnInputErrorWithItsLocation) {
  std::string path = ::testing::TempDir() + "/audit-bad-site.yaml";
  std::ofstream(path) << "portmatrix-site: 1\nmatrix: cms-r20\nhost: CMS\nsystems:\n  Nobody: [192.0.2.1]\n";
  auto r = pm({"audit", "--site", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("portmatrix: " + path + ":5:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "nothing is audited against a site that does not bind";
  auto missing = pm({"audit", "--site", "/nonexistent/site.yaml"});
  EXPECT_EQ(missing.exit_code, 2);
}
