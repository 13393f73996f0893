// Port numbers: ranges, canonical interval sets, IANA port classes, and the
// matrix-level port specification (ranges plus the symbolic "ephemeral" range
// and the "configurable" marker).
#pragma once
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portmatrix {

struct PortRange {
  std::uint16_t lo = 0;
  std::uint16_t hi = 0;
  std::uint32_t size() const { return std::uint32_t(hi) - lo + 1; }
  bool contains(std::uint16_t p) const { return lo <= p && p <= hi; }
  friend auto operator<=>(const PortRange&, const PortRange&) = default;
};

// A set of ports kept as sorted, disjoint, non-adjacent ranges (canonical form,
// so two equal sets compare equal). An empty set matches nothing; use full() for "any".
class PortSet {
 public:
  PortSet() = default;
  static PortSet full() { return PortSet({{0, 65535}}); }
  static PortSet single(std::uint16_t p) { return PortSet({{p, p}}); }
  explicit PortSet(std::vector<PortRange> ranges);

  void add(PortRange r);
  void add(const PortSet& other);
  bool contains(std::uint16_t p) const;
  bool empty() const { return ranges_.empty(); }
  bool is_full() const { return ranges_.size() == 1 && ranges_[0].lo == 0 && ranges_[0].hi == 65535; }
  std::uint32_t count() const;  // number of ports in the set
  const std::vector<PortRange>& ranges() const { return ranges_; }
  PortSet intersect(const PortSet& other) const;
  PortSet subtract(const PortSet& other) const;
  bool subset_of(const PortSet& other) const { return subtract(other).empty(); }
  bool overlaps(const PortSet& other) const { return !intersect(other).empty(); }
  // "22", "50000-50001", "1556, 13724" (sorted, comma separated).
  std::string to_string() const;
  friend bool operator==(const PortSet&, const PortSet&) = default;

 private:
  std::vector<PortRange> ranges_;
};

// Parses "22", "5001-64500", "1556,13724", "6000-7000, 9100" (ASCII hyphen only).
std::optional<PortSet> parse_port_list(std::string_view text, std::string* error = nullptr);

// IANA's three port ranges, as the reference document's appendix defines them.
enum class PortClass { well_known, registered, dynamic };
PortClass port_class(std::uint16_t port);
std::string_view to_string(PortClass c);

// The IANA dynamic range, which a site's ephemeral range defaults to.
inline constexpr PortRange kDefaultEphemeral{49152, 65535};

// A port column of a matrix row: explicit ranges, optionally the symbolic
// ephemeral range (resolved by the site), and whether the site configures it.
struct PortSpec {
  PortSet ports;
  bool ephemeral = false;
  bool configurable = false;
  bool empty() const { return ports.empty() && !ephemeral; }
  // Resolves "ephemeral" to a concrete range.
  PortSet resolve(PortRange ephemeral_range) const;
  // "ephemeral", "22, ephemeral", "5001-64500 (configurable)".
  std::string to_string() const;
  friend bool operator==(const PortSpec&, const PortSpec&) = default;
};

}  // namespace portmatrix
