// portmatrix compile for every target: the list, files written into a
// directory (with the subdirectories firewalld's names carry), warnings by row on
// stderr, and verify refusing targets it cannot load.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "support/cli.hpp"
#include "support/testing.hpp"

using pmtest::pm;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST(CliCompile, ListsEveryTarget) {
  auto r = pm({"compile", "--list-targets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* t : {"nftables", "iptables", "firewalld", "cisco-ios", "cisco-asa", "juniper"})
    EXPECT_NE(r.out.find(std::string(t) + " "), std::string::npos) << t;
}

TEST(CliCompile, SeveralFilesGoIntoADirectory) {
  const std::string dir = ::testing::TempDir() + "/pm-compile-targets";
  std::filesystem::remove_all(dir);
  auto ipt = pm({"compile", "--target", "iptables", "-o", dir + "/ipt"});
  ASSERT_EQ(ipt.exit_code, 0) << ipt.err;
  EXPECT_NE(slurp(dir + "/ipt/rules.v4").find("*filter\n:PORTMATRIX-INPUT - [0:0]"), std::string::npos);
  EXPECT_NE(slurp(dir + "/ipt/rules.v6").find("--icmpv6-type neighbour-solicitation"), std::string::npos);
  auto fw = pm({"compile", "--target", "firewalld", "-o", dir + "/fw"});
  ASSERT_EQ(fw.exit_code, 0) << fw.err;
  for (const char* f : {"zones/portmatrix.xml", "zones/pm1-eth0.xml", "zones/pm2-eth1.xml", "policies/portmatrix-out.xml",
                        "direct.xml"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/fw/" + f)) << f;
  EXPECT_NE(fw.err.find("firewalld: row 'ssh': cannot match source ports"), std::string::npos) << fw.err;
  std::filesystem::remove_all(dir);
}

TEST(CliCompile, NetworkTargetsPrintOneConfigurationAndNameWhatTheyLeaveOut) {
  for (const char* t : {"cisco-ios", "cisco-asa", "juniper"}) {
    auto r = pm({"compile", "--target", t});
    ASSERT_EQ(r.exit_code, 0) << t << r.err;
    EXPECT_NE(r.out.find("portmatrix-"), std::string::npos) << t;
    EXPECT_NE(r.err.find(std::string(t) + ": row 'telnet': cannot tell loopback traffic apart"), std::string::npos) << r.err;
  }
}

TEST(CliCompile, VerifyRefusesANetworkTarget) {
  auto r = pm({"verify", "--target", "cisco-asa"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a Linux host firewall"), std::string::npos) << r.err;
}
