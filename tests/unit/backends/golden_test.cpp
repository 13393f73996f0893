// Every backend on every golden case: output equals tests/golden/<target>/<case>/<file>.
#include <dirent.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "portmatrix/backend.hpp"
#include "portmatrix/site.hpp"
#include "support/golden.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {
std::vector<std::string> cases() {
  std::vector<std::string> out;
  std::string dir = pmtest::source_path("tests/golden/cases");
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".yaml") out.push_back(n.substr(0, n.size() - 5));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST(Golden, EveryBackendOnEveryCase) {
  auto all = cases();
  ASSERT_GE(all.size(), 3u);
  for (const Backend* b : backends()) {
    for (const auto& c : all) {
      SCOPED_TRACE(std::string(b->name()) + " / " + c);
      auto lp = load_policy("", pmtest::source_path("tests/golden/cases/" + c + ".yaml"));
      ASSERT_TRUE(lp) << (lp.diags.items().empty() ? "" : lp.diags.items()[0].format());
      auto r = b->compile(lp.value->policy);
      ASSERT_FALSE(r.files.empty());
      std::string dir = pmtest::source_path("tests/golden/" + std::string(b->name()) + "/" + c);
      const bool regen = std::getenv("PORTMATRIX_REGENERATE") && std::string(std::getenv("PORTMATRIX_REGENERATE")) == "1";
      std::string warnings;
      for (const auto& w : r.warnings.items()) warnings += w.format() + "\n";
      std::vector<std::pair<std::string, std::string>> expected = {{"warnings.txt", warnings}};
      for (const auto& f : r.files) expected.emplace_back(f.name, f.content);
      for (const auto& [name, content] : expected) {
        // Names may have directories (firewalld's zones/ and policies/).
        if (regen) std::filesystem::create_directories(std::filesystem::path(dir + "/" + name).parent_path());
        pmtest::expect_golden(dir + "/" + name, content);
      }
    }
  }
}

TEST(Golden, BackendsReportWhatTheyCannotExpress) {
  Policy p;
  Rule r;
  r.direction = Direction::in;
  r.iface = "lo";
  r.protocol = Protocol::tcp;
  r.src = AddrSet::any();
  r.dst = AddrSet::any();
  r.sport = PortSet::full();
  r.dport = PortSet::single(23);
  r.row = "telnet";
  p.rules.push_back(r);
  r.src = AddrSet();
  r.row = "nothing";
  r.iface = "";
  p.rules.push_back(r);
  for (const Backend* b : backends()) {
    auto d = b->check(p);
    bool named = false;
    for (const auto& w : d.items()) named |= w.message.find("row 'nothing'") != std::string::npos;
    EXPECT_TRUE(named) << b->name() << " did not report the rule that matches nothing";
    if (!b->capabilities().loopback) {
      bool lo = false;
      for (const auto& w : d.items()) lo |= w.message.find("row 'telnet'") != std::string::npos;
      EXPECT_TRUE(lo) << b->name();
    }
  }
}
