// This instruction-set copy's entry points as a KernelTable (compiled once per copy, like the
// kernels themselves; see CMakeLists.txt).
#include "kernel_table.h"

#include "cpu_ops.h"

BV_NAMESPACE_BEGIN
namespace cpu {

const cpu_dispatch::KernelTable& kernel_table() {
  static const cpu_dispatch::KernelTable table{
#define BV_CPU_ENTRY(name, params, args) &name,
#include "entry_points.h"
#undef BV_CPU_ENTRY
  };
  return table;
}

}  // namespace cpu
BV_NAMESPACE_END
