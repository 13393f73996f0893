// The interrupt cleanup: every child the library starts is registered, a signal
// kills and reaps them all before the process ends, and nothing new starts once
// the cleanup began. Each case runs in a death-test child, since the cleanup is
// process-wide and one-way.
#include "portmatrix/cleanup.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "portmatrix/process.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

TEST(Cleanup, NothingStartsOnceCleanupBegan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (!run_command({"true"})) std::_Exit(10);  // it works before
        cleanup::run_all();
        auto r = run_command({"true"});
        auto c = Child::spawn({"true"});
        std::_Exit(!r && !c && r.error().message.find("fork") != std::string::npos ? 0 : 11);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Cleanup, ASignalEndsEveryChildBeforeTheProcessEnds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // One fixed name: the death-test child runs this line too, with its own pid.
  const std::string pidfile = ::testing::TempDir() + "/pm-cleanup-signal-test.pid";
  std::remove(pidfile.c_str());
  EXPECT_EXIT(
      {
        cleanup::install_handlers();
        // A foreground command on another thread, as verify's workers run `ip`:
        // it sits in its own process group, so only the handler can end it.
        std::thread([&] {
          RunOptions o;
          o.timeout = std::chrono::seconds(30);
          (void)run_command({"sh", "-c", "echo $$ > " + pidfile + ".tmp && mv " + pidfile + ".tmp " + pidfile +
                                              " && exec sleep 20"},
                            o);
        }).detach();
        for (int i = 0; i < 5000 && ::access(pidfile.c_str(), F_OK) != 0; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ::kill(::getpid(), SIGTERM);
        std::this_thread::sleep_for(std::chrono::seconds(10));
        std::_Exit(12);
      },
      ::testing::KilledBySignal(SIGTERM), "");
  const std::string text = pmtest::read_all(pidfile);
  ASSERT_FALSE(text.empty()) << "the command did not start";
  const pid_t pid = static_cast<pid_t>(std::stol(text));
  // Killed and reaped by the handler: not even a zombie is left.
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1) << "the child " << pid << " outlived the interrupted process";
  EXPECT_EQ(errno, ESRCH);
  std::remove(pidfile.c_str());
}
