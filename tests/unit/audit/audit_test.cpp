// The comparison of listening sockets and the firewall with the policy, on fake
// socket lists against the bundled example site (no system access).
#include "portmatrix/audit.hpp"

#include <map>
#include <regex>

#include <gtest/gtest.h>

#include "portmatrix/backend.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/site.hpp"
#include "support/testing.hpp"

using namespace portmatrix;
using namespace portmatrix::audit;
using sockets::Listener;
using nlohmann::json;

namespace {

Policy policy(const std::string& site = "cms-site") {
  auto lp = load_policy("", site);
  EXPECT_TRUE(lp) << (lp.diags.items().empty() ? "" : lp.diags.items()[0].format());
  return lp.value->policy;
}

Listener tcp(const char* addr, std::uint16_t port, const char* command = "", int pid = 0) {
  Listener l;
  l.protocol = Protocol::tcp;
  l.address = *parse_ip(addr);
  l.port = port;
  l.device = std::string();
  if (l.address.family == Family::ipv6) l.v6only = false;
  if (pid) l.owners.push_back({pid, command});
  return l;
}

Firewall firewall(bool on) {
  Firewall fw;
  fw.read = true;
  fw.state = on ? FirewallState::on : FirewallState::off;
  fw.comparison.table_present = on;
  return fw;
}

const ListenerReport& at(const Report& r, const std::string& endpoint) {
  for (const auto& l : r.listeners)
    if (l.listener.endpoint() == endpoint) return l;
  ADD_FAILURE() << "no listener " << endpoint;
  static ListenerReport none;
  return none;
}

std::vector<std::string> codes(const Report& r) {
  std::vector<std::string> v;
  for (const auto& f : r.findings) v.push_back(f.code);
  return v;
}

const Finding* find(const Report& r, const std::string& code, const std::string& row = "") {
  for (const auto& f : r.findings)
    if (f.code == code && (row.empty() || f.row == row)) return &f;
  return nullptr;
}

// Everything the example site's enabled inbound rows need, nothing else.
std::vector<Listener> healthy() {
  return {tcp("0.0.0.0", 22, "sshd", 10), tcp("127.0.0.1", 23, "in.telnetd", 11), tcp("::", 8443, "java", 12),
          tcp("0.0.0.0", 50000, "oninit", 13), tcp("0.0.0.0", 50001, "oninit", 13), tcp("0.0.0.0", 1556, "pbx", 14),
          tcp("0.0.0.0", 13724, "vnetd", 15)};
}

json fixture() {
  auto text = read_file(pmtest::source_path("tests/data/audit/cms-default.json"));
  EXPECT_TRUE(text);
  return json::parse(*text);
}

// A firewall whose loaded table is the compiled one edited by `edit`.
Firewall drifted(const std::function<void(json&)>& edit) {
  Firewall fw;
  fw.read = true;
  fw.expected = *drift::parse_json(fixture().dump());
  json live = fixture();
  edit(live);
  fw.live = *drift::parse_json(live.dump());
  fw.comparison = drift::compare(fw.expected, fw.live);
  fw.state = FirewallState::drift;
  return fw;
}

json rule(const char* family, const char* table, const char* chain, std::uint16_t port, const char* verdict) {
  return {{"rule",
           {{"family", family},
            {"table", table},
            {"chain", chain},
            {"handle", 900},
            {"expr",
             {{{"match", {{"op", "=="}, {"left", {{"payload", {{"protocol", "tcp"}, {"field", "dport"}}}}}, {"right", port}}}},
              {{verdict, nullptr}}}}}}};
}

}  // namespace

TEST(Audit, HealthyHostIsClean) {
  auto p = policy();
  auto r = compare(p, healthy(), firewall(true));
  EXPECT_TRUE(r.clean()) << r.findings.front().message;
  EXPECT_EQ(at(r, "0.0.0.0:22").row, "ssh");
  EXPECT_EQ(at(r, "0.0.0.0:22").reach, Reach::any) << "SSH/SFTP client is 'any' in the example site";
  EXPECT_EQ(at(r, "127.0.0.1:23").reach, Reach::loopback);
  EXPECT_EQ(at(r, "127.0.0.1:23").note, "loopback only, not exposure");
  const auto& web = at(r, "[::]:8443");
  EXPECT_EQ(web.row, "web");
  EXPECT_EQ(web.reach, Reach::some);
  EXPECT_NE(web.reach_text.find("CMS Web User"), std::string::npos) << web.reach_text;
  EXPECT_EQ(web.reach_text.find("other addresses"), std::string::npos) << web.reach_text;
}

TEST(Audit, TelnetBoundWideButFirewalledToLoopback) {
  auto p = policy();
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 23, "socat", 99));
  auto r = compare(p, ls, firewall(true));
  EXPECT_TRUE(r.clean()) << r.findings.front().message;
  const auto& t = at(r, "0.0.0.0:23");
  EXPECT_EQ(t.row, "telnet");
  EXPECT_EQ(t.reach, Reach::loopback);
  EXPECT_EQ(t.finding, "");
  EXPECT_EQ(t.note, "telnet on 0.0.0.0:23: bound wide, but the firewall accepts it only on lo");
}

TEST(Audit, TelnetBoundWideWithTheFirewallOff) {
  auto p = policy();
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 23, "socat", 99));
  auto r = compare(p, ls, firewall(false));
  const Finding* f = find(r, "bound-too-wide", "telnet");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("telnet on 0.0.0.0:23 (socat, pid 99): bound wide"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("the firewall is off: telnet is reachable from every address"), std::string::npos) << f->message;
  ASSERT_TRUE(f->listener);
  EXPECT_EQ(r.listeners[*f->listener].listener.endpoint(), "0.0.0.0:23");
  const Finding* off = find(r, "firewall-off");
  ASSERT_NE(off, nullptr);
  EXPECT_NE(off->message.find("by default every port is open"), std::string::npos);
  EXPECT_NE(off->message.find("tcp 0.0.0.0:23"), std::string::npos) << off->message;
  EXPECT_EQ(off->message.find("127.0.0.1:23"), std::string::npos) << "loopback listeners are not exposure";
  EXPECT_EQ(at(r, "0.0.0.0:22").reach, Reach::any);
  EXPECT_EQ(at(r, "0.0.0.0:22").finding, "") << "allowed rows are covered by the firewall-off finding";
}

TEST(Audit, UnexpectedListenerSaysWhetherTheFirewallBlocksIt) {
  auto p = policy();
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 4444, "nc", 77));
  auto on = compare(p, ls, firewall(true));
  ASSERT_EQ(codes(on), std::vector<std::string>{"unexpected-listener"});
  EXPECT_EQ(on.findings[0].message,
            "tcp 0.0.0.0:4444 (nc, pid 77): no row of the matrix explains tcp port 4444; the firewall drops it from other "
            "hosts (default drop) and accepts it only on lo");
  EXPECT_EQ(at(on, "0.0.0.0:4444").reach, Reach::loopback) << "the host itself may connect over lo";
  auto off = compare(p, ls, firewall(false));
  const Finding* f = find(off, "unexpected-listener");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("the firewall is off: reachable from every address"), std::string::npos) << f->message;
  // The same port on loopback is no exposure.
  auto lo = compare(p, {tcp("127.0.0.1", 4444)}, firewall(false));
  EXPECT_EQ(find(lo, "unexpected-listener"), nullptr);
}

TEST(Audit, ClosedRowListeningWide) {
  auto p = policy();
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 6001, "httpd", 50));
  auto on = compare(p, ls, firewall(true));
  EXPECT_TRUE(on.clean()) << on.findings.front().message;
  EXPECT_EQ(at(on, "0.0.0.0:6001").reach, Reach::none);
  EXPECT_NE(at(on, "0.0.0.0:6001").reach_text.find("row web-internal"), std::string::npos);
  auto off = compare(p, ls, firewall(false));
  const Finding* f = find(off, "bound-too-wide", "web-internal");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("for the host's own use"), std::string::npos) << f->message;
}

TEST(Audit, DisabledRowStillListening) {
  auto p = policy(pmtest::source_path("tests/data/sites/cms-optional-off.yaml"));
  auto r = compare(p, {tcp("0.0.0.0", 22, "sshd", 1), tcp("127.0.0.1", 23), tcp("0.0.0.0", 8443, "java", 2)}, firewall(true));
  ASSERT_EQ(codes(r), std::vector<std::string>{"disabled-row-listening"});
  EXPECT_EQ(r.findings[0].row, "web");
  EXPECT_NE(r.findings[0].message.find("row web is disabled (disabled by the site), but tcp 0.0.0.0:8443 (java, pid 2) still listens"),
            std::string::npos)
      << r.findings[0].message;
  EXPECT_NE(r.findings[0].message.find("the firewall rejects it from other hosts (default reject)"), std::string::npos)
      << "this site's default is reject";
  EXPECT_EQ(at(r, "0.0.0.0:8443").row, "web");
  EXPECT_FALSE(at(r, "0.0.0.0:8443").row_enabled);
}

TEST(Audit, NeededPortsNothingListensOn) {
  auto p = policy();
  auto r = compare(p, {tcp("127.0.0.1", 22, "sshd", 1), tcp("::1", 23), tcp("0.0.0.0", 8443), tcp("0.0.0.0", 50000)}, firewall(true));
  const Finding* ssh = find(r, "not-listening", "ssh");
  ASSERT_NE(ssh, nullptr);
  EXPECT_NE(ssh->message.find("nothing listens on 22"), std::string::npos) << ssh->message;
  EXPECT_NE(ssh->message.find("127.0.0.1:22 listens on loopback only"), std::string::npos) << ssh->message;
  EXPECT_EQ(find(r, "not-listening", "telnet"), nullptr) << "telnet on loopback is what the row asks for";
  EXPECT_EQ(find(r, "not-listening", "web"), nullptr);
  const Finding* odbc = find(r, "not-listening", "odbc-jdbc");
  ASSERT_NE(odbc, nullptr);
  EXPECT_NE(odbc->message.find("nothing listens on 50001"), std::string::npos) << odbc->message;
  const Finding* nb = find(r, "not-listening", "netbackup");
  ASSERT_NE(nb, nullptr);
  EXPECT_NE(nb->message.find("1556, 13724"), std::string::npos);
  EXPECT_EQ(find(r, "not-listening", "web-internal"), nullptr) << "a closed row needs nothing";
  EXPECT_EQ(find(r, "not-listening", "spi"), nullptr) << "outbound rows need no listener";
  const Report nothing = compare(p, {}, firewall(true));
  const Finding* telnet = find(nothing, "not-listening", "telnet");
  ASSERT_NE(telnet, nullptr);
  EXPECT_NE(telnet->message.find("not even on loopback"), std::string::npos);
}

TEST(Audit, ReachFollowsDeviceBindingAndFamilies) {
  auto p = policy();
  auto eth0 = tcp("0.0.0.0", 8443);
  eth0.device = "eth0";
  EXPECT_EQ(policy_reach(p, eth0).reach, Reach::none) << "the web rule accepts on eth1 only";
  auto eth1 = eth0;
  eth1.device = "eth1";
  auto pr = policy_reach(p, eth1);
  EXPECT_EQ(pr.reach, Reach::some);
  EXPECT_EQ(pr.rows, std::vector<std::string>{"web"});
  EXPECT_FALSE(pr.loopback) << "a socket bound to eth1 does not hear lo";

  auto v6only = tcp("::", 50000);
  v6only.v6only = true;
  EXPECT_EQ(policy_reach(p, v6only).reach, Reach::loopback) << "the odbc row has IPv4 sources only";
  v6only.v6only = false;
  EXPECT_EQ(policy_reach(p, v6only).reach, Reach::some) << "a dual-stack socket takes IPv4 too";
  EXPECT_EQ(policy_reach(p, tcp("192.0.2.99", 22)).reach, Reach::loopback) << "bound to an address that is not the host's in the site";
  EXPECT_EQ(policy_reach(p, tcp("192.0.2.1", 22)).reach, Reach::any);
}

TEST(Audit, RowsForListeners) {
  auto p = policy();
  auto ids = [&](Protocol proto, std::uint16_t port) {
    std::vector<std::string> v;
    for (const auto* r : rows_for(p, proto, port)) v.push_back(r->id);
    return v;
  };
  EXPECT_EQ(ids(Protocol::tcp, 22), std::vector<std::string>{"ssh"}) << "ech and hist-connectors go out from the host";
  EXPECT_EQ(ids(Protocol::udp, 6001), std::vector<std::string>{"web-internal"});
  EXPECT_TRUE(ids(Protocol::udp, 23).empty());
  EXPECT_EQ(ids(Protocol::tcp, 3078), std::vector<std::string>{"ha-sync"}) << "the HA pair's peer connects in too";
  EXPECT_FALSE(rows_for(p, Protocol::tcp, 3078).front()->enabled);
}

TEST(Audit, DriftIsTakenIntoAccountPerListener) {
  auto p = policy();
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 4444, "nc", 77));
  ls.push_back(tcp("0.0.0.0", 23, "socat", 99));
  auto fw = drifted([](json& j) {
    auto& items = j["nftables"];
    auto pos = std::find_if(items.begin(), items.end(), [](const json& i) { return i.contains("rule") && i["rule"]["chain"] == "input"; });
    pos = items.insert(pos, rule("inet", "portmatrix", "input", 4444, "accept"));
    items.insert(pos, rule("inet", "portmatrix", "input", 23, "accept"));
  });
  auto r = compare(p, ls, fw);
  const Finding* u = find(r, "unexpected-listener");
  ASSERT_NE(u, nullptr);
  EXPECT_NE(u->message.find("may accept it"), std::string::npos) << u->message;
  EXPECT_NE(find(r, "bound-too-wide", "telnet"), nullptr) << "an extra accept for 23 may open telnet beyond lo";
  const auto all = codes(r);
  EXPECT_EQ(std::count(all.begin(), all.end(), "firewall-drift"), 2);
  EXPECT_EQ(at(r, "0.0.0.0:22").reach_text.find("but"), std::string::npos) << "22 is not concerned";

  // A missing ssh rule may keep ssh clients out.
  auto fw2 = drifted([](json& j) {
    auto& items = j["nftables"];
    items.erase(std::find_if(items.begin(), items.end(), [](const json& i) { return i.contains("rule") && i["rule"].value("comment", "") == "ssh"; }));
  });
  auto r2 = compare(p, healthy(), fw2);
  EXPECT_NE(at(r2, "0.0.0.0:22").reach_text.find("(row ssh) is not loaded"), std::string::npos) << at(r2, "0.0.0.0:22").reach_text;
}

TEST(Audit, OtherChainsThatDrop) {
  auto p = policy();
  auto fw = drifted([](json& j) {
    auto& items = j["nftables"];
    items.push_back({{"table", {{"family", "ip"}, {"name", "other"}, {"handle", 7}}}});
    items.push_back({{"chain", {{"family", "ip"}, {"table", "other"}, {"name", "c"}, {"handle", 1}, {"type", "filter"}, {"hook", "input"}, {"prio", 10}, {"policy", "accept"}}}});
    items.push_back(rule("ip", "other", "c", 22, "drop"));
  });
  auto r = compare(p, healthy(), fw);
  ASSERT_EQ(codes(r), std::vector<std::string>{"foreign-chain"});
  EXPECT_NE(r.findings[0].message.find("after portmatrix's input chain"), std::string::npos) << r.findings[0].message;
  EXPECT_NE(at(r, "0.0.0.0:22").reach_text.find("table ip other chain c may drop it"), std::string::npos)
      << at(r, "0.0.0.0:22").reach_text;
  EXPECT_EQ(at(r, "[::]:8443").reach_text.find("may drop"), std::string::npos);
}

TEST(Audit, UnreadableFirewallIsAFindingAndClaimsNothing) {
  auto p = policy();
  Firewall fw;
  fw.error = "cannot read the nftables ruleset: Operation not permitted";
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 4444));
  auto r = compare(p, ls, fw);
  ASSERT_NE(find(r, "firewall-unknown"), nullptr);
  EXPECT_EQ(at(r, "0.0.0.0:4444").reach, Reach::unknown);
  EXPECT_NE(find(r, "unexpected-listener")->message.find("unknown"), std::string::npos);
  EXPECT_NE(find(r, "unexpected-listener")->message.find("owner unknown"), std::string::npos);
}

TEST(Audit, ChainPolicyAcceptMattersOnlyWithoutTheDefaultDrop) {
  auto p = policy();
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 4444, "nc", 77));
  auto accept_policy = [](json& j) {
    for (auto& item : j["nftables"])
      if (item.contains("chain") && item["chain"]["name"] == "input") item["chain"]["policy"] = "accept";
  };
  auto drop_default = [](json& j) {
    auto& items = j["nftables"];
    items.erase(std::find_if(items.begin(), items.end(), [](const json& i) {
      return i.contains("rule") && i["rule"]["chain"] == "input" && i["rule"].value("comment", "") == "default";
    }));
  };
  auto message = [&](const Firewall& fw) {
    auto r = compare(p, ls, fw);
    const Finding* f = find(r, "unexpected-listener");
    return f ? f->message : std::string("none");
  };
  // The compiled chain ends in `counter drop`: its policy is never reached.
  EXPECT_EQ(message(drifted(accept_policy)).find("but"), std::string::npos) << message(drifted(accept_policy));
  // Without that rule, policy drop still drops.
  EXPECT_EQ(message(drifted(drop_default)).find("but"), std::string::npos) << message(drifted(drop_default));
  // Without both, what no rule drops is accepted.
  const std::string both = message(drifted([&](json& j) {
    accept_policy(j);
    drop_default(j);
  }));
  EXPECT_NE(both.find("policy accept;` and no unconditional drop"), std::string::npos) << both;
  EXPECT_NE(both.find("`[{\"counter\":null},{\"drop\":null}]` that drops it is not loaded"), std::string::npos) << both;
}

TEST(Audit, AnOrderDifferenceConcernsOnlyThePortsOfTheRuleOutOfPlace) {
  auto p = policy();
  auto ls = healthy();
  ls.push_back(tcp("0.0.0.0", 6001, "httpd", 50));
  // telnet's accept moved above web-internal's drops: the first rule out of place is udp 6001's drop.
  auto fw = drifted([](json& j) {
    auto& items = j["nftables"];
    auto is = [](const json& i, const char* comment) { return i.contains("rule") && i["rule"].value("comment", "") == comment; };
    auto telnet = std::find_if(items.begin(), items.end(), [&](const json& i) { return is(i, "telnet"); });
    auto closed = std::find_if(items.begin(), items.end(), [&](const json& i) { return is(i, "web-internal"); });
    std::iter_swap(telnet, closed);
  });
  ASSERT_EQ(fw.comparison.differences.size(), 1u);
  auto r = compare(p, ls, fw);
  EXPECT_EQ(at(r, "0.0.0.0:22").reach_text.find("but"), std::string::npos) << at(r, "0.0.0.0:22").reach_text;
  EXPECT_EQ(at(r, "0.0.0.0:6001").finding, "") << at(r, "0.0.0.0:6001").reach_text;
  auto udp = tcp("0.0.0.0", 6001);
  udp.protocol = Protocol::udp;
  ls.push_back(udp);
  r = compare(p, ls, fw);
  EXPECT_NE(r.listeners.back().reach_text.find("may drop it"), std::string::npos) << r.listeners.back().reach_text;
}

TEST(Audit, RegressionLongRowIdsKeepTheirOwnRules) {
  // An accept row and a drop row whose ids share their first 70 characters.
  const std::string common = "cms-r20-supervisor-and-reporting-clients-to-the-application-server-tls";
  ASSERT_EQ(common.size(), 70u);
  const std::map<std::string, std::string> ids = {{"ssh", common + "-ssh"}, {"web-internal", common + "-web-internal"}};
  auto p = policy();
  for (auto& rb : p.rows)
    if (ids.count(rb.id)) rb.id = ids.at(rb.id);
  for (auto& r : p.rules)
    if (ids.count(r.row)) r.row = ids.at(r.row);
  // The kernel's listing with the comments the nftables backend writes for them.
  const std::string text = find_backend("nftables")->compile(p).files.at(0).content;
  std::map<std::string, std::string> comment_of;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("tcp dport 22 .*comment \"([^\"]*)\""))) << text;
  comment_of["ssh"] = m[1];
  ASSERT_TRUE(std::regex_search(text, m, std::regex("dport 6001 .*comment \"([^\"]*)\""))) << text;
  comment_of["web-internal"] = m[1];
  EXPECT_NE(comment_of["ssh"], comment_of["web-internal"]);
  json expected = fixture();
  for (auto& i : expected["nftables"])
    if (i.contains("rule") && comment_of.count(i["rule"].value("comment", "")))
      i["rule"]["comment"] = comment_of.at(i["rule"].value("comment", ""));
  // One of ssh's accepts is not loaded.
  json live = expected;
  auto& items = live["nftables"];
  items.erase(std::find_if(items.begin(), items.end(),
                           [&](const json& i) { return i.contains("rule") && i["rule"].value("comment", "") == comment_of["ssh"]; }));
  Firewall fw;
  fw.read = true;
  fw.expected = *drift::parse_json(expected.dump());
  fw.live = *drift::parse_json(live.dump());
  fw.comparison = drift::compare(fw.expected, fw.live);
  fw.state = FirewallState::drift;
  ASSERT_EQ(fw.comparison.differences.size(), 1u);
  EXPECT_EQ(fw.comparison.differences[0].kind, drift::DiffKind::rule_missing);
  auto r = compare(p, healthy(), fw);
  EXPECT_NE(find(r, "firewall-drift", ids.at("ssh")), nullptr) << "the finding names the row, not its comment";
  EXPECT_EQ(find(r, "firewall-drift", ids.at("web-internal")), nullptr);
  const std::string reach = at(r, "0.0.0.0:22").reach_text;
  EXPECT_NE(reach.find("(row " + ids.at("ssh") + ") is not loaded"), std::string::npos) << reach;
}
