// A forward-only window over a file or a memory buffer. Files are read in large
// chunks into one buffer, so memory stays bounded by the largest record asked for,
// whatever the file size; a memory buffer is used in place (fuzzing, tests).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "portmatrix/diag.hpp"

namespace portmatrix {

class ByteSource {
 public:
  // Opens path for reading ("-" is standard input).
  static Expected<ByteSource> open_file(const std::string& path, std::size_t buffer_size);
  static ByteSource memory(std::span<const std::uint8_t> bytes);

  ByteSource(ByteSource&& o) noexcept;
  ByteSource& operator=(ByteSource&& o) noexcept;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource();

  // Makes n bytes available at the cursor; false when the input ends first
  // (available() then tells how many there are). Invalidates earlier data() pointers.
  bool ensure(std::size_t n) {
    if (end_ - pos_ >= n) return true;
    return refill(n);
  }
  const std::uint8_t* data() const { return buf_ + pos_; }
  std::size_t available() const { return end_ - pos_; }
  // Moves the cursor forward by n <= available() bytes.
  void advance(std::size_t n) { pos_ += n; }
  // File offset of the cursor.
  std::uint64_t offset() const { return base_offset_ + pos_; }
  // Moves the cursor forward by n bytes, which may exceed the buffer; returns the bytes actually passed.
  std::uint64_t skip(std::uint64_t n);
  // A read error, if one ended the input early (empty otherwise).
  const std::string& read_error() const { return read_error_; }

 private:
  ByteSource() = default;
  bool refill(std::size_t n);

  int fd_ = -1;
  std::vector<std::uint8_t> storage_;
  const std::uint8_t* buf_ = nullptr;
  std::size_t pos_ = 0, end_ = 0;
  std::uint64_t base_offset_ = 0;  // file offset of buf_[0]
  bool eof_ = false;
  std::string read_error_;
};

}  // namespace portmatrix
