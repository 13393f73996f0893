// IP addresses, prefixes and address sets for IPv4 and IPv6.
#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portmatrix {

enum class Family : std::uint8_t { ipv4 = 4, ipv6 = 6 };

__extension__ typedef unsigned __int128 u128;

// An IPv4 or IPv6 address. IPv4 addresses use the first 4 bytes of bytes.
struct IpAddr {
  Family family = Family::ipv4;
  std::array<std::uint8_t, 16> bytes{};

  static IpAddr v4(std::uint32_t host_order);
  static IpAddr v6(u128 host_order);
  std::uint32_t v4_value() const;  // host order; family must be ipv4
  u128 v6_value() const;           // host order; family must be ipv6
  int bits() const { return family == Family::ipv4 ? 32 : 128; }
  bool is_loopback() const;
  std::string to_string() const;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

// Parses a dotted IPv4 or an IPv6 address (no brackets, no zone).
std::optional<IpAddr> parse_ip(std::string_view text);

// A network prefix with its host bits zero.
struct Prefix {
  IpAddr addr;
  std::uint8_t len = 0;
  bool contains(const IpAddr& a) const;
  bool is_host() const { return len == addr.bits(); }
  std::string to_string() const;  // "192.0.2.0/24"; a host prints without "/32" or "/128"
  friend auto operator<=>(const Prefix&, const Prefix&) = default;
};

// Parses "192.0.2.1", "192.0.2.0/24", "2001:db8::/32". Host bits must be zero.
std::optional<Prefix> parse_prefix(std::string_view text, std::string* error = nullptr);
Prefix any_prefix(Family f);

// A set of addresses of both families, kept as sorted, merged prefixes so equal
// sets compare equal. An empty family matches nothing in that family.
class AddrSet {
 public:
  AddrSet() = default;
  static AddrSet any();  // 0.0.0.0/0 and ::/0
  static AddrSet any_of(Family f);

  void add(const Prefix& p);
  void add(const AddrSet& other);
  bool contains(const IpAddr& a) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }
  bool empty(Family f) const { return prefixes(f).empty(); }
  bool is_any(Family f) const;  // the whole family
  const std::vector<Prefix>& prefixes(Family f) const { return f == Family::ipv4 ? v4_ : v6_; }
  AddrSet only(Family f) const;
  AddrSet intersect(const AddrSet& other) const;
  std::string to_string() const;  // comma separated; "any" for the whole of both families
  friend bool operator==(const AddrSet&, const AddrSet&) = default;

  // Inclusive address ranges of one family (for interval-based classifiers).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> v4_ranges() const;
  std::vector<std::pair<u128, u128>> v6_ranges() const;

 private:
  std::vector<Prefix> v4_, v6_;
};

}  // namespace portmatrix
