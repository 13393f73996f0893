#include "portmatrix/ports.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

#include <fmt/format.h>

#include "portmatrix/diag.hpp"

namespace portmatrix {

namespace {
void normalize(std::vector<PortRange>& v) {
  std::sort(v.begin(), v.end());
  std::vector<PortRange> out;
  for (const auto& r : v) {
    PM_ASSERT(r.lo <= r.hi, "reversed port range");
    if (!out.empty() && std::uint32_t(r.lo) <= std::uint32_t(out.back().hi) + 1) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  v = std::move(out);
}
}  // namespace

PortSet::PortSet(std::vector<PortRange> ranges) : ranges_(std::move(ranges)) { normalize(ranges_); }

// Keeps the canonical form incrementally: the ranges r touches (overlaps or is
// adjacent to) are found by binary search and replaced by their union, so
// adding in ascending order is amortised O(1) and any order avoids a full sort.
void PortSet::add(PortRange r) {
  PM_ASSERT(r.lo <= r.hi, "reversed port range");
  // First range that ends at or after r.lo - 1.
  auto first = std::partition_point(ranges_.begin(), ranges_.end(), [&](const PortRange& x) {
    return std::uint32_t(x.hi) + 1 < std::uint32_t(r.lo);
  });
  // First range that starts after r.hi + 1.
  auto last = std::partition_point(first, ranges_.end(), [&](const PortRange& x) {
    return std::uint32_t(x.lo) <= std::uint32_t(r.hi) + 1;
  });
  if (first == last) {
    ranges_.insert(first, r);
    return;
  }
  first->lo = std::min(first->lo, r.lo);
  first->hi = std::max(std::prev(last)->hi, r.hi);
  ranges_.erase(std::next(first), last);
}

void PortSet::add(const PortSet& other) {
  ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
  normalize(ranges_);
}

bool PortSet::contains(std::uint16_t p) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), p,
                             [](std::uint16_t v, const PortRange& r) { return v < r.lo; });
  if (it == ranges_.begin()) return false;
  --it;
  return it->contains(p);
}

std::uint32_t PortSet::count() const {
  std::uint32_t n = 0;
  for (const auto& r : ranges_) n += r.size();
  return n;
}

PortSet PortSet::intersect(const PortSet& other) const {
  std::vector<PortRange> out;
  std::size_t i = 0, j = 0;
  while (i < ranges_.size() && j < other.ranges_.size()) {
    const auto& a = ranges_[i];
    const auto& b = other.ranges_[j];
    std::uint16_t lo = std::max(a.lo, b.lo), hi = std::min(a.hi, b.hi);
    if (lo <= hi) out.push_back({lo, hi});
    if (a.hi < b.hi) ++i; else ++j;
  }
  return PortSet(std::move(out));
}

PortSet PortSet::subtract(const PortSet& other) const {
  std::vector<PortRange> out;
  for (const auto& a : ranges_) {
    std::uint32_t lo = a.lo;
    const std::uint32_t hi = a.hi;
    for (const auto& b : other.ranges_) {
      if (b.hi < lo || b.lo > hi) continue;
      if (b.lo > lo) out.push_back({std::uint16_t(lo), std::uint16_t(b.lo - 1)});
      lo = std::uint32_t(b.hi) + 1;
      if (lo > hi) break;
    }
    if (lo <= hi) out.push_back({std::uint16_t(lo), std::uint16_t(hi)});
  }
  return PortSet(std::move(out));
}

std::string PortSet::to_string() const {
  std::string s;
  for (const auto& r : ranges_) {
    if (!s.empty()) s += ", ";
    s += r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}-{}", r.lo, r.hi);
  }
  return s;
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
bool parse_port(std::string_view s, std::uint16_t& out) {
  s = trim(s);
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}
}  // namespace

std::optional<PortSet> parse_port_list(std::string_view text, std::string* error) {
  PortSet set;
  auto fail = [&](std::string msg) -> std::optional<PortSet> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  if (trim(text).empty()) return fail("empty port list");
  while (true) {
    auto comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    auto dash = item.find('-');
    std::uint16_t lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!parse_port(item, lo)) return fail(fmt::format("'{}' is not a port number (0-65535)", item));
      hi = lo;
    } else {
      if (!parse_port(item.substr(0, dash), lo) || !parse_port(item.substr(dash + 1), hi))
        return fail(fmt::format("'{}' is not a port range (LOW-HIGH within 0-65535)", item));
      if (lo > hi) return fail(fmt::format("reversed port range '{}'", item));
    }
    set.add({lo, hi});
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return set;
}

PortClass port_class(std::uint16_t port) {
  if (port <= 1023) return PortClass::well_known;
  if (port <= 49151) return PortClass::registered;
  return PortClass::dynamic;
}

std::string_view to_string(PortClass c) {
  switch (c) {
    case PortClass::well_known: return "well-known";
    case PortClass::registered: return "registered";
    case PortClass::dynamic: return "dynamic";
  }
  return "?";
}

PortSet PortSpec::resolve(PortRange ephemeral_range) const {
  PortSet s = ports;
  if (ephemeral) s.add(ephemeral_range);
  return s;
}

std::string PortSpec::to_string() const {
  std::string s = ports.to_string();
  if (ephemeral) s += s.empty() ? "ephemeral" : ", ephemeral";
  if (configurable) s += " (configurable)";
  return s;
}

}  // namespace portmatrix
