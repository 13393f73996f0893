// The firewalld backend against Debian's firewalld: every golden configuration
// passes firewall-offline-cmd with every rich and direct rule taken as written;
// the real daemon, run in a network namespace on a private D-Bus, enforces what
// the reference evaluator predicts (verify, IPv4 and IPv6); text from the matrix
// or site cannot change the kernel's rules; a broken rule is caught.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/backends.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/site.hpp"
#include "portmatrix/verify.hpp"
#include "support/hostile.hpp"
#include "support/proof.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

const char* kCases[] = {"cms-default", "cms-all", "cms-minimal-reject"};

bool have_firewalld() { return ::access("/usr/sbin/firewalld", X_OK) == 0 && ::access("/usr/bin/firewall-offline-cmd", X_OK) == 0; }

#define PM_REQUIRE_FIREWALLD()   \
  PM_REQUIRE_ROOT();             \
  PM_REQUIRE(have_firewalld(), "firewalld is not installed (scripts/install-deps installs it)")

Policy case_policy(const std::string& name) {
  auto lp = load_policy("", pmtest::source_path("tests/golden/cases/" + name + ".yaml"));
  EXPECT_TRUE(lp);
  return lp ? lp.value->policy : Policy{};
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos; pos += what.size()) ++n;
  return n;
}

// A temporary firewalld configuration directory holding the rendered files.
struct ConfigDir {
  std::string path;
  explicit ConfigDir(const Rendered& r) {
    char tmpl[] = "/tmp/pmtest-firewalld-XXXXXX";
    path = ::mkdtemp(tmpl);
    for (const auto& f : r.files) {
      std::filesystem::create_directories(std::filesystem::path(path + "/" + f.name).parent_path());
      std::ofstream(path + "/" + f.name) << f.content;
    }
    std::ofstream(path + "/firewalld.conf") << "DefaultZone=portmatrix\nFirewallBackend=nftables\n";
  }
  ~ConfigDir() { std::filesystem::remove_all(path); }
  RunResult offline(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"firewall-offline-cmd", "--system-config", path};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv);
    EXPECT_TRUE(r);
    return r ? *r : RunResult{};
  }
};

// The namespace's ruleset as JSON without handles, for comparing meaning.
nlohmann::json ruleset(const netns::Namespace& ns) {
  auto listed = ns.run({"nft", "-j", "list", "ruleset"});
  EXPECT_TRUE(listed && listed->exit_code == 0);
  auto j = nlohmann::json::parse(listed->out);
  nlohmann::json out = nlohmann::json::array();
  for (auto& item : j["nftables"]) {
    if (item.contains("metainfo")) continue;
    for (auto& [kind, obj] : item.items()) obj.erase("handle");
    out.push_back(item);
  }
  return out;
}

// firewalld output with one row's port lost: the rich rule admits every TCP port.
class LosesDestinationPort final : public Backend {
 public:
  std::string_view name() const override { return "firewalld"; }
  std::string_view summary() const override { return "broken on purpose"; }
  Capabilities capabilities() const override { return firewalld_backend().capabilities(); }
  bool loadable() const override { return true; }
  Expected<std::unique_ptr<LoadedRuleset>> load(const Rendered& r, int netns_fd) const override {
    return firewalld_backend().load(r, netns_fd);
  }

 protected:
  Rendered render(const Policy& p) const override {
    Rendered r = firewalld_backend().compile(p);
    for (auto& f : r.files)
      f.content = std::regex_replace(f.content, std::regex("<port port=\"8443\" protocol=\"tcp\"/>"), "<protocol value=\"tcp\"/>");
    return r;
  }
};

}  // namespace

TEST(Firewalld, GoldenConfigurationsPassTheOfflineCheckRuleForRule) {
  PM_REQUIRE_FIREWALLD();
  for (const char* c : kCases) {
    SCOPED_TRACE(c);
    const Rendered r = firewalld_backend().compile(case_policy(c));
    ConfigDir dir(r);
    auto check = dir.offline({"--check-config"});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    // firewalld skips a rule it finds invalid with a warning and still passes the
    // check, so every rule it lists is counted against the files.
    EXPECT_EQ(check.out.find("WARNING"), std::string::npos) << check.out;
    EXPECT_EQ(check.err.find("WARNING"), std::string::npos) << check.err;
    EXPECT_EQ(dir.offline({"--get-default-zone"}).out, "portmatrix\n");
    for (const auto& f : r.files) {
      const std::string stem = std::filesystem::path(f.name).stem().string();
      RunResult info;
      if (f.name.rfind("zones/", 0) == 0) info = dir.offline({"--info-zone=" + stem});
      else if (f.name.rfind("policies/", 0) == 0) info = dir.offline({"--info-policy=" + stem});
      else info = dir.offline({"--direct", "--get-all-rules"});
      EXPECT_EQ(info.exit_code, 0) << f.name << info.err;
      std::size_t listed = 0;
      std::istringstream in(info.out);
      for (std::string line; std::getline(in, line);)
        listed += f.name == "direct.xml" ? !line.empty() : line.rfind("\trule ", 0) == 0;
      EXPECT_EQ(listed, count(f.content, "<rule ")) << f.name << "\n" << info.out << info.err;
    }
  }
}

TEST(Firewalld, RegressionVlanInterfacesPassTheOfflineCheckAndLoad) {
  PM_REQUIRE_FIREWALLD();
  // firewalld refuses a '.' in a zone or policy name ("INVALID_NAME"), and with it every file.
  Policy p = case_policy("cms-default");
  const std::map<std::string, std::string> vlan = {{"eth0", "eth0.100"}, {"eth1", "enp0s31f6.1000"}};
  for (auto& i : p.interfaces) i = vlan.at(i);
  for (auto& r : p.rules)
    if (vlan.count(r.iface)) r.iface = vlan.at(r.iface);
  const Rendered r = firewalld_backend().compile(p);
  ConfigDir dir(r);
  auto check = dir.offline({"--check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ((check.out + check.err).find("WARNING"), std::string::npos) << check.out << check.err;
  std::string interfaces;
  for (const auto& f : r.files) {
    if (f.name.rfind("zones/", 0) != 0) continue;
    auto info = dir.offline({"--info-zone=" + std::filesystem::path(f.name).stem().string()});
    EXPECT_EQ(info.exit_code, 0) << f.name << info.err;
    interfaces += info.out;
  }
  for (const auto& [plain, tagged] : vlan) EXPECT_NE(interfaces.find("interfaces: " + tagged + "\n"), std::string::npos) << interfaces;
  auto ns = netns::Namespace::create(netns::unique_name("fwd"));
  ASSERT_TRUE(ns);
  auto loaded = firewalld_backend().load(r, ns->fd());
  EXPECT_TRUE(loaded) << loaded.error().message;
}

TEST(Firewalld, VerifyProvesEveryGoldenCase) {
  PM_REQUIRE_FIREWALLD();
  for (const char* c : kCases) {
    SCOPED_TRACE(c);
    auto rep = verify_policy(case_policy(c), firewalld_backend());
    ASSERT_TRUE(rep) << rep.error().message;
    pmtest::expect_proven(*rep);
    bool closed_on_loopback = false;
    for (const auto& x : rep->results)
      closed_on_loopback |= x.probe.row == "web-internal" && x.probe.src.is_loopback() && !x.connected;
    EXPECT_TRUE(closed_on_loopback) << "the direct rule must close the port to loopback traffic";
  }
}

TEST(Firewalld, VerifyCatchesARuleThatOpensEveryPort) {
  PM_REQUIRE_FIREWALLD();
  LosesDestinationPort broken;
  auto rep = verify_policy(case_policy("cms-default"), broken);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_FALSE(rep->ok());
  bool named = false;
  for (const auto& x : rep->results)
    if (!x.pass) named |= x.problem.find("the kernel allowed it, the reference evaluator blocks it") != std::string::npos;
  EXPECT_TRUE(named) << verify_table(*rep);
}

TEST(Firewalld, ARuleFirewalldRefusesFailsTheLoad) {
  PM_REQUIRE_FIREWALLD();
  Rendered r = firewalld_backend().compile(case_policy("cms-minimal-reject"));
  // A reject type without a family: firewalld drops such a rule with a warning.
  for (auto& f : r.files) f.content = std::regex_replace(f.content, std::regex("family=\"ipv4\" priority=\"3\""), "priority=\"3\"");
  auto ns = netns::Namespace::create(netns::unique_name("fwd"));
  ASSERT_TRUE(ns);
  auto loaded = firewalld_backend().load(r, ns->fd());
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("did not take the configuration as written"), std::string::npos) << loaded.error().message;
}

TEST(Firewalld, DirectoriesOfAKilledRunAreSweptAndAFailedLoadLeavesNone) {
  PM_REQUIRE_FIREWALLD();
  // A pid above the kernel's limit (4194304) never runs.
  const std::string stale = "/tmp/portmatrix-firewalld-4194305-test";
  std::filesystem::create_directories(stale + "/zones");
  Rendered r = firewalld_backend().compile(case_policy("cms-all"));
  r.files[0].content = "<zone><not-firewalld/>";  // firewalld refuses the default zone
  auto ns = netns::Namespace::create(netns::unique_name("fwd"));
  ASSERT_TRUE(ns);
  EXPECT_FALSE(firewalld_backend().load(r, ns->fd()));
  EXPECT_FALSE(std::filesystem::exists(stale));
  for (const auto& e : std::filesystem::directory_iterator("/tmp"))
    EXPECT_NE(e.path().filename().string().rfind("portmatrix-firewalld-" + std::to_string(::getpid()) + "-", 0), 0u)
        << e.path();
}

TEST(Firewalld, HostileTextCannotChangeRules) {
  PM_REQUIRE_FIREWALLD();
  auto pair = pmtest::hostile_pair("cms-default");
  ASSERT_FALSE(pair.hostile.rules.empty());
  nlohmann::json results[2];
  const Policy* policies[2] = {&pair.plain.policy, &pair.hostile};
  for (int k = 0; k < 2; ++k) {
    const Rendered r = firewalld_backend().compile(*policies[k]);
    for (const auto& f : r.files)
      for (char ch : f.content) ASSERT_TRUE(ch == '\n' || (ch >= 0x20 && ch < 0x7f)) << f.name;
    auto ns = netns::Namespace::create(netns::unique_name("fwd"));
    ASSERT_TRUE(ns);
    auto loaded = firewalld_backend().load(r, ns->fd());
    ASSERT_TRUE(loaded) << loaded.error().message;
    results[k] = ruleset(*ns);
  }
  EXPECT_EQ(results[0], results[1]);
}
