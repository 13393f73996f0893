// Lookup in the cut trees, templated on the variant's two kernels: Ops::walk
// (a batch of keys down a tree) and Ops::first_match (a leaf's records against
// one key). Each variant's file includes this after selecting its instruction
// set (a target pragma), so the whole lookup loop is compiled for that set; the
// anonymous namespace keeps each file's copy to itself.
#pragma once
#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>

#include "engine/classifier_internal.hpp"

namespace portmatrix::detail {
namespace {

template <class Ops>
class CutsClassifier final : public Classifier {
 public:
  CutsClassifier(CutTables t, std::string_view name) : t_(std::move(t)), name_(name) {}

  std::int32_t classify(const ClassKey& key) const override {
    std::uint32_t dims[kDims];
    key_dims(key, dims);
    const KeyVec kv = make_keyvec(dims);
    Best best;
    for (const CutTree& tree : t_.trees) {
      if (tree.first_rule >= best.prio) break;
      NodeRef n = tree.root;
      while (n.internal()) n = t_.refs[child_index(n, dims)];
      scan_leaf(n, kv, best);
    }
    return result(best);
  }

  // Keys go in batches of kBatch. For each tree, the batch walks down together
  // (Ops::walk: the walks are independent, so their cache misses overlap),
  // prefetches its leaves, then scans them.
  void classify(std::span<const ClassKey> keys, std::span<std::int32_t> out) const override {
    std::size_t i = 0;
    for (; i + kBatch <= keys.size(); i += kBatch) {
      Batch b;
      b.load(keys.subspan(i, kBatch));
      for (const CutTree& tree : t_.trees)
        if (walk(tree, b)) scan(b);
      for (std::size_t j = 0; j < kBatch; ++j) out[i + j] = result(b.best[j]);
    }
    for (; i < keys.size(); ++i) out[i] = classify(keys[i]);
  }

  std::size_t memory_bytes() const override { return t_.bytes(); }
  std::string_view variant() const override { return name_; }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;
  struct Best {
    std::uint32_t prio = kNone;
  };
  std::int32_t result(Best b) const { return b.prio == kNone ? -1 : t_.ids[b.prio]; }

  // The state of kBatch keys going through the trees.
  struct Batch {
    alignas(64) BatchDims dims;
    alignas(64) std::uint32_t off[kBatch];
    alignas(64) std::uint32_t info[kBatch];
    KeyVec kv[kBatch];
    Best best[kBatch];
    void load(std::span<const ClassKey> keys) {
      for (std::size_t j = 0; j < kBatch; ++j) {
        std::uint32_t d[kDims];
        key_dims(keys[j], d);
        for (int k = 0; k < kDims; ++k) dims[k][j] = d[k];
        kv[j] = make_keyvec(d);
      }
    }
  };

  // Walks the batch's keys down tree to their leaves and prefetches those;
  // false when every key already matched a rule before the tree's first.
  bool walk(const CutTree& tree, Batch& b) const {
    bool any = false;
    for (std::size_t j = 0; j < kBatch; ++j) {
      const bool need = tree.first_rule < b.best[j].prio;  // else an empty leaf
      b.off[j] = need ? tree.root.offset : 0;
      b.info[j] = need ? tree.root.info : 0;
      any |= need;
    }
    if (!any) return false;
    Ops::walk(t_.refs.data(), b.dims, b.off, b.info);
    for (std::size_t j = 0; j < kBatch; ++j) {
      __builtin_prefetch(t_.leaf_units.data() + b.off[j]);
      __builtin_prefetch(t_.leaf_units.data() + b.off[j] + 2);
    }
    return true;
  }

  void scan(Batch& b) const {
    for (std::size_t j = 0; j < kBatch; ++j) scan_leaf(NodeRef{b.off[j], b.info[j]}, b.kv[j], b.best[j]);
  }

  // Records the first rule of the leaf that matches, if it comes before best.
  void scan_leaf(NodeRef leaf, const KeyVec& kv, Best& best) const {
    const std::uint32_t n = leaf.leaf_count();
    const std::uint32_t q = Ops::first_match(t_.leaf_records(leaf), n, kv);
    if (q < n) best.prio = std::min(best.prio, t_.leaf_prios(leaf)[q]);
  }

  CutTables t_;
  std::string_view name_;
};

}  // namespace
}  // namespace portmatrix::detail
