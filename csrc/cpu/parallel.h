// Fixed-size work chunks spread over OpenMP threads. Chunk boundaries never depend on the thread
// count, so every element and every partial sum is computed the same way with 1 or N threads:
// results are bit-identical across runs and thread counts.
#pragma once
#include <cstdint>

#include "../common.h"

BV_NAMESPACE_BEGIN
namespace cpu {

constexpr int64_t kElementChunk = 16384;  // elements per task for element-wise loops
constexpr int64_t kReduceChunk = 4096;    // elements per partial sum in row reductions

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <typename F>
void parallel_for_chunks(int64_t num_chunks, int num_threads, const F& body) {
  if (num_threads <= 1 || num_chunks <= 1) {
    for (int64_t c = 0; c < num_chunks; ++c) body(c);
    return;
  }
  const int threads = static_cast<int>(num_threads < num_chunks ? num_threads : num_chunks);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < num_chunks; ++c) body(c);
}

}  // namespace cpu
BV_NAMESPACE_END
