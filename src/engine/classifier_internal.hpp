// Internals shared by the classifier variants: rules normalised to six u32
// ranges, the 64-byte match record, and the compiled cut trees.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "portmatrix/classifier.hpp"

namespace portmatrix::detail {

// Dimensions of a normalised rule: source, destination, source port, destination
// port, protocol, tag (direction << 31 | iface).
inline constexpr int kDims = 6;
inline constexpr std::uint8_t kDimBits[kDims] = {32, 32, 16, 16, 8, 32};

// A rule as six inclusive u32 ranges. One ClassRule becomes one or more of
// these (a protocol mask that is not a range, or a tag that matches either
// direction); prio orders them, and all of one rule's share its id.
struct Box {
  std::uint32_t lo[kDims];
  std::uint32_t hi[kDims];
};

// The tag dimension of a key.
inline std::uint32_t key_tag(const ClassKey& k) { return std::uint32_t(k.direction & 1u) << 31 | (k.iface & kMaxIfaceId); }
// The key as six u32 values, in dimension order.
inline void key_dims(const ClassKey& k, std::uint32_t out[kDims]) {
  out[0] = k.src, out[1] = k.dst, out[2] = k.sport, out[3] = k.dport, out[4] = k.proto, out[5] = key_tag(k);
}

// Normalises rules (in order); ids[i] is the id of boxes[i].
void normalise(std::span<const ClassRule> rules, std::vector<Box>& boxes, std::vector<std::int32_t>& ids);

// A normalised rule laid out for a one-instruction SIMD test: lane 2d holds
// lo[d], lane 2d+1 holds ~hi[d], so lo <= k <= hi for every d is "every lane <=
// the matching lane of the key vector" (k in lane 2d, ~k in 2d+1). The key
// vector has all ones in lanes 12..15, so they always pass: lane 12 holds the
// rule's id, lane 13 its index in priority order.
struct alignas(64) Record {
  std::uint32_t lane[16];
  std::int32_t id() const { return static_cast<std::int32_t>(lane[12]); }
  std::uint32_t prio() const { return lane[13]; }
};
struct alignas(64) KeyVec {
  std::uint32_t lane[16];
};
Record make_record(const Box& b, std::int32_t id, std::uint32_t prio);
inline KeyVec make_keyvec(const std::uint32_t dims[kDims]) {
  KeyVec v;
  for (int d = 0; d < kDims; ++d) v.lane[2 * d] = dims[d], v.lane[2 * d + 1] = ~dims[d];
  for (int i = 2 * kDims; i < 16; ++i) v.lane[i] = 0xffffffffu;
  return v;
}

// A node of a cut tree (8 bytes). An internal node cuts one dimension d on a
// window of its bits: the child for key k is refs[offset + ((k[d] >> shift) & mask)].
// A leaf holds count records from leaf_records[offset], in priority order.
struct NodeRef {
  std::uint32_t offset = 0;
  std::uint32_t info = 0;  // internal: 1 | d:3 | shift:5 | 7 unused | mask:16; leaf: count

  static constexpr std::uint32_t kInternal = 1u << 31;
  bool internal() const { return info & kInternal; }
  std::uint32_t leaf_count() const { return info; }
  unsigned dim() const { return (info >> 28) & 7; }
  unsigned shift() const { return (info >> 23) & 31; }
  std::uint32_t mask() const { return info & 0xffff; }
  static NodeRef leaf(std::uint32_t first, std::uint32_t count) { return {first, count}; }
  static NodeRef cut(std::uint32_t first, unsigned d, unsigned shift, unsigned bits) {
    return {first, kInternal | d << 28 | shift << 23 | ((1u << bits) - 1)};
  }
};
inline constexpr unsigned kMaxCutBits = 16;

// The index in refs of the child of internal node n for key dimensions k.
inline std::uint32_t child_index(NodeRef n, const std::uint32_t k[kDims]) {
  return n.offset + ((k[n.dim()] >> n.shift()) & n.mask());
}

// One tree over a subset of the rules.
struct CutTree {
  NodeRef root;
  std::uint32_t first_rule = 0;  // the lowest rule index in the tree: trees are searched in this order
};

// The compiled form every "cuts" variant searches. A rule's index in priority
// order is its priority: the first match is the least index.
struct CutTables {
  std::vector<NodeRef> refs;
  std::vector<Record> leaf_records;  // the leaves' rules, copied into each leaf that holds them
  std::vector<CutTree> trees;        // ascending first_rule
  std::size_t rules = 0;             // normalised rules
  std::size_t bytes() const;
};

// Tuning of the tree build (the defaults are what the variants use).
struct CutParams {
  std::size_t leaf_rules = 8;       // a node with at most this many rules is a leaf
  double space_factor = 4.0;        // children may hold this many times their parent's rules (HiCuts' spfac)
  unsigned max_cut_bits = 12;       // at most 2^this children per node
  unsigned large_address_bits = 16; // addresses ranges wider than 2^this go to their own trees
};

// Builds the trees for rules within options.max_memory_bytes.
CutTables build_cut_tables(std::span<const ClassRule> rules, const ClassifierOptions& options,
                           const CutParams& params = {});

// The variant builders (classifier_cuts*.cpp) and their capability checks.
bool have_avx2();
bool have_avx512();
std::unique_ptr<Classifier> build_cuts_scalar(std::span<const ClassRule> rules, const ClassifierOptions& options);
std::unique_ptr<Classifier> build_cuts_avx2(std::span<const ClassRule> rules, const ClassifierOptions& options);
std::unique_ptr<Classifier> build_cuts_avx512(std::span<const ClassRule> rules, const ClassifierOptions& options);

}  // namespace portmatrix::detail
