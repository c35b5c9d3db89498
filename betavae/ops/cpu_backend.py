"""The C++/OpenMP backend: CPU tensors, float32 and float64 (csrc/cpu/)."""

from __future__ import annotations

import torch

from . import native
from .backend_base import Backend, scalar_value


class CpuBackend(Backend):
    name = "cpu"
    dtypes = (torch.float32, torch.float64)
    fuses_nll_gradient = True

    def unavailable_reason(self) -> str | None:
        return native.load_error()

    def supports_device(self, device: torch.device) -> bool:
        return device.type == "cpu"

    def _module(self):
        """betavae._C, looked up once (this is on the per-call path of every op)."""
        module = getattr(self, "_native", None)
        if module is None:
            module = self._native = native.require()
        return module

    @staticmethod
    def _threads() -> int:
        return torch.get_num_threads()

    def philox_words(self, n: int, seed: int, offset: int, device: torch.device) -> torch.Tensor:
        out = torch.empty(n, 4, dtype=torch.int32)
        self._module().cpu_philox_words(
            out.data_ptr(), n, native.as_u64(seed), native.as_u64(offset), self._threads()
        )
        return out.to(torch.int64) & 0xFFFFFFFF

    def uniform(self, n: int, seed: int, offset: int, device: torch.device) -> torch.Tensor:
        out = torch.empty(n, dtype=torch.float32)
        self._module().cpu_uniform(
            out.data_ptr(), n, native.as_u64(seed), native.as_u64(offset), self._threads()
        )
        return out

    def standard_normal(self, n, seed, offset, device):
        out = torch.empty(n, dtype=torch.float32)
        self._module().cpu_standard_normal(
            out.data_ptr(),
            n,
            native.as_u64(scalar_value(seed)),
            native.as_u64(scalar_value(offset)),
            self._threads(),
        )
        return out

    def gaussian_sample_kl_forward(self, mu, logvar, seed, offset):
        z, kl = torch.empty_like(mu), torch.empty_like(mu)
        self._module().cpu_gaussian_sample_kl_forward(
            mu.data_ptr(),
            logvar.data_ptr(),
            z.data_ptr(),
            kl.data_ptr(),
            mu.numel(),
            native.dtype_code(mu),
            native.as_u64(scalar_value(seed)),
            native.as_u64(scalar_value(offset)),
            self._threads(),
        )
        return z, kl

    def gaussian_sample_kl_backward(self, grad_z, grad_kl, mu, logvar, seed, offset):
        grad_mu, grad_logvar = torch.empty_like(mu), torch.empty_like(mu)
        self._module().cpu_gaussian_sample_kl_backward(
            native.ptr(grad_z),
            native.ptr(grad_kl),
            mu.data_ptr(),
            logvar.data_ptr(),
            grad_mu.data_ptr(),
            grad_logvar.data_ptr(),
            mu.numel(),
            native.dtype_code(mu),
            native.as_u64(scalar_value(seed)),
            native.as_u64(scalar_value(offset)),
            self._threads(),
        )
        return grad_mu, grad_logvar

    def bernoulli_nll_forward(self, logits, target):
        return self._nll_forward(logits, target, None)

    def bernoulli_nll_forward_with_grad(self, logits, target):
        grad_unit = torch.empty_like(logits)
        return self._nll_forward(logits, target, grad_unit), grad_unit

    def _nll_forward(self, logits, target, grad_unit):
        out = torch.empty(logits.shape[0], dtype=logits.dtype)
        self._module().cpu_bernoulli_nll_forward(
            logits.data_ptr(),
            target.data_ptr(),
            out.data_ptr(),
            native.ptr(grad_unit),
            logits.shape[0],
            logits.shape[1],
            native.dtype_code(logits),
            native.dtype_code(target),
            self._threads(),
        )
        return out

    def bernoulli_nll_backward(self, grad, logits, target):
        grad_logits = torch.empty_like(logits)
        self._module().cpu_bernoulli_nll_backward(
            grad.data_ptr(),
            logits.data_ptr(),
            target.data_ptr(),
            grad_logits.data_ptr(),
            logits.shape[0],
            logits.shape[1],
            native.dtype_code(logits),
            native.dtype_code(target),
            self._threads(),
        )
        return grad_logits
