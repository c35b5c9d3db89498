// Shared definitions for host (C++) and device (CUDA) code: the host/device function qualifier and
// the dtype codes that betavae/ops passes through the pybind11 bindings.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define BV_HD __host__ __device__ __forceinline__
#else
#define BV_HD inline __attribute__((always_inline))
#endif

// The CPU kernels are compiled once per instruction set (CMakeLists.txt passes BV_ISA=isa_avx512,
// isa_avx2, ...), each copy inside its own inline namespace betavae::BV_ISA, so that an inline
// function emitted out of line by one copy can never stand in for another copy's at link time (an
// AVX-512 instruction reaching an AVX2 machine). Code built once (bindings, dispatch, CUDA) has no
// BV_ISA and uses plain betavae::.
#if defined(BV_ISA)
#define BV_NAMESPACE_BEGIN \
  namespace betavae {      \
  inline namespace BV_ISA {
#define BV_NAMESPACE_END \
  }                      \
  }
#else
#define BV_NAMESPACE_BEGIN namespace betavae {
#define BV_NAMESPACE_END }
#endif

namespace betavae {

// Keep in sync with betavae/ops/native.py (DTYPE_CODES).
enum DType : int {
  kFloat32 = 0,
  kFloat64 = 1,
  kFloat16 = 2,
  kBFloat16 = 3,
  kUInt8 = 4,  // uint8 and bool targets (one byte per pixel, values 0/1)
};

// Bumped whenever a binding's signature changes, so a stale build is detected at import.
constexpr int kNativeApiVersion = 3;

}  // namespace betavae
