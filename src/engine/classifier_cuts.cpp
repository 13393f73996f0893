// Building the cut trees (HiCuts-style equal power-of-two cuts over rule
// partitions), shared by every "cuts" variant, and the scalar variant.
#include <algorithm>
#include <array>
#include <bit>
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

// The tag values (direction << 15 | iface) a rule's two tags match, as ranges.
std::vector<Range> tag_ranges(std::uint32_t direction, std::uint32_t iface) {
  const bool any_dir = direction == kAnyTag, any_iface = iface == kAnyTag;
  if ((!any_dir && direction > 1) || (!any_iface && iface > kMaxIfaceId)) return {};  // no valid key has it
  std::vector<Range> out;
  for (std::uint32_t d = 0; d < 2; ++d) {
    if (!any_dir && d != direction) continue;
    const std::uint32_t base = d << 15;
    if (any_iface) out.push_back({base, base | kMaxIfaceId});
    else out.push_back({base | iface, base | iface});
  }
  if (any_dir && any_iface) return {{0, 0xffffu}};
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

Record make_record(const Box& b) {
  Record r{};
  r.lane[0] = b.lo[0], r.lane[1] = ~b.hi[0], r.lane[2] = b.lo[1], r.lane[3] = ~b.hi[1];
  for (int d = 2; d < kDims; ++d) r.lane[d + 2] = b.lo[d] | (~b.hi[d] & 0xffffu) << 16;
  return r;
}

std::size_t CutTables::bytes() const {
  return refs.capacity() * sizeof(NodeRef) + leaf_units.capacity() * sizeof(Record) +
         ids.capacity() * sizeof(std::int32_t) + trees.capacity() * sizeof(CutTree);
}

namespace {

// The keys that can reach a node and match one of its rules: in each dimension
// an aligned block [base, base + 2^width - 1]. Keys outside it may reach the
// node too (compaction skips bits no rule tells apart), but match none of its rules.
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

struct ListHash {
  std::size_t operator()(const std::vector<std::uint32_t>& v) const {
    std::size_t h = v.size();
    for (std::uint32_t x : v) h = (h ^ x) * 0x100000001b3ull;
    return h;
  }
};

class Builder {
 public:
  Builder(const std::vector<Box>& boxes, const CutParams& params, CutTables& out, std::size_t budget)
      : boxes_(boxes), p_(params), t_(out), budget_(budget) {}

  NodeRef build(std::vector<std::uint32_t> rules, Region reg) {
    compact(rules, reg);
    drop_shadowed(rules, reg);
    if (rules.size() <= p_.leaf_rules) return leaf(rules);
    const Cut c = choose_cut(rules, reg);
    // No cut separates these rules (every child would still hold them all), or
    // the budget would not hold the children even if they all ended up leaves.
    const std::size_t parts = std::size_t(1) << c.bits;
    if (c.dim < 0 || used() + parts * sizeof(NodeRef) + c.total * kLeafBytesPerRule > budget_) return leaf(rules);

    const int d = c.dim;
    const unsigned shift = reg.width[d] - c.bits;
    std::vector<std::vector<std::uint32_t>> children(parts);
    for (std::uint32_t r : rules) {
      const auto [lo, hi] = clip(r, d, reg);
      for (std::uint64_t q = (lo - reg.base[d]) >> shift; q <= (hi - reg.base[d]) >> shift; ++q) children[q].push_back(r);
    }
    rules.clear();
    rules.shrink_to_fit();
    const std::uint32_t first = static_cast<std::uint32_t>(t_.refs.size());
    t_.refs.resize(t_.refs.size() + parts);
    for (std::size_t q = 0; q < parts; ++q) {
      Region sub = reg;
      sub.width[d] = static_cast<std::uint8_t>(shift);
      sub.base[d] = reg.base[d] + static_cast<std::uint32_t>(std::uint64_t(q) << shift);
      const NodeRef child = build(std::move(children[q]), sub);
      t_.refs[first + q] = child;
    }
    return NodeRef::cut(first, static_cast<unsigned>(d), shift, c.bits);
  }

 private:
  std::size_t used() const { return t_.refs.size() * sizeof(NodeRef) + t_.leaf_units.size() * sizeof(Record); }

  std::pair<std::uint64_t, std::uint64_t> clip(std::uint32_t r, int d, const Region& reg) const {
    return {std::max<std::uint64_t>(boxes_[r].lo[d], reg.base[d]), std::min<std::uint64_t>(boxes_[r].hi[d], reg.top(d))};
  }

  // Narrows each dimension of the region to the smallest aligned block that
  // holds every rule's part of it, so cuts start at the bits that tell rules apart.
  void compact(const std::vector<std::uint32_t>& rules, Region& reg) const {
    if (rules.empty()) return;
    for (int d = 0; d < kDims; ++d) {
      const std::uint64_t ref = clip(rules[0], d, reg).first;
      std::uint64_t differ = 0;
      for (std::uint32_t r : rules) {
        const auto [lo, hi] = clip(r, d, reg);
        differ |= (lo ^ ref) | (hi ^ ref);
      }
      const auto width = static_cast<std::uint8_t>(std::bit_width(differ));
      if (width < reg.width[d]) {
        reg.width[d] = width;
        reg.base[d] = static_cast<std::uint32_t>(ref & ~((std::uint64_t(1) << width) - 1));
      }
    }
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
      if (t_.leaf_units.size() % 2) t_.leaf_units.push_back(Record{});  // start on a cache line
      it->second = NodeRef::leaf(static_cast<std::uint32_t>(t_.leaf_units.size()), static_cast<std::uint32_t>(rules.size()));
      for (std::uint32_t r : rules) t_.leaf_units.push_back(make_record(boxes_[r]));
      for (std::size_t i = 0; i < rules.size(); i += 8) {
        Record prios{};
        for (std::size_t j = i; j < std::min(i + 8, rules.size()); ++j) prios.lane[j - i] = rules[j];
        t_.leaf_units.push_back(prios);
      }
    }
    return it->second;
  }

  // HiCuts' choice: in each dimension the most parts whose children stay within
  // the space factor; of those, the dimension whose largest child is smallest.
  Cut choose_cut(const std::vector<std::uint32_t>& rules, const Region& reg) const {
    Cut best;
    const double room = p_.space_factor * double(rules.size()) + double(p_.extra_room);
    std::vector<std::int64_t> diff;
    for (int d = 0; d < kDims; ++d) {
      const unsigned maxb = std::min<unsigned>({reg.width[d], p_.max_cut_bits, kMaxCutBits});
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
        for (std::size_t q = 0; q < parts; ++q) mx = std::max(mx, run += diff[q]);
        dim_best = {d, b, static_cast<std::size_t>(mx), total};
      }
      if (dim_best.dim < 0 || dim_best.max_child == rules.size()) continue;
      if (best.dim < 0 || dim_best.max_child < best.max_child ||
          (dim_best.max_child == best.max_child && dim_best.total < best.total))
        best = dim_best;
    }
    return best;
  }

  // A leaf rule's record and its share of the priorities.
  static constexpr std::size_t kLeafBytesPerRule = sizeof(Record) + sizeof(std::uint32_t);

  const std::vector<Box>& boxes_;
  const CutParams& p_;
  CutTables& t_;
  std::size_t budget_;
  std::unordered_map<std::vector<std::uint32_t>, NodeRef, ListHash> leaves_;
};

}  // namespace

CutTables build_cut_tables(std::span<const ClassRule> rules, const ClassifierOptions& options, const CutParams& params) {
  std::vector<Box> boxes;
  CutTables t;
  normalise(rules, boxes, t.ids);

  // Partitions by which addresses are large, three trees at most: small
  // source; large source but small destination; both large. Cutting an address
  // in the tree that holds it small never copies a wildcard into every child.
  const std::uint64_t large = std::uint64_t(1) << params.large_address_bits;
  auto is_large = [&](int d, const Box& b) { return std::uint64_t(b.hi[d]) - b.lo[d] + 1 > large; };
  std::array<std::vector<std::uint32_t>, 3> parts;
  for (std::uint32_t i = 0; i < boxes.size(); ++i)
    parts[!is_large(0, boxes[i]) ? 0 : !is_large(1, boxes[i]) ? 1 : 2].push_back(i);
  t.refs.push_back(NodeRef{});  // refs[0] exists: walk_scalar re-reads it for keys already at a leaf
  // Node offsets are u32 and the SIMD walks index refs in 32-bit words: 4 GiB
  // of tree is far beyond any useful size, and keeps both in range.
  Builder b(boxes, params, t, std::min<std::size_t>(options.max_memory_bytes, std::size_t(1) << 32));
  Region whole{};
  for (int d = 0; d < kDims; ++d) whole.width[d] = kDimBits[d];
  for (auto& p : parts) {
    if (p.empty()) continue;
    const std::uint32_t first = p.front();
    t.trees.push_back({b.build(std::move(p), whole), first});
  }
  std::sort(t.trees.begin(), t.trees.end(), [](const CutTree& x, const CutTree& y) { return x.first_rule < y.first_rule; });
  t.leaf_units.resize(t.leaf_units.size() + kRecordGroup);  // see kRecordGroup
  PM_ASSERT(t.refs.size() < (std::size_t(1) << 30) && t.leaf_units.size() < (std::size_t(1) << 32),
            "cut tree offsets out of range");
  t.refs.shrink_to_fit();
  t.leaf_units.shrink_to_fit();
  t.ids.shrink_to_fit();
  return t;
}

bool have_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
bool have_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

namespace {

// Scalar test of a record against the key vector: every lane <=.
struct ScalarOps {
  static std::uint32_t first_match(const Record* r, std::uint32_t n, const KeyVec& k) {
    std::uint32_t q = 0;
    while (q < n && !record_matches(r[q], k)) ++q;
    return q;
  }
  static void walk(const NodeRef* refs, const BatchDims& dims, std::uint32_t off[kBatch], std::uint32_t info[kBatch]) {
    walk_scalar(refs, dims, off, info);
  }
};

}  // namespace

std::unique_ptr<Classifier> build_cuts_scalar(std::span<const ClassRule> rules, const ClassifierOptions& options) {
  return std::make_unique<CutsClassifier<ScalarOps>>(build_cut_tables(rules, options), "cuts");
}

}  // namespace portmatrix::detail
