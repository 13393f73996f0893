#include "portmatrix/lint.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "portmatrix/matrix_io.hpp"

using namespace portmatrix;

namespace {
std::vector<std::string> codes_for(const std::vector<LintFinding>& fs, const std::string& row) {
  std::vector<std::string> out;
  for (const auto& f : fs)
    if (f.row == row) out.push_back(f.code);
  return out;
}
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

Matrix two_rows() {
  Matrix m;
  m.name = "t";
  m.systems = {{"A", "", {}}, {"B", "", {}}};
  Flow f;
  f.id = "one";
  f.sources = {"A"};
  f.destinations = {"B"};
  f.source_ports.ephemeral = true;
  f.destination_ports.ports = PortSet::single(22);
  f.protocols = {Protocol::tcp};
  f.application = "SSH";
  m.flows.push_back(f);
  f.id = "two";
  m.flows.push_back(f);
  return m;
}
}  // namespace

TEST(Lint, CmsR20Findings) {
  auto res = lint_source("cms-r20");
  ASSERT_FALSE(res.errors.has_errors());
  EXPECT_TRUE(has(codes_for(res.findings, "spi"), "wide-range"));
  EXPECT_TRUE(has(codes_for(res.findings, "snmp-trap"), "iana-protocol"));
  EXPECT_TRUE(has(codes_for(res.findings, "ech"), "well-known-source-port"));
  EXPECT_TRUE(has(codes_for(res.findings, "web-internal"), "protocol-unknown"));
  EXPECT_TRUE(codes_for(res.findings, "ssh").empty());
  for (const auto& f : res.findings)
    if (f.code == "wide-range") {
      EXPECT_NE(f.message.find("59500 ports"), std::string::npos);
      EXPECT_NE(f.message.find("configurable"), std::string::npos);
    }
}

TEST(Lint, DuplicateAndOverlappingRows) {
  Matrix m = two_rows();
  EXPECT_TRUE(has(codes_for(lint_matrix(m), "two"), "duplicate-row"));
  m.flows[1].destination_ports.ports = PortSet({{20, 30}});
  EXPECT_TRUE(has(codes_for(lint_matrix(m), "two"), "overlapping-rows"));
  m.flows[1].destination_ports.ports = PortSet({{23, 30}});
  EXPECT_TRUE(codes_for(lint_matrix(m), "two").empty());
}

TEST(Lint, NotesAndWideRanges) {
  Matrix m = two_rows();
  m.flows.pop_back();
  m.flows[0].notes = {7};
  m.notes = {{1, "unused", {"m.yaml", 29, 5}}};
  auto fs = lint_matrix(m);
  EXPECT_TRUE(has(codes_for(fs, "one"), "missing-note"));
  EXPECT_TRUE(has(codes_for(fs, ""), "unused-note"));
  for (const auto& f : fs) {
    if (f.code == "unused-note") {
      EXPECT_EQ(f.loc.line, 29);  // the note's own line
    }
  }
  m.flows[0].destination_ports.ports = PortSet({{1000, 3000}});
  EXPECT_TRUE(has(codes_for(lint_matrix(m), "one"), "wide-range"));
  LintOptions o;
  o.wide_range = 5000;
  EXPECT_FALSE(has(codes_for(lint_matrix(m, o), "one"), "wide-range"));
}

TEST(Lint, ServicesDatabase) {
  Matrix m = two_rows();
  m.flows.pop_back();
  m.flows[0].destination_ports.ports = PortSet::single(123);
  m.flows[0].application = "NTP";
  auto fs = lint_matrix(m);  // ntp is registered on udp only in Debian's services
  EXPECT_TRUE(has(codes_for(fs, "one"), "iana-protocol"));
  m.flows[0].protocols = {Protocol::udp};
  EXPECT_TRUE(codes_for(lint_matrix(m), "one").empty());
  m.flows[0].application = "Time sync";
  EXPECT_TRUE(has(codes_for(lint_matrix(m), "one"), "iana-name"));
  LintOptions off;
  off.services_db = false;
  EXPECT_TRUE(codes_for(lint_matrix(m, off), "one").empty());
}

// Regression: a row the firewall closes and another row opening the same port
// on the same host were not reported unless both had the same sources, so the
// closed port ended up open without a word.
TEST(Lint, ClosedPortOpenedByAnotherRow) {
  Matrix m = two_rows();
  m.systems.push_back({"C", "", {}});
  m.flows[0].when_firewalled = FirewallAction::closed;
  m.flows[1].sources = {"C"};
  auto fs = lint_matrix(m);
  EXPECT_TRUE(has(codes_for(fs, "two"), "closed-port-opened"));
  EXPECT_FALSE(has(codes_for(fs, "two"), "overlapping-rows"));
  m.flows[0].when_firewalled = FirewallAction::allow;
  m.flows[0].state = PortState::closed;
  EXPECT_TRUE(has(codes_for(lint_matrix(m), "two"), "closed-port-opened"));
  m.flows[1].protocols = {Protocol::udp};
  EXPECT_FALSE(has(codes_for(lint_matrix(m), "two"), "closed-port-opened"));
  m.flows[0].protocols = {};  // NA: closed for tcp and udp
  EXPECT_TRUE(has(codes_for(lint_matrix(m), "two"), "closed-port-opened"));
}

// Regression: a source that stands for every address ("Any", as tables from
// many vendors write it) opened the port to the world without a finding.
TEST(Lint, AnySource) {
  Matrix m = two_rows();
  m.flows.pop_back();
  EXPECT_FALSE(has(codes_for(lint_matrix(m), "one"), "any-source"));
  m.systems.push_back({"Any", "", {}});
  m.flows[0].sources = {"Any"};
  EXPECT_TRUE(has(codes_for(lint_matrix(m), "one"), "any-source"));
}

// Regression: two rows naming the same systems in another order were not
// duplicates, only "overlapping".
TEST(Lint, DuplicateRowWithSystemsInAnotherOrder) {
  Matrix m = two_rows();
  m.systems.push_back({"C", "", {}});
  m.flows[0].sources = {"A", "C"};
  m.flows[1].sources = {"C", "A"};
  auto codes = codes_for(lint_matrix(m), "two");
  EXPECT_TRUE(has(codes, "duplicate-row"));
  EXPECT_FALSE(has(codes, "overlapping-rows"));
}
