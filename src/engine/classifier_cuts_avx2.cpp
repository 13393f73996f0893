// The "cuts-avx2" variant: the cut-tree lookup compiled for AVX2, testing a
// record against the key with two 256-bit unsigned compares.
#include <immintrin.h>

#include "engine/classifier_internal.hpp"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#include "engine/cuts_lookup.ipp"

namespace portmatrix::detail {
namespace {

struct Avx2Ops {
  // Every lane r <= k: max(r, k) == k in both halves (lanes 12..15 of k are all ones).
  static bool match(const Record& r, const KeyVec& k) {
    const __m256i r0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(r.lane));
    const __m256i r1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(r.lane + 8));
    const __m256i k0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(k.lane));
    const __m256i k1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(k.lane + 8));
    const __m256i eq = _mm256_and_si256(_mm256_cmpeq_epi32(_mm256_max_epu32(r0, k0), k0),
                                        _mm256_cmpeq_epi32(_mm256_max_epu32(r1, k1), k1));
    return _mm256_movemask_epi8(eq) == -1;
  }
};

}  // namespace

std::unique_ptr<Classifier> build_cuts_avx2(std::span<const ClassRule> rules, const ClassifierOptions& options) {
  return std::make_unique<CutsClassifier<Avx2Ops>>(build_cut_tables(rules, options), "cuts-avx2");
}

}  // namespace portmatrix::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
