// Regression tests for input and usage errors of the CLI: a directory where a
// file belongs, file names that are not UTF-8 in JSON output, multi-file output
// written all or nothing, stdout left empty when a capture cannot be read, and
// option values that used to be accepted silently.
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/packets.hpp"
#include "support/testing.hpp"

using pmtest::pm;
namespace fs = std::filesystem;
namespace pk = pmtest::pkt;

namespace {

// A scratch directory, removed with everything in it at the end of the test.
class Scratch {
 public:
  Scratch() {
    std::string t = ::testing::TempDir() + "/pm-input-errors-XXXXXX";
    path_ = ::mkdtemp(t.data()) ? t : "";
    EXPECT_FALSE(path_.empty());
  }
  ~Scratch() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The names in a directory tree, relative to it, sorted.
std::vector<std::string> tree(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

// An ssh connection to the bundled example site's host: replay allows it (exit 0).
void write_ssh_capture(const std::string& path) {
  std::vector<pk::Rec> recs;
  std::int64_t t = 1'700'000'000'000'000'000;
  auto tcp = [&](const char* s, std::uint16_t sp, const char* d, std::uint16_t dp, std::uint8_t flags) {
    recs.push_back({t += 1'000'000, pk::ether(pk::kIpv4, pk::ipv4(s, d, 6, pk::tcp(sp, dp, flags)))});
  };
  tcp("198.51.100.5", 40000, "192.0.2.1", 22, 0x02);
  tcp("192.0.2.1", 22, "198.51.100.5", 40000, 0x12);
  tcp("198.51.100.5", 40000, "192.0.2.1", 22, 0x10);
  ASSERT_TRUE(pk::write_pcap(path, DLT_EN10MB, recs));
}

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

// Item: `import DIR` and `classify --rules DIR --trace DIR` aborted on std::ios_base::failure.
TEST(CliInputErrors, ADirectoryWhereAFileBelongsIsAnInputError) {
  Scratch s;
  const std::string dir = s / "dir";
  fs::create_directory(dir);
  const std::vector<std::vector<std::string>> commands = {
      {"import", dir},
      {"classify", "--rules", dir, "--trace", dir},
      {"lint", "--matrix", dir},
      {"show", "--matrix", dir},
      {"diff", dir, dir},
      {"compile", "--site", dir},
      {"query", "--site", dir, "--src", "198.51.100.5", "--dst", "192.0.2.1:22"},
      {"replay", dir},
      {"learn", dir},
  };
  for (const auto& args : commands) {
    auto r = pm(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << args[0] << ": " << r.out;
    EXPECT_NE(r.err.find("portmatrix: error: "), std::string::npos) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(dir), std::string::npos) << args[0] << ": " << r.err;
  }
  auto r = pm({"import", dir});
  EXPECT_EQ(r.err, "portmatrix: error: " + dir + ": is a directory, not a file\n");
}

// Item: every JSON writer threw type_error.316 on a file name that is not UTF-8.
TEST(CliInputErrors, NonUtf8FileNamesGiveValidJson) {
  Scratch s;
  const std::string cap = s / "\xff.pcap";
  write_ssh_capture(cap);
  auto r = pm({"replay", cap, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["connections"].size(), 1u) << r.out;
  EXPECT_EQ(j["anomalies"]["captures"][0]["name"], s / (kReplacement + ".pcap")) << r.out;
}

// lint reported the file name of each finding, and nlohmann aborted on its byte 0xFF.
TEST(CliInputErrors, NonUtf8MatrixNameGivesValidLintJson) {
  Scratch s;
  const std::string matrix = s / "\xff.yaml";
  fs::copy_file(pmtest::source_path("data/matrices/cms-r20.yaml"), matrix);
  auto r = pm({"lint", "--matrix", matrix, "--format", "json"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["findings"].empty());
  EXPECT_EQ(j["findings"][0]["file"], s / (kReplacement + ".yaml")) << r.out;
}

// Item: compile wrote rules.v4, then failed on rules.v6 (a directory), leaving half a configuration.
TEST(CliInputErrors, CompileWritesEveryFileOrNone) {
  Scratch s;
  const std::string out = s / "half";
  fs::create_directories(out + "/rules.v6");
  auto r = pm({"compile", "--target", "iptables", "-o", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("portmatrix: error: " + out + "/rules.v6: is a directory"), std::string::npos) << r.err;
  EXPECT_EQ(tree(out), std::vector<std::string>{"rules.v6"});

  // An older configuration stays whole.
  std::ofstream(out + "/rules.v4") << "old v4";
  EXPECT_EQ(pm({"compile", "--target", "iptables", "-o", out}).exit_code, 2);
  EXPECT_EQ(slurp(out + "/rules.v4"), "old v4");
  EXPECT_EQ(tree(out), (std::vector<std::string>{"rules.v4", "rules.v6"}));

  // Subdirectories made for the files of a failed run are gone again.
  const std::string fw = s / "fw";
  fs::create_directories(fw + "/direct.xml");
  EXPECT_EQ(pm({"compile", "--target", "firewalld", "-o", fw}).exit_code, 2);
  EXPECT_EQ(tree(fw), std::vector<std::string>{"direct.xml"});

  fs::remove(out + "/rules.v6");
  r = pm({"compile", "--target", "iptables", "-o", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree(out), (std::vector<std::string>{"rules.v4", "rules.v6"}));
  EXPECT_NE(slurp(out + "/rules.v4"), "old v4");
}

// Item: replay printed the start of its output ({"connections":[ or the table header) before failing.
TEST(CliInputErrors, ReplayWritesNothingToStdoutWhenACaptureCannotBeRead) {
  Scratch s;
  const std::string good = s / "good.pcap", empty = s / "empty.pcap", text = s / "notes.txt";
  write_ssh_capture(good);
  std::ofstream{empty};
  std::ofstream(text) << "not a capture\n";
  const std::vector<std::vector<std::string>> inputs = {
      {s / "missing.pcap"}, {empty}, {text}, {good, s / "missing.pcap"}, {good, text}};
  for (const auto& captures : inputs) {
    for (const char* format : {"text", "json"}) {
      std::vector<std::string> args = {"replay"};
      args.insert(args.end(), captures.begin(), captures.end());
      args.insert(args.end(), {"--format", format});
      auto r = pm(args);
      EXPECT_EQ(r.exit_code, 2) << captures.back() << " " << format << ": " << r.err;
      EXPECT_EQ(r.out, "") << captures.back() << " " << format;
      EXPECT_NE(r.err.find("portmatrix: error: " + captures.back() + ": "), std::string::npos) << r.err;
    }
    std::vector<std::string> args = {"learn"};
    args.insert(args.end(), captures.begin(), captures.end());
    auto r = pm(args);
    EXPECT_EQ(r.exit_code, 2) << captures.back() << ": " << r.err;
    EXPECT_EQ(r.out, "") << captures.back();
  }
  // Standard input cannot be opened twice: the output still waits for the first connection.
  auto r = pm({"replay", "-", "--format", "json"}, "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  r = pm({"replay", "-"}, slurp(good));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("PROTO", 0), 0u) << r.out;
  // A capture without connections still gets its header and summary.
  ASSERT_TRUE(pk::write_pcap(empty, DLT_EN10MB, {}));
  r = pm({"replay", empty, "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["connections"].size(), 0u);
}

// Item: `scan -p ''` scanned the default 1-1024.
TEST(CliInputErrors, ScanRefusesAnEmptyPortList) {
  for (const char* ports : {"", " "}) {
    auto r = pm({"scan", "127.0.0.1", "--ports", ports});
    EXPECT_EQ(r.exit_code, 2) << "'" << ports << "': " << r.out;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("--ports"), std::string::npos) << r.err;
  }
}

// Item: `query -p icmpv6` with IPv4 addresses (and icmp with IPv6) was answered.
TEST(CliInputErrors, QueryRefusesAnIcmpOfTheOtherFamily) {
  auto v6 = pm({"query", "--src", "198.51.100.5", "--dst", "192.0.2.1", "--proto", "icmpv6"});
  EXPECT_EQ(v6.exit_code, 2);
  EXPECT_EQ(v6.out, "");
  EXPECT_NE(v6.err.find("--proto icmpv6 does not go with --src '198.51.100.5', an IPv4 address (use --proto icmp)"),
            std::string::npos)
      << v6.err;
  auto v4 = pm({"query", "--src", "2001:db8::5", "--dst", "2001:db8::1", "--proto", "icmp"});
  EXPECT_EQ(v4.exit_code, 2);
  EXPECT_NE(v4.err.find("--proto icmp does not go with --src '2001:db8::5', an IPv6 address (use --proto icmpv6)"),
            std::string::npos)
      << v4.err;
  EXPECT_EQ(pm({"query", "--src", "198.51.100.5", "--dst", "192.0.2.1", "--proto", "icmp"}).exit_code, 0);
}

// Regression: query wrote IPv6 endpoints as "2001:db8::2:32768" (is 32768 a port
// or the address's last group?) and left " :" when no interface applies.
TEST(CliQuery, EndpointsAreWrittenAsTheyAreGiven) {
  auto v6 = pm({"query", "--src", "[2001:db8::2]:3077", "--dst", "[2001:db8::1]:3078"});
  EXPECT_EQ(v6.exit_code, 0) << v6.err;
  EXPECT_EQ(v6.out, "in tcp [2001:db8::2]:3077 -> [2001:db8::1]:3078 via eth0: drop by default\n");
  auto lo = pm({"query", "--src", "::1", "--dst", "[::1]:23"});
  EXPECT_EQ(lo.out, "in tcp [::1]:32768 -> [::1]:23 via lo: allow by row telnet (rule 2)\n") << lo.err;
  auto any = pm({"query", "--src", "203.0.113.200", "--dst", "192.0.2.1:22"});
  EXPECT_EQ(any.out, "in tcp 203.0.113.200:32768 -> 192.0.2.1:22: allow by row ssh (rule 3)\n") << any.err;
  auto icmp6 = pm({"query", "--src", "2001:db8::2", "--dst", "2001:db8::1", "--proto", "icmpv6"});
  EXPECT_EQ(icmp6.out, "in icmpv6 2001:db8::2 -> 2001:db8::1 via eth0: drop by default\n") << icmp6.err;
}

// Item: an unknown command was reported as "A subcommand is required".
TEST(CliInputErrors, UnknownCommandIsNamed) {
  auto r = pm({"bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "portmatrix: error: unknown command 'bogus' (see portmatrix --help)\n");
  r = pm({"--bogus", "lint"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
  r = pm({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("subcommand is required"), std::string::npos) << r.err;
}

// Item: CLI11's own usage errors had no "portmatrix: error:" and said only "Run with --help".
TEST(CliInputErrors, UsageErrorsNameTheCommandsHelp) {
  auto r = pm({"show", "extra-word"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "portmatrix: error: The following argument was not expected: extra-word (see portmatrix show --help)\n");
  r = pm({"firewall", "status", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "portmatrix: error: The following argument was not expected: --bogus (see portmatrix firewall status --help)\n");
  r = pm({"firewall"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "portmatrix: error: A subcommand is required (see portmatrix firewall --help)\n");
  // The word the user typed is shown, control characters made visible.
  r = pm({"show", "-f", "x\x1b[2Jy"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.starts_with("portmatrix: error: --format: x")) << r.err;
}

// Item: `replay --table 0` was accepted and evicted every connection.
TEST(CliInputErrors, ConnectionTableHoldsAtLeastOne) {
  Scratch s;
  const std::string cap = s / "ssh.pcap";
  write_ssh_capture(cap);
  for (const char* cmd : {"replay", "learn"}) {
    // "-18446744073709551615" wrapped to 1 when --table was read as an unsigned number.
    for (const char* bad : {"0", "-1", "-18446744073709551615", "2147483648"}) {
      auto r = pm({cmd, cap, "--table", bad});
      EXPECT_EQ(r.exit_code, 2) << cmd << " " << bad;
      EXPECT_EQ(r.out, "") << cmd << " " << bad;
      EXPECT_NE(r.err.find("--table"), std::string::npos) << cmd << " " << bad << ": " << r.err;
    }
    EXPECT_EQ(pm({cmd, cap, "--table", "1"}).exit_code, 0) << cmd;
  }
}
