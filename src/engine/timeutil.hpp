// Time arithmetic on capture timestamps, which in a damaged file can be anything.
#pragma once
#include <cstdint>
#include <limits>

namespace portmatrix {

// now - then in nanoseconds, saturating instead of overflowing.
inline std::int64_t elapsed_ns(std::int64_t now, std::int64_t then) {
  std::int64_t d;
  if (__builtin_sub_overflow(now, then, &d))
    return now > then ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  return d;
}

// t + d in nanoseconds, saturating.
inline std::int64_t add_ns(std::int64_t t, std::int64_t d) {
  std::int64_t r;
  if (__builtin_add_overflow(t, d, &r))
    return d > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  return r;
}

}  // namespace portmatrix
