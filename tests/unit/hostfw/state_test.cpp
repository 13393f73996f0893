#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "portmatrix/hostfw.hpp"

using namespace portmatrix;
namespace fs = std::filesystem;

namespace {
struct StateDir {
  fs::path dir;
  StateDir() {
    char t[] = "/tmp/pm-state-XXXXXX";
    dir = ::mkdtemp(t);
  }
  ~StateDir() { fs::remove_all(dir); }
  hostfw::Paths paths() const {
    hostfw::Paths p;
    p.state_dir = dir.string();
    return p;
  }
  void write(const std::string& text) const { std::ofstream(dir / "state.json") << text; }
};
}  // namespace

TEST(HostfwState, NoFileMeansNeverSwitchedOn) {
  StateDir d;
  auto s = hostfw::load_state(d.paths());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->status, "off");
}

TEST(HostfwState, ADamagedFileIsAnErrorNotAnAbort) {
  StateDir d;
  // A key of the wrong type made nlohmann's value() throw out of load_state (and abort audit).
  d.write(R"({"status": 5})");
  auto s = hostfw::load_state(d.paths());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("state.json is damaged"), std::string::npos) << s.error().message;
  d.write("not json");
  EXPECT_FALSE(hostfw::load_state(d.paths()));
  fs::remove(d.dir / "state.json");
  fs::create_directory(d.dir / "state.json");  // an ifstream threw ios_failure here
  s = hostfw::load_state(d.paths());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("directory"), std::string::npos) << s.error().message;
}

TEST(HostfwState, WhatIsSavedLoadsBack) {
  StateDir d;
  hostfw::State st;
  st.status = "on";
  st.site = "/etc/portmatrix/site.yaml";
  st.deadline = 12.5;
  ASSERT_FALSE(hostfw::save_state(d.paths(), st));
  auto s = hostfw::load_state(d.paths());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->status, "on");
  EXPECT_EQ(s->site, st.site);
  EXPECT_EQ(s->deadline, 12.5);
}
