// Runs the portmatrix binary for CLI tests and captures its output.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace pmtest {

struct CliResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `PM_BINARY args` through /bin/sh (args are shell words, quoted by the caller).
inline CliResult run_cli(const std::string& args, const std::string& stdin_path = "/dev/null") {
  char dir[] = "/tmp/pm-cli-XXXXXX";
  CliResult r;
  if (!::mkdtemp(dir)) return r;
  std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
  std::string cmd = std::string("'") + PM_BINARY + "' " + args + " <'" + stdin_path + "' >'" + out + "' 2>'" + err + "'";
  int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_all(out);
  r.err = read_all(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  ::rmdir(dir);
  return r;
}

}  // namespace pmtest
