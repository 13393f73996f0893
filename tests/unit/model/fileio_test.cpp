// Whole-file reading (errors, never throws), atomic writing of one file and of
// several together, and JSON text that survives strings that are not UTF-8.
#include "portmatrix/fileio.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace portmatrix;
namespace fs = std::filesystem;

namespace {

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = ::testing::TempDir() + "/pm-fileio-XXXXXX";
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::vector<std::string> tree() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) out.push_back(fs::relative(e.path(), dir_).string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string dir_;
};

}  // namespace

TEST_F(FileIo, ReadsAWholeFile) {
  std::string content(200000, 'x');
  content[7] = '\0';
  std::ofstream(path("a"), std::ios::binary) << content;
  auto r = read_file(path("a"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, content);
}

TEST_F(FileIo, ADirectoryIsAnErrorNotAThrow) {
  auto r = read_file(dir_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::io);
  EXPECT_EQ(r.error().message, dir_ + ": is a directory, not a file");
}

TEST_F(FileIo, MissingAndUnreadableFilesAreErrors) {
  auto missing = read_file(path("missing"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, path("missing") + ": cannot open: No such file or directory");
  if (::geteuid() == 0) return;  // root reads a file of mode 000
  std::ofstream(path("locked")) << "x";
  ::chmod(path("locked").c_str(), 0);
  auto locked = read_file(path("locked"));
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().message, path("locked") + ": cannot open: Permission denied");
}

TEST_F(FileIo, WriteRefusesToReplaceADirectory) {
  fs::create_directory(path("out"));
  auto err = write_file_atomic(path("out"), "x");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, path("out") + ": is a directory, cannot replace it with a file");
  EXPECT_EQ(tree(), std::vector<std::string>{"out"});
}

TEST_F(FileIo, SeveralFilesAreWrittenTogether) {
  std::ofstream(path("a")) << "old a";
  auto err = write_files_atomic({{path("a"), "new a"}, {path("sub/deeper/b"), "new b"}});
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(slurp(path("a")), "new a");
  EXPECT_EQ(slurp(path("sub/deeper/b")), "new b");
  EXPECT_EQ(fs::status(path("a")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

TEST_F(FileIo, SeveralFilesAreAllOrNothing) {
  std::ofstream(path("a")) << "old a";
  fs::create_directory(path("c"));
  auto err = write_files_atomic({{path("a"), "new a"}, {path("new/b"), "new b"}, {path("c"), "new c"}});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, Error::Kind::io);
  EXPECT_EQ(err->message, path("c") + ": is a directory, cannot replace it with a file");
  EXPECT_EQ(slurp(path("a")), "old a");
  // No temporary file is left, nor the directory made for b.
  EXPECT_EQ(tree(), (std::vector<std::string>{"a", "c"}));
}

TEST_F(FileIo, SeveralFilesFailWhenAParentIsAFile) {
  std::ofstream(path("a")) << "old a";
  std::ofstream(path("f")) << "a file";
  auto err = write_files_atomic({{path("new/a"), "x"}, {path("f/b"), "y"}});
  ASSERT_TRUE(err);
  EXPECT_EQ(tree(), (std::vector<std::string>{"a", "f"}));
}

TEST(JsonText, BadUtf8BecomesReplacementCharacters) {
  nlohmann::json j = {{"file", "\xff.pcap"}, {"ok", "caf\xc3\xa9"}};
  EXPECT_EQ(json_text(j), "{\"file\":\"\xEF\xBF\xBD.pcap\",\"ok\":\"caf\xc3\xa9\"}");
  nlohmann::ordered_json o;
  o["z"] = "a\xc3";
  o["a"] = 1;
  EXPECT_EQ(json_text(o, 2), "{\n  \"z\": \"a\xEF\xBF\xBD\",\n  \"a\": 1\n}");
}
