// CPU entry points (listed once, in entry_points.h). Each instruction-set copy of the kernels
// defines them in betavae::BV_ISA::cpu; the plain betavae::cpu versions, which the bindings call,
// are defined once in dispatch.cpp and forward to the copy chosen for this CPU.
#pragma once
#include <cstdint>

#include "../common.h"

BV_NAMESPACE_BEGIN
namespace cpu {

#define BV_CPU_ENTRY(name, params, args) void name params;
#include "entry_points.h"
#undef BV_CPU_ENTRY

}  // namespace cpu
BV_NAMESPACE_END
