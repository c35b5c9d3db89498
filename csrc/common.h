// Shared definitions for host (C++) and device (CUDA) code: the host/device function qualifier and
// the dtype codes that betavae/ops passes through the pybind11 bindings.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define BV_HD __host__ __device__ __forceinline__
#else
#define BV_HD inline __attribute__((always_inline))
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
constexpr int kNativeApiVersion = 2;

}  // namespace betavae
