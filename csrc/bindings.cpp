// The pybind11 module betavae._C. It only translates Python ints (data pointers, sizes, dtype codes,
// seeds, stream handles) into calls of the CPU/CUDA entry points; it includes no torch header and
// does not link libtorch, so one build works with any torch >= 2.4. betavae/ops/native.py wraps it.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "common.h"
#include "cpu/cpu_ops.h"
#include "cpu/dispatch.h"
#if defined(BETAVAE_WITH_CUDA)
#include "cuda/cuda_ops.h"
#endif

namespace py = pybind11;
using betavae::kNativeApiVersion;

namespace {

template <typename T>
T* ptr(uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

#if defined(BETAVAE_WITH_CUDA)
namespace cu = betavae::cuda;

cu::RngArgs rng_args(uint64_t seed, uint64_t offset, uintptr_t seed_ptr, uintptr_t offset_ptr) {
  return {seed, offset, ptr<const int64_t>(seed_ptr), ptr<const int64_t>(offset_ptr)};
}

// CUDA entry points: same arguments as the CPU ones, plus seed/offset device pointers (0 = use the
// values), the device index and the stream handle.
void bind_cuda(py::module_& m) {
  using py::arg;
  const auto nogil = py::call_guard<py::gil_scoped_release>();
  m.def("cuda_device_count", &cu::device_count);
  m.def("cuda_runtime_info", &cu::runtime_info);
  m.def(
      "cuda_philox_words",
      [](uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, int device, uintptr_t stream) {
        cu::philox_words(ptr<uint32_t>(out), n, rng_args(seed, offset, 0, 0), {device, stream});
      },
      arg("out"), arg("n"), arg("seed"), arg("offset"), arg("device"), arg("stream"), nogil);
  m.def(
      "cuda_uniform",
      [](uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, int device, uintptr_t stream) {
        cu::uniform(ptr<float>(out), n, rng_args(seed, offset, 0, 0), {device, stream});
      },
      arg("out"), arg("n"), arg("seed"), arg("offset"), arg("device"), arg("stream"), nogil);
  m.def(
      "cuda_standard_normal",
      [](uintptr_t out, int64_t n, uintptr_t seed_ptr, uintptr_t offset_ptr, int device,
         uintptr_t stream) {
        cu::standard_normal(ptr<float>(out), n, rng_args(0, 0, seed_ptr, offset_ptr),
                            {device, stream});
      },
      arg("out"), arg("n"), arg("seed_ptr"), arg("offset_ptr"), arg("device"), arg("stream"),
      nogil);
  m.def(
      "cuda_gaussian_sample_kl_forward",
      [](uintptr_t mu, uintptr_t logvar, uintptr_t z, uintptr_t kl, int64_t n, int dtype,
         uintptr_t seed_ptr, uintptr_t offset_ptr, int device, uintptr_t stream) {
        cu::gaussian_sample_kl_forward(ptr<const void>(mu), ptr<const void>(logvar), ptr<void>(z),
                                       ptr<void>(kl), n, dtype,
                                       rng_args(0, 0, seed_ptr, offset_ptr), {device, stream});
      },
      arg("mu"), arg("logvar"), arg("z"), arg("kl"), arg("n"), arg("dtype"), arg("seed_ptr"),
      arg("offset_ptr"), arg("device"), arg("stream"), nogil);
  m.def(
      "cuda_gaussian_sample_kl_backward",
      [](uintptr_t grad_z, uintptr_t grad_kl, uintptr_t mu, uintptr_t logvar, uintptr_t grad_mu,
         uintptr_t grad_logvar, int64_t n, int dtype, uintptr_t seed_ptr, uintptr_t offset_ptr,
         int device, uintptr_t stream) {
        cu::gaussian_sample_kl_backward(
            ptr<const void>(grad_z), ptr<const void>(grad_kl), ptr<const void>(mu),
            ptr<const void>(logvar), ptr<void>(grad_mu), ptr<void>(grad_logvar), n, dtype,
            rng_args(0, 0, seed_ptr, offset_ptr), {device, stream});
      },
      arg("grad_z"), arg("grad_kl"), arg("mu"), arg("logvar"), arg("grad_mu"),
      arg("grad_logvar"), arg("n"), arg("dtype"), arg("seed_ptr"), arg("offset_ptr"),
      arg("device"), arg("stream"), nogil);
  m.def("cuda_bernoulli_nll_blocks_per_row", &cu::bernoulli_nll_blocks_per_row, arg("rows"),
        arg("cols"), arg("device"));
  m.def(
      "cuda_bernoulli_nll_forward",
      [](uintptr_t logits, uintptr_t target, uintptr_t out, uintptr_t partials, uintptr_t tickets,
         int64_t rows, int64_t cols, int blocks_per_row, int logits_dtype, int target_dtype,
         int device, uintptr_t stream) {
        cu::bernoulli_nll_forward(ptr<const void>(logits), ptr<const void>(target),
                                  ptr<void>(out), ptr<double>(partials), ptr<uint32_t>(tickets),
                                  rows, cols, blocks_per_row, logits_dtype, target_dtype,
                                  {device, stream});
      },
      arg("logits"), arg("target"), arg("out"), arg("partials"), arg("tickets"), arg("rows"),
      arg("cols"), arg("blocks_per_row"), arg("logits_dtype"), arg("target_dtype"),
      arg("device"), arg("stream"), nogil);
  m.def(
      "cuda_bernoulli_nll_backward",
      [](uintptr_t grad_out, uintptr_t logits, uintptr_t target, uintptr_t grad_logits,
         int64_t rows, int64_t cols, int logits_dtype, int target_dtype, int device,
         uintptr_t stream) {
        cu::bernoulli_nll_backward(ptr<const void>(grad_out), ptr<const void>(logits),
                                   ptr<const void>(target), ptr<void>(grad_logits), rows, cols,
                                   logits_dtype, target_dtype, {device, stream});
      },
      arg("grad_out"), arg("logits"), arg("target"), arg("grad_logits"), arg("rows"),
      arg("cols"), arg("logits_dtype"), arg("target_dtype"), arg("device"), arg("stream"),
      nogil);
}
#endif

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "betavae native kernels (C++/OpenMP, and CUDA when built with it)";
  m.attr("API_VERSION") = kNativeApiVersion;
#if defined(BETAVAE_WITH_CUDA)
  m.attr("WITH_CUDA") = true;
  // What the CUDA kernels were compiled for, as CMake names it: "75-real,...,120-virtual".
  m.attr("CUDA_ARCHS") = BETAVAE_CUDA_ARCHS;
#else
  m.attr("WITH_CUDA") = false;
  m.attr("CUDA_ARCHS") = "";
#endif
  using py::arg;
  const auto nogil = py::call_guard<py::gil_scoped_release>();

  namespace dispatch = betavae::cpu_dispatch;
  m.def("cpu_isa", &dispatch::selected_isa,
        "The instruction-set path of the CPU kernels (chosen at the first call; BETAVAE_CPU_ISA).");
  m.def("cpu_isas", &dispatch::supported_isas, "The built CPU paths this CPU can run, best first.");
  m.def("cpu_has", &dispatch::cpu_has, arg("feature"),
        "Whether the CPU has avx512_bf16, amx_bf16, avx512 (x86-64-v4) or avx2 (x86-64-v3).");

  m.def(
      "cpu_philox_words",
      [](uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, int threads) {
        betavae::cpu::philox_words(ptr<uint32_t>(out), n, seed, offset, threads);
      },
      arg("out"), arg("n"), arg("seed"), arg("offset"), arg("threads"), nogil);
  m.def(
      "cpu_uniform",
      [](uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, int threads) {
        betavae::cpu::uniform(ptr<float>(out), n, seed, offset, threads);
      },
      arg("out"), arg("n"), arg("seed"), arg("offset"), arg("threads"), nogil);
  m.def(
      "cpu_standard_normal",
      [](uintptr_t out, int64_t n, uint64_t seed, uint64_t offset, int threads) {
        betavae::cpu::standard_normal(ptr<float>(out), n, seed, offset, threads);
      },
      arg("out"), arg("n"), arg("seed"), arg("offset"), arg("threads"), nogil);
  m.def(
      "cpu_gaussian_sample_kl_forward",
      [](uintptr_t mu, uintptr_t logvar, uintptr_t z, uintptr_t kl, int64_t n, int dtype,
         uint64_t seed, uint64_t offset, int threads) {
        betavae::cpu::gaussian_sample_kl_forward(ptr<const void>(mu), ptr<const void>(logvar),
                                                 ptr<void>(z), ptr<void>(kl), n, dtype, seed,
                                                 offset, threads);
      },
      arg("mu"), arg("logvar"), arg("z"), arg("kl"), arg("n"), arg("dtype"), arg("seed"),
      arg("offset"), arg("threads"), nogil);
  m.def(
      "cpu_gaussian_sample_kl_backward",
      [](uintptr_t grad_z, uintptr_t grad_kl, uintptr_t mu, uintptr_t logvar, uintptr_t grad_mu,
         uintptr_t grad_logvar, int64_t n, int dtype, uint64_t seed, uint64_t offset,
         int threads) {
        betavae::cpu::gaussian_sample_kl_backward(
            ptr<const void>(grad_z), ptr<const void>(grad_kl), ptr<const void>(mu),
            ptr<const void>(logvar), ptr<void>(grad_mu), ptr<void>(grad_logvar), n, dtype, seed,
            offset, threads);
      },
      arg("grad_z"), arg("grad_kl"), arg("mu"), arg("logvar"), arg("grad_mu"),
      arg("grad_logvar"), arg("n"), arg("dtype"), arg("seed"), arg("offset"), arg("threads"),
      nogil);
  m.def(
      "cpu_bernoulli_nll_forward",
      [](uintptr_t logits, uintptr_t target, uintptr_t out, uintptr_t grad_unit, int64_t rows,
         int64_t cols, int logits_dtype, int target_dtype, int threads) {
        betavae::cpu::bernoulli_nll_forward(ptr<const void>(logits), ptr<const void>(target),
                                            ptr<void>(out), ptr<void>(grad_unit), rows, cols,
                                            logits_dtype, target_dtype, threads);
      },
      arg("logits"), arg("target"), arg("out"), arg("grad_unit"), arg("rows"), arg("cols"),
      arg("logits_dtype"), arg("target_dtype"), arg("threads"), nogil);
  m.def(
      "cpu_bernoulli_nll_backward",
      [](uintptr_t grad_out, uintptr_t logits, uintptr_t target, uintptr_t grad_logits,
         int64_t rows, int64_t cols, int logits_dtype, int target_dtype, int threads) {
        betavae::cpu::bernoulli_nll_backward(ptr<const void>(grad_out), ptr<const void>(logits),
                                             ptr<const void>(target), ptr<void>(grad_logits),
                                             rows, cols, logits_dtype, target_dtype, threads);
      },
      arg("grad_out"), arg("logits"), arg("target"), arg("grad_logits"), arg("rows"),
      arg("cols"), arg("logits_dtype"), arg("target_dtype"), arg("threads"), nogil);

#if defined(BETAVAE_WITH_CUDA)
  bind_cuda(m);
#endif
}
