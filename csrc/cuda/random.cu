// CUDA kernels for the raw RNG streams (Philox words, uniforms, normals): same math as the CPU
// loops through csrc/philox.h, so words and uniforms are bit-identical across backends.
#include "../philox.h"
#include "launch.cuh"

namespace betavae::cuda {
namespace {

__global__ void words_kernel(uint32_t* out, int64_t n, RngArgs rng) {
  const uint64_t seed = rng_seed(rng), offset = rng_offset(rng);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t w0, w1, w2, w3;
    betavae::philox_words(seed, offset + uint64_t(i), w0, w1, w2, w3);
    reinterpret_cast<uint4*>(out)[i] = make_uint4(w0, w1, w2, w3);
  }
}

__global__ void uniform_kernel(float* out, int64_t n, RngArgs rng) {
  const uint64_t seed = rng_seed(rng), offset = rng_offset(rng);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t w0, w1, w2, w3;
    betavae::philox_words(seed, offset + uint64_t(i), w0, w1, w2, w3);
    out[i] = uniform_from_word(w0);
  }
}

__global__ void normal_kernel(float* out, int64_t n, RngArgs rng) {
  const uint64_t seed = rng_seed(rng), offset = rng_offset(rng);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = normal_at(seed, offset + uint64_t(i));
  }
}

}  // namespace

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

std::string runtime_info() {
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  return "CUDA runtime " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10);
}

void philox_words(uint32_t* out, int64_t n, RngArgs rng, Launch launch) {
  DeviceGuard guard(launch.device);
  words_kernel<<<grid_for(n, 1), kThreads, 0, as_stream(launch.stream)>>>(out, n, rng);
  check(cudaGetLastError(), "philox_words");
}

void uniform(float* out, int64_t n, RngArgs rng, Launch launch) {
  DeviceGuard guard(launch.device);
  uniform_kernel<<<grid_for(n, 1), kThreads, 0, as_stream(launch.stream)>>>(out, n, rng);
  check(cudaGetLastError(), "uniform");
}

void standard_normal(float* out, int64_t n, RngArgs rng, Launch launch) {
  DeviceGuard guard(launch.device);
  normal_kernel<<<grid_for(n, 1), kThreads, 0, as_stream(launch.stream)>>>(out, n, rng);
  check(cudaGetLastError(), "standard_normal");
}

}  // namespace betavae::cuda
