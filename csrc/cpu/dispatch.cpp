// Run-time choice of the CPU kernels' instruction set. The kernels are compiled several times
// (CMakeLists.txt): on x86-64 for AVX-512 (x86-64-v4), AVX2 (x86-64-v3) and the x86-64 baseline
// ("scalar": SSE2, what every x86-64 CPU runs); elsewhere once for the compiler's default target.
// The first call picks the best copy this CPU supports, or the one named by the environment
// variable BETAVAE_CPU_ISA (auto, avx512, avx2, scalar), which is how the tests force each path.
// The AVX2 and AVX-512 copies give the same bits (both contract a*b+c into FMAs; sums run in a
// fixed order whatever the vector width); the baseline copy rounds a*b+c twice and so agrees with
// them to float rounding. The choice changes speed, not results beyond the last bit.
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu_ops.h"
#include "dispatch.h"
#include "kernel_table.h"

using betavae::cpu_dispatch::KernelTable;

#if defined(BETAVAE_X86_ISAS)
namespace betavae::isa_avx512::cpu {
const KernelTable& kernel_table();
}
namespace betavae::isa_avx2::cpu {
const KernelTable& kernel_table();
}
namespace betavae::isa_scalar::cpu {
const KernelTable& kernel_table();
}
#else
namespace betavae::isa_generic::cpu {
const KernelTable& kernel_table();
}
#endif

namespace betavae::cpu_dispatch {
namespace {

struct Isa {
  const char* name;
  bool (*supported)();
  const KernelTable& (*table)();
};

#if defined(BETAVAE_X86_ISAS)
// __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV).
bool has_x86_64_v4() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4");
}
bool has_x86_64_v3() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v3");
}
bool always() { return true; }

// Best first.
const Isa kIsas[] = {
    {"avx512", &has_x86_64_v4, &betavae::isa_avx512::cpu::kernel_table},
    {"avx2", &has_x86_64_v3, &betavae::isa_avx2::cpu::kernel_table},
    {"scalar", &always, &betavae::isa_scalar::cpu::kernel_table},
};
#else
bool always() { return true; }
const Isa kIsas[] = {{"generic", &always, &betavae::isa_generic::cpu::kernel_table}};
#endif

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

std::string built_names() {
  std::vector<std::string> names;
  for (const Isa& isa : kIsas) names.emplace_back(isa.name);
  return joined(names);
}

const Isa& choose() {
  const char* env = std::getenv("BETAVAE_CPU_ISA");
  const std::string wanted = env == nullptr ? "" : env;
  if (wanted.empty() || wanted == "auto") {
    for (const Isa& isa : kIsas) {
      if (isa.supported()) return isa;
    }
  }
  for (const Isa& isa : kIsas) {
    if (wanted != isa.name) continue;
    if (!isa.supported()) {
      throw std::runtime_error("BETAVAE_CPU_ISA=" + wanted +
                               ": this CPU lacks the instructions of that path; it can run: " +
                               joined(supported_isas()));
    }
    return isa;
  }
  throw std::runtime_error("BETAVAE_CPU_ISA=" + wanted +
                           " is not a CPU path of this build; use auto or one of: " +
                           built_names());
}

const Isa& chosen() {
  static const Isa& isa = choose();  // a throw leaves it unset, so the next call reports again
  return isa;
}

}  // namespace

std::vector<std::string> supported_isas() {
  std::vector<std::string> names;
  for (const Isa& isa : kIsas) {
    if (isa.supported()) names.emplace_back(isa.name);
  }
  return names;
}

std::string selected_isa() { return chosen().name; }

bool cpu_has(const std::string& feature) {
#if defined(BETAVAE_X86_ISAS)
  __builtin_cpu_init();
  if (feature == "avx512_bf16") return __builtin_cpu_supports("avx512bf16");
  if (feature == "amx_bf16") return __builtin_cpu_supports("amx-bf16");
  if (feature == "avx512") return has_x86_64_v4();
  if (feature == "avx2") return has_x86_64_v3();
  throw std::invalid_argument("cpu_has: unknown feature '" + feature +
                              "'; known: avx512_bf16, amx_bf16, avx512, avx2");
#else
  (void)feature;
  return false;
#endif
}

}  // namespace betavae::cpu_dispatch

namespace betavae::cpu {
namespace {
const KernelTable& kernels() { return cpu_dispatch::chosen().table(); }
}  // namespace

#define BV_CPU_ENTRY(name, params, args) \
  void name params { kernels().name args; }
#include "entry_points.h"
#undef BV_CPU_ENTRY

}  // namespace betavae::cpu
