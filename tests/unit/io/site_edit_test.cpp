#include "portmatrix/site_edit.hpp"

#include <gtest/gtest.h>

#include "portmatrix/site.hpp"

using namespace portmatrix;

namespace {
const char* kSite = R"(# my site
portmatrix-site: 1
host: CMS   # the server
systems:
  CMS: [192.0.2.1]
flows:                 # per-row settings
  # printers were added in 2024
  hp-printers: {enabled: true}   # keep
  spi:
    destination_ports: [5001, 5002]  # ACD 1 and 2
default: drop
)";

std::string edit(const std::string& text, const char* row, const char* key, const char* value) {
  auto r = edit_site_flow(text, "site.yaml", row, key, value);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : "";
}
}  // namespace

TEST(SiteEdit, ChangesAFlowMapInPlace) {
  std::string out = edit(kSite, "hp-printers", "enabled", "false");
  EXPECT_NE(out.find("  hp-printers: {enabled: false}   # keep\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# printers were added in 2024"), std::string::npos);
  EXPECT_EQ(out.size(), std::string(kSite).size() + 1);
}

TEST(SiteEdit, AddsAKeyToABlockMap) {
  std::string out = edit(kSite, "spi", "enabled", "true");
  EXPECT_NE(out.find("  spi:\n    enabled: true\n    destination_ports: [5001, 5002]  # ACD 1 and 2\n"), std::string::npos) << out;
}

TEST(SiteEdit, ReplacesABlockValueKeepingItsComment) {
  std::string out = edit(kSite, "spi", "destination_ports", "[5001, 5002, 5003]");
  EXPECT_NE(out.find("    destination_ports: [5001, 5002, 5003]  # ACD 1 and 2\n"), std::string::npos) << out;
}

TEST(SiteEdit, AddsARowAndAFlowsSection) {
  std::string out = edit(kSite, "web", "enabled", "false");
  EXPECT_NE(out.find("flows:                 # per-row settings\n  web: {enabled: false}\n"), std::string::npos) << out;
  std::string none = "portmatrix-site: 1\nhost: CMS\n";
  out = edit(none, "ha-sync", "enabled", "true");
  EXPECT_EQ(out, "portmatrix-site: 1\nhost: CMS\nflows:\n  ha-sync: {enabled: true}\n");
  std::string flow_style = "portmatrix-site: 1\nhost: CMS\nflows: {web: {enabled: false}}  # inline\n";
  out = edit(flow_style, "ntp", "enabled", "false");
  EXPECT_EQ(out, "portmatrix-site: 1\nhost: CMS\nflows: {web: {enabled: false}, ntp: {enabled: false}}  # inline\n");
}

TEST(SiteEdit, ResultStillReadsAsASite) {
  std::string out = edit(kSite, "spi", "destination_ports", "[5003]");
  auto s = read_site_yaml(out, "site.yaml");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s.value->flows.at("spi").destination_ports, PortSet::single(5003));
  EXPECT_EQ(*s.value->flows.at("hp-printers").enabled, true);
}

TEST(SiteEdit, RejectsBrokenInput) {
  EXPECT_FALSE(edit_site_flow("flows: [\n", "site.yaml", "a", "enabled", "true"));
  EXPECT_FALSE(edit_site_flow("flows: 3\n", "site.yaml", "a", "enabled", "true"));
  EXPECT_FALSE(edit_site_flow(kSite, "site.yaml", "spi", "enabled", "[unclosed"));
}

TEST(SiteEdit, ANonScalarKeyIsKeptNotAThrow) {
  // as<std::string>() on the key [a] threw YAML::TypedBadConversion out of the editor.
  auto r = edit_site_flow("portmatrix-site: 1\nhost: CMS\nflows:\n  web: {[a]: 1, enabled: false}\n", "site.yaml", "web",
                          "enabled", "true");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->find("enabled: true"), std::string::npos) << *r;
  EXPECT_NE(r->find("[a]: 1"), std::string::npos) << *r;
}
