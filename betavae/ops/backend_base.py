"""The interface every native backend (cpu, cuda, triton) implements for the fused ops.

Inputs arrive validated, contiguous and on the backend's device (the op files prepare them once for
every backend; gradients often arrive expanded); upstream gradients arrive in the compute dtype
(mu's dtype; ``nll_output_dtype`` for the per-row BCE gradient). Seed/offset arrive as int64
scalar tensors.
"""

from __future__ import annotations

import torch


class Backend:
    """One implementation of the fused ops. Subclasses set ``name`` and ``dtypes``."""

    name: str = ""
    dtypes: tuple[torch.dtype, ...] = ()
    # True when the backend has bernoulli_nll_forward_with_grad(logits, target) -> (loss,
    # d loss/d logits): the forward of a training step then also gives the element gradients, and
    # the backward only scales them by each row's upstream gradient (no second pass of exp).
    fuses_nll_gradient: bool = False

    def unavailable_reason(self) -> str | None:
        """None when usable on this machine, else a sentence saying why not."""
        raise NotImplementedError

    def supports_device(self, device: torch.device) -> bool:
        raise NotImplementedError

    def device_problem(self, device: torch.device) -> str | None:
        """None when the backend can run on this particular device, else why not (e.g. a GPU
        the build has no code for). Only asked for devices of a supported type."""
        return None

    def philox_words(self, n: int, seed: int, offset: int, device: torch.device) -> torch.Tensor:
        """int64 tensor (n, 4): the Philox words of counters offset..offset+n-1 (for tests)."""
        raise NotImplementedError

    def uniform(self, n: int, seed: int, offset: int, device: torch.device) -> torch.Tensor:
        """float32 uniforms from word 0 of each counter (for tests)."""
        raise NotImplementedError

    def standard_normal(
        self, n: int, seed: torch.Tensor, offset: torch.Tensor, device: torch.device
    ) -> torch.Tensor:
        raise NotImplementedError

    def gaussian_sample_kl_forward(
        self, mu: torch.Tensor, logvar: torch.Tensor, seed: torch.Tensor, offset: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def gaussian_sample_kl_backward(
        self,
        grad_z: torch.Tensor | None,
        grad_kl: torch.Tensor | None,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        seed: torch.Tensor,
        offset: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def bernoulli_nll_forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``logits`` and ``target`` are 2-D (B, N); returns (B,)."""
        raise NotImplementedError

    def bernoulli_nll_backward(
        self, grad: torch.Tensor, logits: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError


def nll_output_dtype(logits_dtype: torch.dtype) -> torch.dtype:
    """Row sums accumulate in fp32: half-precision logits give a float32 loss."""
    return torch.float32 if logits_dtype in (torch.float16, torch.bfloat16) else logits_dtype


def scalar_value(tensor: torch.Tensor | int) -> int:
    """Host value of a seed/offset scalar tensor (a sync when it lives on a GPU); ints pass."""
    return tensor if type(tensor) is int else int(tensor.item())


def as_int64_bits(value: int) -> int:
    """A 64-bit seed/offset (signed or unsigned, in [-2**63, 2**64)) as the signed int64 with the
    same bits. No 64-bit mask: under torch.compile ``value`` may be a symbolic int, and Inductor
    cannot hold the mask 2**64 - 1 in an int64 (it crashed with OverflowError)."""
    return value - 2**64 if value >= 2**63 else value
