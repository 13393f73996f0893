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

// ns split into whole seconds (rounded toward minus infinity) and the
// nanoseconds after them, always in [0, 1e9), so times before 1970 print as
// the second before plus a positive fraction.
struct SplitNs {
  std::int64_t seconds;
  std::int64_t nanos;
};
inline SplitNs split_ns(std::int64_t ns) {
  std::int64_t s = ns / 1'000'000'000, r = ns % 1'000'000'000;
  if (r < 0) {
    r += 1'000'000'000;
    --s;
  }
  return {s, r};
}

}  // namespace portmatrix
