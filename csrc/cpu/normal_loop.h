// The one loop that walks elements [begin, end) with their standard normal eps (counter
// offset + i): blocks of 16 from the AVX-512 Philox where available, the scalar Philox of
// philox.h (vectorised by GCC) otherwise and for the tail. Both give identical words, so the
// noise does not depend on which path an element took.
#pragma once
#include <cstdint>

#include "../philox.h"
#include "philox_avx512.h"

BV_NAMESPACE_BEGIN
namespace cpu {

// Calls body(i, eps) for every i in [begin, end); body must be inlinable and free of loop-carried
// dependences (the loops are `omp simd`).
template <typename Body>
inline __attribute__((always_inline)) void for_each_normal(uint64_t seed, uint64_t offset,
                                                           int64_t begin, int64_t end,
                                                           const Body& body) {
  int64_t i = begin;
#if defined(BV_AVX512_AVAILABLE)
  alignas(64) uint32_t w0[16], w1[16];
  for (; i + 16 <= end; i += 16) {
    philox16_w01(seed, offset + static_cast<uint64_t>(i), w0, w1);
#pragma omp simd
    for (int lane = 0; lane < 16; ++lane) body(i + lane, normal_from_words(w0[lane], w1[lane]));
  }
#endif
#pragma omp simd
  for (int64_t j = i; j < end; ++j) body(j, normal_at(seed, offset + static_cast<uint64_t>(j)));
}

}  // namespace cpu
BV_NAMESPACE_END
