// Lookup in the cut trees, templated on the record test (Ops::match). Each
// variant's file includes this after selecting its instruction set (a target
// pragma), so the whole lookup loop is compiled for that set; the anonymous
// namespace keeps each file's copy to itself.
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
    return best.id;
  }

  // Walks kBatch keys down each tree in lockstep: the walks are independent, so
  // their cache misses overlap instead of queueing. The step is branch-free (a
  // key at a leaf re-reads refs[0] and keeps its node), since which walks are
  // still going is unpredictable. Then the leaves' first records are prefetched
  // for the whole batch before any is scanned.
  void classify(std::span<const ClassKey> keys, std::span<std::int32_t> out) const override {
    constexpr std::size_t kBatch = 16;
    std::size_t i = 0;
    for (; i + kBatch <= keys.size(); i += kBatch) {
      std::uint32_t dims[kBatch][kDims];
      Best best[kBatch];
      for (std::size_t j = 0; j < kBatch; ++j) key_dims(keys[i + j], dims[j]);
      for (const CutTree& tree : t_.trees) {
        NodeRef n[kBatch];
        bool any = false;
        for (std::size_t j = 0; j < kBatch; ++j) {
          // Keys that already matched a rule before this tree's first skip it (an empty leaf).
          const bool need = tree.first_rule < best[j].prio;
          n[j] = need ? tree.root : NodeRef{};
          any |= need;
        }
        if (!any) continue;
        for (bool walking = true; walking;) {
          walking = false;
          for (std::size_t j = 0; j < kBatch; ++j) {
            const std::uint32_t in = n[j].info >> 31;
            const NodeRef next = t_.refs[child_index(n[j], dims[j]) & (0u - in)];
            const std::uint32_t keep = in - 1;
            n[j].offset = (next.offset & ~keep) | (n[j].offset & keep);
            n[j].info = (next.info & ~keep) | (n[j].info & keep);
            walking |= n[j].internal();
          }
        }
        for (std::size_t j = 0; j < kBatch; ++j) __builtin_prefetch(t_.leaf_records.data() + n[j].offset);
        for (std::size_t j = 0; j < kBatch; ++j) scan_leaf(n[j], make_keyvec(dims[j]), best[j]);
      }
      for (std::size_t j = 0; j < kBatch; ++j) out[i + j] = best[j].id;
    }
    for (; i < keys.size(); ++i) out[i] = classify(keys[i]);
  }

  std::size_t memory_bytes() const override { return t_.bytes(); }
  std::string_view variant() const override { return name_; }

 private:
  struct Best {
    std::uint32_t prio = 0xffffffffu;  // none yet
    std::int32_t id = -1;
  };

  // Records the first record of the leaf that matches, if it comes before best.
  void scan_leaf(NodeRef leaf, const KeyVec& kv, Best& best) const {
    const Record* r = t_.leaf_records.data() + leaf.offset;
    for (std::uint32_t q = 0, n = leaf.leaf_count(); q < n && r[q].prio() < best.prio; ++q)
      if (Ops::match(r[q], kv)) {
        best = {r[q].prio(), r[q].id()};
        return;
      }
  }

  CutTables t_;
  std::string_view name_;
};

}  // namespace
}  // namespace portmatrix::detail
