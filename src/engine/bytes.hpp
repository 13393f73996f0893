// Unaligned loads in a chosen byte order. Callers check bounds first; these only read.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace portmatrix::bytes {

inline std::uint16_t swap(std::uint16_t v) { return __builtin_bswap16(v); }
inline std::uint32_t swap(std::uint32_t v) { return __builtin_bswap32(v); }
inline std::uint64_t swap(std::uint64_t v) { return __builtin_bswap64(v); }

template <class T>
inline T load_native(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Big-endian (network order) loads.
inline std::uint16_t be16(const std::uint8_t* p) {
  auto v = load_native<std::uint16_t>(p);
  return std::endian::native == std::endian::big ? v : swap(v);
}
inline std::uint32_t be32(const std::uint8_t* p) {
  auto v = load_native<std::uint32_t>(p);
  return std::endian::native == std::endian::big ? v : swap(v);
}

inline std::uint64_t be64(const std::uint8_t* p) {
  auto v = load_native<std::uint64_t>(p);
  return std::endian::native == std::endian::big ? v : swap(v);
}

// Loads in the file's byte order: swapped == true when the writer's order differs from ours.
template <class T>
inline T load(const std::uint8_t* p, bool swapped) {
  T v = load_native<T>(p);
  return swapped ? swap(v) : v;
}

}  // namespace portmatrix::bytes
