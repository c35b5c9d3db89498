// Philox4x32-10 counter-based RNG and the uniform/normal transforms of Triton's tl.randint4x,
// tl.rand and tl.randn. Shared by the C++ and CUDA backends so every backend draws the same noise:
// element i of a draw uses key (seed lo, seed hi) and counter (offset + i lo, hi, 0, 0).
// Must not be compiled with fast-math: the normal transform relies on accurate log/cos/sqrt.
#pragma once
#include <cmath>

#include "common.h"
#if !defined(__CUDA_ARCH__)
#include "cpu/vecmath.h"
#endif

BV_NAMESPACE_BEGIN

constexpr uint32_t kPhiloxMulA = 0xD2511F53u;
constexpr uint32_t kPhiloxMulB = 0xCD9E8D57u;
constexpr uint32_t kPhiloxKeyA = 0x9E3779B9u;
constexpr uint32_t kPhiloxKeyB = 0xBB67AE85u;
constexpr float kUniformScale = 4.6566127342e-10f;  // largest s with INT32_MAX * s < 1 in fp32

BV_HD uint32_t mul_hi_lo(uint32_t a, uint32_t b, uint32_t& hi) {
#if defined(__CUDA_ARCH__)
  hi = __umulhi(a, b);
  return a * b;
#else
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
#endif
}

// Ten Philox rounds on counter (c0, c1, c2, c3) under key (k0, k1), in place.
BV_HD void philox4x32_10(uint32_t& c0, uint32_t& c1, uint32_t& c2, uint32_t& c3, uint32_t k0,
                         uint32_t k1) {
#if defined(__CUDACC__)
#pragma unroll
#else
#pragma GCC unroll 10
#endif
  for (int round = 0; round < 10; ++round) {
    uint32_t hi_b, hi_a;
    const uint32_t lo_b = mul_hi_lo(kPhiloxMulB, c2, hi_b);
    const uint32_t lo_a = mul_hi_lo(kPhiloxMulA, c0, hi_a);
    c0 = hi_b ^ c1 ^ k0;
    c2 = hi_a ^ c3 ^ k1;
    c1 = lo_b;
    c3 = lo_a;
    k0 += kPhiloxKeyA;
    k1 += kPhiloxKeyB;
  }
}

// The four words of counter `counter` under `seed` (tl.randint4x(seed, counter)).
BV_HD void philox_words(uint64_t seed, uint64_t counter, uint32_t& w0, uint32_t& w1, uint32_t& w2,
                        uint32_t& w3) {
  w0 = static_cast<uint32_t>(counter);
  w1 = static_cast<uint32_t>(counter >> 32);
  w2 = 0;
  w3 = 0;
  philox4x32_10(w0, w1, w2, w3, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform in [0, 1) from one word, exactly as tl.rand: fold the sign, scale by 2^-31 (rounded down).
BV_HD float uniform_from_word(uint32_t w) {
  int32_t s = static_cast<int32_t>(w);
  s = s < 0 ? ~s : s;
  return static_cast<float>(s) * kUniformScale;
}

BV_HD float rng_log(float x) {
#if defined(__CUDA_ARCH__)
  return logf(x);
#else
  return cpu::log_f32(x);
#endif
}

BV_HD float rng_cos(float x) {
#if defined(__CUDA_ARCH__)
  return cosf(x);
#else
  return cpu::cos_f32(x);
#endif
}

// Box-Muller, cosine branch, as tl.randn: uses words w0 and w1 of the counter.
BV_HD float normal_from_words(uint32_t w0, uint32_t w1) {
  const float u0 = uniform_from_word(w0);
  const float u1 = u0 < 1.0e-7f ? 1.0e-7f : u0;  // max(1e-7, u0); a select, so loops vectorise
  const float theta = 6.283185307179586f * uniform_from_word(w1);
  const float r = sqrtf(-2.0f * rng_log(u1));
  return r * rng_cos(theta);
}

// The standard normal at `counter` under `seed`.
BV_HD float normal_at(uint64_t seed, uint64_t counter) {
  uint32_t w0, w1, w2, w3;
  philox_words(seed, counter, w0, w1, w2, w3);
  return normal_from_words(w0, w1);
}

BV_NAMESPACE_END
