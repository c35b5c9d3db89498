"""The Triton backend: CUDA tensors (float32/float16/bfloat16), or CPU tensors under
``TRITON_INTERPRET=1`` for tests. Kernels live in ``kernels/`` (installed as
``betavae.kernels``)."""

from __future__ import annotations

import contextlib
import importlib
import os
import re
from types import ModuleType

import torch

from .backend_base import Backend, as_int64_bits, nll_output_dtype

BLOCK = 1024
ROW_BLOCK = 2048

# The kernels rely on tl.randint4x running 32-bit Philox on int64 offsets and on
# `.to(..., bitcast=True)` as Triton 3.4 and later do them; older releases give other noise.
MIN_TRITON = (3, 4)


def triton_version_problem(version: str) -> str | None:
    """None when Triton ``version`` is new enough for the kernels, else why not."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return f"cannot read the Triton version {version!r}; betavae's kernels need >= 3.4"
    if (int(match[1]), int(match[2])) < MIN_TRITON:
        return (
            f"Triton {version} is too old: betavae's kernels need Triton >= "
            f"{MIN_TRITON[0]}.{MIN_TRITON[1]} (its tl.randint4x Philox on int64 offsets and "
            "bitcast semantics); `pip install 'triton>=3.4'`"
        )
    return None


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _grid(n: int, block: int = BLOCK) -> tuple[int]:
    return ((n + block - 1) // block,)


def _on_device(scalar: torch.Tensor, device: torch.device) -> torch.Tensor:
    return scalar.to(device=device, dtype=torch.int64).reshape(1)


def _device_scope(device: torch.device):
    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


class TritonBackend(Backend):
    name = "triton"
    dtypes = (torch.float32, torch.float16, torch.bfloat16)

    def __init__(self) -> None:
        self._kernels: dict[str, ModuleType] | None = None
        self._error: str | None = None

    def _load(self) -> dict[str, ModuleType] | None:
        if self._kernels is None and self._error is None:
            try:
                import triton
            except ImportError as exc:
                self._error = f"Triton kernels unavailable ({exc}); `pip install triton`"
                return None
            self._error = triton_version_problem(getattr(triton, "__version__", ""))
            if self._error is not None:
                return None
            try:
                self._kernels = {
                    name: importlib.import_module(f"betavae.kernels.{name}")
                    for name in ("random", "gaussian_sample_kl", "bernoulli_nll")
                }
            except ImportError as exc:
                self._error = f"Triton kernels unavailable ({exc}); `pip install triton`"
        return self._kernels

    def unavailable_reason(self) -> str | None:
        if self._load() is None:
            return self._error
        if not _interpreting() and not torch.cuda.is_available():
            return (
                "no CUDA device (Triton runs on CPU tensors only with TRITON_INTERPRET=1 set "
                "before import, for tests)"
            )
        return None

    def supports_device(self, device: torch.device) -> bool:
        return device.type == "cuda" or (device.type == "cpu" and _interpreting())

    def _k(self, name: str) -> ModuleType:
        kernels = self._load()
        if kernels is None:
            raise RuntimeError(self._error)
        return kernels[name]

    def _rng(self, seed: int, offset: int, device: torch.device):
        return (
            torch.tensor([as_int64_bits(seed)], dtype=torch.int64, device=device),
            torch.tensor([as_int64_bits(offset)], dtype=torch.int64, device=device),
        )

    def philox_words(self, n, seed, offset, device):
        out = torch.empty(n, 4, dtype=torch.int32, device=device)
        seed_t, offset_t = self._rng(seed, offset, out.device)
        with _device_scope(out.device):
            self._k("random").philox_words_kernel[_grid(n)](out, n, seed_t, offset_t, BLOCK=BLOCK)
        return out.to(torch.int64) & 0xFFFFFFFF

    def uniform(self, n, seed, offset, device):
        out = torch.empty(n, dtype=torch.float32, device=device)
        seed_t, offset_t = self._rng(seed, offset, out.device)
        with _device_scope(out.device):
            self._k("random").uniform_kernel[_grid(n)](out, n, seed_t, offset_t, BLOCK=BLOCK)
        return out

    def standard_normal(self, n, seed, offset, device):
        out = torch.empty(n, dtype=torch.float32, device=device)
        seed_d, offset_d = _on_device(seed, out.device), _on_device(offset, out.device)
        with _device_scope(out.device):
            self._k("random").normal_kernel[_grid(n)](out, n, seed_d, offset_d, BLOCK=BLOCK)
        return out

    def gaussian_sample_kl_forward(self, mu, logvar, seed, offset):
        z, kl = torch.empty_like(mu), torch.empty_like(mu)
        seed_d, offset_d = _on_device(seed, mu.device), _on_device(offset, mu.device)
        n = mu.numel()
        with _device_scope(mu.device):
            self._k("gaussian_sample_kl").gaussian_sample_kl_forward_kernel[_grid(n)](
                mu, logvar, z, kl, n, seed_d, offset_d, BLOCK=BLOCK
            )
        return z, kl

    def gaussian_sample_kl_backward(self, grad_z, grad_kl, mu, logvar, seed, offset):
        grad_mu, grad_logvar = torch.empty_like(mu), torch.empty_like(mu)
        seed_d, offset_d = _on_device(seed, mu.device), _on_device(offset, mu.device)
        n = mu.numel()
        with _device_scope(mu.device):
            self._k("gaussian_sample_kl").gaussian_sample_kl_backward_kernel[_grid(n)](
                grad_z if grad_z is not None else mu,
                grad_kl if grad_kl is not None else mu,
                mu,
                logvar,
                grad_mu,
                grad_logvar,
                n,
                seed_d,
                offset_d,
                HAS_GRAD_Z=grad_z is not None,
                HAS_GRAD_KL=grad_kl is not None,
                BLOCK=BLOCK,
            )
        return grad_mu, grad_logvar

    def bernoulli_nll_forward(self, logits, target):
        rows, cols = logits.shape
        out = torch.empty(rows, dtype=nll_output_dtype(logits.dtype), device=logits.device)
        with _device_scope(logits.device):
            self._k("bernoulli_nll").bernoulli_nll_forward_kernel[(rows,)](
                logits, target, out, cols, BLOCK=ROW_BLOCK
            )
        return out

    def bernoulli_nll_backward(self, grad, logits, target):
        grad_logits = torch.empty_like(logits)
        n = logits.numel()
        with _device_scope(logits.device):
            self._k("bernoulli_nll").bernoulli_nll_backward_kernel[_grid(n)](
                grad, logits, target, grad_logits, n, logits.shape[1], BLOCK=BLOCK
            )
        return grad_logits
