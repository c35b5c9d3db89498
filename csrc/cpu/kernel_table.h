// The set of CPU entry points one instruction-set copy of the kernels provides (kernel_table.cpp,
// compiled once per copy) and dispatch.cpp chooses between at run time: a function pointer per
// entry of entry_points.h.
#pragma once
#include <cstdint>

namespace betavae::cpu_dispatch {

struct KernelTable {
#define BV_CPU_ENTRY(name, params, args) void(*name) params;
#include "entry_points.h"
#undef BV_CPU_ENTRY
};

}  // namespace betavae::cpu_dispatch
