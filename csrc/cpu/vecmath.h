// Branch-free float32 exp/log/cos for the CPU kernels. Written with plain arithmetic, selects and
// bit casts so that GCC vectorises the loops that call them (each kernel file is compiled for
// x86-64-v4, x86-64-v3 and the x86-64 baseline; see CMakeLists.txt and cpu/dispatch.cpp); a
// scalar libm call per element would be an order of magnitude slower.
//
// Accuracy (checked through the kernels against the float64 reference in
// tests/test_bernoulli_nll.py, tests/test_gaussian_sample_kl.py and tests/test_rng.py):
//   exp_f32  Cody-Waite reduction + degree-5 minimax polynomial (Cephes expf coefficients):
//            <= 2 ulp on [-87.3, 88.7]; gradual underflow to 0 below; +inf above 88.72; NaN kept.
//   log_f32  exponent/mantissa split + degree-8 minimax polynomial (Cephes logf coefficients):
//            <= 2 ulp for positive normal inputs (the only inputs the kernels pass it).
//   exp_nonpositive_f32, log1p_unit_f32: lean versions for the BCE loops (see each).
//   cos_f32  three-part Cody-Waite reduction by pi/4 + Cephes sin/cos polynomials:
//            <= 2 ulp-of-1 absolute for |x| <= 8192.
#pragma once
#include <cstdint>
#include <cstring>

#include "../common.h"

// Forced inlining: a call left in a loop body stops GCC from vectorising the loop.
#define BV_CPU_INLINE inline __attribute__((always_inline))

BV_NAMESPACE_BEGIN
namespace cpu {

BV_CPU_INLINE float bits_as_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

BV_CPU_INLINE uint32_t float_as_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// 2^n for integer n in [-126, 127], built from the exponent field.
BV_CPU_INLINE float pow2_int(int32_t n) { return bits_as_float(static_cast<uint32_t>(n + 127) << 23); }

BV_CPU_INLINE float exp_f32(float x) {
  constexpr float kMax = 88.72283935546875f;  // ln(FLT_MAX)
  constexpr float kMin = -103.972084045410f;  // below: rounds to 0
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  const float xc = x < kMin ? kMin : (x > kMax ? kMax : x);
  const float n = __builtin_floorf(xc * kLog2e + 0.5f);
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r2 + r + 1.0f;
  // Scale by 2^n in two halves so that results in the subnormal range and near FLT_MAX are exact.
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1;
  float y = er * pow2_int(n1) * pow2_int(ni - n1);
  y = x > kMax ? __builtin_inff() : y;
  y = x < kMin ? 0.0f : y;
  return x != x ? x : y;
}

// log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: f - f^2/2 + f^3 P(f) (Cephes logf polynomial).
BV_CPU_INLINE float log1p_core(float f) {
  const float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  return f + (p * f * z - 0.5f * z);
}

// Natural log of a positive normal float.
BV_CPU_INLINE float log_f32(float x) {
  constexpr float kSqrtHalf = 0.707106781186547524f;
  const uint32_t bits = float_as_bits(x);
  float e = static_cast<float>(static_cast<int32_t>((bits >> 23) & 0xffu) - 126);
  const float m = bits_as_float((bits & 0x007fffffu) | 0x3f000000u);  // mantissa in [0.5, 1)
  const bool small = m < kSqrtHalf;
  e = small ? e - 1.0f : e;
  const float f = small ? m + m - 1.0f : m - 1.0f;
  // ln2 split in two so that e*ln2 adds no rounding error of its own.
  return (log1p_core(f) + -2.12194440e-4f * e) + 0.693359375f * e;
}

// exp(x) for x <= 0, cheaper than exp_f32 for the BCE loops: 2^y with y = x*log2(e); results
// below 2^-126 ~ 1.2e-38 (x < -87.3, also x = -inf) are returned as 0 (an absolute error under
// 1.2e-38, so a saturated logit costs exactly 0 nats), NaN is not handled (the callers pass -|x|),
// 2^frac(y) from a degree-6 polynomial (fitted by us on Chebyshev nodes; <= 1.1e-7 relative in
// fp32), and 2^floor(y) added to the exponent bits instead of multiplied.
BV_CPU_INLINE float exp_nonpositive_f32(float x) {
  float y = x * 1.44269504088896341f;
  const bool underflow = y < -126.0f;
  y = underflow ? -126.0f : y;
  const float n = __builtin_floorf(y);
  const float f = y - n;  // [0, 1)
  float p = 2.1877505059819669e-4f;
  p = p * f + 1.2387821916490793e-3f;
  p = p * f + 9.684580378234386e-3f;
  p = p * f + 5.548042804002762e-2f;
  p = p * f + 2.402305006980896e-1f;
  p = p * f + 6.931469440460205e-1f;
  p = p * f + 1.0f;
  const float r = bits_as_float(float_as_bits(p) + (static_cast<uint32_t>(static_cast<int32_t>(n)) << 23));
  return underflow ? 0.0f : r;
}

// log1p(e) for e in [0, 1] as e*q(e), q a degree-8 polynomial (fitted by us on Chebyshev nodes):
// <= 2e-7 relative in fp32 over the whole interval, exact in relative terms as e -> 0, and no
// division or select (1 + e is never formed, so a tiny e is not rounded away).
BV_CPU_INLINE float log1p_unit_f32(float e) {
  float q = 5.25345793e-3f;
  q = q * e - 2.95885075e-2f;
  q = q * e + 7.83616677e-2f;
  q = q * e - 1.36747703e-1f;
  q = q * e + 1.91114306e-1f;
  q = q * e - 2.48443693e-1f;
  q = q * e + 3.33192706e-1f;
  q = q * e - 4.99995023e-1f;
  q = q * e + 1.0f;
  return q * e;
}

BV_CPU_INLINE float cos_f32(float x) {
  constexpr float kFourOverPi = 1.27323954473516f;
  constexpr float kPiOver4Hi = 0.78515625f;
  constexpr float kPiOver4Mid = 2.4187564849853515625e-4f;
  constexpr float kPiOver4Lo = 3.77489497744594108e-8f;
  const float ax = __builtin_fabsf(x);
  int32_t j = static_cast<int32_t>(ax * kFourOverPi);
  j = (j + 1) & ~1;  // nearest even multiple of pi/4, i.e. a multiple of pi/2
  const float y = static_cast<float>(j);
  float r = ax - y * kPiOver4Hi;
  r = r - y * kPiOver4Mid;
  r = r - y * kPiOver4Lo;
  const float z = r * r;
  float c = 2.443315711809948e-5f;
  c = c * z - 1.388731625493765e-3f;
  c = c * z + 4.166664568298827e-2f;
  c = c * z * z - 0.5f * z + 1.0f;
  float s = -1.9515295891e-4f;
  s = s * z + 8.3321608736e-3f;
  s = s * z - 1.6666654611e-1f;
  s = s * z * r + r;
  const int32_t quadrant = (j >> 1) & 3;  // cos(r + quadrant * pi/2)
  const float even = (quadrant & 1) ? s : c;
  return ((quadrant + 1) & 2) ? -even : even;  // negative in quadrants 1 and 2
}

}  // namespace cpu
BV_NAMESPACE_END
