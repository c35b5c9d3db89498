// CPU loops of gaussian_sample_kl: one pass forward (z and kl together), one pass backward that
// regenerates eps from (seed, offset) instead of reading a saved copy.
#include <stdexcept>

#include "../elementwise.h"
#include "../philox.h"
#include "cpu_ops.h"
#include "normal_loop.h"
#include "parallel.h"

BV_NAMESPACE_BEGIN
namespace cpu {
namespace {

template <typename T>
void forward_chunk(const T* __restrict mu, const T* __restrict lv, T* __restrict z,
                   T* __restrict kl, int64_t begin, int64_t end, uint64_t seed, uint64_t offset) {
  for_each_normal(seed, offset, begin, end, [=](int64_t i, float eps) {
    T zi, kli;
    sample_kl_forward<T>(mu[i], lv[i], static_cast<T>(eps), zi, kli);
    z[i] = zi;
    kl[i] = kli;
  });
}

template <typename T, bool kHasGradZ, bool kHasGradKl>
void backward_chunk(const T* __restrict gz, const T* __restrict gkl, const T* __restrict mu,
                    const T* __restrict lv, T* __restrict gmu, T* __restrict glv, int64_t begin,
                    int64_t end, uint64_t seed, uint64_t offset) {
  auto body = [=](int64_t i, float eps) {
    const T g_z = kHasGradZ ? gz[i] : T(0);
    const T g_kl = kHasGradKl ? gkl[i] : T(0);
    T gmu_i, glv_i;
    sample_kl_backward<T>(g_z, g_kl, mu[i], lv[i], static_cast<T>(eps), gmu_i, glv_i);
    gmu[i] = gmu_i;
    glv[i] = glv_i;
  };
  if (kHasGradZ) {
    for_each_normal(seed, offset, begin, end, body);
  } else {  // no gradient reaches z: eps is not needed
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) body(i, 0.0f);
  }
}

template <typename T>
void forward_impl(const void* mu, const void* lv, void* z, void* kl, int64_t n, uint64_t seed,
                  uint64_t offset, int num_threads) {
  parallel_for_chunks(ceil_div(n, kElementChunk), num_threads, [&](int64_t chunk) {
    const int64_t begin = chunk * kElementChunk;
    const int64_t end = begin + kElementChunk < n ? begin + kElementChunk : n;
    forward_chunk<T>(static_cast<const T*>(mu), static_cast<const T*>(lv), static_cast<T*>(z),
                     static_cast<T*>(kl), begin, end, seed, offset);
  });
}

template <typename T, bool kHasGradZ, bool kHasGradKl>
void backward_impl(const void* gz, const void* gkl, const void* mu, const void* lv, void* gmu,
                   void* glv, int64_t n, uint64_t seed, uint64_t offset, int num_threads) {
  parallel_for_chunks(ceil_div(n, kElementChunk), num_threads, [&](int64_t chunk) {
    const int64_t begin = chunk * kElementChunk;
    const int64_t end = begin + kElementChunk < n ? begin + kElementChunk : n;
    backward_chunk<T, kHasGradZ, kHasGradKl>(
        static_cast<const T*>(gz), static_cast<const T*>(gkl), static_cast<const T*>(mu),
        static_cast<const T*>(lv), static_cast<T*>(gmu), static_cast<T*>(glv), begin, end, seed,
        offset);
  });
}

template <typename T>
void backward_dispatch(const void* gz, const void* gkl, const void* mu, const void* lv, void* gmu,
                       void* glv, int64_t n, uint64_t seed, uint64_t offset, int num_threads) {
  if (gz && gkl) {
    backward_impl<T, true, true>(gz, gkl, mu, lv, gmu, glv, n, seed, offset, num_threads);
  } else if (gz) {
    backward_impl<T, true, false>(gz, gkl, mu, lv, gmu, glv, n, seed, offset, num_threads);
  } else if (gkl) {
    backward_impl<T, false, true>(gz, gkl, mu, lv, gmu, glv, n, seed, offset, num_threads);
  } else {
    backward_impl<T, false, false>(gz, gkl, mu, lv, gmu, glv, n, seed, offset, num_threads);
  }
}

[[noreturn]] void bad_dtype() {
  throw std::invalid_argument("gaussian_sample_kl (cpu): dtype must be float32 or float64");
}

}  // namespace

void gaussian_sample_kl_forward(const void* mu, const void* logvar, void* z, void* kl, int64_t n,
                                int dtype, uint64_t seed, uint64_t offset, int num_threads) {
  if (dtype == kFloat32) return forward_impl<float>(mu, logvar, z, kl, n, seed, offset, num_threads);
  if (dtype == kFloat64) return forward_impl<double>(mu, logvar, z, kl, n, seed, offset, num_threads);
  bad_dtype();
}

void gaussian_sample_kl_backward(const void* grad_z, const void* grad_kl, const void* mu,
                                 const void* logvar, void* grad_mu, void* grad_logvar, int64_t n,
                                 int dtype, uint64_t seed, uint64_t offset, int num_threads) {
  if (dtype == kFloat32) {
    return backward_dispatch<float>(grad_z, grad_kl, mu, logvar, grad_mu, grad_logvar, n, seed,
                                    offset, num_threads);
  }
  if (dtype == kFloat64) {
    return backward_dispatch<double>(grad_z, grad_kl, mu, logvar, grad_mu, grad_logvar, n, seed,
                                     offset, num_threads);
  }
  bad_dtype();
}

}  // namespace cpu
BV_NAMESPACE_END
