// `portmatrix audit` in a network namespace standing for the CMS host of the
// example site: real listeners (sockets this test opens, and a socat process it
// starts), the firewall off, on, and drifted in several ways.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "portmatrix/fileio.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/sockets.hpp"
#include "support/cli.hpp"
#include "support/testing.hpp"

using namespace portmatrix;
using nlohmann::json;

namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) return;
    char tmpl[] = "/tmp/pmaudit-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::setenv("PORTMATRIX_CONFIG_DIR", (dir_ + "/etc").c_str(), 1);
    ::setenv("PORTMATRIX_STATE_DIR", (dir_ + "/state").c_str(), 1);
    ::setenv("PORTMATRIX_LOG_FILE", (dir_ + "/portmatrix.log").c_str(), 1);
    ::unsetenv("SSH_CONNECTION");
    auto ns = netns::Namespace::create(netns::unique_name("audit"));
    ASSERT_TRUE(ns) << ns.error().message;
    ns_ = std::move(*ns);
    // The example site's host: CMS at 192.0.2.1 and 2001:db8::1, reached over eth0 and eth1 (veth
    // pairs with both ends inside: kernels in containers often lack the dummy driver).
    for (std::string dev : {"eth0", "eth1"}) {
      ASSERT_FALSE(ns_.check({"ip", "link", "add", dev, "type", "veth", "peer", "name", dev + "p"}));
      ASSERT_FALSE(ns_.set_up(dev));
      ASSERT_FALSE(ns_.set_up(dev + "p"));
    }
    ASSERT_FALSE(ns_.add_address("eth1", Prefix{*parse_ip("192.0.2.1"), 24}));
    ASSERT_FALSE(ns_.add_address("eth1", Prefix{*parse_ip("2001:db8::1"), 64}));
  }

  void TearDown() override {
    socat_.stop();
    for (int fd : fds_) ::close(fd);
    ns_.remove();
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Opens a listening socket inside the namespace, held by this test process.
  void listen(int family, int type, const char* addr, std::uint16_t port, const char* device = nullptr, bool reuseport = false) {
    auto s = ns_.socket(family, type, 0);
    ASSERT_TRUE(s) << s.error().message;
    fds_.push_back(*s);
    int one = 1;
    if (reuseport) {
      ASSERT_EQ(::setsockopt(*s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    }
    if (device) {
      ASSERT_EQ(::setsockopt(*s, SOL_SOCKET, SO_BINDTODEVICE, device, static_cast<socklen_t>(std::strlen(device))), 0);
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      ASSERT_EQ(::inet_pton(AF_INET, addr, &sin->sin_addr), 1);
      len = sizeof *sin;
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(port);
      ASSERT_EQ(::inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
      len = sizeof *sin6;
    }
    ASSERT_EQ(::bind(*s, reinterpret_cast<sockaddr*>(&ss), len), 0) << addr << ":" << port << ": " << std::strerror(errno);
    if (type == SOCK_STREAM) {
      ASSERT_EQ(::listen(*s, 4), 0);
    }
  }

  void start_listeners() {
    listen(AF_INET, SOCK_STREAM, "0.0.0.0", 23, nullptr, true);    // telnet bound wide
    listen(AF_INET, SOCK_STREAM, "127.0.0.1", 23, nullptr, true);  // telnet on loopback
    listen(AF_INET6, SOCK_STREAM, "::", 22);                        // ssh, dual stack
    listen(AF_INET, SOCK_STREAM, "192.0.2.1", 8443);                // web on the host's address
    listen(AF_INET, SOCK_STREAM, "0.0.0.0", 6001);                  // the internal port, bound wide
    listen(AF_INET, SOCK_DGRAM, "0.0.0.0", 161, "eth1");            // an SNMP-agent-like UDP socket on eth1 only
    auto c = ns_.spawn({"socat", "TCP-LISTEN:4444,reuseaddr,fork", "EXEC:/bin/cat"});
    ASSERT_TRUE(c) << c.error().message;
    socat_ = std::move(*c);
    // Wait until socat listens.
    for (int i = 0; i < 100; ++i) {
      bool up = false;
      ASSERT_FALSE(ns_.enter([&] {
        auto l = sockets::list_listeners(sockets::Method::netlink);
        if (l)
          for (const auto& x : l->listeners) up |= x.port == 4444;
      }));
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "socat did not start listening on 4444";
  }

  json audit(int expect_exit = 1, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"audit", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = pmtest::pm(args, "", ns_.fd());
    EXPECT_EQ(r.exit_code, expect_exit) << r.err << r.out;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }

  static const json& listener(const json& j, const std::string& proto, const std::string& addr, int port) {
    for (const auto& l : j["listeners"])
      if (l["proto"] == proto && l["address"] == addr && l["port"] == port) return l;
    ADD_FAILURE() << "no listener " << proto << " " << addr << ":" << port << " in " << j["listeners"].dump(1);
    static const json none = json::object();
    return none;
  }

  static std::vector<json> findings(const json& j, const std::string& code) {
    std::vector<json> v;
    for (const auto& f : j["findings"])
      if (f["code"] == code) v.push_back(f);
    return v;
  }

  static bool has_finding(const json& j, const std::string& code, const std::string& text) {
    for (const auto& f : findings(j, code))
      if (f["message"].get<std::string>().find(text) != std::string::npos) return true;
    return false;
  }

  static std::string note(const json& l) { return l.value("note", ""); }

  void nft(const std::string& commands) {
    RunOptions o;
    o.input = commands;
    ASSERT_FALSE(ns_.check({"nft", "-f", "-"}, o)) << commands;
  }

  // The handle of the first rule of chain input with the comment.
  std::string handle_of(const std::string& comment) {
    auto r = ns_.run({"nft", "-a", "list", "chain", "inet", "portmatrix", "input"});
    EXPECT_TRUE(r);
    std::istringstream in(r->out);
    for (std::string line; std::getline(in, line);)
      if (line.find("comment \"" + comment + "\"") != std::string::npos) return line.substr(line.rfind(' ') + 1);
    ADD_FAILURE() << "no rule " << comment << " in " << r->out;
    return "";
  }

  std::string dir_;
  netns::Namespace ns_;
  std::vector<int> fds_;
  Child socat_;
};

}  // namespace

TEST_F(AuditTest, FirewallOffOnAndDrifted) {
  PM_REQUIRE_ROOT();
  PM_REQUIRE(::access("/usr/bin/socat", X_OK) == 0, "socat is not installed (scripts/install-deps installs it)");
  start_listeners();

  // --- Off: every port open.
  json j = audit();
  EXPECT_EQ(j["firewall"]["state"], "off");
  EXPECT_FALSE(j["firewall"]["table"].get<bool>());
  EXPECT_TRUE(has_finding(j, "firewall-off", "by default every port is open"));
  const json& wide = listener(j, "tcp", "0.0.0.0", 23);
  EXPECT_EQ(wide["row"], "telnet");
  EXPECT_EQ(wide["finding"], "bound-too-wide");
  EXPECT_EQ(wide["pid"], ::getpid()) << "the socket belongs to this test";
  EXPECT_TRUE(has_finding(j, "bound-too-wide", "the firewall is off: telnet is reachable from every address"));
  const json& local = listener(j, "tcp", "127.0.0.1", 23);
  EXPECT_TRUE(local["finding"].is_null());
  EXPECT_EQ(local["scope"], "loopback");
  const json& nc = listener(j, "tcp", "0.0.0.0", 4444);
  EXPECT_EQ(nc["pid"], socat_.pid());
  EXPECT_EQ(nc["command"], "socat");
  EXPECT_TRUE(nc["row"].is_null());
  EXPECT_EQ(nc["finding"], "unexpected-listener");
  EXPECT_TRUE(has_finding(j, "unexpected-listener", fmt::format("tcp 0.0.0.0:4444 (socat, pid {})", socat_.pid())));
  const json& snmp = listener(j, "udp", "0.0.0.0", 161);
  EXPECT_EQ(snmp["interface"], "eth1") << "SO_BINDTODEVICE, from sock_diag";
  EXPECT_EQ(snmp["finding"], "unexpected-listener");
  EXPECT_EQ(listener(j, "tcp", "::", 22)["row"], "ssh");
  EXPECT_EQ(listener(j, "tcp", "192.0.2.1", 8443)["row"], "web");
  EXPECT_EQ(listener(j, "tcp", "0.0.0.0", 6001)["finding"], "bound-too-wide");
  EXPECT_TRUE(has_finding(j, "not-listening", "row odbc-jdbc needs tcp 50000-50001"));
  EXPECT_TRUE(has_finding(j, "not-listening", "row netbackup needs tcp 1556, 13724"));
  EXPECT_TRUE(findings(j, "firewall-drift").empty());

  // The same sockets from /proc/net.
  json proc = audit(1, {"--sockets", "proc"});
  std::set<std::string> a, b;
  for (const auto& l : j["listeners"]) a.insert(l["proto"].get<std::string>() + " " + l["address"].get<std::string>() + " " + l["port"].dump());
  for (const auto& l : proc["listeners"]) {
    b.insert(l["proto"].get<std::string>() + " " + l["address"].get<std::string>() + " " + l["port"].dump());
    EXPECT_EQ(l["source"], "procfs");
    EXPECT_TRUE(l["interface"].is_null()) << "/proc cannot tell the device";
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(listener(proc, "tcp", "0.0.0.0", 4444)["pid"], socat_.pid());

  // The text form says it plainly.
  auto text = pmtest::pm({"audit"}, "", ns_.fd());
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("firewall: off (table inet portmatrix is not loaded): by default every port is open"), std::string::npos)
      << text.out;

  // --- On: the compiled ruleset, nothing else.
  auto en = pmtest::pm({"firewall", "enable", "--confirm-timeout", "0"}, "", ns_.fd());
  ASSERT_EQ(en.exit_code, 0) << en.err;
  j = audit();
  EXPECT_EQ(j["firewall"]["state"], "on") << j["firewall"].dump(1);
  EXPECT_TRUE(j["firewall"]["differences"].empty());
  EXPECT_TRUE(findings(j, "firewall-off").empty());
  EXPECT_TRUE(listener(j, "tcp", "0.0.0.0", 23)["finding"].is_null());
  EXPECT_EQ(note(listener(j, "tcp", "0.0.0.0", 23)), "telnet on 0.0.0.0:23: bound wide, but the firewall accepts it only on lo");
  EXPECT_EQ(listener(j, "tcp", "0.0.0.0", 4444)["finding"], "unexpected-listener");
  EXPECT_TRUE(has_finding(j, "unexpected-listener", "the firewall drops it from other hosts (default drop)"));
  EXPECT_TRUE(listener(j, "tcp", "0.0.0.0", 6001)["finding"].is_null());
  EXPECT_EQ(listener(j, "tcp", "::", 22)["reach"], "any");
  EXPECT_EQ(listener(j, "tcp", "192.0.2.1", 8443)["reach"], "some");
  std::set<std::string> codes;
  for (const auto& f : j["findings"]) codes.insert(f["code"].get<std::string>());
  EXPECT_EQ(codes, (std::set<std::string>{"unexpected-listener", "not-listening"}));

  // --- Drift 1: a rule added to the table.
  nft("insert rule inet portmatrix input tcp dport 4444 accept\n");
  j = audit();
  EXPECT_EQ(j["firewall"]["state"], "drift");
  ASSERT_EQ(j["firewall"]["differences"].size(), 1u) << j["firewall"].dump(1);
  EXPECT_EQ(j["firewall"]["differences"][0]["kind"], "rule-extra");
  EXPECT_EQ(j["firewall"]["differences"][0]["found"], "tcp dport 4444 accept");
  EXPECT_TRUE(has_finding(j, "unexpected-listener", "the loaded rule `tcp dport 4444 accept` may accept it"));

  // --- Drift 2: a rule of the policy deleted.
  nft("delete rule inet portmatrix input handle " + handle_of("ssh") + "\n");
  j = audit();
  ASSERT_EQ(j["firewall"]["differences"].size(), 2u) << j["firewall"].dump(1);
  bool missing_ssh = false;
  for (const auto& d : j["firewall"]["differences"]) missing_ssh |= d["kind"] == "rule-missing" && d["row"] == "ssh";
  EXPECT_TRUE(missing_ssh);
  EXPECT_NE(note(listener(j, "tcp", "::", 22)).find("(row ssh) is not loaded"), std::string::npos) << note(listener(j, "tcp", "::", 22));

  // --- Drift 3: another table drops on the input hook, before portmatrix's chain.
  nft("table ip other {\n chain c {\n  type filter hook input priority -10; policy accept;\n  tcp dport 22 drop\n }\n}\n");
  j = audit();
  ASSERT_EQ(j["firewall"]["other_chains"].size(), 1u);
  EXPECT_TRUE(j["firewall"]["other_chains"][0]["drops"].get<bool>());
  EXPECT_TRUE(has_finding(j, "foreign-chain", "before portmatrix's input chain"));
  EXPECT_TRUE(has_finding(j, "foreign-chain", "a drop in any of them is final"));
  EXPECT_NE(note(listener(j, "tcp", "::", 22)).find("table ip other chain c may drop it: `tcp dport 22 drop`"), std::string::npos)
      << note(listener(j, "tcp", "::", 22));

  // --- Drift 4: the table switched off without being removed.
  nft("add table inet portmatrix { flags dormant; }\n");
  j = audit();
  bool dormant = false;
  for (const auto& d : j["firewall"]["differences"]) dormant |= d["kind"] == "table-dormant";
  EXPECT_TRUE(dormant);
  EXPECT_TRUE(j["firewall"]["dormant"].get<bool>());
  EXPECT_EQ(listener(j, "tcp", "0.0.0.0", 23)["finding"], "bound-too-wide") << "a dormant table filters nothing";

  // --- Off again: the foreign table stays, and is reported next to the plain off.
  nft("delete table inet portmatrix\n");
  j = audit();
  EXPECT_EQ(j["firewall"]["state"], "off");
  EXPECT_TRUE(has_finding(j, "foreign-chain", "can drop packets"));
}

TEST_F(AuditTest, NetlinkAndProcAgreeOnTheSameSockets) {
  PM_REQUIRE_ROOT();
  listen(AF_INET, SOCK_STREAM, "0.0.0.0", 23, nullptr, true);
  listen(AF_INET, SOCK_STREAM, "127.0.0.1", 23, nullptr, true);
  listen(AF_INET6, SOCK_STREAM, "2001:db8::1", 8443);
  listen(AF_INET6, SOCK_DGRAM, "::", 514);
  listen(AF_INET, SOCK_DGRAM, "127.0.0.1", 53);
  // A connected UDP socket is not a listener.
  auto s = ns_.socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_TRUE(s);
  fds_.push_back(*s);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(123);
  ::inet_pton(AF_INET, "192.0.2.123", &peer.sin_addr);
  ASSERT_EQ(::connect(*s, reinterpret_cast<sockaddr*>(&peer), sizeof peer), 0);

  std::optional<Expected<sockets::Listing>> nl, pf;
  ASSERT_FALSE(ns_.enter([&] {
    nl.emplace(sockets::list_listeners(sockets::Method::netlink));
    pf.emplace(sockets::list_listeners(sockets::Method::procfs));
  }));
  ASSERT_TRUE(*nl) << nl->error().message;
  ASSERT_TRUE(*pf) << pf->error().message;
  auto key = [](const sockets::Listener& l) {
    return fmt::format("{} {} {}", to_string(l.protocol), l.endpoint(), l.inode);
  };
  std::vector<std::string> a, b;
  for (const auto& l : (*nl)->listeners) a.push_back(key(l));
  for (const auto& l : (*pf)->listeners) b.push_back(key(l));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, (std::vector<std::string>{fmt::format("tcp 0.0.0.0:23 {}", (*nl)->listeners[0].inode),
                                         fmt::format("tcp 127.0.0.1:23 {}", (*nl)->listeners[1].inode),
                                         fmt::format("tcp [2001:db8::1]:8443 {}", (*nl)->listeners[2].inode),
                                         fmt::format("udp 127.0.0.1:53 {}", (*nl)->listeners[3].inode),
                                         fmt::format("udp [::]:514 {}", (*nl)->listeners[4].inode)}));
  for (const auto& l : (*nl)->listeners) {
    ASSERT_EQ(l.owners.size(), 1u) << key(l);
    EXPECT_EQ(l.owners[0].pid, ::getpid());
  }
  EXPECT_EQ((*nl)->listeners[4].v6only, std::optional<bool>(false));
  EXPECT_FALSE((*pf)->listeners[4].v6only.has_value());
}

TEST_F(AuditTest, DefaultsToTheSiteTheFirewallWasEnabledWith) {
  PM_REQUIRE_ROOT();
  const std::string site = pmtest::source_path("tests/data/sites/cms-optional-off.yaml");
  auto en = pmtest::pm({"firewall", "enable", "--confirm-timeout", "0", "--site", site}, "", ns_.fd());
  ASSERT_EQ(en.exit_code, 0) << en.err;
  auto r = pmtest::pm({"audit", "--format", "json"}, "", ns_.fd());
  EXPECT_NE(r.err.find("auditing against " + site), std::string::npos) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["firewall"]["state"], "on") << j["firewall"].dump(1);
  // Against the bundled example site the same table is not what compile produces.
  j = audit(1, {"--site", "cms-site"});
  EXPECT_EQ(j["firewall"]["state"], "drift");
  bool web_missing = false;
  for (const auto& d : j["firewall"]["differences"]) web_missing |= d["kind"] == "rule-missing" && d["row"] == "web";
  EXPECT_TRUE(web_missing) << j["firewall"]["differences"].dump(1);
}

// Regression: `firewall enable --site site.yaml` (a path relative to the directory it ran
// in) recorded "site.yaml", which audit could not use, so audit compared the host with the
// bundled example site and reported drift that was not there.
TEST_F(AuditTest, SiteGivenByARelativePathIsFoundFromAnyDirectory) {
  PM_REQUIRE_ROOT();
  auto text = read_file(pmtest::source_path("tests/data/sites/cms-optional-off.yaml"));
  ASSERT_TRUE(text);
  ASSERT_FALSE(write_file_atomic(dir_ + "/site.yaml", *text));
  RunOptions o;
  o.netns_fd = ns_.fd();
  auto en = run_command({"sh", "-c", "cd \"$1\" && exec \"$2\" firewall enable --confirm-timeout 0 --site site.yaml", "sh", dir_,
                         PM_BINARY},
                        o);
  ASSERT_TRUE(en);
  ASSERT_EQ(en->exit_code, 0) << en->err;
  auto r = pmtest::pm({"audit", "--format", "json"}, "", ns_.fd());  // run from the test's directory
  EXPECT_NE(r.err.find("auditing against " + dir_ + "/site.yaml"), std::string::npos) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out << r.err;
  EXPECT_EQ(j["firewall"]["state"], "on") << j["firewall"].dump(1);
}

// Regression: legacy iptables rules (x_tables, invisible to nft) could drop what the
// policy allows while the audit said "firewall: on ... nothing else filters on its hooks".
TEST_F(AuditTest, LegacyIptablesTablesAreReported) {
  PM_REQUIRE_ROOT();
  PM_REQUIRE(::access("/usr/sbin/iptables-legacy", X_OK) == 0, "iptables-legacy is not installed (Debian: iptables)");
  ASSERT_EQ(pmtest::pm({"firewall", "enable", "--confirm-timeout", "0"}, "", ns_.fd()).exit_code, 0);
  json j = audit(1, {"--site", "cms-site"});
  EXPECT_EQ(j["firewall"]["state"], "on") << j["firewall"].dump(1);
  EXPECT_TRUE(findings(j, "legacy-iptables").empty());
  // An SSH block that nft cannot see.
  ASSERT_FALSE(ns_.check({"iptables-legacy", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP"}));
  j = audit(1, {"--site", "cms-site"});
  EXPECT_EQ(j["firewall"]["state"], "drift") << j["firewall"].dump(1);
  EXPECT_EQ(j["firewall"]["legacy_iptables"], json::array({"ip filter"}));
  EXPECT_TRUE(has_finding(j, "legacy-iptables", "legacy iptables tables are loaded (ip filter)")) << j["findings"].dump(1);
}
