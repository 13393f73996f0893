// The frame's IPv6 link control in the kernel: with each host firewall loaded,
// the host still sends its multicast listener reports (MLD). Conntrack leaves
// MLD untracked, so without the frame's accept they fall to the default drop; a
// switch that snoops MLD then stops forwarding the host's solicited-node
// multicast, and neighbour discovery towards the host fails.
//
// What it measures: a new IPv6 address makes the kernel join its solicited-node
// group and send an MLDv2 report (ICMPv6 type 143). /proc/net/snmp6 counts it
// under Icmp6OutType143 only when the output hook let it pass; a drop counts in
// Ip6OutDiscards instead.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "portmatrix/backend.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/netns.hpp"
#include "portmatrix/site.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

// One counter of the namespace's /proc/net/snmp6.
long snmp6(const netns::Namespace& ns, const std::string& name) {
  auto r = ns.run({"cat", "/proc/net/snmp6"});
  if (!r || r->exit_code != 0) return -1;
  std::istringstream in(r->out);
  std::string key;
  long value = 0;
  while (in >> key >> value)
    if (key == name) return value;
  return 0;  // the kernel lists a per-type counter once it is used
}

void expect_mld_reports_leave(const std::string& target) {
  SCOPED_TRACE(target);
  auto lp = load_policy("", pmtest::source_path("tests/golden/cases/cms-default.yaml"));
  ASSERT_TRUE(lp);
  const Backend* b = find_backend(target);
  ASSERT_NE(b, nullptr);
  auto ns = netns::Namespace::create(netns::unique_name("mld"));
  ASSERT_TRUE(ns) << ns.error().message;
  // A veth pair inside the namespace: multicast-capable, and nothing leaves it.
  ASSERT_FALSE(ns->check({"ip", "link", "add", "pmv0", "type", "veth", "peer", "name", "pmv1"}));
  ASSERT_FALSE(ns->check({"ip", "link", "set", "pmv1", "up"}));
  ASSERT_FALSE(ns->check({"ip", "link", "set", "pmv0", "up"}));
  auto loaded = b->load(b->compile(lp.value->policy), ns->fd());
  ASSERT_TRUE(loaded) << loaded.error().message;

  const long before = snmp6(*ns, "Icmp6OutType143");
  ASSERT_GE(before, 0);
  ASSERT_FALSE(ns->check({"ip", "-6", "addr", "add", "2001:db8:4d::1/64", "dev", "pmv0", "nodad"}));
  // The report goes out after a random delay of up to a second or so.
  long after = before;
  for (int i = 0; i < 40 && after == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = snmp6(*ns, "Icmp6OutType143");
  }
  EXPECT_GT(after, before) << "no MLD report left the host; Ip6OutDiscards=" << snmp6(*ns, "Ip6OutDiscards");
}

}  // namespace

TEST(Mld, NftablesLetsTheHostsListenerReportsOut) {
  PM_REQUIRE_ROOT();
  expect_mld_reports_leave("nftables");
}

TEST(Mld, IptablesLetsTheHostsListenerReportsOut) {
  PM_REQUIRE_ROOT();
  expect_mld_reports_leave("iptables");
}
