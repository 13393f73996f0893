// Running other programs: run to completion with captured output, or start in
// the background and stop on destruction. Optionally inside a network namespace.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "portmatrix/diag.hpp"

namespace portmatrix {

struct RunResult {
  int exit_code = -1;   // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out, err;
};

struct RunOptions {
  int netns_fd = -1;  // enter this network namespace first (-1: stay)
  std::string input;  // written to the child's standard input
  std::chrono::milliseconds timeout{30000};
};

// Runs argv[0] (searched in PATH) and waits for it. Error only if it could not start.
Expected<RunResult> run_command(const std::vector<std::string>& argv, const RunOptions& options = {});

// A background child process this program started; the destructor ends it
// (SIGTERM, then SIGKILL after a grace period) and reaps it.
class Child {
 public:
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }

  // Starts argv with stdout and stderr sent to the given files ("" = /dev/null).
  static Expected<Child> spawn(const std::vector<std::string>& argv, int netns_fd = -1, const std::string& stdout_path = "",
                               const std::string& stderr_path = "");
  pid_t pid() const { return pid_; }
  bool running();
  // Sends sig, waits up to grace, then SIGKILL; returns the exit status (or -1).
  int stop(int sig = 15, std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace portmatrix
