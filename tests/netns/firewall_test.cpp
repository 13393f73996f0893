// `portmatrix firewall` in a network namespace: the real command, the real kernel.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "portmatrix/backend.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/hostfw.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/site.hpp"
#include "portmatrix/verify.hpp"
#include "support/cli.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

// Private state, config and log locations for one test, passed to the CLI by environment.
class FirewallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) return;
    char tmpl[] = "/tmp/pmfw-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    paths_.config_dir = dir_ + "/etc";
    paths_.state_dir = dir_ + "/state";
    paths_.log_file = dir_ + "/portmatrix.log";
    ::setenv("PORTMATRIX_CONFIG_DIR", paths_.config_dir.c_str(), 1);
    ::setenv("PORTMATRIX_STATE_DIR", paths_.state_dir.c_str(), 1);
    ::setenv("PORTMATRIX_LOG_FILE", paths_.log_file.c_str(), 1);
    ::unsetenv("SSH_CONNECTION");
    auto ns = netns::Namespace::create(netns::unique_name("fw"));
    ASSERT_TRUE(ns) << ns.error().message;
    ns_ = std::move(*ns);
  }
  void TearDown() override {
    ns_.remove();
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  RunResult pm(std::vector<std::string> args, const netns::Namespace* ns = nullptr) {
    return pmtest::pm(std::move(args), "", (ns ? *ns : ns_).fd());
  }
  std::string ruleset(const netns::Namespace* ns = nullptr) {
    auto r = (ns ? *ns : ns_).run({"nft", "list", "ruleset"});
    return r ? r->out : "";
  }
  bool own_table(const netns::Namespace* ns = nullptr) { return ruleset(ns).find("table inet portmatrix") != std::string::npos; }
  std::string state() {
    auto s = hostfw::load_state(paths_);
    return s ? s->status : "error";
  }
  std::string log() {
    auto t = read_file(paths_.log_file);
    return t ? *t : "";
  }

  std::string dir_;
  hostfw::Paths paths_;
  netns::Namespace ns_;
};

}  // namespace

TEST_F(FirewallTest, EnableThenPortsBehaveAsTheMatrixSays) {
  PM_REQUIRE_ROOT();
  auto lp = load_policy("", "cms-site");
  ASSERT_TRUE(lp);
  VerifyOptions vo;
  vo.switch_on = [&](const netns::Namespace& host) -> Status {
    auto r = pm({"firewall", "enable", "--confirm-timeout", "0"}, &host);
    if (r.exit_code != 0) return Error{Error::Kind::kernel, r.err};
    return std::nullopt;
  };
  vo.switch_off = [&](const netns::Namespace& host) -> Status {
    auto r = pm({"firewall", "disable"}, &host);
    if (r.exit_code != 0) return Error{Error::Kind::kernel, r.err};
    return std::nullopt;
  };
  auto rep = verify_policy(lp.value->policy, *find_backend("nftables"), vo);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_TRUE(rep->ok()) << verify_table(*rep);
  EXPECT_NE(log().find("action=enable"), std::string::npos);
  EXPECT_NE(log().find("action=disable"), std::string::npos);
}

TEST_F(FirewallTest, EnableConfirmStatusDisableLeavesOtherTablesAlone) {
  PM_REQUIRE_ROOT();
  RunOptions o;
  o.input = "table ip other {\n set s { type ipv4_addr; elements = { 192.0.2.9 } }\n chain c {\n type filter hook input priority 10; "
            "policy accept;\n ip saddr @s counter drop\n }\n}\ntable inet mine {\n chain o { type filter hook output priority 5; }\n}\n";
  ASSERT_FALSE(ns_.check({"nft", "-f", "-"}, o));
  std::string before = ruleset();

  auto r = pm({"firewall", "enable", "--confirm-timeout", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("the firewall is off now"), std::string::npos);
  EXPECT_TRUE(own_table());
  EXPECT_EQ(state(), "pending");
  auto st = pm({"firewall", "status", "--format", "json"});
  auto j = nlohmann::json::parse(st.out);
  EXPECT_EQ(j["state"], "pending");
  EXPECT_EQ(j["matrix"], "cms-r20");
  EXPECT_GT(j["pending"]["seconds_left"].get<double>(), 20.0);
  bool ssh_row = false;
  for (const auto& row : j["rows"]) ssh_row |= row["row"] == "ssh";
  EXPECT_TRUE(ssh_row);

  r = pm({"firewall", "confirm"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state(), "on");
  // Saved for boot, and what is saved loads.
  struct stat sb {};
  ASSERT_EQ(::stat(paths_.persisted().c_str(), &sb), 0);
  EXPECT_FALSE(ns_.check({"nft", "-c", "-f", paths_.persisted()}));
  EXPECT_EQ(pm({"firewall", "confirm"}).exit_code, 1) << "nothing awaits confirmation";

  // Re-enabling shows a diff against what is applied: no change.
  r = pm({"firewall", "enable", "--dry-run"});
  EXPECT_NE(r.out.find("no change"), std::string::npos) << r.out;

  r = pm({"firewall", "disable"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(own_table());
  EXPECT_EQ(ruleset(), before) << "other tables must stay byte for byte as they were";
  EXPECT_NE(::stat(paths_.persisted().c_str(), &sb), 0);
  EXPECT_NE(pm({"firewall", "status"}).out.find("off"), std::string::npos);
  std::string l = log();
  EXPECT_NE(l.find("user=root action=enable"), std::string::npos) << l;
  EXPECT_NE(l.find("action=confirm"), std::string::npos);
  EXPECT_NE(l.find("action=disable"), std::string::npos);
}

TEST_F(FirewallTest, NoConfirmRollsBackInTime) {
  PM_REQUIRE_ROOT();
  std::string before = ruleset();
  auto start = std::chrono::steady_clock::now();
  auto r = pm({"firewall", "enable", "--confirm-timeout", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(own_table());
  while (own_table() && std::chrono::steady_clock::now() - start < std::chrono::seconds(8))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(own_table());
  EXPECT_LE(took, std::chrono::seconds(2 + 2));
  EXPECT_EQ(ruleset(), before);
  EXPECT_EQ(state(), "off");
  EXPECT_NE(log().find("action=rollback"), std::string::npos);
}

TEST_F(FirewallTest, RollbackRestoresThePreviousRulesetAfterSigkill) {
  PM_REQUIRE_ROOT();
  // A confirmed firewall with every optional row disabled, then a pending change to another one.
  auto r = pm({"firewall", "enable", "--confirm-timeout", "0", "--site", pmtest::source_path("tests/data/sites/cms-optional-off.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string confirmed = ruleset();
  auto child = Child::spawn({PM_BINARY, "firewall", "enable", "--confirm-timeout", "2", "--wait"}, ns_.fd());
  ASSERT_TRUE(child);
  auto start = std::chrono::steady_clock::now();
  // The change is recorded as pending just before the kernel takes it: wait for both.
  while ((state() != "pending" || ruleset() == confirmed) && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(state(), "pending");
  ASSERT_NE(ruleset(), confirmed);
  child->stop(SIGKILL);
  while (state() == "pending" && std::chrono::steady_clock::now() - start < std::chrono::seconds(8))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LE(std::chrono::steady_clock::now() - start, std::chrono::seconds(2 + 2));
  EXPECT_EQ(state(), "on");
  // nft prints the restored table as it printed the confirmed one.
  EXPECT_EQ(ruleset(), confirmed);
}

TEST_F(FirewallTest, LockoutGuardRefusesUnlessForced) {
  PM_REQUIRE_ROOT();
  // 203.0.113.77 is no source of the ssh row when every optional row is off (its SSH clients are 203.0.113.128/25).
  const std::string site = pmtest::source_path("tests/data/sites/cms-optional-off.yaml");
  auto r = pm({"firewall", "enable", "--site", site, "--keep", "203.0.113.77"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("203.0.113.77 (--keep) could no longer open tcp connections to port 22"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("row 'ssh'"), std::string::npos) << r.err;
  EXPECT_FALSE(own_table());
  ::setenv("SSH_CONNECTION", "203.0.113.77 50022 192.0.2.1 22", 1);
  r = pm({"firewall", "enable", "--site", site});
  ::unsetenv("SSH_CONNECTION");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("(SSH_CONNECTION)"), std::string::npos) << r.err;
  EXPECT_FALSE(own_table());
  r = pm({"firewall", "enable", "--site", site, "--keep", "203.0.113.200"});
  EXPECT_EQ(r.exit_code, 0) << r.err << "an SSH client of the site keeps access";
  ASSERT_EQ(pm({"firewall", "disable"}).exit_code, 0);
  r = pm({"firewall", "enable", "--site", site, "--keep", "203.0.113.77", "--force", "--confirm-timeout", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(own_table());
}

TEST_F(FirewallTest, KernelRejectionChangesNothing) {
  PM_REQUIRE_ROOT();
  ASSERT_EQ(pm({"firewall", "enable", "--confirm-timeout", "0"}).exit_code, 0);
  std::string before = ruleset();
  auto st_before = hostfw::load_state(paths_);
  auto lp = load_policy("", "cms-site");
  ASSERT_TRUE(lp);
  std::string text = find_backend("nftables")->compile(lp.value->policy).files[0].content;
  // An invalid set element late in the file: the transaction must fail as a whole.
  auto pos = text.find("elements = { ");
  ASSERT_NE(pos, std::string::npos);
  text.insert(pos + 13, "999.0.0.1, ");
  Status result;
  Status entered = ns_.enter([&] {
    hostfw::ApplyRequest req;
    req.ruleset = text;
    req.confirm_timeout = std::chrono::seconds(0);
    auto r = hostfw::apply(paths_, req);
    if (!r) result = r.error();
  });
  ASSERT_FALSE(entered);
  ASSERT_TRUE(result) << "the kernel accepted an invalid ruleset";
  EXPECT_EQ(ruleset(), before);
  EXPECT_EQ(hostfw::load_state(paths_)->hash, st_before->hash);
}

TEST_F(FirewallTest, AllowDenyPortsEditTheSiteFile) {
  PM_REQUIRE_ROOT();
  std::string site = dir_ + "/site.yaml";
  auto text = read_file(pmtest::source_path("examples/cms-site.yaml"));
  ASSERT_TRUE(text);
  ASSERT_FALSE(write_file_atomic(site, *text));
  auto r = pm({"firewall", "deny", "web", "--site", site, "--confirm-timeout", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto edited = read_file(site);
  EXPECT_NE(edited->find("  web: {enabled: false}\n"), std::string::npos) << *edited;
  EXPECT_NE(edited->find("# Example site for the bundled CMS R20 matrix"), std::string::npos) << "comments stay";
  EXPECT_EQ(ruleset().find("comment \"web\""), std::string::npos);
  r = pm({"firewall", "ports", "spi", "5001-5004", "--site", site, "--confirm-timeout", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(site)->find("spi: {destination_ports: [5001-5004]}"), std::string::npos) << *read_file(site);
  EXPECT_NE(ruleset().find("5001-5004"), std::string::npos);
  // A pending change that is not confirmed puts the site file back too.
  std::string kept = *read_file(site);
  r = pm({"firewall", "allow", "web", "--site", site, "--confirm-timeout", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(site)->find("web: {enabled: true}"), std::string::npos);
  auto start = std::chrono::steady_clock::now();
  while (state() == "pending" && std::chrono::steady_clock::now() - start < std::chrono::seconds(6))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(*read_file(site), kept);
  EXPECT_EQ(pm({"firewall", "allow", "nosuchrow", "--site", site}).exit_code, 2);
  EXPECT_EQ(*read_file(site), kept);
}

// Regression: with --confirm-timeout 0, a failure to save the ruleset for boot left the
// new table loaded while the command failed and state.json still said what was before.
TEST_F(FirewallTest, ChangeThatCannotBeRecordedIsUndone) {
  PM_REQUIRE_ROOT();
  auto r = pm({"firewall", "enable", "--confirm-timeout", "0", "--site", pmtest::source_path("tests/data/sites/cms-optional-off.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string confirmed = ruleset();
  const auto persisted = read_file(paths_.persisted());
  ASSERT_TRUE(persisted);
  // The directory for the boot file cannot be created: its parent is a regular file.
  ASSERT_FALSE(write_file_atomic(dir_ + "/not-a-dir", "x"));
  ::setenv("PORTMATRIX_CONFIG_DIR", (dir_ + "/not-a-dir/etc").c_str(), 1);
  r = pm({"firewall", "enable", "--confirm-timeout", "0"});
  ::setenv("PORTMATRIX_CONFIG_DIR", paths_.config_dir.c_str(), 1);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("the change was undone"), std::string::npos) << r.err;
  EXPECT_EQ(ruleset(), confirmed) << "the kernel must keep the confirmed ruleset";
  EXPECT_EQ(state(), "on");
  auto kept = read_file(paths_.persisted());
  EXPECT_TRUE(kept && *kept == *persisted) << "the boot file must stay the confirmed ruleset";
  auto st = pm({"firewall", "status", "--format", "json"});
  EXPECT_EQ(nlohmann::json::parse(st.out, nullptr, false).value("hash", ""), hostfw::sha256_hex(*persisted)) << st.out;
}

// Regression: a pending change whose watchdog was killed (or whose machine restarted)
// stayed loaded forever: status said "rolls back in 0 s" and confirm "is being rolled back".
TEST_F(FirewallTest, OverdueChangeWithoutWatchdogIsRolledBackByTheNextCommand) {
  PM_REQUIRE_ROOT();
  const std::string before = ruleset();
  auto stop_watchdog = [&] {
    auto st = hostfw::load_state(paths_);
    ASSERT_TRUE(st);
    ASSERT_EQ(st->status, "pending");
    ASSERT_GT(st->watchdog_pid, 1);
    auto cmdline = read_file(fmt::format("/proc/{}/cmdline", st->watchdog_pid));
    ASSERT_TRUE(cmdline && cmdline->find("watchdog") != std::string::npos) << "pid " << st->watchdog_pid << " is not our watchdog";
    ASSERT_EQ(::kill(st->watchdog_pid, SIGKILL), 0);
    // Past the deadline, with nobody left to roll back.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ASSERT_TRUE(own_table());
  };
  for (const std::string next : {"status", "confirm", "enable"}) {
    SCOPED_TRACE(next);
    auto r = pm({"firewall", "enable", "--confirm-timeout", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    stop_watchdog();
    if (HasFatalFailure()) return;
    if (next == "enable") {
      // A new change after an overdue one returns, if not confirmed, to the state before both.
      r = pm({"firewall", "enable", "--confirm-timeout", "30", "--site", pmtest::source_path("tests/data/sites/cms-optional-off.yaml")});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto st = hostfw::load_state(paths_);
      ASSERT_TRUE(st);
      EXPECT_EQ(st->snapshot, "") << "the snapshot is the table before the overdue change: none";
      EXPECT_EQ(st->previous_status, "off");
      ASSERT_EQ(pm({"firewall", "disable"}).exit_code, 0);
    } else {
      r = pm({"firewall", next});
      EXPECT_EQ(r.exit_code, next == "confirm" ? 1 : 0) << r.err;
      if (next == "confirm") {
        EXPECT_NE(r.err.find("was rolled back"), std::string::npos) << r.err;
      } else {
        EXPECT_NE(r.out.find("firewall: off"), std::string::npos) << r.out;
      }
    }
    EXPECT_FALSE(own_table());
    EXPECT_EQ(ruleset(), before);
    EXPECT_EQ(state(), "off");
    EXPECT_NE(log().find("action=rollback"), std::string::npos);
  }
}

namespace {

// Whether a TCP connection from namespace `from` to addr:port completes within a second.
// sport: the source port to connect from, 0 for one the kernel picks.
bool connects(const netns::Namespace& from, const std::string& addr, std::uint16_t port, std::uint16_t sport = 0) {
  const IpAddr a = *parse_ip(addr);
  const bool v4 = a.family == Family::ipv4;
  auto s = from.socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (!s) return false;
  if (sport != 0 && v4) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(sport);
    if (::bind(*s, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(*s);
      return false;
    }
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
    len = sizeof *sin6;
  }
  bool ok = false;
  if (::connect(*s, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{*s, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    ok = ::poll(&p, 1, 1000) == 1 && ::getsockopt(*s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
  }
  ::close(*s);
  return ok;
}

// An administrator's machine (198.51.100.1, an Admin terminal of the sites) on the host's eth1,
// where the host has 192.0.2.1 and 192.0.2.99 (no site lists the second), and a listener on
// the host's port 22.
struct SshLab {
  netns::Namespace admin;
  int listener = -1;
  ~SshLab() {
    if (listener >= 0) ::close(listener);
  }
};

void make_ssh_lab(const netns::Namespace& host, SshLab& lab) {
  auto a = netns::Namespace::create(netns::unique_name("fwadmin"));
  ASSERT_TRUE(a) << a.error().message;
  lab.admin = std::move(*a);
  ASSERT_FALSE(netns::add_veth(lab.admin, "adm0", host, "eth1"));
  ASSERT_FALSE(lab.admin.add_address("adm0", Prefix{*parse_ip("198.51.100.1"), 24}));
  ASSERT_FALSE(lab.admin.check({"ip", "route", "add", "192.0.2.0/24", "dev", "adm0"}));
  ASSERT_FALSE(host.add_address("eth1", Prefix{*parse_ip("192.0.2.1"), 24}));
  ASSERT_FALSE(host.add_address("eth1", Prefix{*parse_ip("192.0.2.99"), 24}));
  ASSERT_FALSE(host.check({"ip", "route", "add", "198.51.100.0/24", "dev", "eth1"}));
  auto l = host.socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_TRUE(l);
  lab.listener = *l;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(22);
  ASSERT_EQ(::bind(*l, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(::listen(*l, 16), 0);
}

}  // namespace

// Regression: the lock-out guard judged the SSH client's next login against the site's
// first host address, not the address the client actually reached (SSH_CONNECTION's
// server). An administrator on a second address of the host, or over IPv6 to a host the
// site gives only IPv4, passed the guard and was locked out.
TEST_F(FirewallTest, LockoutGuardJudgesTheAddressTheClientReached) {
  PM_REQUIRE_ROOT();
  SshLab lab;
  make_ssh_lab(ns_, lab);
  if (HasFatalFailure()) return;
  const netns::Namespace& admin = lab.admin;
  ASSERT_TRUE(connects(admin, "192.0.2.99", 22)) << "the lab works with the firewall off";

  // The administrator's session came in at 192.0.2.99: the example site's ssh rows accept only 192.0.2.1.
  ::setenv("SSH_CONNECTION", "198.51.100.1 40022 192.0.2.99 22", 1);
  auto r = pm({"firewall", "enable", "--confirm-timeout", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("198.51.100.1 (SSH_CONNECTION) could no longer open tcp connections to port 22 of the host at 192.0.2.99"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("add 192.0.2.99 to the addresses of CMS"), std::string::npos) << r.err;
  EXPECT_FALSE(own_table());
  // Over IPv6 to a host the site gives no IPv6 address: every IPv6 connection would be dropped.
  ::setenv("SSH_CONNECTION", "2001:db8:100::5 40022 2001:db8::99 22", 1);
  r = pm({"firewall", "enable", "--confirm-timeout", "0", "--site", pmtest::source_path("tests/data/sites/cms-ipv4-only.yaml")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("2001:db8:100::5 (SSH_CONNECTION) could no longer open"), std::string::npos) << r.err;
  EXPECT_FALSE(own_table());
  // The guard's verdict is the kernel's: forced on, the second address is closed, the first open.
  ::setenv("SSH_CONNECTION", "198.51.100.1 40022 192.0.2.99 22", 1);
  r = pm({"firewall", "enable", "--confirm-timeout", "0", "--force"});
  ::unsetenv("SSH_CONNECTION");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(connects(admin, "192.0.2.99", 22));
  EXPECT_TRUE(connects(admin, "192.0.2.1", 22));
  // Reached at the address the site gives the host, the guard lets the change through.
  ::setenv("SSH_CONNECTION", "198.51.100.1 40022 192.0.2.1 22", 1);
  r = pm({"firewall", "enable", "--confirm-timeout", "0"});
  ::unsetenv("SSH_CONNECTION");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Regression: a damaged state.json made `firewall disable` refuse, so the tool could not
// turn its own firewall off.
TEST_F(FirewallTest, DisableWorksWithADamagedStateFile) {
  PM_REQUIRE_ROOT();
  const std::string before = ruleset();
  ASSERT_EQ(pm({"firewall", "enable", "--confirm-timeout", "0"}).exit_code, 0);
  ASSERT_TRUE(own_table());
  ASSERT_FALSE(write_file_atomic(paths_.state_dir + "/state.json", "{\"status\": [\"on\"\n"));
  EXPECT_EQ(pm({"firewall", "enable", "--confirm-timeout", "0"}).exit_code, 1) << "other commands still refuse";
  auto r = pm({"firewall", "disable"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("state.json.damaged"), std::string::npos) << r.err;
  EXPECT_FALSE(own_table());
  EXPECT_EQ(ruleset(), before);
  EXPECT_EQ(state(), "off");
  EXPECT_EQ(read_file(paths_.state_dir + "/state.json.damaged").value(), "{\"status\": [\"on\"\n");
  struct stat sb {};
  EXPECT_NE(::stat(paths_.persisted().c_str(), &sb), 0);
}

// Regression: the pending state and the watchdog were set up only after the kernel took
// the ruleset, so a CLI killed (or hung up) in between left the change loaded for good,
// with no rollback and state.json still showing the state before.
TEST_F(FirewallTest, KilledRightAfterTheKernelTookTheChangeStillRollsBack) {
  PM_REQUIRE_ROOT();
  const std::string before = ruleset();
  ::setenv("PORTMATRIX_TEST_FAULT", "kill-after-apply", 1);
  auto r = pm({"firewall", "enable", "--confirm-timeout", "2"});
  ::unsetenv("PORTMATRIX_TEST_FAULT");
  EXPECT_NE(r.exit_code, 0) << "the command was killed";
  EXPECT_TRUE(own_table()) << "the kernel took the change before the kill";
  auto start = std::chrono::steady_clock::now();
  while (own_table() && std::chrono::steady_clock::now() - start < std::chrono::seconds(6))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(own_table());
  EXPECT_EQ(ruleset(), before);
  EXPECT_EQ(state(), "off");
  EXPECT_NE(log().find("action=rollback"), std::string::npos);
}

// Regression: when confirm could save the ruleset for boot but not the state (a read-only
// /var/lib), the change stayed pending and was rolled back, yet the next boot loaded it.
TEST_F(FirewallTest, ConfirmThatCannotBeRecordedLeavesTheBootFileAlone) {
  PM_REQUIRE_ROOT();
  auto r = pm({"firewall", "enable", "--confirm-timeout", "0", "--site", pmtest::source_path("tests/data/sites/cms-optional-off.yaml")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto confirmed = read_file(paths_.persisted());
  ASSERT_TRUE(confirmed);
  r = pm({"firewall", "enable", "--confirm-timeout", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // confirm with the state directory read-only, in a mount namespace of its own (nothing to undo afterwards).
  RunOptions o;
  o.netns_fd = ns_.fd();
  auto c = run_command({"unshare", "--mount", "--propagation", "private", "sh", "-c",
                        "mount --bind -o ro \"$1\" \"$1\" && exec \"$2\" firewall confirm", "sh", paths_.state_dir, PM_BINARY},
                       o);
  ASSERT_TRUE(c);
  EXPECT_NE(c->exit_code, 0) << c->err;
  EXPECT_NE(c->err.find("not confirmed"), std::string::npos) << c->err;
  auto persisted = read_file(paths_.persisted());
  EXPECT_TRUE(persisted && *persisted == *confirmed) << "boot must load the last confirmed ruleset";
  EXPECT_EQ(state(), "pending");
  EXPECT_EQ(pm({"firewall", "disable"}).exit_code, 0);
}

// Regression: the lock-out guard judged the next login from the start of the site's
// ephemeral range only. The rules accept no other source ports, so an administrator whose
// client uses others (a Linux client, 32768-60999, under the default range 49152-65535)
// passed the guard and could no longer log in from most of them.
TEST_F(FirewallTest, LockoutGuardJudgesTheSessionsSourcePort) {
  PM_REQUIRE_ROOT();
  SshLab lab;
  make_ssh_lab(ns_, lab);
  if (HasFatalFailure()) return;
  const std::string site = pmtest::source_path("tests/data/sites/cms-optional-off.yaml");  // ephemeral: the default
  ::setenv("SSH_CONNECTION", "198.51.100.1 40022 192.0.2.1 22", 1);
  auto r = pm({"firewall", "enable", "--confirm-timeout", "0", "--site", site});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("198.51.100.1 (SSH_CONNECTION) could no longer open tcp connections to port 22 of the host at 192.0.2.1 "
                       "from source port 40022"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(own_table());
  // The guard's verdict is the kernel's.
  r = pm({"firewall", "enable", "--confirm-timeout", "0", "--site", site, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(connects(lab.admin, "192.0.2.1", 22, 40022));
  EXPECT_TRUE(connects(lab.admin, "192.0.2.1", 22, 50022));
  // A session from a port in the range passes.
  ::setenv("SSH_CONNECTION", "198.51.100.1 50022 192.0.2.1 22", 1);
  r = pm({"firewall", "enable", "--confirm-timeout", "0", "--site", site});
  ::unsetenv("SSH_CONNECTION");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Regression: status named the ruleset portmatrix applied even after the loaded table had
// been changed by hand (or by another tool): "on, ruleset <hash>" for a table that was not.
TEST_F(FirewallTest, StatusSaysWhenTheLoadedTableWasChanged) {
  PM_REQUIRE_ROOT();
  ASSERT_EQ(pm({"firewall", "enable", "--confirm-timeout", "0"}).exit_code, 0);
  auto r = pm({"firewall", "status", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j.value("modified", nlohmann::json()), false) << r.out;
  EXPECT_EQ(pm({"firewall", "status"}).out.find("modified"), std::string::npos);
  // Someone opens a port by hand.
  ASSERT_FALSE(ns_.check({"nft", "insert", "rule", "inet", "portmatrix", "input", "tcp", "dport", "4444", "accept"}));
  r = pm({"firewall", "status", "--format", "json"});
  j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j.value("modified", nlohmann::json()), true) << r.out;
  r = pm({"firewall", "status"});
  EXPECT_NE(r.out.find("modified: the loaded table differs from the ruleset portmatrix applied (1 difference(s)"), std::string::npos)
      << r.out;
}

// Regression: a watchdog whose rollback failed once (nft refusing the restore) exited, and
// the unconfirmed change stayed loaded for good. It now keeps trying.
TEST_F(FirewallTest, WatchdogRetriesAFailedRollback) {
  PM_REQUIRE_ROOT();
  const std::string before = ruleset();
  auto r = pm({"firewall", "enable", "--confirm-timeout", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Make the restore fail at the deadline: a snapshot the kernel refuses.
  auto st = hostfw::load_state(paths_);
  ASSERT_TRUE(st);
  const std::string snapshot = st->snapshot;
  st->snapshot = "table inet portmatrix {\n\tchain input {\n\t\ttcp dport 99999 accept\n\t}\n}\n";
  ASSERT_FALSE(hostfw::save_state(paths_, *st));
  auto start = std::chrono::steady_clock::now();
  while (log().find("FAILED") == std::string::npos && std::chrono::steady_clock::now() - start < std::chrono::seconds(6))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_NE(log().find("action=rollback pending=" + st->pending_id + " FAILED"), std::string::npos) << log();
  EXPECT_TRUE(own_table()) << "the failed restore changed nothing";
  // The cause goes away; the watchdog, still there, rolls back.
  st = hostfw::load_state(paths_);
  ASSERT_TRUE(st);
  st->snapshot = snapshot;
  ASSERT_FALSE(hostfw::save_state(paths_, *st));
  start = std::chrono::steady_clock::now();
  while (own_table() && std::chrono::steady_clock::now() - start < std::chrono::seconds(6))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(own_table());
  EXPECT_EQ(ruleset(), before);
  EXPECT_EQ(state(), "off");
}
