// Lookup in the cut trees, templated on the record test (Ops::match). Each
// variant's file includes this after selecting its instruction set (a target
// pragma), so the whole lookup loop is compiled for that set; the anonymous
// namespace keeps each file's copy to itself.
#pragma once
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
    const KeyVec kv = make_keyvec(key);
    const std::uint32_t best = search(dims, kv, kNone);
    return best == kNone ? -1 : static_cast<std::int32_t>(t_.records[best].lane[12]);
  }

  // Walks kBatch keys down each tree in lockstep: the walks are independent, so
  // their cache misses overlap instead of queueing.
  void classify(std::span<const ClassKey> keys, std::span<std::int32_t> out) const override {
    constexpr std::size_t kBatch = 8;
    std::size_t i = 0;
    for (; i + kBatch <= keys.size(); i += kBatch) {
      std::uint32_t dims[kBatch][kDims];
      KeyVec kv[kBatch];
      std::uint32_t best[kBatch];
      for (std::size_t j = 0; j < kBatch; ++j) {
        key_dims(keys[i + j], dims[j]);
        kv[j] = make_keyvec(keys[i + j]);
        best[j] = kNone;
      }
      for (const CutTree& tree : t_.trees) {
        NodeRef n[kBatch];
        bool any = false;
        for (std::size_t j = 0; j < kBatch; ++j) {
          n[j] = tree.root;
          any |= tree.first_rule < best[j];
        }
        if (!any) continue;
        for (bool walking = true; walking;) {
          walking = false;
          for (std::size_t j = 0; j < kBatch; ++j)
            if (n[j].internal()) {
              n[j] = t_.refs[n[j].offset + child_slot(n[j], dims[j])];
              walking |= n[j].internal();
            }
        }
        for (std::size_t j = 0; j < kBatch; ++j)
          if (tree.first_rule < best[j]) best[j] = scan_leaf(n[j], kv[j], best[j]);
      }
      for (std::size_t j = 0; j < kBatch; ++j)
        out[i + j] = best[j] == kNone ? -1 : static_cast<std::int32_t>(t_.records[best[j]].lane[12]);
    }
    for (; i < keys.size(); ++i) out[i] = classify(keys[i]);
  }

  std::size_t memory_bytes() const override { return t_.bytes(); }
  std::string_view variant() const override { return name_; }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  // The least rule index below best that matches in the leaf, else best.
  std::uint32_t scan_leaf(NodeRef leaf, const KeyVec& kv, std::uint32_t best) const {
    const std::uint32_t* r = t_.leaf_rules.data() + leaf.offset;
    for (std::uint32_t i = 0, n = leaf.leaf_count(); i < n && r[i] < best; ++i)
      if (Ops::match(t_.records[r[i]], kv)) return r[i];
    return best;
  }

  std::uint32_t search(const std::uint32_t dims[kDims], const KeyVec& kv, std::uint32_t best) const {
    for (const CutTree& tree : t_.trees) {
      if (tree.first_rule >= best) break;
      NodeRef n = tree.root;
      while (n.internal()) n = t_.refs[n.offset + child_slot(n, dims)];
      best = scan_leaf(n, kv, best);
    }
    return best;
  }

  CutTables t_;
  std::string_view name_;
};

}  // namespace
}  // namespace portmatrix::detail
