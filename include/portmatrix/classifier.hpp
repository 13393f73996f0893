// A compiled multi-field packet classifier (the DPDK ACL pattern): a rule list
// is compiled once (build), then headers are classified against the compiled
// form, first match wins. A scalar linear scan is the reference variant; faster
// variants sit beside it in a table with a capability check, and every variant
// gives the same answer as the linear scan for every rule list and header.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "portmatrix/address.hpp"

namespace portmatrix {

// The value of a rule's tag field that matches every key.
inline constexpr std::uint32_t kAnyTag = 0xffffffffu;
// The largest interface id (ids share a 16-bit field with the direction).
inline constexpr std::uint32_t kMaxIfaceId = 0x7fffu;

// The header fields a rule can test. Addresses in host order: u32 for IPv4,
// u128 for IPv6 (ClassKey6, classified by Classifier6).
template <class Addr>
struct BasicClassKey {
  Addr src = 0;
  Addr dst = 0;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t proto = 0;
  std::uint8_t direction = 0;  // 0 or 1: Direction when compiled from the policy IR
  std::uint32_t iface = 0;     // interface id, at most kMaxIfaceId
};
using ClassKey = BasicClassKey<std::uint32_t>;
using ClassKey6 = BasicClassKey<u128>;

// One rule: inclusive ranges on addresses and ports, the protocol as value and
// mask, and two optional exact-match tags. A range with lo > hi matches nothing.
template <class Addr>
struct BasicClassRule {
  Addr src_lo = 0, src_hi = ~Addr(0);
  Addr dst_lo = 0, dst_hi = ~Addr(0);
  std::uint16_t sport_lo = 0, sport_hi = 0xffff;
  std::uint16_t dport_lo = 0, dport_hi = 0xffff;
  std::uint8_t proto = 0, proto_mask = 0;  // matches p when (p & mask) == (proto & mask); mask 0 = any
  std::uint32_t direction = kAnyTag;       // the key's direction must equal it, unless kAnyTag
  std::uint32_t iface = kAnyTag;           // the key's iface must equal it, unless kAnyTag
  std::int32_t id = 0;                     // what classify() returns when this rule matches first (>= 0)
  friend bool operator==(const BasicClassRule&, const BasicClassRule&) = default;
};
using ClassRule = BasicClassRule<std::uint32_t>;
using ClassRule6 = BasicClassRule<u128>;

// The definition of "matches", which every variant implements.
template <class Addr>
constexpr bool rule_matches(const BasicClassRule<Addr>& r, const BasicClassKey<Addr>& k) {
  return r.src_lo <= k.src && k.src <= r.src_hi && r.dst_lo <= k.dst && k.dst <= r.dst_hi &&
         r.sport_lo <= k.sport && k.sport <= r.sport_hi && r.dport_lo <= k.dport && k.dport <= r.dport_hi &&
         ((k.proto ^ r.proto) & r.proto_mask) == 0 && (r.direction == kAnyTag || r.direction == k.direction) &&
         (r.iface == kAnyTag || r.iface == k.iface);
}

// Build-time limits.
struct ClassifierOptions {
  // Bound on the compiled structure. When it binds, lookups scan longer rule
  // lists: slower, never wrong. The linear variant ignores it.
  std::size_t max_memory_bytes = std::size_t(512) << 20;
};

// A compiled IPv4 rule list. Immutable after build: classify() may run on many threads.
class Classifier {
 public:
  virtual ~Classifier() = default;
  // The id of the first rule (in build order) that matches key, or -1.
  virtual std::int32_t classify(const ClassKey& key) const = 0;
  // classify() for every key into out (same size). Faster variants interleave
  // the lookups of a batch; none allocates.
  virtual void classify(std::span<const ClassKey> keys, std::span<std::int32_t> out) const;
  // Bytes of the compiled structure (including the rule copy it keeps).
  virtual std::size_t memory_bytes() const = 0;
  // The variant name, as in classifier_variants().
  virtual std::string_view variant() const = 0;
};

// One entry of the variant table.
struct ClassifierVariant {
  std::string_view name;     // "linear", "cuts", ...
  std::string_view summary;  // one line for --help and docs
  bool (*available)();       // false when this CPU lacks an instruction set the variant needs
  std::unique_ptr<Classifier> (*build)(std::span<const ClassRule> rules, const ClassifierOptions& options);
};

// Every variant, the reference ("linear") first, then faster ones, fastest last.
std::span<const ClassifierVariant> classifier_variants();
// The variant called name, or nullptr.
const ClassifierVariant* find_classifier_variant(std::string_view name);
// The fastest variant this CPU can run.
const ClassifierVariant& default_classifier_variant();
// Compiles rules with a variant (the default one when null). The variant must be available.
std::unique_ptr<Classifier> build_classifier(std::span<const ClassRule> rules, const ClassifierVariant* variant = nullptr,
                                             const ClassifierOptions& options = {});

// Lookups per second of c over keys: the batch lookup of all keys, repeated
// until at least min_seconds of wall time have passed. 0 for no keys.
double lookups_per_second(const Classifier& c, std::span<const ClassKey> keys, double min_seconds = 1.0);

// An IPv6 rule list: 128-bit address ranges are mapped onto the indexes of the
// elementary intervals their bounds cut the address space into, so any IPv4
// variant classifies them (two binary searches per key on top).
class Classifier6 {
 public:
  Classifier6(std::span<const ClassRule6> rules, const ClassifierVariant* variant = nullptr,
              const ClassifierOptions& options = {});
  // The id of the first matching rule, or -1.
  std::int32_t classify(const ClassKey6& key) const;
  std::size_t memory_bytes() const;

 private:
  ClassKey map(const ClassKey6& key) const;
  std::vector<u128> src_starts_, dst_starts_;  // sorted starts of the elementary intervals
  std::unique_ptr<Classifier> inner_;
};

}  // namespace portmatrix
