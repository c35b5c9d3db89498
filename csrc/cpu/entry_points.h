// The one list of CPU kernel entry points. Every use defines BV_CPU_ENTRY(name, params, args) and
// includes this file: cpu_ops.h declares the functions, kernel_table.h makes a function pointer of
// each, kernel_table.cpp fills the table of one instruction-set copy, and dispatch.cpp defines the
// forwarding functions the bindings call. Adding an entry point means adding one line here (and
// its definition in a kernel file). No include guard: it is meant to be included several times.
//
// Raw pointers, sizes and dtype codes (common.h). gaussian_sample_kl_backward: grad_z / grad_kl
// may be null (no gradient flowing into that output). bernoulli_nll_forward: grad_unit may be
// null; otherwise it receives d loss / d logits of every element (the backward for an upstream
// gradient of one), computed in the same pass.

BV_CPU_ENTRY(philox_words,
             (uint32_t* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads),
             (out, n, seed, offset, num_threads))
BV_CPU_ENTRY(uniform, (float* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads),
             (out, n, seed, offset, num_threads))
BV_CPU_ENTRY(standard_normal,
             (float* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads),
             (out, n, seed, offset, num_threads))
BV_CPU_ENTRY(gaussian_sample_kl_forward,
             (const void* mu, const void* logvar, void* z, void* kl, int64_t n, int dtype,
              uint64_t seed, uint64_t offset, int num_threads),
             (mu, logvar, z, kl, n, dtype, seed, offset, num_threads))
BV_CPU_ENTRY(gaussian_sample_kl_backward,
             (const void* grad_z, const void* grad_kl, const void* mu, const void* logvar,
              void* grad_mu, void* grad_logvar, int64_t n, int dtype, uint64_t seed,
              uint64_t offset, int num_threads),
             (grad_z, grad_kl, mu, logvar, grad_mu, grad_logvar, n, dtype, seed, offset,
              num_threads))
BV_CPU_ENTRY(bernoulli_nll_forward,
             (const void* logits, const void* target, void* out, void* grad_unit, int64_t rows,
              int64_t cols, int logits_dtype, int target_dtype, int num_threads),
             (logits, target, out, grad_unit, rows, cols, logits_dtype, target_dtype,
              num_threads))
BV_CPU_ENTRY(bernoulli_nll_backward,
             (const void* grad_out, const void* logits, const void* target, void* grad_logits,
              int64_t rows, int64_t cols, int logits_dtype, int target_dtype, int num_threads),
             (grad_out, logits, target, grad_logits, rows, cols, logits_dtype, target_dtype,
              num_threads))
