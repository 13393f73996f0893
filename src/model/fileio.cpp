#include "portmatrix/fileio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace portmatrix {

namespace {

Error io_error(const std::string& path, std::string_view what, int err) {
  return Error{Error::Kind::io, fmt::format("{}: {}: {}", path, what, std::strerror(err))};
}

// Reads fd to its end with read(2): an iostream would throw from its buffer on a
// directory ("Is a directory") however its exception mask is set.
Expected<std::string> read_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error(path, "cannot read", errno);
  if (S_ISDIR(st.st_mode)) return Error{Error::Kind::io, fmt::format("{}: is a directory, not a file", path)};
  std::string s;
  if (S_ISREG(st.st_mode) && st.st_size > 0) s.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "read error", errno);
    }
    if (n == 0) return s;
    s.append(buf, static_cast<std::size_t>(n));
  }
}

// Writes content to a new temporary file beside path (mode 0644, synced); returns its name.
Expected<std::string> write_temp(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return io_error(path, "cannot create temporary file", errno);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error(path, "write failed", e);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // mkstemp creates 0600; generated files are ordinary documents.
  ::fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return io_error(path, "write failed", e);
  }
  return tmp;
}

// A rename cannot replace a directory: say so before anything is written.
Status check_destination(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return Error{Error::Kind::io, fmt::format("{}: is a directory, cannot replace it with a file", path)};
  return std::nullopt;
}

// Creates the missing parent directories of path, outermost first, adding each to created.
Status create_parents(const std::string& path, std::vector<std::string>& created) {
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (auto dir = std::filesystem::path(path).parent_path(); !dir.empty() && !std::filesystem::exists(dir, ec);
       dir = dir.parent_path())
    missing.push_back(dir);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0777) != 0) return io_error(it->string(), "cannot create directory", errno);
    created.push_back(it->string());
  }
  return std::nullopt;
}

}  // namespace

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Expected<std::string> read_file(const std::string& path) {
  if (path == "-") return read_fd(0, "<stdin>");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(path, "cannot open", errno);
  auto s = read_fd(fd, path);
  ::close(fd);
  return s;
}

Status write_file_atomic(const std::string& path, std::string_view content) {
  if (path == "-") {
    std::cout.write(content.data(), static_cast<std::streamsize>(content.size()));
    std::cout.flush();
    if (!std::cout) return Error{Error::Kind::io, "cannot write to standard output"};
    return std::nullopt;
  }
  if (auto err = check_destination(path)) return err;
  auto tmp = write_temp(path, content);
  if (!tmp) return tmp.error();
  if (::rename(tmp->c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp->c_str());
    return io_error(path, "cannot rename into place", e);
  }
  return std::nullopt;
}

Status write_files_atomic(const std::vector<OutputFile>& files) {
  std::vector<std::string> created, temps;
  auto undo = [&](Error e) -> Status {
    for (const auto& t : temps) ::unlink(t.c_str());
    for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
    return e;
  };
  for (const auto& f : files) {
    if (auto err = create_parents(f.path, created)) return undo(*err);
    if (auto err = check_destination(f.path)) return undo(*err);
  }
  for (const auto& f : files) {
    auto tmp = write_temp(f.path, f.content);
    if (!tmp) return undo(tmp.error());
    temps.push_back(std::move(*tmp));
  }
  // Past the checks a rename fails only when the tree changed under us; the files
  // renamed by then stay new (a rename cannot be taken back atomically).
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (::rename(temps[i].c_str(), files[i].path.c_str()) != 0) {
      int e = errno;
      temps.erase(temps.begin(), temps.begin() + static_cast<std::ptrdiff_t>(i));
      created.clear();
      return undo(io_error(files[i].path, "cannot rename into place", e));
    }
  }
  return std::nullopt;
}

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string json_text(const nlohmann::ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace portmatrix
