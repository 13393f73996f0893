// The variant table, the linear reference variant and the IPv6 front end.
#include "portmatrix/classifier.hpp"

#include <algorithm>
#include <chrono>

#include "engine/classifier_internal.hpp"
#include "portmatrix/diag.hpp"

namespace portmatrix {

void Classifier::classify(std::span<const ClassKey> keys, std::span<std::int32_t> out) const {
  PM_ASSERT(keys.size() == out.size(), "classify: keys and out differ in size");
  for (std::size_t i = 0; i < keys.size(); ++i) out[i] = classify(keys[i]);
}

namespace {

// The reference: every rule in order, the definition of a match. Kept simple on purpose.
class LinearClassifier final : public Classifier {
 public:
  explicit LinearClassifier(std::span<const ClassRule> rules) : rules_(rules.begin(), rules.end()) {}
  std::int32_t classify(const ClassKey& key) const override {
    for (const ClassRule& r : rules_)
      if (rule_matches(r, key)) return r.id;
    return -1;
  }
  using Classifier::classify;
  std::size_t memory_bytes() const override { return rules_.capacity() * sizeof(ClassRule); }
  std::string_view variant() const override { return "linear"; }

 private:
  std::vector<ClassRule> rules_;
};

bool always() { return true; }

std::unique_ptr<Classifier> build_linear(std::span<const ClassRule> rules, const ClassifierOptions&) {
  return std::make_unique<LinearClassifier>(rules);
}

const ClassifierVariant kVariants[] = {
    {"linear", "scalar linear scan in rule order (the reference)", always, build_linear},
    {"cuts", "cut trees over rule partitions; batches of 32 keys walked in lockstep, scalar record tests", always,
     detail::build_cuts_scalar},
    {"cuts-avx2", "cut trees; AVX2 gathers walk 4x8 keys at once, AVX2 record tests", detail::have_avx2,
     detail::build_cuts_avx2},
    {"cuts-avx512", "cut trees; AVX-512 gathers walk 2x16 keys at once, two records per masked compare",
     detail::have_avx512, detail::build_cuts_avx512},
};

}  // namespace

std::span<const ClassifierVariant> classifier_variants() { return kVariants; }

const ClassifierVariant* find_classifier_variant(std::string_view name) {
  for (const auto& v : kVariants)
    if (v.name == name) return &v;
  return nullptr;
}

const ClassifierVariant& default_classifier_variant() {
  for (std::size_t i = std::size(kVariants); i-- > 0;)
    if (kVariants[i].available()) return kVariants[i];
  return kVariants[0];
}

std::unique_ptr<Classifier> build_classifier(std::span<const ClassRule> rules, const ClassifierVariant* variant,
                                             const ClassifierOptions& options) {
  const ClassifierVariant& v = variant ? *variant : default_classifier_variant();
  PM_ASSERT(v.available(), "build_classifier: the variant needs instructions this CPU lacks");
  return v.build(rules, options);
}

double lookups_per_second(const Classifier& c, std::span<const ClassKey> keys, double min_seconds) {
  if (keys.empty()) return 0;
  std::vector<std::int32_t> out(keys.size());
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::size_t done = 0;
  double elapsed = 0;
  do {
    c.classify(keys, out);
    done += keys.size();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < min_seconds);
  return double(done) / elapsed;
}

// ---- IPv6 -------------------------------------------------------------------

namespace {

// The starts of the elementary intervals that the bounds of [lo, hi] ranges cut
// the address space into: 0, every lo, every hi + 1.
std::vector<u128> interval_starts(std::span<const ClassRule6> rules, bool src) {
  std::vector<u128> s{0};
  for (const auto& r : rules) {
    const u128 lo = src ? r.src_lo : r.dst_lo, hi = src ? r.src_hi : r.dst_hi;
    if (lo > hi) continue;
    s.push_back(lo);
    if (hi != ~u128(0)) s.push_back(hi + 1);
  }
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return s;
}

std::uint32_t interval_of(const std::vector<u128>& starts, u128 a) {
  return static_cast<std::uint32_t>(std::upper_bound(starts.begin(), starts.end(), a) - starts.begin() - 1);
}

}  // namespace

Classifier6::Classifier6(std::span<const ClassRule6> rules, const ClassifierVariant* variant,
                         const ClassifierOptions& options)
    : src_starts_(interval_starts(rules, true)), dst_starts_(interval_starts(rules, false)) {
  std::vector<ClassRule> mapped;
  mapped.reserve(rules.size());
  for (const auto& r : rules) {
    if (r.src_lo > r.src_hi || r.dst_lo > r.dst_hi) continue;  // matches nothing
    ClassRule m;
    // lo starts an interval and hi + 1 starts the next one, so [lo, hi] is exactly
    // the intervals interval_of(lo) .. interval_of(hi).
    m.src_lo = interval_of(src_starts_, r.src_lo);
    m.src_hi = interval_of(src_starts_, r.src_hi);
    m.dst_lo = interval_of(dst_starts_, r.dst_lo);
    m.dst_hi = interval_of(dst_starts_, r.dst_hi);
    m.sport_lo = r.sport_lo, m.sport_hi = r.sport_hi;
    m.dport_lo = r.dport_lo, m.dport_hi = r.dport_hi;
    m.proto = r.proto, m.proto_mask = r.proto_mask;
    m.direction = r.direction, m.iface = r.iface, m.id = r.id;
    mapped.push_back(m);
  }
  inner_ = build_classifier(mapped, variant, options);
}

ClassKey Classifier6::map(const ClassKey6& k) const {
  ClassKey m;
  m.src = interval_of(src_starts_, k.src);
  m.dst = interval_of(dst_starts_, k.dst);
  m.sport = k.sport, m.dport = k.dport, m.proto = k.proto;
  m.direction = k.direction, m.iface = k.iface;
  return m;
}

std::int32_t Classifier6::classify(const ClassKey6& key) const { return inner_->classify(map(key)); }

std::size_t Classifier6::memory_bytes() const {
  return inner_->memory_bytes() + (src_starts_.capacity() + dst_starts_.capacity()) * sizeof(u128);
}

}  // namespace portmatrix
