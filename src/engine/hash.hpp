// Hashing of addresses and ports for the engine's tables.
#pragma once
#include <cstdint>
#include <cstring>

#include "portmatrix/address.hpp"

namespace portmatrix {

// A strong 64-bit finaliser (splitmix64): every input bit affects every output bit.
inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// Folds an address into a running hash.
inline std::uint64_t hash_addr(std::uint64_t h, const IpAddr& a) {
  std::uint64_t w[2];
  std::memcpy(w, a.bytes.data(), sizeof w);
  return mix64(h ^ w[0] ^ mix64(w[1] + 0x9e3779b97f4a7c15ull));
}

}  // namespace portmatrix
