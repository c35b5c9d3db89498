// Philox4x32-10 for 16 consecutive counters at once with AVX-512 intrinsics. GCC's
// auto-vectorisation of the scalar rounds in philox.h widens every lane to 64 bits and shuffles
// back; here each 32x32->64 multiply is two vpmuludq (even and odd lanes) plus two blends.
// Produces exactly the words of betavae::philox_words (tests compare them bit for bit).
#pragma once
#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstdint>

#include "../philox.h"

BV_NAMESPACE_BEGIN
namespace cpu {

#define BV_AVX512_AVAILABLE 1

// hi and lo 32-bit halves of m * c for 16 lanes.
inline __attribute__((always_inline)) void mul_hi_lo16(__m512i m, __m512i c, __m512i& hi,
                                                        __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(c, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(c, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// Words 0 and 1 of counters first, first+1, ..., first+15 under seed.
inline __attribute__((always_inline)) void philox16_w01(uint64_t seed, uint64_t first,
                                                         uint32_t* w0, uint32_t* w1) {
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i base_lo = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first)));
  __m512i c0 = _mm512_add_epi32(base_lo, lanes);
  const __mmask16 carry = _mm512_cmplt_epu32_mask(c0, base_lo);
  __m512i c1 = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first >> 32)));
  c1 = _mm512_mask_add_epi32(c1, carry, c1, _mm512_set1_epi32(1));
  __m512i c2 = _mm512_setzero_si512();
  __m512i c3 = _mm512_setzero_si512();
  const __m512i mul_a = _mm512_set1_epi32(static_cast<int>(kPhiloxMulA));
  const __m512i mul_b = _mm512_set1_epi32(static_cast<int>(kPhiloxMulB));
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
#pragma GCC unroll 10
  for (int round = 0; round < 10; ++round) {
    __m512i hi_b, lo_b, hi_a, lo_a;
    mul_hi_lo16(mul_b, c2, hi_b, lo_b);
    mul_hi_lo16(mul_a, c0, hi_a, lo_a);
    c0 = _mm512_ternarylogic_epi32(hi_b, c1, _mm512_set1_epi32(static_cast<int>(k0)), 0x96);
    c2 = _mm512_ternarylogic_epi32(hi_a, c3, _mm512_set1_epi32(static_cast<int>(k1)), 0x96);
    c1 = lo_b;
    c3 = lo_a;
    k0 += kPhiloxKeyA;
    k1 += kPhiloxKeyB;
  }
  _mm512_storeu_si512(w0, c0);
  _mm512_storeu_si512(w1, c1);
}

}  // namespace cpu
BV_NAMESPACE_END
#endif
