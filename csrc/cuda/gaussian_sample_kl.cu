// CUDA kernels of gaussian_sample_kl: one launch forward, one backward; per-element math from
// elementwise.h, eps regenerated from (seed, offset) via philox.h. Half types compute in fp32.
#include "../elementwise.h"
#include "../philox.h"
#include "launch.cuh"

namespace betavae::cuda {
namespace {

template <typename T>
__global__ void forward_kernel(const T* __restrict__ mu, const T* __restrict__ lv, T* __restrict__ z,
                               T* __restrict__ kl, int64_t n, RngArgs rng) {
  using A = typename Acc<T>::type;
  const uint64_t seed = rng_seed(rng), offset = rng_offset(rng);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const A eps = static_cast<A>(normal_at(seed, offset + uint64_t(i)));
    A zi, kli;
    sample_kl_forward<A>(static_cast<A>(mu[i]), static_cast<A>(lv[i]), eps, zi, kli);
    z[i] = static_cast<T>(zi);
    kl[i] = static_cast<T>(kli);
  }
}

template <typename T>
__global__ void backward_kernel(const T* __restrict__ gz, const T* __restrict__ gkl,
                                const T* __restrict__ mu, const T* __restrict__ lv,
                                T* __restrict__ gmu, T* __restrict__ glv, int64_t n, RngArgs rng) {
  using A = typename Acc<T>::type;
  const uint64_t seed = rng_seed(rng), offset = rng_offset(rng);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const A g_z = gz ? static_cast<A>(gz[i]) : A(0);
    const A g_kl = gkl ? static_cast<A>(gkl[i]) : A(0);
    const A eps = gz ? static_cast<A>(normal_at(seed, offset + uint64_t(i))) : A(0);
    A gmu_i, glv_i;
    sample_kl_backward<A>(g_z, g_kl, static_cast<A>(mu[i]), static_cast<A>(lv[i]), eps, gmu_i,
                          glv_i);
    gmu[i] = static_cast<T>(gmu_i);
    glv[i] = static_cast<T>(glv_i);
  }
}

}  // namespace

void gaussian_sample_kl_forward(const void* mu, const void* logvar, void* z, void* kl, int64_t n,
                                int dtype, RngArgs rng, Launch launch) {
  DeviceGuard guard(launch.device);
  dispatch_float(dtype, "gaussian_sample_kl", [&](auto tag) {
    using T = decltype(tag);
    forward_kernel<T><<<grid_for(n, 2), kThreads, 0, as_stream(launch.stream)>>>(
        static_cast<const T*>(mu), static_cast<const T*>(logvar), static_cast<T*>(z),
        static_cast<T*>(kl), n, rng);
  });
  check(cudaGetLastError(), "gaussian_sample_kl_forward");
}

void gaussian_sample_kl_backward(const void* grad_z, const void* grad_kl, const void* mu,
                                 const void* logvar, void* grad_mu, void* grad_logvar, int64_t n,
                                 int dtype, RngArgs rng, Launch launch) {
  DeviceGuard guard(launch.device);
  dispatch_float(dtype, "gaussian_sample_kl", [&](auto tag) {
    using T = decltype(tag);
    backward_kernel<T><<<grid_for(n, 2), kThreads, 0, as_stream(launch.stream)>>>(
        static_cast<const T*>(grad_z), static_cast<const T*>(grad_kl), static_cast<const T*>(mu),
        static_cast<const T*>(logvar), static_cast<T*>(grad_mu), static_cast<T*>(grad_logvar), n,
        rng);
  });
  check(cudaGetLastError(), "gaussian_sample_kl_backward");
}

}  // namespace betavae::cuda
