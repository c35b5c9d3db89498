// CUDA entry points called by bindings.cpp. Pointers are device pointers; `stream` is a
// cudaStream_t passed as an integer (torch's current stream of `device`). Seeds and offsets come
// either by value or, when seed_ptr/offset_ptr are non-null, from int64 device memory read by the
// kernel (so a captured CUDA graph can be replayed with a new offset).
#pragma once
#include <cstdint>
#include <string>

namespace betavae::cuda {

struct RngArgs {
  uint64_t seed;
  uint64_t offset;
  const int64_t* seed_ptr;    // nullable
  const int64_t* offset_ptr;  // nullable
};

struct Launch {
  int device;
  uintptr_t stream;
};

int device_count();
std::string runtime_info();

void philox_words(uint32_t* out, int64_t n, RngArgs rng, Launch launch);
void uniform(float* out, int64_t n, RngArgs rng, Launch launch);
void standard_normal(float* out, int64_t n, RngArgs rng, Launch launch);

void gaussian_sample_kl_forward(const void* mu, const void* logvar, void* z, void* kl, int64_t n,
                                int dtype, RngArgs rng, Launch launch);
void gaussian_sample_kl_backward(const void* grad_z, const void* grad_kl, const void* mu,
                                 const void* logvar, void* grad_mu, void* grad_logvar, int64_t n,
                                 int dtype, RngArgs rng, Launch launch);

// Rows longer than one block's share are split over several blocks; `partials` (rows*blocks_per_row
// doubles) and `tickets` (rows zeroed uint32) let the last block of a row add the partial sums in a
// fixed order, so the result is deterministic without atomics in the reduction.
int bernoulli_nll_blocks_per_row(int64_t rows, int64_t cols, int device);
void bernoulli_nll_forward(const void* logits, const void* target, void* out, double* partials,
                           uint32_t* tickets, int64_t rows, int64_t cols, int blocks_per_row,
                           int logits_dtype, int target_dtype, Launch launch);
void bernoulli_nll_backward(const void* grad_out, const void* logits, const void* target,
                            void* grad_logits, int64_t rows, int64_t cols, int logits_dtype,
                            int target_dtype, Launch launch);

}  // namespace betavae::cuda
