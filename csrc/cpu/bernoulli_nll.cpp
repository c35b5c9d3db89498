// CPU loops of bernoulli_nll: per-row sums of the element-wise BCE (forward) and the element-wise
// gradient scaled by the row's upstream gradient (backward). Rows are cut into fixed chunks whose
// partial sums are added in order, so the result does not depend on the thread count.
#include <stdexcept>
#include <string>
#include <vector>

#include "../elementwise.h"
#include "cpu_ops.h"
#include "parallel.h"

BV_NAMESPACE_BEGIN
namespace cpu {
namespace {

// Sum of the BCE over [begin, end) (at most kReduceChunk elements) in a fixed order on every
// instruction set: the element-wise losses go to a buffer (a plain vectorised loop), which is then
// added up in 16 running sums (lane l takes elements l, l + 16, ...; one AVX-512 vector, two AVX2
// or four SSE vectors doing the same additions), combined pairwise, then the tail. An `omp simd
// reduction` would let the vector width choose the order, and so the last bits of the result.
constexpr int kSumLanes = 16;

// Adds up losses[0, n) in the fixed order described above.
template <typename T>
T fixed_order_sum(const T* __restrict losses, int64_t n) {
  alignas(64) T lanes[kSumLanes] = {};
  int64_t j = 0;
  for (; j + kSumLanes <= n; j += kSumLanes) {
#pragma omp simd
    for (int l = 0; l < kSumLanes; ++l) lanes[l] += losses[j + l];
  }
  for (int width = kSumLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  T acc = lanes[0];
  for (; j < n; ++j) acc += losses[j];
  return acc;
}

template <typename T, typename U>
T row_chunk_sum(const T* __restrict x, const U* __restrict t, int64_t begin, int64_t end) {
  alignas(64) T losses[kReduceChunk];
  const int64_t n = end - begin;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    losses[j] = bce_with_logits<T>(x[begin + j], binary_target<T>(t[begin + j]));
  }
  return fixed_order_sum(losses, n);
}

// row_chunk_sum that also writes d loss / d x of each element to dx (the forward of a training
// step, whose backward then only scales dx by each row's upstream gradient).
template <typename T, typename U>
T row_chunk_sum_and_grad(const T* __restrict x, const U* __restrict t, T* __restrict dx,
                         int64_t begin, int64_t end) {
  alignas(64) T losses[kReduceChunk];
  const int64_t n = end - begin;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    T loss, grad;
    bce_with_logits_and_grad<T>(x[begin + j], binary_target<T>(t[begin + j]), loss, grad);
    losses[j] = loss;
    dx[begin + j] = grad;
  }
  return fixed_order_sum(losses, n);
}

template <typename T, typename U>
void grad_chunk(T g_row, const T* __restrict x, const U* __restrict t, T* __restrict gx,
                int64_t begin, int64_t end) {
#pragma omp simd
  for (int64_t j = begin; j < end; ++j) gx[j] = g_row * bce_with_logits_grad<T>(x[j], binary_target<T>(t[j]));
}

// dx == nullptr: the loss only; otherwise the elements' derivatives too.
template <typename T, typename U>
void forward_impl(const T* x, const U* t, T* out, T* dx, int64_t rows, int64_t cols,
                  int num_threads) {
  const int64_t chunks_per_row = ceil_div(cols, kReduceChunk);
  std::vector<double> partial(static_cast<size_t>(rows * chunks_per_row));
  parallel_for_chunks(rows * chunks_per_row, num_threads, [&](int64_t task) {
    const int64_t row = task / chunks_per_row;
    const int64_t begin = (task % chunks_per_row) * kReduceChunk;
    const int64_t end = begin + kReduceChunk < cols ? begin + kReduceChunk : cols;
    const int64_t base = row * cols;
    partial[task] = static_cast<double>(
        dx == nullptr ? row_chunk_sum(x + base, t + base, begin, end)
                      : row_chunk_sum_and_grad(x + base, t + base, dx + base, begin, end));
  });
  for (int64_t row = 0; row < rows; ++row) {
    double sum = 0.0;
    for (int64_t c = 0; c < chunks_per_row; ++c) sum += partial[row * chunks_per_row + c];
    out[row] = static_cast<T>(sum);
  }
}

template <typename T, typename U>
void backward_impl(const T* g, const T* x, const U* t, T* gx, int64_t rows, int64_t cols,
                   int num_threads) {
  const int64_t chunks_per_row = ceil_div(cols, kElementChunk);
  parallel_for_chunks(rows * chunks_per_row, num_threads, [&](int64_t task) {
    const int64_t row = task / chunks_per_row;
    const int64_t begin = (task % chunks_per_row) * kElementChunk;
    const int64_t end = begin + kElementChunk < cols ? begin + kElementChunk : cols;
    const int64_t base = row * cols;
    grad_chunk(g[row], x + base, t + base, gx + base, begin, end);
  });
}

// Calls f(T*, U*) with the logits/target pointers cast to their element types.
template <typename F>
void dispatch_types(int logits_dtype, int target_dtype, const char* what, const F& f) {
  if (logits_dtype == kFloat32 && target_dtype == kFloat32) return f(float(), float());
  if (logits_dtype == kFloat32 && target_dtype == kUInt8) return f(float(), uint8_t());
  if (logits_dtype == kFloat64 && target_dtype == kFloat64) return f(double(), double());
  if (logits_dtype == kFloat64 && target_dtype == kUInt8) return f(double(), uint8_t());
  throw std::invalid_argument(std::string(what) +
                              " (cpu): logits must be float32/float64 and target the same float "
                              "dtype or uint8");
}

}  // namespace

void bernoulli_nll_forward(const void* logits, const void* target, void* out, void* grad_unit,
                           int64_t rows, int64_t cols, int logits_dtype, int target_dtype,
                           int num_threads) {
  dispatch_types(logits_dtype, target_dtype, "bernoulli_nll", [&](auto x_tag, auto t_tag) {
    using T = decltype(x_tag);
    using U = decltype(t_tag);
    forward_impl(static_cast<const T*>(logits), static_cast<const U*>(target),
                 static_cast<T*>(out), static_cast<T*>(grad_unit), rows, cols, num_threads);
  });
}

void bernoulli_nll_backward(const void* grad_out, const void* logits, const void* target,
                            void* grad_logits, int64_t rows, int64_t cols, int logits_dtype,
                            int target_dtype, int num_threads) {
  dispatch_types(logits_dtype, target_dtype, "bernoulli_nll", [&](auto x_tag, auto t_tag) {
    using T = decltype(x_tag);
    using U = decltype(t_tag);
    backward_impl(static_cast<const T*>(grad_out), static_cast<const T*>(logits),
                  static_cast<const U*>(target), static_cast<T*>(grad_logits), rows, cols,
                  num_threads);
  });
}

}  // namespace cpu
BV_NAMESPACE_END
