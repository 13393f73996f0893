// Man pages, bash completion and `make install`: every command has a page that
// documents its options and renders without warnings; the completion script,
// sourced in bash, completes commands, options and values; installing into a
// DESTDIR puts every file where it belongs.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "portmatrix/process.hpp"
#include "support/cli.hpp"
#include "support/run_cli.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using pmtest::pm;
using pmtest::read_all;

namespace {

const std::string kBuild = PM_BUILD_DIR;

portmatrix::RunResult run(const std::vector<std::string>& argv) {
  portmatrix::RunOptions o;
  o.timeout = std::chrono::milliseconds(120000);
  auto r = portmatrix::run_command(argv, o);
  if (!r) return portmatrix::RunResult{-1, false, "", r.error().message};
  return *r;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "firewall enable" -> its long options, from the CLI itself.
std::map<std::string, std::vector<std::string>> command_options() {
  auto r = pm({"completion", "commands"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = words(line.substr(colon + 1));
  }
  return out;
}

std::set<std::string> top_level(const std::map<std::string, std::vector<std::string>>& cmds) {
  std::set<std::string> out;
  for (const auto& [path, opts] : cmds) out.insert(path.substr(0, path.find(' ')));
  return out;
}

}  // namespace

TEST(ManPages, EveryCommandHasAPageDocumentingItsOptions) {
  auto cmds = command_options();
  auto tops = top_level(cmds);
  ASSERT_GE(tops.size(), 13u);
  EXPECT_EQ(tops.count("completion"), 0u) << "hidden commands are not listed";
  std::string main_page = read_all(pmtest::source_path("docs/man/portmatrix.1.scd"));
  for (const auto& top : tops) {
    std::string src = pmtest::source_path("docs/man/portmatrix-" + top + ".1.scd");
    ASSERT_TRUE(fs::exists(src)) << "command '" << top << "' has no man page: write " << src;
    std::string page = read_all(src);
    EXPECT_NE(main_page.find("*" + top + "*\n"), std::string::npos) << "portmatrix(1) does not list " << top;
    EXPECT_NE(main_page.find("*portmatrix-" + top + "*(1)"), std::string::npos) << "portmatrix(1) does not refer to " << top;
    for (const auto& [path, opts] : cmds) {
      if (path.substr(0, path.find(' ')) != top) continue;
      if (path != top) {
        std::string sub = path.substr(top.size() + 1);
        EXPECT_NE(page.find("*" + sub + "*"), std::string::npos) << src << " does not document '" << path << "'";
      }
      for (const auto& o : opts)
        EXPECT_NE(page.find("*" + o + "*"), std::string::npos) << src << " does not document " << o << " of '" << path << "'";
    }
  }
  // No page for a command that does not exist (any more).
  for (const auto& e : fs::directory_iterator(pmtest::source_path("docs/man"))) {
    std::string name = e.path().filename().string();
    if (name.rfind("portmatrix-", 0) != 0) continue;
    std::string cmd = name.substr(11, name.find('.') - 11);
    EXPECT_EQ(tops.count(cmd), 1u) << name << " documents no command";
  }
}

TEST(ManPages, BuiltPagesRenderWithoutWarnings) {
  PM_REQUIRE(fs::exists(kBuild + "/man/portmatrix.1"), "man pages are not built: scdoc is missing (apt-get install scdoc)");
  std::size_t pages = 0;
  for (const auto& e : fs::directory_iterator(kBuild + "/man")) {
    std::string page = e.path().string();
    if (page.size() < 2 || page.substr(page.size() - 2) != ".1") continue;
    ++pages;
    auto g = run({"groff", "-man", "-Tutf8", "-ww", "-z", page});
    EXPECT_EQ(g.exit_code, 0) << page << ": " << g.err;
    EXPECT_EQ(g.err, "") << page;
    auto m = run({"env", "MANWIDTH=80", "man", "-P", "cat", "--warnings", "-l", page});
    EXPECT_EQ(m.exit_code, 0) << page << ": " << m.err;
    EXPECT_EQ(m.err, "") << page;
    EXPECT_NE(m.out.find("NAME"), std::string::npos) << page;
    EXPECT_NE(m.out.find("SYNOPSIS"), std::string::npos) << page;
  }
  EXPECT_EQ(pages, top_level(command_options()).size() + 1);
}

TEST(Completion, BuiltScriptIsCurrent) {
  auto r = pm({"completion", "bash"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_all(kBuild + "/completion/portmatrix"), r.out);
}

TEST(Completion, BashCompletesCommandsOptionsAndValues) {
  std::string script = kBuild + "/completion/portmatrix";
  ASSERT_TRUE(fs::exists(script));
  // An empty directory: no files that would match.
  std::string dir = ::testing::TempDir() + "/completion-cwd-" + std::to_string(::getpid());
  fs::create_directories(dir);

  std::string targets;
  for (const auto& line : [] {
         std::vector<std::string> v;
         std::istringstream in(pm({"compile", "--list-targets"}).out);
         for (std::string l; std::getline(in, l);) v.push_back(l);
         return v;
       }())
    targets += (targets.empty() ? "" : " ") + line.substr(0, line.find(' '));
  std::string commands;
  for (const auto& t : top_level(command_options())) commands += t + " ";

  // Each case: the line as typed, the words as readline splits it (at spaces and '='), the expected completions.
  struct Case {
    std::string line;
    std::vector<std::string> words;
    std::string want;  // sorted, space separated
  };
  std::vector<Case> cases = {
      {"portmatrix re", {"portmatrix", "re"}, "render replay"},
      {"portmatrix ", {"portmatrix", ""}, commands},
      {"portmatrix show --format ", {"portmatrix", "show", "--format", ""}, "csv json markdown table yaml"},
      {"portmatrix render --format=s", {"portmatrix", "render", "--format", "=", "s"}, "svg"},
      {"portmatrix render -f ", {"portmatrix", "render", "-f", ""}, "csv dot html markdown svg"},
      {"portmatrix firewall al", {"portmatrix", "firewall", "al"}, "allow"},
      {"portmatrix firewall allow --site cms-site h", {"portmatrix", "firewall", "allow", "--site", "cms-site", "h"},
       "ha-sync hist-connectors hp-printers"},
      {"portmatrix show --matrix cms", {"portmatrix", "show", "--matrix", "cms"}, "cms-r20"},
      {"portmatrix render --site cms", {"portmatrix", "render", "--site", "cms"}, "cms-site"},
      {"portmatrix render --replay x.pcap --ta", {"portmatrix", "render", "--replay", "x.pcap", "--ta"}, "--target"},
      {"portmatrix compile --target ", {"portmatrix", "compile", "--target", ""}, targets},
      {"portmatrix query -p icmp", {"portmatrix", "query", "-p", "icmp"}, "icmp icmpv6"},
  };
  auto sorted = [](std::string s) {
    auto w = words(s);
    std::sort(w.begin(), w.end());
    std::string out;
    for (const auto& x : w) out += (out.empty() ? "" : " ") + x;
    return out;
  };
  for (bool with_bash_completion : {false, true}) {
    if (with_bash_completion && !fs::exists("/usr/share/bash-completion/bash_completion")) {
      PM_REQUIRE(false, "bash-completion is not installed (apt-get install bash-completion)");
      continue;
    }
    std::string sh = "cd '" + dir + "' || exit 1\n";
    if (with_bash_completion) sh += "source /usr/share/bash-completion/bash_completion\n";
    sh += "source '" + script + "'\n";
    for (const auto& c : cases) {
      std::string arr;
      for (std::size_t i = 0; i < c.words.size(); ++i)
        arr += " '" + (i == 0 ? std::string(PM_BINARY) : c.words[i]) + "'";
      std::string line = std::string(PM_BINARY) + c.line.substr(std::string("portmatrix").size());
      sh += "COMP_WORDS=(" + arr + "); COMP_CWORD=" + std::to_string(c.words.size() - 1) + "; COMP_LINE='" + line +
            "'; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _portmatrix; echo \"${COMPREPLY[*]}\"\n";
    }
    auto r = run({"bash", "--norc", "--noprofile", "-c", sh});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream out(r.out);
    for (const auto& c : cases) {
      std::string got;
      std::getline(out, got);
      EXPECT_EQ(sorted(got), sorted(c.want)) << (with_bash_completion ? "with" : "without") << " bash-completion: "
                                             << c.line;
    }
  }
  fs::remove_all(dir);
}

TEST(Install, DestdirGetsEveryFile) {
  std::string dest = ::testing::TempDir() + "/install-root-" + std::to_string(::getpid());
  fs::remove_all(dest);
  auto r = run({"env", "DESTDIR=" + dest, PM_CMAKE, "--install", kBuild, "--prefix", "/usr"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::set<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dest))
    if (e.is_regular_file()) files.insert(fs::relative(e.path(), dest).string());
  std::vector<std::string> want = {"usr/bin/portmatrix",
                                   "usr/share/portmatrix/matrices/cms-r20.yaml",
                                   "usr/share/portmatrix/examples/cms-site.yaml",
                                   "usr/share/bash-completion/completions/portmatrix",
                                   "usr/lib/systemd/system/portmatrix.service"};
  if (fs::exists(kBuild + "/man/portmatrix.1")) {
    want.push_back("usr/share/man/man1/portmatrix.1");
    for (const auto& t : top_level(command_options())) want.push_back("usr/share/man/man1/portmatrix-" + t + ".1");
  } else {
    PM_REQUIRE(false, "man pages are not built: scdoc is missing (apt-get install scdoc)");
  }
  for (const auto& w : want) EXPECT_EQ(files.count(w), 1u) << "not installed: " << w;
  std::string listing;
  for (const auto& f : files) listing += f + "\n";
  std::cout << "installed:\n" << listing;
  auto v = run({dest + "/usr/bin/portmatrix", "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("portmatrix ", 0), 0u);
  fs::remove_all(dest);
}
