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
  // Two records per 512-bit load (a leaf's records start on a cache line).
  // Record A's u32 lanes are mask bits 0..3 of the u32 compare and its u16
  // lanes bits 8..15 of the u16 compare; record B's are bits 8..11 and 24..31
  // (kept apart in one 64-bit word: u32 compare mask high, u16 mask low).
  static std::uint32_t first_match(const Record* r, std::uint32_t n, const KeyVec& k) {
    const __m512i kv = _mm512_broadcast_i64x4(_mm256_load_si256(reinterpret_cast<const __m256i*>(k.lane)));
    for (std::uint32_t base = 0; base < n; base += kRecordGroup) {
      std::uint32_t hits = 0;
      const std::uint32_t group = std::min(n - base, kRecordGroup);
      for (std::uint32_t q = 0; q < group; q += 2) {
        const __m512i v = _mm512_load_si512(r + base + q);
        const std::uint64_t m = std::uint64_t(_mm512_cmple_epu32_mask(v, kv)) << 32 | _mm512_cmple_epu16_mask(v, kv);
        constexpr std::uint64_t kA = 0x0000000f'0000ff00ull, kB = 0x00000f00'ff000000ull;
        const std::uint32_t a = (m & kA) == kA, b = (m & kB) == kB;
        hits |= (a | b << 1) << q;
      }
      hits &= (1u << group) - 1;
      if (hits) return base + static_cast<std::uint32_t>(__builtin_ctz(hits));
    }
    return n;
  }

  // One step for 16 keys per vector, every vector of the batch in the same
  // loop so all their misses are in flight together: gather each key's
  // dimension value, then its child's two words. Lanes whose node is a leaf
  // (sign bit of info clear) are masked off and keep their node.
  static void walk(const NodeRef* refs, const BatchDims& dims, std::uint32_t off[kBatch], std::uint32_t info[kBatch]) {
    static_assert(kBatch % 16 == 0 && sizeof(NodeRef) == 8);
    constexpr std::size_t kVecs = kBatch / 16;
    const auto* words = reinterpret_cast<const int*>(refs);
    const __m512i sign = _mm512_set1_epi32(std::int32_t(NodeRef::kInternal));
    const __m512i seven = _mm512_set1_epi32(7), low5 = _mm512_set1_epi32(31), low16 = _mm512_set1_epi32(0xffff);
    __m512i o[kVecs], in[kVecs], lane[kVecs];
    __mmask16 act[kVecs];
    for (std::size_t v = 0; v < kVecs; ++v) {
      o[v] = _mm512_load_si512(off + 16 * v);
      in[v] = _mm512_load_si512(info + 16 * v);
      lane[v] = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                 _mm512_set1_epi32(static_cast<int>(16 * v)));
      act[v] = _mm512_test_epi32_mask(in[v], sign);
    }
    for (;;) {
      __mmask16 any = 0;
      for (std::size_t v = 0; v < kVecs; ++v) any |= act[v];
      if (!any) break;
      for (std::size_t v = 0; v < kVecs; ++v) {
        const __m512i d = _mm512_and_si512(_mm512_srli_epi32(in[v], 28), seven);
        const __m512i at_dim = _mm512_add_epi32(_mm512_mullo_epi32(d, _mm512_set1_epi32(kBatch)), lane[v]);
        const __m512i k = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), act[v], at_dim, &dims[0][0], 4);
        const __m512i sh = _mm512_and_si512(_mm512_srli_epi32(in[v], 23), low5);
        const __m512i slot = _mm512_and_si512(_mm512_srlv_epi32(k, sh), _mm512_and_si512(in[v], low16));
        const __m512i at = _mm512_slli_epi32(_mm512_add_epi32(o[v], slot), 1);  // in 32-bit words
        o[v] = _mm512_mask_i32gather_epi32(o[v], act[v], at, words, 4);
        in[v] = _mm512_mask_i32gather_epi32(in[v], act[v], at, words + 1, 4);
        act[v] = _mm512_mask_test_epi32_mask(act[v], in[v], sign);
      }
    }
    for (std::size_t v = 0; v < kVecs; ++v) {
      _mm512_store_si512(off + 16 * v, o[v]);
      _mm512_store_si512(info + 16 * v, in[v]);
    }
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
