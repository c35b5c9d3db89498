// This instruction-set copy's entry points as a KernelTable (compiled once per copy, like the
// kernels themselves; see CMakeLists.txt).
#include "kernel_table.h"

#include "cpu_ops.h"

BV_NAMESPACE_BEGIN
namespace cpu {

const cpu_dispatch::KernelTable& kernel_table() {
  static const cpu_dispatch::KernelTable table{
      &philox_words,
      &uniform,
      &standard_normal,
      &gaussian_sample_kl_forward,
      &gaussian_sample_kl_backward,
      &bernoulli_nll_forward,
      &bernoulli_nll_backward,
  };
  return table;
}

}  // namespace cpu
BV_NAMESPACE_END
