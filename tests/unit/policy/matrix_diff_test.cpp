#include "portmatrix/matrix_diff.hpp"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "portmatrix/matrix_io.hpp"

using namespace portmatrix;

namespace {
Matrix cms() { return *load_matrix("cms-r20").value; }
Flow* row(Matrix& m, const char* id) {
  for (auto& f : m.flows)
    if (f.id == id) return &f;
  return nullptr;
}
}  // namespace

TEST(MatrixDiff, IdenticalMatricesAreTheSame) {
  Matrix a = cms(), b = cms();
  auto d = diff_matrices(a, b);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.same, 15u);
}

TEST(MatrixDiff, IdsDoNotMatter) {
  Matrix a = cms(), b = cms();
  for (auto& f : b.flows) f.id = "x-" + f.id;
  std::reverse(b.flows.begin(), b.flows.end());
  EXPECT_TRUE(diff_matrices(a, b).empty());
}

TEST(MatrixDiff, AddedRemovedChanged) {
  Matrix a = cms(), b = cms();
  row(b, "spi")->destination_ports.ports = PortSet({{5001, 5002}});
  row(b, "telnet")->when_firewalled = FirewallAction::allow;
  b.flows.erase(b.flows.begin() + 10);  // hp-printers
  Flow extra = *row(b, "web");
  extra.id = "learned-1";
  extra.destination_ports.ports = PortSet::single(4444);
  extra.sources = {"Unknown 203.0.113.0/24"};
  b.flows.push_back(extra);
  auto d = diff_matrices(a, b);
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0]->id, "hp-printers");
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0]->id, "learned-1");
  ASSERT_EQ(d.changed.size(), 2u);
  std::set<std::string> fields;
  for (const auto& c : d.changed)
    for (const auto& f : c.changes) fields.insert(c.a->id + ":" + f.field);
  EXPECT_TRUE(fields.count("spi:destination_ports"));
  EXPECT_TRUE(fields.count("telnet:when_firewalled"));
  auto j = nlohmann::json::parse(diff_json(d));
  EXPECT_EQ(j["same"], 12);
  EXPECT_NE(diff_text(d).find("destination_ports: 5001-64500 (configurable) -> 5001-5002 (configurable)"), std::string::npos)
      << diff_text(d);
}

// Regression: a row whose protocol alone changed (the vendor corrects tcp to
// udp) had no protocol in common with its old self, so it showed as one row
// removed and an unrelated row added instead of one changed row.
TEST(MatrixDiff, ProtocolChangeIsAChange) {
  Matrix a = cms(), b = cms();
  row(b, "snmp-trap")->protocols = ProtocolSet{Protocol::udp};
  auto d = diff_matrices(a, b);
  EXPECT_TRUE(d.removed.empty()) << diff_text(d);
  EXPECT_TRUE(d.added.empty()) << diff_text(d);
  ASSERT_EQ(d.changed.size(), 1u) << diff_text(d);
  EXPECT_EQ(d.changed[0].a->id, "snmp-trap");
  ASSERT_EQ(d.changed[0].changes.size(), 1u);
  EXPECT_EQ(d.changed[0].changes[0].field, "protocols");
}
