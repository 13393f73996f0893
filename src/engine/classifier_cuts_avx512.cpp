// The "cuts-avx512" variant: the cut-tree lookup compiled for AVX-512 (F, BW,
// VL), testing a record against the key with masked unsigned compares.
#include <immintrin.h>

#include <algorithm>

#include "engine/classifier_internal.hpp"

// GCC 12's AVX-512 shift intrinsics start from _mm512_undefined_epi32(), which
// -Wmaybe-uninitialized reports at every use (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl")
#endif

#include "engine/cuts_lookup.ipp"

namespace portmatrix::detail {
namespace {

struct Avx512Ops {
  // Lanes 0..3 compared as u32 (mask bits 0..3), lanes 4..7 as u16 pairs
  // (mask bits 8..15). The records of a group are tested without branching.
  static std::uint32_t first_match(const Record* r, std::uint32_t n, const KeyVec& k) {
    const __m256i kv = _mm256_load_si256(reinterpret_cast<const __m256i*>(k.lane));
    for (std::uint32_t base = 0; base < n; base += kRecordGroup) {
      std::uint32_t hits = 0;
      const std::uint32_t group = std::min(n - base, kRecordGroup);
      for (std::uint32_t q = 0; q < group; ++q) {
        const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(r[base + q].lane));
        const std::uint32_t m = (_mm256_cmple_epu32_mask(v, kv) & 0x0fu) | (_mm256_cmple_epu16_mask(v, kv) & 0xff00u);
        hits |= std::uint32_t(m == 0xff0fu) << q;
      }
      if (hits) return base + static_cast<std::uint32_t>(__builtin_ctz(hits));
    }
    return n;
  }

  // One step for all 16 keys at once: gather each key's dimension value, then
  // its child's two words; lanes at a leaf (sign bit of info clear) sit still.
  static void walk(const NodeRef* refs, const BatchDims& dims, std::uint32_t off[kBatch], std::uint32_t info[kBatch]) {
    static_assert(kBatch == 16 && sizeof(NodeRef) == 8);
    const auto* words = reinterpret_cast<const int*>(refs);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sign = _mm512_set1_epi32(std::int32_t(NodeRef::kInternal));
    __m512i o = _mm512_load_si512(off), in = _mm512_load_si512(info);
    for (__mmask16 act = _mm512_test_epi32_mask(in, sign); act; act = _mm512_mask_test_epi32_mask(act, in, sign)) {
      const __m512i d = _mm512_and_si512(_mm512_srli_epi32(in, 28), _mm512_set1_epi32(7));
      const __m512i k = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), act, _mm512_add_epi32(_mm512_slli_epi32(d, 4), lane),
                                                    &dims[0][0], 4);
      const __m512i sh = _mm512_and_si512(_mm512_srli_epi32(in, 23), _mm512_set1_epi32(31));
      const __m512i slot = _mm512_and_si512(_mm512_srlv_epi32(k, sh), _mm512_and_si512(in, _mm512_set1_epi32(0xffff)));
      const __m512i at = _mm512_slli_epi32(_mm512_add_epi32(o, slot), 1);  // in 32-bit words
      o = _mm512_mask_i32gather_epi32(o, act, at, words, 4);
      in = _mm512_mask_i32gather_epi32(in, act, at, words + 1, 4);
    }
    _mm512_store_si512(off, o);
    _mm512_store_si512(info, in);
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
