// Runs the portmatrix binary with shell-quoted arguments (for tests that build
// command lines as text), through the same runner as support/cli.hpp.
#pragma once
#include <string>

#include "support/cli.hpp"
#include "support/testing.hpp"

namespace pmtest {

using CliResult = portmatrix::RunResult;

// Runs `PM_BINARY args` through /bin/sh (args are shell words, quoted by the caller).
inline CliResult run_cli(const std::string& args, const std::string& stdin_path = "/dev/null") {
  portmatrix::RunOptions o;
  o.timeout = std::chrono::milliseconds(300000);
  auto r = portmatrix::run_command({"/bin/sh", "-c", std::string("'") + PM_BINARY + "' " + args + " <'" + stdin_path + "'"}, o);
  if (!r) return portmatrix::RunResult{-1, false, "", r.error().message};
  return *r;
}

}  // namespace pmtest
