// What the run-time instruction-set choice of dispatch.cpp exposes to the bindings.
#pragma once
#include <string>
#include <vector>

namespace betavae::cpu_dispatch {

// The CPU path the kernels run on ("avx512", "avx2", "scalar"; "generic" off x86-64), chosen at
// the first call; throws std::runtime_error when BETAVAE_CPU_ISA names a path this CPU lacks.
std::string selected_isa();
// The paths of this build that this CPU can run, best first.
std::vector<std::string> supported_isas();
// Whether the CPU has a feature: avx512_bf16, amx_bf16, avx512 (x86-64-v4), avx2 (x86-64-v3).
bool cpu_has(const std::string& feature);

}  // namespace betavae::cpu_dispatch
