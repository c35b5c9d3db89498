// Per-element math of the fused ops, shared by the CPU loops and the CUDA kernels (host + device).
// Loops and launches live in cpu/ and cuda/ and contain no math of their own.
//
//   bernoulli_nll   loss(x, t) = max(x, 0) - x*t + log1p(exp(-|x|)),   d/dx = sigmoid(x) - t
//                   (uint8 targets: any non-zero byte is 1; see binary_target)
//   gaussian_sample_kl  z = mu + exp(lv/2)*eps,   kl = 0.5*(mu^2 + exp(lv) - lv - 1)
//       d/dmu = gz + gkl*mu,   d/dlv = gz*eps*exp(lv/2)/2 + gkl*(exp(lv) - 1)/2
#pragma once
#include <cmath>

#include "common.h"
#if !defined(__CUDA_ARCH__)
#include "cpu/vecmath.h"
#endif

BV_NAMESPACE_BEGIN

BV_HD float fused_exp(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return cpu::exp_f32(x);
#endif
}
BV_HD double fused_exp(double x) { return exp(x); }

// exp(x) for x <= 0 (the BCE's exp(-|x|)); a leaner polynomial on the CPU.
BV_HD float fused_exp_nonpositive(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return cpu::exp_nonpositive_f32(x);
#endif
}
BV_HD double fused_exp_nonpositive(double x) { return exp(x); }

// log1p(e) for e in [0, 1]: libm on the GPU, a vectorisable division-free polynomial on the CPU
// (cpu/vecmath.h); double uses libm everywhere.
BV_HD float log1p_unit(float e) {
#if defined(__CUDA_ARCH__)
  return log1pf(e);
#else
  return cpu::log1p_unit_f32(e);
#endif
}
BV_HD double log1p_unit(double e) { return log1p(e); }

// max(x, 0) - x*t written as |x|*w, w = 1 - t for x > 0 and t otherwise, and 0 when w = 0: the
// same value for finite x and binary t, and the true one at x = +-inf (0 for the matching target,
// inf for the other) where max(x, 0) - x*t is inf - inf.
template <typename T>
BV_HD T bce_linear_part(T x, T ax, T t) {
  const T w = x > T(0) ? T(1) - t : t;
  return w == T(0) ? T(0) : ax * w;
}

// Bernoulli negative log-likelihood of target t under logit x (binary cross-entropy with logits).
template <typename T>
BV_HD T bce_with_logits(T x, T t) {
  const T ax = x < T(0) ? -x : x;
  return bce_linear_part(x, ax, t) + log1p_unit(fused_exp_nonpositive(-ax));
}

// d bce / dx = sigmoid(x) - t, with sigmoid from exp(-|x|) so that it never overflows.
template <typename T>
BV_HD T bce_with_logits_grad(T x, T t) {
  const T ax = x < T(0) ? -x : x;
  const T e = fused_exp_nonpositive(-ax);
  const T inv = T(1) / (T(1) + e);
  const T sig = x >= T(0) ? inv : e * inv;
  return sig - t;
}

// The loss and its derivative together, sharing exp(-|x|): the same bits as bce_with_logits and
// bce_with_logits_grad (the same operations in the same order).
template <typename T>
BV_HD void bce_with_logits_and_grad(T x, T t, T& loss, T& grad) {
  const T ax = x < T(0) ? -x : x;
  const T e = fused_exp_nonpositive(-ax);
  loss = bce_linear_part(x, ax, t) + log1p_unit(e);
  const T inv = T(1) / (T(1) + e);
  grad = (x >= T(0) ? inv : e * inv) - t;
}

// A target element as the loss reads it: float targets as they are (soft targets allowed), uint8
// targets as binary (0 -> 0, any other byte -> 1, so 0/1 and 0/255 masks mean the same).
template <typename T, typename U>
BV_HD T binary_target(U t) {
  return static_cast<T>(t);
}
template <typename T>
BV_HD T binary_target(uint8_t t) {
  return t != 0 ? T(1) : T(0);
}

// Reparameterised sample and KL(N(mu, exp(lv)) || N(0, 1)) of one latent element.
template <typename T>
BV_HD void sample_kl_forward(T mu, T lv, T eps, T& z, T& kl) {
  const T sigma = fused_exp(T(0.5) * lv);
  z = mu + sigma * eps;
  kl = T(0.5) * (mu * mu + sigma * sigma - lv - T(1));
}

// Gradients of (z, kl) w.r.t. (mu, lv), given upstream grads gz and gkl (either may be zero).
template <typename T>
BV_HD void sample_kl_backward(T gz, T gkl, T mu, T lv, T eps, T& gmu, T& glv) {
  const T sigma = fused_exp(T(0.5) * lv);
  gmu = gz + gkl * mu;
  glv = T(0.5) * (gz * eps * sigma + gkl * (sigma * sigma - T(1)));
}

BV_NAMESPACE_END
