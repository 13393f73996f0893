// The "cuts-avx512" variant: the cut-tree lookup compiled for AVX-512, testing
// a record against the key with one 512-bit unsigned compare.
#include <immintrin.h>

#include "engine/classifier_internal.hpp"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif

#include "engine/cuts_lookup.ipp"

namespace portmatrix::detail {
namespace {

struct Avx512Ops {
  static bool match(const Record& r, const KeyVec& k) {
    return _mm512_cmple_epu32_mask(_mm512_load_si512(r.lane), _mm512_load_si512(k.lane)) == 0xffff;
  }
};

}  // namespace

std::unique_ptr<Classifier> build_cuts_avx512(std::span<const ClassRule> rules, const ClassifierOptions& options) {
  return std::make_unique<CutsClassifier<Avx512Ops>>(build_cut_tables(rules, options), "cuts-avx512");
}

}  // namespace portmatrix::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
