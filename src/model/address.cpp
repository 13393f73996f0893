#include "portmatrix/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "portmatrix/diag.hpp"

namespace portmatrix {

IpAddr IpAddr::v4(std::uint32_t v) {
  IpAddr a;
  a.family = Family::ipv4;
  for (int i = 0; i < 4; ++i) a.bytes[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  return a;
}

IpAddr IpAddr::v6(u128 v) {
  IpAddr a;
  a.family = Family::ipv6;
  for (int i = 0; i < 16; ++i) a.bytes[i] = static_cast<std::uint8_t>(v >> (120 - 8 * i));
  return a;
}

std::uint32_t IpAddr::v4_value() const {
  PM_ASSERT(family == Family::ipv4, "v4_value of an IPv6 address");
  return std::uint32_t(bytes[0]) << 24 | std::uint32_t(bytes[1]) << 16 | std::uint32_t(bytes[2]) << 8 | bytes[3];
}

u128 IpAddr::v6_value() const {
  PM_ASSERT(family == Family::ipv6, "v6_value of an IPv4 address");
  u128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | bytes[i];
  return v;
}

bool IpAddr::is_loopback() const {
  if (family == Family::ipv4) return bytes[0] == 127;
  return v6_value() == 1;
}

namespace {

char* put_decimal(char* out, unsigned v) {
  if (v >= 100) *out++ = static_cast<char>('0' + v / 100);
  if (v >= 10) *out++ = static_cast<char>('0' + v / 10 % 10);
  *out++ = static_cast<char>('0' + v % 10);
  return out;
}

char* put_dotted(char* out, const std::uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    if (i) *out++ = '.';
    out = put_decimal(out, b[i]);
  }
  return out;
}

char* put_hex(char* out, unsigned v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  int shift = 12;
  while (shift > 0 && (v >> shift) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) *out++ = kDigits[(v >> shift) & 0xf];
  return out;
}

}  // namespace

// The text inet_ntop(3) gives (a differential test holds it to that), written
// without going through sprintf: replay prints two addresses per connection,
// and inet_ntop took a third of its time.
std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  char* out = buf;
  if (family == Family::ipv4) {
    out = put_dotted(out, bytes.data());
    return std::string(buf, out);
  }
  unsigned words[8];
  for (int i = 0; i < 8; ++i) words[i] = unsigned(bytes[2 * i]) << 8 | bytes[2 * i + 1];
  // The longest run of two or more zero words (the first of equal ones) becomes "::".
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (words[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && words[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  for (int i = 0; i < 8; ++i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) *out++ = ':';
      continue;
    }
    if (i) *out++ = ':';
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted form.
    if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      out = put_dotted(out, bytes.data() + 12);
      return std::string(buf, out);
    }
    out = put_hex(out, words[i]);
  }
  if (best >= 0 && best + best_len == 8) *out++ = ':';
  return std::string(buf, out);
}

std::optional<IpAddr> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddr a;
  if (s.find(':') == std::string::npos) {
    a.family = Family::ipv4;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  } else {
    a.family = Family::ipv6;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  }
  return a;
}

namespace {
u128 mask_of(int len, int bits) {
  if (len == 0) return 0;
  u128 all = bits == 32 ? u128(0xffffffffu) : ~u128(0);
  return (all << (bits - len)) & all;
}
u128 value_of(const IpAddr& a) { return a.family == Family::ipv4 ? u128(a.v4_value()) : a.v6_value(); }
IpAddr from_value(Family f, u128 v) { return f == Family::ipv4 ? IpAddr::v4(std::uint32_t(v)) : IpAddr::v6(v); }
}  // namespace

bool Prefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  u128 m = mask_of(len, addr.bits());
  return (value_of(a) & m) == value_of(addr);
}

std::string Prefix::to_string() const {
  if (is_host()) return addr.to_string();
  return fmt::format("{}/{}", addr.to_string(), len);
}

std::optional<Prefix> parse_prefix(std::string_view text, std::string* error) {
  auto fail = [&](std::string m) -> std::optional<Prefix> {
    if (error) *error = std::move(m);
    return std::nullopt;
  };
  auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return fail(fmt::format("'{}' is not an IPv4 or IPv6 address", text.substr(0, slash)));
  Prefix p{*ip, static_cast<std::uint8_t>(ip->bits())};
  if (slash != std::string_view::npos) {
    auto lenstr = text.substr(slash + 1);
    unsigned len = 0;
    auto [ptr, ec] = std::from_chars(lenstr.data(), lenstr.data() + lenstr.size(), len);
    if (lenstr.empty() || ec != std::errc() || ptr != lenstr.data() + lenstr.size() || len > unsigned(ip->bits()))
      return fail(fmt::format("'{}' is not a valid prefix length for {}", lenstr, ip->to_string()));
    p.len = static_cast<std::uint8_t>(len);
    if ((value_of(*ip) & ~mask_of(int(len), ip->bits()) & mask_of(ip->bits(), ip->bits())) != 0)
      return fail(fmt::format("'{}' has host bits set (did you mean {}/{}?)", text,
                              from_value(ip->family, value_of(*ip) & mask_of(int(len), ip->bits())).to_string(), len));
  }
  return p;
}

Prefix any_prefix(Family f) { return Prefix{from_value(f, 0), 0}; }

AddrSet AddrSet::any() {
  AddrSet s;
  s.v4_.push_back(any_prefix(Family::ipv4));
  s.v6_.push_back(any_prefix(Family::ipv6));
  return s;
}

AddrSet AddrSet::any_of(Family f) {
  AddrSet s;
  s.add(any_prefix(f));
  return s;
}

namespace {
// Appends [lo, hi] split into the largest aligned blocks.
void split_range(Family f, u128 lo, u128 hi, std::vector<Prefix>& out) {
  const int bits = f == Family::ipv4 ? 32 : 128;
  while (true) {
    int len = bits;
    while (len > 0) {
      u128 m = mask_of(len - 1, bits);
      u128 block_hi = lo | (~m & mask_of(bits, bits));
      if ((lo & ~m & mask_of(bits, bits)) != 0 || block_hi > hi) break;
      --len;
    }
    u128 block_hi = lo | (~mask_of(len, bits) & mask_of(bits, bits));
    out.push_back(Prefix{from_value(f, lo), static_cast<std::uint8_t>(len)});
    if (block_hi >= hi) break;
    lo = block_hi + 1;
  }
}

u128 range_lo(const Prefix& p) { return value_of(p.addr); }
u128 range_hi(const Prefix& p) {
  const int bits = p.addr.bits();
  return value_of(p.addr) | (~mask_of(p.len, bits) & mask_of(bits, bits));
}

// Rebuilds a minimal sorted prefix list covering the same addresses.
std::vector<Prefix> canonical(Family f, const std::vector<Prefix>& in) {
  const int bits = f == Family::ipv4 ? 32 : 128;
  std::vector<std::pair<u128, u128>> ranges;
  for (const auto& p : in) {
    u128 lo = value_of(p.addr);
    u128 hi = lo | (~mask_of(p.len, bits) & mask_of(bits, bits));
    ranges.push_back({lo, hi});
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<u128, u128>> merged;
  for (auto r : ranges) {
    if (!merged.empty() && (merged.back().second == mask_of(bits, bits) || r.first <= merged.back().second + 1)) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  std::vector<Prefix> out;
  for (auto [lo, hi] : merged) split_range(f, lo, hi, out);
  return out;
}
}  // namespace

// Same result as rebuilding canonical() with p added, without the rebuild: the
// list is the blocks of sorted, disjoint, non-adjacent ranges, so the blocks of
// the ranges p touches are found by binary search and replaced by the blocks of
// their union. Adding in ascending order costs O(bits) per prefix.
void AddrSet::add(const Prefix& p) {
  const Family f = p.addr.family;
  auto& v = f == Family::ipv4 ? v4_ : v6_;
  const u128 lo = range_lo(p), hi = range_hi(p);
  const u128 top = mask_of(p.addr.bits(), p.addr.bits());
  // First block that ends at or after lo - 1 (blocks are disjoint, so their ends ascend).
  std::size_t i = std::size_t(std::partition_point(v.begin(), v.end(), [&](const Prefix& x) {
                                return lo != 0 && range_hi(x) < lo - 1;
                              }) - v.begin());
  // First block at or after i that starts after hi + 1.
  std::size_t j = std::size_t(std::partition_point(v.begin() + std::ptrdiff_t(i), v.end(), [&](const Prefix& x) {
                                return hi == top || range_lo(x) <= hi + 1;
                              }) - v.begin());
  u128 new_lo = lo, new_hi = hi;
  if (i < j) {
    // Widen to whole ranges: adjacent blocks belong to the same range.
    while (i > 0 && range_hi(v[i - 1]) + 1 == range_lo(v[i])) --i;
    while (j < v.size() && range_hi(v[j - 1]) + 1 == range_lo(v[j])) ++j;
    new_lo = std::min(lo, range_lo(v[i]));
    new_hi = std::max(hi, range_hi(v[j - 1]));
  }
  std::vector<Prefix> blocks;
  split_range(f, new_lo, new_hi, blocks);
  if (j == v.size() && i == j) {
    v.insert(v.end(), blocks.begin(), blocks.end());
    return;
  }
  // Overwrite the replaced blocks in place, then erase or insert the difference.
  const std::size_t old_n = j - i, common = std::min(old_n, blocks.size());
  std::copy(blocks.begin(), blocks.begin() + std::ptrdiff_t(common), v.begin() + std::ptrdiff_t(i));
  if (old_n > blocks.size())
    v.erase(v.begin() + std::ptrdiff_t(i + common), v.begin() + std::ptrdiff_t(j));
  else
    v.insert(v.begin() + std::ptrdiff_t(j), blocks.begin() + std::ptrdiff_t(common), blocks.end());
}

void AddrSet::add(const AddrSet& other) {
  v4_.insert(v4_.end(), other.v4_.begin(), other.v4_.end());
  v6_.insert(v6_.end(), other.v6_.begin(), other.v6_.end());
  v4_ = canonical(Family::ipv4, v4_);
  v6_ = canonical(Family::ipv6, v6_);
}

bool AddrSet::contains(const IpAddr& a) const {
  for (const auto& p : prefixes(a.family))
    if (p.contains(a)) return true;
  return false;
}

bool AddrSet::is_any(Family f) const {
  const auto& v = prefixes(f);
  return v.size() == 1 && v[0].len == 0;
}

AddrSet AddrSet::only(Family f) const {
  AddrSet s;
  (f == Family::ipv4 ? s.v4_ : s.v6_) = prefixes(f);
  return s;
}

AddrSet AddrSet::intersect(const AddrSet& other) const {
  AddrSet out;
  for (Family f : {Family::ipv4, Family::ipv6})
    for (const auto& a : prefixes(f))
      for (const auto& b : other.prefixes(f)) {
        // Two prefixes intersect only when one contains the other.
        if (a.len >= b.len && b.contains(a.addr)) out.add(a);
        else if (b.len > a.len && a.contains(b.addr)) out.add(b);
      }
  return out;
}

std::string AddrSet::to_string() const {
  if (is_any(Family::ipv4) && is_any(Family::ipv6)) return "any";
  std::string s;
  for (Family f : {Family::ipv4, Family::ipv6})
    for (const auto& p : prefixes(f)) {
      if (!s.empty()) s += ", ";
      s += p.to_string();
    }
  return s;
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> AddrSet::v4_ranges() const {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (const auto& p : v4_) {
    std::uint32_t lo = p.addr.v4_value();
    std::uint32_t hi = lo | std::uint32_t(~mask_of(p.len, 32) & 0xffffffffu);
    if (!out.empty() && out.back().second != 0xffffffffu && out.back().second + 1 == lo) out.back().second = hi;
    else out.push_back({lo, hi});
  }
  return out;
}

std::vector<std::pair<u128, u128>> AddrSet::v6_ranges() const {
  std::vector<std::pair<u128, u128>> out;
  for (const auto& p : v6_) {
    u128 lo = p.addr.v6_value();
    u128 hi = lo | ~mask_of(p.len, 128);
    if (!out.empty() && out.back().second != ~u128(0) && out.back().second + 1 == lo) out.back().second = hi;
    else out.push_back({lo, hi});
  }
  return out;
}

}  // namespace portmatrix
