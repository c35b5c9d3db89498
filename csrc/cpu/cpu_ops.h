// CPU entry points: raw pointers, sizes and dtype codes (see common.h). Each instruction-set copy
// of the kernels defines them in betavae::BV_ISA::cpu; the plain betavae::cpu versions, which the
// bindings call, are defined once in dispatch.cpp and forward to the copy chosen for this CPU.
#pragma once
#include <cstdint>

#include "../common.h"

BV_NAMESPACE_BEGIN
namespace cpu {

void philox_words(uint32_t* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads);
void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads);
void standard_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads);

void gaussian_sample_kl_forward(const void* mu, const void* logvar, void* z, void* kl, int64_t n,
                                int dtype, uint64_t seed, uint64_t offset, int num_threads);
// grad_z / grad_kl may be null (no gradient flowing into that output).
void gaussian_sample_kl_backward(const void* grad_z, const void* grad_kl, const void* mu,
                                 const void* logvar, void* grad_mu, void* grad_logvar, int64_t n,
                                 int dtype, uint64_t seed, uint64_t offset, int num_threads);

// grad_unit may be null; otherwise it receives d loss / d logits of every element (the backward
// for an upstream gradient of one), computed in the same pass.
void bernoulli_nll_forward(const void* logits, const void* target, void* out, void* grad_unit,
                           int64_t rows, int64_t cols, int logits_dtype, int target_dtype,
                           int num_threads);
void bernoulli_nll_backward(const void* grad_out, const void* logits, const void* target,
                            void* grad_logits, int64_t rows, int64_t cols, int logits_dtype,
                            int target_dtype, int num_threads);

}  // namespace cpu
BV_NAMESPACE_END
