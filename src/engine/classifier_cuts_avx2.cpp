// The "cuts-avx2" variant: the cut-tree lookup compiled for AVX2, testing a
// record against the key with one 256-bit load and two compares.
#include <immintrin.h>

#include <algorithm>

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
  // AVX2 has no unsigned compare: r <= k is max(r, k) == k. Lanes 0..3 as u32,
  // lanes 4..7 as u16 pairs; every byte of the combined mask must be set.
  static bool match(const Record& r, const __m256i kv) {
    const __m256i rv = _mm256_load_si256(reinterpret_cast<const __m256i*>(r.lane));
    const auto m32 = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi32(_mm256_max_epu32(rv, kv), kv)));
    const auto m16 = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_max_epu16(rv, kv), kv)));
    return ((m32 & 0x0000ffffu) | (m16 & 0xffff0000u)) == 0xffffffffu;
  }
  static std::uint32_t first_match(const Record* r, std::uint32_t n, const KeyVec& k) {
    const __m256i kv = _mm256_load_si256(reinterpret_cast<const __m256i*>(k.lane));
    for (std::uint32_t base = 0; base < n; base += kRecordGroup) {
      std::uint32_t hits = 0;
      const std::uint32_t group = std::min(n - base, kRecordGroup);
      for (std::uint32_t q = 0; q < group; ++q) hits |= std::uint32_t(match(r[base + q], kv)) << q;
      if (hits) return base + static_cast<std::uint32_t>(__builtin_ctz(hits));
    }
    return n;
  }

  // One step for eight keys per vector, every vector of the batch in the same
  // loop: gather each key's dimension value, then its child's two words. info
  // doubles as the gather mask: its sign bit is set exactly while the key is at
  // an internal node.
  static void walk(const NodeRef* refs, const BatchDims& dims, std::uint32_t off[kBatch], std::uint32_t info[kBatch]) {
    static_assert(kBatch % 8 == 0 && sizeof(NodeRef) == 8);
    constexpr std::size_t kVecs = kBatch / 8;
    const auto* words = reinterpret_cast<const int*>(refs);
    const auto* dimw = reinterpret_cast<const int*>(&dims[0][0]);
    const __m256i seven = _mm256_set1_epi32(7), low5 = _mm256_set1_epi32(31), low16 = _mm256_set1_epi32(0xffff);
    __m256i o[kVecs], in[kVecs], lane[kVecs];
    for (std::size_t v = 0; v < kVecs; ++v) {
      o[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(off + 8 * v));
      in[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(info + 8 * v));
      lane[v] = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(8 * v)));
    }
    for (;;) {
      __m256i any = in[0];
      for (std::size_t v = 1; v < kVecs; ++v) any = _mm256_or_si256(any, in[v]);
      if (!_mm256_movemask_ps(_mm256_castsi256_ps(any))) break;
      for (std::size_t v = 0; v < kVecs; ++v) {
        const __m256i d = _mm256_and_si256(_mm256_srli_epi32(in[v], 28), seven);
        const __m256i at_dim = _mm256_add_epi32(_mm256_mullo_epi32(d, _mm256_set1_epi32(kBatch)), lane[v]);
        const __m256i k = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), dimw, at_dim, in[v], 4);
        const __m256i sh = _mm256_and_si256(_mm256_srli_epi32(in[v], 23), low5);
        const __m256i slot = _mm256_and_si256(_mm256_srlv_epi32(k, sh), _mm256_and_si256(in[v], low16));
        const __m256i at = _mm256_slli_epi32(_mm256_add_epi32(o[v], slot), 1);  // in 32-bit words
        const __m256i next_off = _mm256_mask_i32gather_epi32(o[v], words, at, in[v], 4);
        in[v] = _mm256_mask_i32gather_epi32(in[v], words + 1, at, in[v], 4);
        o[v] = next_off;
      }
    }
    for (std::size_t v = 0; v < kVecs; ++v) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(off + 8 * v), o[v]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(info + 8 * v), in[v]);
    }
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
