// The set of CPU entry points one instruction-set copy of the kernels provides (kernel_table.cpp,
// compiled once per copy) and dispatch.cpp chooses between at run time.
#pragma once
#include <cstdint>

namespace betavae::cpu_dispatch {

struct KernelTable {
  void (*philox_words)(uint32_t*, int64_t, uint64_t, uint64_t, int);
  void (*uniform)(float*, int64_t, uint64_t, uint64_t, int);
  void (*standard_normal)(float*, int64_t, uint64_t, uint64_t, int);
  void (*gaussian_sample_kl_forward)(const void*, const void*, void*, void*, int64_t, int,
                                     uint64_t, uint64_t, int);
  void (*gaussian_sample_kl_backward)(const void*, const void*, const void*, const void*, void*,
                                      void*, int64_t, int, uint64_t, uint64_t, int);
  void (*bernoulli_nll_forward)(const void*, const void*, void*, void*, int64_t, int64_t, int, int,
                                int);
  void (*bernoulli_nll_backward)(const void*, const void*, const void*, void*, int64_t, int64_t,
                                 int, int, int);
};

}  // namespace betavae::cpu_dispatch
