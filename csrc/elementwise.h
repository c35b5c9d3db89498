// Per-element math of the fused ops, shared by the CPU loops and the CUDA kernels (host + device).
// Loops and launches live in cpu/ and cuda/ and contain no math of their own.
//
//   bernoulli_nll   loss(x, t) = max(x, 0) - x*t + log1p(exp(-|x|)),   d/dx = sigmoid(x) - t
//   gaussian_sample_kl  z = mu + exp(lv/2)*eps,   kl = 0.5*(mu^2 + exp(lv) - lv - 1)
//       d/dmu = gz + gkl*mu,   d/dlv = gz*eps*exp(lv/2)/2 + gkl*(exp(lv) - 1)/2
#pragma once
#include <cmath>

#include "common.h"
#if !defined(__CUDA_ARCH__)
#include "cpu/vecmath.h"
#endif

namespace betavae {

BV_HD float fused_exp(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return cpu::exp_f32(x);
#endif
}
BV_HD double fused_exp(double x) { return exp(x); }

// log1p(e) for e in [0, 1]. float: log(1+e) corrected by e/((1+e)-1) (exact to a few ulp without a
// libm log1p, which the Triton interpreter and the vectorised CPU path lack); double: libm.
BV_HD float log1p_unit(float e) {
  const float u = 1.0f + e;
  const float d = u - 1.0f;
#if defined(__CUDA_ARCH__)
  const float log_u = logf(u);
#else
  const float log_u = cpu::log_f32(u);
#endif
  return d == 0.0f ? e : log_u * (e / d);
}
BV_HD double log1p_unit(double e) { return log1p(e); }

// Bernoulli negative log-likelihood of target t under logit x (binary cross-entropy with logits).
template <typename T>
BV_HD T bce_with_logits(T x, T t) {
  const T ax = x < T(0) ? -x : x;
  const T relu = x > T(0) ? x : T(0);
  return relu - x * t + log1p_unit(fused_exp(-ax));
}

// d bce / dx = sigmoid(x) - t, with sigmoid from exp(-|x|) so that it never overflows.
template <typename T>
BV_HD T bce_with_logits_grad(T x, T t) {
  const T ax = x < T(0) ? -x : x;
  const T e = fused_exp(-ax);
  const T inv = T(1) / (T(1) + e);
  const T sig = x >= T(0) ? inv : e * inv;
  return sig - t;
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

}  // namespace betavae
