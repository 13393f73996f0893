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
// the matching lane of the key vector" (k in lane 2d, ~k in 2d+1). Lane 12 holds
// the id; the key vector has all ones in lanes 12..15 so they always pass.
struct alignas(64) Record {
  std::uint32_t lane[16];
};
struct alignas(64) KeyVec {
  std::uint32_t lane[16];
};
Record make_record(const Box& b, std::int32_t id);
KeyVec make_keyvec(const ClassKey& k);

// A reference to a node of a cut tree (8 bytes). Internal nodes cut one or two
// dimensions into equal power-of-two parts: the child is
//   children[offset + ((k[d1] >> s1) & (2^b1 - 1)) << b2 | ((k[d2] >> s2) & (2^b2 - 1))]
// Leaves list rule indexes (ascending, i.e. in priority order).
struct NodeRef {
  std::uint32_t offset = 0;  // internal: first child in refs; leaf: first index in leaf_rules
  std::uint32_t info = 0;    // see the accessors

  static constexpr std::uint32_t kInternal = 1u << 31;
  bool internal() const { return info & kInternal; }
  std::uint32_t leaf_count() const { return info; }  // leaves only
  unsigned d1() const { return info & 7; }
  unsigned s1() const { return (info >> 3) & 31; }
  unsigned b1() const { return (info >> 8) & 15; }
  unsigned d2() const { return (info >> 12) & 7; }
  unsigned s2() const { return (info >> 15) & 31; }
  unsigned b2() const { return (info >> 20) & 15; }
  static NodeRef leaf(std::uint32_t first, std::uint32_t count) { return {first, count}; }
  static NodeRef cut(std::uint32_t first, unsigned d1, unsigned s1, unsigned b1, unsigned d2, unsigned s2, unsigned b2) {
    return {first, kInternal | d1 | s1 << 3 | b1 << 8 | d2 << 12 | s2 << 15 | b2 << 20};
  }
};

// The slot of a child in an internal node for key dimensions k.
inline std::uint32_t child_slot(NodeRef n, const std::uint32_t k[kDims]) {
  const std::uint32_t m1 = (1u << n.b1()) - 1, m2 = (1u << n.b2()) - 1;
  return ((k[n.d1()] >> n.s1()) & m1) << n.b2() | ((k[n.d2()] >> n.s2()) & m2);
}

// One tree over a subset of the rules.
struct CutTree {
  NodeRef root;
  std::uint32_t first_rule = 0;  // the lowest rule index in the tree: trees are searched in this order
};

// The compiled form every "cuts" variant searches. Records are in priority
// order, so a rule's index is its priority and the first match is the least index.
struct CutTables {
  std::vector<Record> records;
  std::vector<NodeRef> refs;
  std::vector<std::uint32_t> leaf_rules;
  std::vector<CutTree> trees;  // ascending first_rule
  std::size_t bytes() const;
};

// Builds the trees for rules within options.max_memory_bytes.
CutTables build_cut_tables(std::span<const ClassRule> rules, const ClassifierOptions& options);

// The variant builders (classifier_cuts*.cpp) and their capability checks.
bool have_avx2();
bool have_avx512();
std::unique_ptr<Classifier> build_cuts_scalar(std::span<const ClassRule> rules, const ClassifierOptions& options);
std::unique_ptr<Classifier> build_cuts_avx2(std::span<const ClassRule> rules, const ClassifierOptions& options);
std::unique_ptr<Classifier> build_cuts_avx512(std::span<const ClassRule> rules, const ClassifierOptions& options);

}  // namespace portmatrix::detail
