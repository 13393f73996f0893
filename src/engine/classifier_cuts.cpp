// Building the cut trees (HiCuts-style equal power-of-two cuts over rule
// partitions), shared by every "cuts" variant, and the scalar variant.
#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/classifier_internal.hpp"
#include "engine/cuts_lookup.ipp"
#include "portmatrix/diag.hpp"

namespace portmatrix::detail {

namespace {

struct Range {
  std::uint32_t lo, hi;
};

// The protocol values a value/mask pair matches, as maximal runs.
std::vector<Range> protocol_runs(std::uint8_t proto, std::uint8_t mask) {
  std::vector<Range> runs;
  for (unsigned v = 0; v < 256; ++v) {
    if (((v ^ proto) & mask) != 0) continue;
    if (!runs.empty() && runs.back().hi + 1 == v) runs.back().hi = v;
    else runs.push_back({v, v});
  }
  return runs;
}

// The tag values (direction << 31 | iface) a rule's two tags match, as ranges.
std::vector<Range> tag_ranges(std::uint32_t direction, std::uint32_t iface) {
  const bool any_dir = direction == kAnyTag, any_iface = iface == kAnyTag;
  if ((!any_dir && direction > 1) || (!any_iface && iface > kMaxIfaceId)) return {};  // no valid key has it
  std::vector<Range> out;
  for (std::uint32_t d = 0; d < 2; ++d) {
    if (!any_dir && d != direction) continue;
    const std::uint32_t base = d << 31;
    if (any_iface) out.push_back({base, base | kMaxIfaceId});
    else out.push_back({base | iface, base | iface});
  }
  if (any_dir && any_iface) return {{0, 0xffffffffu}};
  return out;
}

}  // namespace

void normalise(std::span<const ClassRule> rules, std::vector<Box>& boxes, std::vector<std::int32_t>& ids) {
  for (const ClassRule& r : rules) {
    if (r.src_lo > r.src_hi || r.dst_lo > r.dst_hi || r.sport_lo > r.sport_hi || r.dport_lo > r.dport_hi) continue;
    for (Range p : protocol_runs(r.proto, r.proto_mask))
      for (Range t : tag_ranges(r.direction, r.iface)) {
        boxes.push_back({{r.src_lo, r.dst_lo, r.sport_lo, r.dport_lo, p.lo, t.lo},
                         {r.src_hi, r.dst_hi, r.sport_hi, r.dport_hi, p.hi, t.hi}});
        ids.push_back(r.id);
      }
  }
}

Record make_record(const Box& b, std::int32_t id) {
  Record r{};
  for (int d = 0; d < kDims; ++d) r.lane[2 * d] = b.lo[d], r.lane[2 * d + 1] = ~b.hi[d];
  r.lane[12] = static_cast<std::uint32_t>(id);
  return r;
}

KeyVec make_keyvec(const ClassKey& k) {
  std::uint32_t dims[kDims];
  key_dims(k, dims);
  KeyVec v{};
  for (int d = 0; d < kDims; ++d) v.lane[2 * d] = dims[d], v.lane[2 * d + 1] = ~dims[d];
  for (int i = 2 * kDims; i < 16; ++i) v.lane[i] = 0xffffffffu;
  return v;
}

std::size_t CutTables::bytes() const {
  return records.capacity() * sizeof(Record) + refs.capacity() * sizeof(NodeRef) +
         leaf_rules.capacity() * sizeof(std::uint32_t) + trees.capacity() * sizeof(CutTree);
}

namespace {

// Tuning. A node with at most kLeafRules rules is a leaf; a node's children may
// hold at most kSpaceFactor times its rules in total (HiCuts' spfac); a node
// cuts a dimension into at most 2^kMaxCutBits parts.
constexpr std::size_t kLeafRules = 8;
constexpr double kSpaceFactor = 4.0;
constexpr unsigned kMaxCutBits = 12;
// An address range wider than this is "large": such rules go to their own trees,
// where no cut of that address replicates them.
constexpr std::uint64_t kLargeAddressRange = std::uint64_t(1) << 16;

// The part of the key space a node covers: in each dimension an aligned block
// [base, base + 2^width - 1].
struct Region {
  std::uint32_t base[kDims];
  std::uint8_t width[kDims];
  std::uint64_t top(int d) const { return std::uint64_t(base[d]) + (std::uint64_t(1) << width[d]) - 1; }
};

struct Cut {
  int dim = -1;
  unsigned bits = 0;
  std::size_t max_child = 0;
  std::size_t total = 0;
};

struct LeafKeyHash {
  std::size_t operator()(const std::vector<std::uint32_t>& v) const {
    std::size_t h = v.size();
    for (std::uint32_t x : v) h = (h ^ x) * 0x100000001b3ull;
    return h;
  }
};

class Builder {
 public:
  Builder(const std::vector<Box>& boxes, CutTables& out, std::size_t budget) : boxes_(boxes), t_(out), budget_(budget) {}

  NodeRef build(std::vector<std::uint32_t> rules, const Region& reg) {
    drop_shadowed(rules, reg);
    if (rules.size() <= kLeafRules) return leaf(rules);
    Cut c = choose_cut(rules, reg);
    const std::size_t parts = std::size_t(1) << c.bits;
    // A cut must leave room for its children even if they all end up leaves.
    if (c.dim < 0 || used() + parts * sizeof(NodeRef) + c.total * sizeof(std::uint32_t) > budget_) return leaf(rules);

    const int d = c.dim;
    const unsigned shift = reg.width[d] - c.bits;
    std::vector<std::vector<std::uint32_t>> children(parts);
    for (std::uint32_t r : rules) {
      const auto [lo, hi] = clip(r, d, reg);
      for (std::uint64_t p = (lo - reg.base[d]) >> shift; p <= (hi - reg.base[d]) >> shift; ++p) children[p].push_back(r);
    }
    rules.clear();
    rules.shrink_to_fit();
    const std::uint32_t first = static_cast<std::uint32_t>(t_.refs.size());
    t_.refs.resize(t_.refs.size() + parts);
    for (std::size_t p = 0; p < parts; ++p) {
      Region sub = reg;
      sub.width[d] = static_cast<std::uint8_t>(shift);
      sub.base[d] = reg.base[d] + static_cast<std::uint32_t>(std::uint64_t(p) << shift);
      const NodeRef child = build(std::move(children[p]), sub);
      t_.refs[first + p] = child;
    }
    return NodeRef::cut(first, static_cast<unsigned>(d), shift, c.bits, 0, 0, 0);
  }

 private:
  std::size_t used() const {
    return t_.refs.size() * sizeof(NodeRef) + t_.leaf_rules.size() * sizeof(std::uint32_t);
  }

  std::pair<std::uint64_t, std::uint64_t> clip(std::uint32_t r, int d, const Region& reg) const {
    return {std::max<std::uint64_t>(boxes_[r].lo[d], reg.base[d]), std::min<std::uint64_t>(boxes_[r].hi[d], reg.top(d))};
  }

  // Rules after the first one that covers the whole region can never match first in it.
  void drop_shadowed(std::vector<std::uint32_t>& rules, const Region& reg) const {
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const Box& b = boxes_[rules[i]];
      bool covers = true;
      for (int d = 0; d < kDims && covers; ++d) covers = b.lo[d] <= reg.base[d] && b.hi[d] >= reg.top(d);
      if (covers) {
        rules.resize(i + 1);
        return;
      }
    }
  }

  NodeRef leaf(const std::vector<std::uint32_t>& rules) {
    if (rules.empty()) return NodeRef::leaf(0, 0);
    auto [it, fresh] = leaves_.try_emplace(rules, NodeRef{});
    if (fresh) {
      it->second = NodeRef::leaf(static_cast<std::uint32_t>(t_.leaf_rules.size()), static_cast<std::uint32_t>(rules.size()));
      t_.leaf_rules.insert(t_.leaf_rules.end(), rules.begin(), rules.end());
    }
    return it->second;
  }

  // HiCuts' choice: in each dimension the most parts whose children stay within
  // the space factor; of those, the dimension whose largest child is smallest.
  Cut choose_cut(const std::vector<std::uint32_t>& rules, const Region& reg) const {
    Cut best;
    const double room = kSpaceFactor * double(rules.size());
    std::vector<std::int64_t> diff;
    for (int d = 0; d < kDims; ++d) {
      const unsigned maxb = std::min<unsigned>(reg.width[d], kMaxCutBits);
      Cut dim_best;
      for (unsigned b = 1; b <= maxb; ++b) {
        const std::size_t parts = std::size_t(1) << b;
        const unsigned shift = reg.width[d] - b;
        diff.assign(parts + 1, 0);
        std::size_t total = 0;
        for (std::uint32_t r : rules) {
          const auto [lo, hi] = clip(r, d, reg);
          const std::uint64_t a = (lo - reg.base[d]) >> shift, z = (hi - reg.base[d]) >> shift;
          ++diff[a];
          --diff[z + 1];
          total += z - a + 1;
        }
        if (b > 1 && double(total + parts) > room) break;
        std::int64_t run = 0, mx = 0;
        for (std::size_t p = 0; p < parts; ++p) mx = std::max(mx, run += diff[p]);
        dim_best = {d, b, static_cast<std::size_t>(mx), total};
      }
      if (dim_best.dim < 0) continue;
      if (best.dim < 0 || dim_best.max_child < best.max_child ||
          (dim_best.max_child == best.max_child && dim_best.total < best.total))
        best = dim_best;
    }
    // A cut that leaves every rule in one child and replicates nothing still
    // narrows the region, so later cuts or drop_shadowed make progress.
    return best;
  }

  const std::vector<Box>& boxes_;
  CutTables& t_;
  std::size_t budget_;
  std::unordered_map<std::vector<std::uint32_t>, NodeRef, LeafKeyHash> leaves_;
};

bool is_large(std::uint32_t lo, std::uint32_t hi) { return std::uint64_t(hi) - lo + 1 > kLargeAddressRange; }

}  // namespace

CutTables build_cut_tables(std::span<const ClassRule> rules, const ClassifierOptions& options) {
  std::vector<Box> boxes;
  std::vector<std::int32_t> ids;
  normalise(rules, boxes, ids);
  CutTables t;
  t.records.reserve(boxes.size());
  for (std::size_t i = 0; i < boxes.size(); ++i) t.records.push_back(make_record(boxes[i], ids[i]));

  // Partitions by which addresses are large: four trees at most.
  std::array<std::vector<std::uint32_t>, 4> parts;
  for (std::uint32_t i = 0; i < boxes.size(); ++i)
    parts[(is_large(boxes[i].lo[0], boxes[i].hi[0]) ? 1 : 0) + (is_large(boxes[i].lo[1], boxes[i].hi[1]) ? 2 : 0)]
        .push_back(i);
  const std::size_t fixed = t.records.size() * sizeof(Record);
  const std::size_t budget = options.max_memory_bytes > fixed ? options.max_memory_bytes - fixed : 0;
  Builder b(boxes, t, budget);
  Region whole{};
  for (int d = 0; d < kDims; ++d) whole.width[d] = kDimBits[d];
  for (auto& p : parts) {
    if (p.empty()) continue;
    const std::uint32_t first = p.front();
    t.trees.push_back({b.build(std::move(p), whole), first});
  }
  std::sort(t.trees.begin(), t.trees.end(), [](const CutTree& x, const CutTree& y) { return x.first_rule < y.first_rule; });
  return t;
}

bool have_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
bool have_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

namespace {

// Scalar test of a record against the key vector: every lane <=.
struct ScalarOps {
  static bool match(const Record& r, const KeyVec& k) {
    bool ok = true;
    for (int i = 0; i < 2 * kDims; ++i) ok &= r.lane[i] <= k.lane[i];
    return ok;
  }
};

}  // namespace

std::unique_ptr<Classifier> build_cuts_scalar(std::span<const ClassRule> rules, const ClassifierOptions& options) {
  return std::make_unique<CutsClassifier<ScalarOps>>(build_cut_tables(rules, options), "cuts");
}

}  // namespace portmatrix::detail
