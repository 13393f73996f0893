// Internals shared by the classifier variants: rules normalised to six u32
// ranges, the 32-byte match record, and the compiled cut trees.
#pragma once
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "portmatrix/classifier.hpp"

namespace portmatrix::detail {

// Dimensions of a normalised rule: source, destination, source port, destination
// port, protocol, tag (direction << 15 | iface).
inline constexpr int kDims = 6;
inline constexpr std::uint8_t kDimBits[kDims] = {32, 32, 16, 16, 8, 16};

// A rule as six inclusive u32 ranges. One ClassRule becomes one or more of
// these (a protocol mask that is not a range, or a tag that matches either
// direction); prio orders them, and all of one rule's share its id.
struct Box {
  std::uint32_t lo[kDims];
  std::uint32_t hi[kDims];
};

// The tag dimension of a key.
inline std::uint32_t key_tag(const ClassKey& k) { return std::uint32_t(k.direction & 1u) << 15 | (k.iface & kMaxIfaceId); }
// The key as six u32 values, in dimension order.
inline void key_dims(const ClassKey& k, std::uint32_t out[kDims]) {
  out[0] = k.src, out[1] = k.dst, out[2] = k.sport, out[3] = k.dport, out[4] = k.proto, out[5] = key_tag(k);
}

// Normalises rules (in order); ids[i] is the id of boxes[i].
void normalise(std::span<const ClassRule> rules, std::vector<Box>& boxes, std::vector<std::int32_t>& ids);

// A normalised rule laid out for a SIMD test in one 32-byte load. Each bound is
// stored as lo and ~hi so that lo <= k <= hi is "record lane <= key lane" for
// every lane (the key holds k and ~k): lanes 0..3 are u32 (source lo, ~hi,
// destination lo, ~hi), lanes 4..7 are pairs of u16 (source port, destination
// port, protocol, tag: lo, ~hi each).
struct alignas(32) Record {
  std::uint32_t lane[8];
};
using KeyVec = Record;
Record make_record(const Box& b);
inline KeyVec make_keyvec(const std::uint32_t dims[kDims]) {
  KeyVec v;
  v.lane[0] = dims[0], v.lane[1] = ~dims[0], v.lane[2] = dims[1], v.lane[3] = ~dims[1];
  for (int d = 2; d < kDims; ++d) v.lane[d + 2] = dims[d] | (~dims[d] & 0xffffu) << 16;
  return v;
}
// The scalar form of the test.
inline bool record_matches(const Record& r, const KeyVec& k) {
  bool ok = true;
  for (int i = 0; i < 4; ++i) ok &= r.lane[i] <= k.lane[i];
  for (int i = 4; i < 8; ++i) ok &= (r.lane[i] & 0xffff) <= (k.lane[i] & 0xffff) && (r.lane[i] >> 16) <= (k.lane[i] >> 16);
  return ok;
}
// SIMD variants test records in groups of up to this many without branching;
// the leaf array has as many spare records at its end, so they may read past a leaf.
inline constexpr std::uint32_t kRecordGroup = 8;

// A node of a cut tree (8 bytes). An internal node cuts one dimension d on a
// window of its bits: the child for key k is refs[offset + ((k[d] >> shift) & mask)].
// A leaf starts at leaf_units[offset]: its rules' records, then their
// priorities (u32, padded to whole units), both in priority order.
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

// Batched lookups walk this many keys together; their dimensions are stored
// dimension-major (dims[d][j]) so SIMD walks can gather them.
inline constexpr std::size_t kBatch = 32;
using BatchDims = std::uint32_t[kDims][kBatch];

// Walks every key j whose node (off[j], info[j]) is internal down to its leaf,
// all keys in lockstep: the walks are independent, so their cache misses
// overlap. The step is branch-free (a key at a leaf re-reads refs[0] and keeps
// its node), since which walks are still going is unpredictable.
inline void walk_scalar(const NodeRef* refs, const BatchDims& dims, std::uint32_t off[kBatch], std::uint32_t info[kBatch]) {
  for (bool walking = true; walking;) {
    walking = false;
    for (std::size_t j = 0; j < kBatch; ++j) {
      const NodeRef n{off[j], info[j]};
      const std::uint32_t in = info[j] >> 31;
      const NodeRef next = refs[(n.offset + ((dims[n.dim()][j] >> n.shift()) & n.mask())) & (0u - in)];
      const std::uint32_t keep = in - 1;
      off[j] = (next.offset & ~keep) | (off[j] & keep);
      info[j] = (next.info & ~keep) | (info[j] & keep);
      walking |= (info[j] >> 31) != 0;
    }
  }
}

// One tree over a subset of the rules.
struct CutTree {
  NodeRef root;
  std::uint32_t first_rule = 0;  // the lowest rule index in the tree: trees are searched in this order
};

// An allocator for cache-line aligned arrays (leaves start on a line).
template <class T>
struct LineAllocator {
  using value_type = T;
  LineAllocator() = default;
  template <class U>
  LineAllocator(const LineAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
  friend bool operator==(const LineAllocator&, const LineAllocator&) { return true; }
};

// The compiled form every "cuts" variant searches. A normalised rule's index
// in priority order is its priority: the first match is the least index.
struct CutTables {
  std::vector<NodeRef> refs;
  // The leaves, each rule copied into every leaf that holds it. A leaf starts
  // on a cache line with its records (so pairs of them fill a line), then its
  // rules' priorities (u32, padded to whole units).
  std::vector<Record, LineAllocator<Record>> leaf_units;
  std::vector<std::int32_t> ids;   // the id of each normalised rule, by priority
  std::vector<CutTree> trees;      // ascending first_rule
  std::size_t bytes() const;

  // A leaf's records (followed by at least kRecordGroup more) and priorities.
  const Record* leaf_records(NodeRef leaf) const { return &leaf_units[leaf.offset]; }
  const std::uint32_t* leaf_prios(NodeRef leaf) const { return leaf_units[leaf.offset + leaf.leaf_count()].lane; }
};

// Tuning of the tree build (the defaults are what the variants use).
struct CutParams {
  std::size_t leaf_rules = 16;      // a node with at most this many rules is a leaf
  double space_factor = 4.0;        // children may hold this many times their parent's rules (HiCuts' spfac)
  unsigned max_cut_bits = 12;       // at most 2^this children per node
  unsigned large_address_bits = 24; // address ranges wider than 2^this go to their own trees
  std::size_t extra_room = 0;
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
