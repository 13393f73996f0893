// portmatrix import: exit codes, --strict, -o written atomically, diagnostics format.
#include <dirent.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "portmatrix/matrix_io.hpp"
#include "support/run_cli.hpp"
#include "support/testing.hpp"

using pmtest::run_cli;

namespace {

const std::string kReference = std::string(PM_SOURCE_DIR) + "/../shared/reference/cms-r20-port-matrix.txt";

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// A scratch directory removed with its contents at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    char t[] = "/tmp/pm-import-XXXXXX";
    path_ = ::mkdtemp(t) ? t : "";
  }
  ~ScratchDir() {
    for (const auto& f : files()) std::remove((path_ + "/" + f).c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (auto* e = ::readdir(d))
        if (std::string n = e->d_name; n != "." && n != "..") out.push_back(n);
      ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string path_;
};

const std::string kTable =
    "Source System\tSource Port\tDestination System\tDestination Port\tProtocol\tOptional\tDefault Port "
    "State\tDescription\n"
    "Client\tEphemeral\tServer\t443\tTCP/HTTPS\tNo\tOpen\tSee Note 9.\n";

}  // namespace

TEST(CliImport, ReferenceToStdout) {
  PM_REQUIRE(exists(kReference), "the reference document is missing: " + kReference);
  auto r = run_cli("import '" + kReference + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto m = portmatrix::read_matrix_yaml(r.out, "stdout");
  ASSERT_TRUE(m) << r.out;
  EXPECT_EQ(m.value->flows.size(), 15u);
  // The NA protocol is reported as a note, which --strict does not turn into an error.
  EXPECT_NE(r.err.find(":90:46: note: protocol not given ('NA')"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli("import --strict '" + kReference + "'").exit_code, 0);
}

TEST(CliImport, FormatsAndStdin) {
  auto csv = run_cli("import --format csv '" + pmtest::source_path("tests/data/import/cms-r20.csv") + "'");
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  auto md = run_cli("import - --format markdown --name cms", pmtest::source_path("tests/data/import/cms-r20.md"));
  EXPECT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("name: cms\n"), std::string::npos);
  // Read with the wrong layout, the Markdown file has no port table.
  auto wrong = run_cli("import --format text '" + pmtest::source_path("tests/data/import/cms-r20.md") + "'");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("error: no port table found"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.out, "");
}

TEST(CliImport, StrictTurnsWarningsIntoErrors) {
  ScratchDir dir;
  std::string in = dir.write("t.txt", kTable);
  auto lax = run_cli("import '" + in + "'");
  EXPECT_EQ(lax.exit_code, 0);
  EXPECT_EQ(lax.err, "portmatrix: " + in + ":2:56: warning: the row refers to note 9, which the document does not define\n");
  auto strict = run_cli("import --strict '" + in + "'");
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_EQ(strict.err, "portmatrix: " + in + ":2:56: error: the row refers to note 9, which the document does not define\n");
  EXPECT_EQ(strict.out, "");
}

TEST(CliImport, OutputFileIsWrittenWholeOrNotAtAll) {
  ScratchDir dir;
  std::string good = dir.write("good.txt", kTable);
  std::string bad = dir.write("bad.txt", kTable + "Client\tEphemeral\tServer\t99999\tTCP\tNo\tOpen\tx\n");
  std::string out = dir.path() + "/out.yaml";
  auto ok = run_cli("import '" + good + "' -o '" + out + "'");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "");
  std::string first = pmtest::read_all(out);
  EXPECT_EQ(first, run_cli("import '" + good + "'").out);

  auto fail = run_cli("import '" + bad + "' -o '" + out + "'");
  EXPECT_EQ(fail.exit_code, 2);
  EXPECT_NE(fail.err.find("bad.txt:3:25: error: port 99999 is outside 0-65535"), std::string::npos) << fail.err;
  EXPECT_EQ(pmtest::read_all(out), first);  // the old file, untouched
  auto strict = run_cli("import --strict '" + good + "' -o '" + dir.path() + "/new.yaml'");
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_EQ(dir.files(), (std::vector<std::string>{"bad.txt", "good.txt", "out.yaml"}));  // no new or temporary file
}

TEST(CliImport, UsageErrors) {
  EXPECT_EQ(run_cli("import /nonexistent/table.txt").exit_code, 2);
  EXPECT_EQ(run_cli("import --format xml x.txt").exit_code, 2);
  EXPECT_EQ(run_cli("import").exit_code, 2);
  ScratchDir dir;
  std::string in = dir.write("t.txt", kTable);
  EXPECT_EQ(run_cli("import --alias nonsense '" + in + "'").exit_code, 2);
  auto aliased = run_cli("import --alias 'Client=Browser' --alias 'Server=Web server' '" + in + "'");
  EXPECT_EQ(aliased.exit_code, 0) << aliased.err;
  EXPECT_NE(aliased.out.find("sources: [Browser]"), std::string::npos) << aliased.out;
  EXPECT_NE(aliased.out.find("destinations: [Web server]"), std::string::npos) << aliased.out;
  EXPECT_EQ(run_cli("import --help").exit_code, 0);
}

// Regression: portmatrix's own table (show --format markdown) did not import
// back: its id, firewalled, add-on, symmetric and notes columns were ignored
// without a word, so ids were renamed and the telnet row lost localhost-only,
// the web-internal row its closing, and the connector rows their add-on flag.
TEST(CliImport, ShowMarkdownImportsBackToTheSameMatrix) {
  ScratchDir dir;
  auto shown = run_cli("show --matrix cms-r20 --format markdown");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  std::string table = dir.write("cms.md", shown.out);
  std::string out = dir.path() + "/cms.yaml";
  auto imported = run_cli("import --strict '" + table + "' -o '" + out + "'");
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  auto d = run_cli("diff cms-r20 '" + out + "'");
  EXPECT_EQ(d.exit_code, 0) << d.out;
  auto m = portmatrix::load_matrix(out);
  ASSERT_TRUE(m.value);
  auto bundled = portmatrix::load_matrix("cms-r20");
  ASSERT_EQ(m.value->flows.size(), bundled.value->flows.size());
  for (std::size_t i = 0; i < m.value->flows.size(); ++i) {
    const auto& a = bundled.value->flows[i];
    const auto& b = m.value->flows[i];
    EXPECT_EQ(b.id, a.id);
    EXPECT_TRUE(b.same_facts(a)) << a.id;
  }
}
