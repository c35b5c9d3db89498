// CUDA kernels of bernoulli_nll. Forward: each row is split over `blocks_per_row` blocks; a block
// reduces its slice with warp shuffles in a fixed order, and the last block of a row to finish
// (a ticket counter, not an atomic sum) adds the row's partials in index order. Deterministic.
// Backward: one element-wise launch. Half types load as half and compute in fp32; the loss and
// its gradient are fp32 for half logits (double for double).
#include "../elementwise.h"
#include <type_traits>

#include "launch.cuh"

namespace betavae::cuda {
namespace {

template <typename A>
__device__ A block_sum(A value) {
  __shared__ A warp_sums[kThreads / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int delta = 16; delta > 0; delta >>= 1) value += __shfl_down_sync(0xffffffffu, value, delta);
  if (lane == 0) warp_sums[warp] = value;
  __syncthreads();
  A total = A(0);
  if (warp == 0) {
    total = lane < kThreads / 32 ? warp_sums[lane] : A(0);
#pragma unroll
    for (int delta = 16; delta > 0; delta >>= 1) total += __shfl_down_sync(0xffffffffu, total, delta);
  }
  return total;  // valid in thread 0
}

template <typename T, typename U, typename Out>
__global__ void forward_kernel(const T* __restrict__ x, const U* __restrict__ t, Out* __restrict__ out,
                               double* __restrict__ partials, uint32_t* __restrict__ tickets,
                               int64_t cols, int blocks_per_row) {
  using A = typename Acc<T>::type;
  const int64_t row = blockIdx.x / blocks_per_row;
  const int part = blockIdx.x % blocks_per_row;
  const int64_t slice = (cols + blocks_per_row - 1) / blocks_per_row;
  const int64_t begin = part * slice;
  const int64_t end = begin + slice < cols ? begin + slice : cols;
  const T* xr = x + row * cols;
  const U* tr = t + row * cols;
  A acc = A(0);
#pragma unroll 4
  for (int64_t j = begin + threadIdx.x; j < end; j += kThreads) {
    acc += bce_with_logits<A>(static_cast<A>(xr[j]), binary_target<A>(tr[j]));
  }
  const A block_total = block_sum(acc);
  if (blocks_per_row == 1) {
    if (threadIdx.x == 0) out[row] = static_cast<Out>(block_total);
    return;
  }
  __shared__ bool is_last;
  if (threadIdx.x == 0) {
    partials[row * blocks_per_row + part] = static_cast<double>(block_total);
    __threadfence();
    is_last = atomicAdd(&tickets[row], 1u) == static_cast<uint32_t>(blocks_per_row - 1);
  }
  __syncthreads();
  if (is_last && threadIdx.x == 0) {
    __threadfence();
    const volatile double* row_partials = partials + row * blocks_per_row;
    double sum = 0.0;
    for (int p = 0; p < blocks_per_row; ++p) sum += row_partials[p];
    out[row] = static_cast<Out>(sum);
    tickets[row] = 0u;  // leave the tickets zeroed for reuse
  }
}

template <typename T, typename U, typename Out>
__global__ void backward_kernel(const Out* __restrict__ g, const T* __restrict__ x,
                                const U* __restrict__ t, T* __restrict__ gx, int64_t n,
                                int64_t cols) {
  using A = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const A g_row = static_cast<A>(g[i / cols]);
    gx[i] = static_cast<T>(g_row * bce_with_logits_grad<A>(static_cast<A>(x[i]), binary_target<A>(t[i])));
  }
}

// Calls f(T{}, U{}) for the logits/target dtype codes; targets are the logits' type or uint8.
template <typename F>
void dispatch_types(int logits_dtype, int target_dtype, const F& f) {
  dispatch_float(logits_dtype, "bernoulli_nll", [&](auto x_tag) {
    using T = decltype(x_tag);
    if (target_dtype == kUInt8) return f(x_tag, uint8_t());
    if (target_dtype == logits_dtype) return f(x_tag, T());
    throw std::invalid_argument("bernoulli_nll (cuda): target must be uint8 or the logits' dtype");
  });
}

}  // namespace

int bernoulli_nll_blocks_per_row(int64_t rows, int64_t cols, int device) {
  int sms = 0;
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "SM count");
  const int64_t wanted = (int64_t(sms) * 4 + rows - 1) / rows;   // fill the GPU ~4 blocks/SM
  const int64_t useful = (cols + kThreads * 16 - 1) / (kThreads * 16);  // >= 16 elements/thread
  const int64_t bpr = wanted < useful ? wanted : useful;
  return static_cast<int>(bpr < 1 ? 1 : (bpr > 1024 ? 1024 : bpr));
}

void bernoulli_nll_forward(const void* logits, const void* target, void* out, double* partials,
                           uint32_t* tickets, int64_t rows, int64_t cols, int blocks_per_row,
                           int logits_dtype, int target_dtype, Launch launch) {
  DeviceGuard guard(launch.device);
  dispatch_types(logits_dtype, target_dtype, [&](auto x_tag, auto t_tag) {
    using T = decltype(x_tag);
    using U = decltype(t_tag);
    using Out = typename std::conditional<std::is_same<T, double>::value, double, float>::type;
    forward_kernel<T, U, Out><<<static_cast<unsigned>(rows * blocks_per_row), kThreads, 0,
                                as_stream(launch.stream)>>>(
        static_cast<const T*>(logits), static_cast<const U*>(target), static_cast<Out*>(out),
        partials, tickets, cols, blocks_per_row);
  });
  check(cudaGetLastError(), "bernoulli_nll_forward");
}

void bernoulli_nll_backward(const void* grad_out, const void* logits, const void* target,
                            void* grad_logits, int64_t rows, int64_t cols, int logits_dtype,
                            int target_dtype, Launch launch) {
  DeviceGuard guard(launch.device);
  const int64_t n = rows * cols;
  dispatch_types(logits_dtype, target_dtype, [&](auto x_tag, auto t_tag) {
    using T = decltype(x_tag);
    using U = decltype(t_tag);
    using Out = typename std::conditional<std::is_same<T, double>::value, double, float>::type;
    backward_kernel<T, U, Out><<<grid_for(n, 4), kThreads, 0, as_stream(launch.stream)>>>(
        static_cast<const Out*>(grad_out), static_cast<const T*>(logits),
        static_cast<const U*>(target), static_cast<T*>(grad_logits), n, cols);
  });
  check(cudaGetLastError(), "bernoulli_nll_backward");
}

}  // namespace betavae::cuda
