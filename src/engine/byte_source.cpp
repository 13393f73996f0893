#include "engine/byte_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace portmatrix {

Expected<ByteSource> ByteSource::open_file(const std::string& path, std::size_t buffer_size) {
  ByteSource s;
  if (path == "-") {
    s.fd_ = ::dup(0);
  } else {
    s.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (s.fd_ < 0) return Error{Error::Kind::io, fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
  // Tells the kernel to read ahead aggressively; harmless on pipes, where it fails.
  (void)::posix_fadvise(s.fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  s.storage_.resize(buffer_size < 65536 ? 65536 : buffer_size);
  s.buf_ = s.storage_.data();
  return s;
}

ByteSource ByteSource::memory(std::span<const std::uint8_t> bytes) {
  ByteSource s;
  s.buf_ = bytes.data();
  s.end_ = bytes.size();
  s.eof_ = true;
  return s;
}

ByteSource::ByteSource(ByteSource&& o) noexcept { *this = std::move(o); }

ByteSource& ByteSource::operator=(ByteSource&& o) noexcept {
  if (this == &o) return *this;
  if (fd_ >= 0) ::close(fd_);
  bool owned = !o.storage_.empty();
  fd_ = std::exchange(o.fd_, -1);
  storage_ = std::move(o.storage_);
  buf_ = owned ? storage_.data() : o.buf_;
  pos_ = o.pos_;
  end_ = o.end_;
  base_offset_ = o.base_offset_;
  eof_ = o.eof_;
  read_error_ = std::move(o.read_error_);
  o.buf_ = nullptr;
  o.pos_ = o.end_ = 0;
  return *this;
}

ByteSource::~ByteSource() {
  if (fd_ >= 0) ::close(fd_);
}

bool ByteSource::refill(std::size_t n) {
  if (eof_ || fd_ < 0) return false;
  // Keep the unread tail, move it to the front, then fill the rest of the buffer.
  std::size_t tail = end_ - pos_;
  if (pos_ > 0) {
    std::memmove(storage_.data(), storage_.data() + pos_, tail);
    base_offset_ += pos_;
    pos_ = 0;
    end_ = tail;
  }
  if (n > storage_.size()) storage_.resize(n);
  buf_ = storage_.data();
  while (end_ < storage_.size()) {
    ssize_t got = ::read(fd_, storage_.data() + end_, storage_.size() - end_);
    if (got < 0) {
      if (errno == EINTR) continue;
      read_error_ = std::strerror(errno);
      eof_ = true;
      break;
    }
    if (got == 0) {
      eof_ = true;
      break;
    }
    end_ += static_cast<std::size_t>(got);
    // A pipe delivers little at a time: stop as soon as the request is met.
    if (end_ >= n) break;
  }
  return end_ - pos_ >= n;
}

std::uint64_t ByteSource::skip(std::uint64_t n) {
  std::uint64_t done = 0;
  while (done < n) {
    if (available() == 0 && !ensure(1)) break;
    std::uint64_t step = std::min<std::uint64_t>(n - done, available());
    advance(static_cast<std::size_t>(step));
    done += step;
  }
  return done;
}

}  // namespace portmatrix
