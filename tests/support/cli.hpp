// Running the portmatrix binary from tests.
#pragma once
#include <string>
#include <vector>

#include "portmatrix/process.hpp"

namespace pmtest {

// Runs the built portmatrix CLI with args; fails the test if it cannot start.
inline portmatrix::RunResult pm(std::vector<std::string> args, const std::string& input = "", int netns_fd = -1) {
  args.insert(args.begin(), PM_BINARY);
  portmatrix::RunOptions o;
  o.input = input;
  o.netns_fd = netns_fd;
  o.timeout = std::chrono::milliseconds(300000);
  auto r = portmatrix::run_command(args, o);
  if (!r) return portmatrix::RunResult{-1, false, "", r.error().message};
  return *r;
}

}  // namespace pmtest
