#include <filesystem>

#include <gtest/gtest.h>

#include "portmatrix/hostfw.hpp"
#include "support/testing.hpp"

using namespace portmatrix;
namespace fs = std::filesystem;

namespace {
hostfw::Paths paths_in(const pmtest::ScratchDir& d) {
  hostfw::Paths p;
  p.state_dir = d.path();
  return p;
}
}  // namespace

TEST(HostfwState, NoFileMeansNeverSwitchedOn) {
  pmtest::ScratchDir d;
  auto s = hostfw::load_state(paths_in(d));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->status, "off");
}

TEST(HostfwState, ADamagedFileIsAnErrorNotAnAbort) {
  pmtest::ScratchDir d;
  // A key of the wrong type made nlohmann's value() throw out of load_state (and abort audit).
  d.write("state.json", R"({"status": 5})");
  auto s = hostfw::load_state(paths_in(d));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("state.json is damaged"), std::string::npos) << s.error().message;
  d.write("state.json", "not json");
  EXPECT_FALSE(hostfw::load_state(paths_in(d)));
  fs::remove(d / "state.json");
  fs::create_directory(d / "state.json");  // an ifstream threw ios_failure here
  s = hostfw::load_state(paths_in(d));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("directory"), std::string::npos) << s.error().message;
}

TEST(HostfwState, WhatIsSavedLoadsBack) {
  pmtest::ScratchDir d;
  hostfw::State st;
  st.status = "on";
  st.site = "/etc/portmatrix/site.yaml";
  st.deadline = 12.5;
  ASSERT_FALSE(hostfw::save_state(paths_in(d), st));
  auto s = hostfw::load_state(paths_in(d));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->status, "on");
  EXPECT_EQ(s->site, st.site);
  EXPECT_EQ(s->deadline, 12.5);
}

TEST(HostfwKeep, SshConnectionGivesTheClientAndTheAddressItReached) {
  auto k = hostfw::keep_from_ssh_connection("198.51.100.7 50022 192.0.2.99 2222");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->addr.to_string(), "198.51.100.7");
  EXPECT_EQ(k->port, 2222);
  ASSERT_TRUE(k->server);
  EXPECT_EQ(k->server->to_string(), "192.0.2.99");
  EXPECT_EQ(k->client_port, std::optional<std::uint16_t>(50022));
  EXPECT_FALSE(hostfw::parse_keep("198.51.100.7:22")->server) << "--keep names no server address";
}

TEST(HostfwState, AWatchdogPidMustBeAProcessId) {
  // value<int>() converted 1e300 to int (undefined behaviour) and wrapped large numbers.
  for (const char* bad : {R"({"watchdog_pid": 1e300})", R"({"watchdog_pid": -5})", R"({"watchdog_pid": 4294967297})",
                          R"({"watchdog_pid": 18446744073709551615})", R"({"watchdog_pid": "12"})"}) {
    auto s = hostfw::parse_state(bad, "s.json");
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().message, "s.json is damaged: watchdog_pid is not a process id") << bad;
  }
  auto s = hostfw::parse_state(R"({"watchdog_pid": 2147483647})", "s.json");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->watchdog_pid, 2147483647);
}

TEST(HostfwState, TheTextReadsBackAsWritten) {
  hostfw::State st;
  st.status = "pending";
  st.matrix = "cms-r20";
  st.site = "/etc/portmatrix/site.yaml";
  st.pending_id = "p1";
  st.deadline = 1790000000.25;
  st.watchdog_pid = 4242;
  st.snapshot = "table inet portmatrix {\n}\n";
  st.site_backup = "name: \"x\"\n";
  auto back = hostfw::parse_state(hostfw::state_text(st), "s.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(hostfw::state_text(*back), hostfw::state_text(st));
  EXPECT_EQ(back->snapshot, st.snapshot);
  EXPECT_EQ(back->deadline, st.deadline);
}
