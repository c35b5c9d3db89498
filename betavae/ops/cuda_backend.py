"""The CUDA C++ backend: CUDA tensors, float32/float64/float16/bfloat16 (csrc/cuda/).

Launches go on torch's current stream of the tensor's device. Seed and offset are handed to the
kernels as device pointers, so a captured CUDA graph replays with whatever the offset tensor holds.
"""

from __future__ import annotations

import torch

from . import cuda_archs, native
from .backend_base import Backend, nll_output_dtype


def _launch(device: torch.device) -> tuple[int, int]:
    index = device.index if device.index is not None else torch.cuda.current_device()
    return index, torch.cuda.current_stream(index).cuda_stream


def _on_device(scalar: torch.Tensor, device: torch.device) -> torch.Tensor:
    """An int64 scalar on the kernel's device (a no-op when it already lives there)."""
    return scalar.to(device=device, dtype=torch.int64, non_blocking=True).reshape(1)


class CudaBackend(Backend):
    name = "cuda"
    dtypes = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

    def __init__(self) -> None:
        self._problems: dict[int, str | None] = {}  # per device index: missing code, or None

    def unavailable_reason(self) -> str | None:
        error = native.load_error()
        if error:
            return error
        if not native.with_cuda():
            return "betavae._C was built without CUDA (no nvcc at build time, or BETAVAE_CUDA=OFF)"
        if not torch.cuda.is_available():
            return "torch sees no CUDA device"
        return None

    def supports_device(self, device: torch.device) -> bool:
        return device.type == "cuda"

    def device_problem(self, device: torch.device) -> str | None:
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index not in self._problems:
            self._problems[index] = cuda_archs.missing_code_reason(
                native.require().CUDA_ARCHS,
                torch.cuda.get_device_capability(index),
                torch.cuda.get_device_name(index),
            )
        return self._problems[index]

    def philox_words(self, n, seed, offset, device):
        out = torch.empty(n, 4, dtype=torch.int32, device=device)
        native.require().cuda_philox_words(
            out.data_ptr(), n, native.as_u64(seed), native.as_u64(offset), *_launch(out.device)
        )
        return out.to(torch.int64) & 0xFFFFFFFF

    def uniform(self, n, seed, offset, device):
        out = torch.empty(n, dtype=torch.float32, device=device)
        native.require().cuda_uniform(
            out.data_ptr(), n, native.as_u64(seed), native.as_u64(offset), *_launch(out.device)
        )
        return out

    def standard_normal(self, n, seed, offset, device):
        out = torch.empty(n, dtype=torch.float32, device=device)
        seed_d, offset_d = _on_device(seed, out.device), _on_device(offset, out.device)
        native.require().cuda_standard_normal(
            out.data_ptr(), n, seed_d.data_ptr(), offset_d.data_ptr(), *_launch(out.device)
        )
        return out

    def gaussian_sample_kl_forward(self, mu, logvar, seed, offset):
        z, kl = torch.empty_like(mu), torch.empty_like(mu)
        seed_d, offset_d = _on_device(seed, mu.device), _on_device(offset, mu.device)
        native.require().cuda_gaussian_sample_kl_forward(
            mu.data_ptr(),
            logvar.data_ptr(),
            z.data_ptr(),
            kl.data_ptr(),
            mu.numel(),
            native.dtype_code(mu),
            seed_d.data_ptr(),
            offset_d.data_ptr(),
            *_launch(mu.device),
        )
        return z, kl

    def gaussian_sample_kl_backward(self, grad_z, grad_kl, mu, logvar, seed, offset):
        grad_mu, grad_logvar = torch.empty_like(mu), torch.empty_like(mu)
        seed_d, offset_d = _on_device(seed, mu.device), _on_device(offset, mu.device)
        native.require().cuda_gaussian_sample_kl_backward(
            native.ptr(grad_z),
            native.ptr(grad_kl),
            mu.data_ptr(),
            logvar.data_ptr(),
            grad_mu.data_ptr(),
            grad_logvar.data_ptr(),
            mu.numel(),
            native.dtype_code(mu),
            seed_d.data_ptr(),
            offset_d.data_ptr(),
            *_launch(mu.device),
        )
        return grad_mu, grad_logvar

    def bernoulli_nll_forward(self, logits, target):
        rows, cols = logits.shape
        device, stream = _launch(logits.device)
        module = native.require()
        blocks = module.cuda_bernoulli_nll_blocks_per_row(rows, cols, device)
        out = torch.empty(rows, dtype=nll_output_dtype(logits.dtype), device=logits.device)
        partials = torch.empty(
            rows * blocks if blocks > 1 else 1, dtype=torch.float64, device=logits.device
        )
        tickets = torch.zeros(rows if blocks > 1 else 1, dtype=torch.int32, device=logits.device)
        module.cuda_bernoulli_nll_forward(
            logits.data_ptr(),
            target.data_ptr(),
            out.data_ptr(),
            partials.data_ptr(),
            tickets.data_ptr(),
            rows,
            cols,
            blocks,
            native.dtype_code(logits),
            native.dtype_code(target),
            device,
            stream,
        )
        return out

    def bernoulli_nll_backward(self, grad, logits, target):
        grad_logits = torch.empty_like(logits)
        native.require().cuda_bernoulli_nll_backward(
            grad.data_ptr(),
            logits.data_ptr(),
            target.data_ptr(),
            grad_logits.data_ptr(),
            logits.shape[0],
            logits.shape[1],
            native.dtype_code(logits),
            native.dtype_code(target),
            *_launch(logits.device),
        )
        return grad_logits
