// Launch helpers shared by the CUDA files: device guard, stream cast, error checks, dtype dispatch.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "../common.h"
#include "cuda_ops.h"

namespace betavae::cuda {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("betavae CUDA error in ") + what + ": " +
                             cudaGetErrorString(status));
  }
}

// Makes `device` current for the scope of a launch and restores the previous device after.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) check(cudaSetDevice(device), "cudaSetDevice");
    restore_ = previous_ != device;
  }
  ~DeviceGuard() {
    if (restore_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool restore_ = false;
};

inline cudaStream_t as_stream(uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

constexpr int kThreads = 256;

inline int grid_for(int64_t n, int per_thread = 4) {
  const int64_t blocks = (n + int64_t(kThreads) * per_thread - 1) / (int64_t(kThreads) * per_thread);
  return static_cast<int>(blocks < 65535 * 32 ? (blocks > 0 ? blocks : 1) : 65535 * 32);
}

// Calls f(T{}) for the float dtype code.
template <typename F>
void dispatch_float(int dtype, const char* what, const F& f) {
  switch (dtype) {
    case kFloat32: return f(float());
    case kFloat64: return f(double());
    case kFloat16: return f(__half());
    case kBFloat16: return f(__nv_bfloat16());
    default: throw std::invalid_argument(std::string(what) + " (cuda): unsupported dtype code");
  }
}

// Compute type: fp32 for every storage type except double.
template <typename T> struct Acc { using type = float; };
template <> struct Acc<double> { using type = double; };

__device__ __forceinline__ uint64_t rng_seed(const RngArgs& rng) {
  return rng.seed_ptr ? static_cast<uint64_t>(*rng.seed_ptr) : rng.seed;
}
__device__ __forceinline__ uint64_t rng_offset(const RngArgs& rng) {
  return rng.offset_ptr ? static_cast<uint64_t>(*rng.offset_ptr) : rng.offset;
}

}  // namespace betavae::cuda
