"""The two objectives of Burgess et al. 2018 (docs/design.md, "The science"), on the fused ops:

- β-VAE ("H"): ``recon + β·KL``
- capacity ("B"): ``recon + γ·|KL − C(t)|``, ``C(t) = min(C_max, C_max·t/T)``

``recon`` is the Bernoulli NLL summed over pixels and channels, averaged over the batch; ``KL``
is the per-sample KL summed over latents, averaged over the batch (the absolute value is taken of
that mean).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import ops


@dataclass
class LossTerms:
    """The terms of one objective evaluation."""

    loss: torch.Tensor  # scalar to minimise
    recon: torch.Tensor  # scalar, nats per image
    kl: torch.Tensor  # scalar, batch-mean total KL (nats)
    kl_per_latent: torch.Tensor  # (Z,) batch-mean KL of each latent
    capacity: float  # C(t) for the capacity objective, 0 for β-VAE


def capacity_at(step: int, c_max: float, c_steps: int) -> float:
    """C(t) = min(C_max, C_max·t/T); T = 0 means C_max from the start."""
    if c_steps <= 0:
        return float(c_max)
    return float(min(c_max, c_max * step / c_steps))


def step_at_capacity(capacity: float, c_max: float, c_steps: int) -> int:
    """The first step t at which C(t) >= ``capacity`` (the inverse of :func:`capacity_at`);
    ValueError for a capacity the schedule never reaches."""
    if not 0 <= capacity <= c_max:
        raise ValueError(f"capacity {capacity} is outside the schedule's range [0, {c_max}]")
    if c_steps <= 0 or capacity == 0:
        return 0
    step = math.ceil(capacity / c_max * c_steps)
    while step > 0 and capacity_at(step - 1, c_max, c_steps) >= capacity:
        step -= 1  # float rounding of the division
    while capacity_at(step, c_max, c_steps) < capacity:
        step += 1
    return step


def _terms(logits, target, kl_elements, backend):
    """(recon, KL, per-latent KL), computed and reduced in float32 at least: under bf16 autocast
    the decoder's logits and a KL taken in bf16 would arrive in bf16, whose spacing at 25 nats is
    0.125 nats, which would quantise γ·|KL − C| in steps of 125 and zero its gradient near C (and
    the CPU kernels take float32/float64 only)."""
    recon = ops.bernoulli_nll(at_least_fp32(logits), target, backend=backend).mean()
    kl_per_latent = at_least_fp32(kl_elements).mean(0)
    return recon, kl_per_latent.sum(), kl_per_latent


def at_least_fp32(tensor: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 tensors as float32; float32/float64 unchanged (no copy)."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor


class BetaVAELoss:
    """``recon + β·KL`` (Higgins et al. 2017)."""

    def __init__(self, beta: float, backend: str = "auto") -> None:
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0; got {beta}")
        self.beta, self.backend = float(beta), backend

    def __call__(self, logits, target, kl_elements, step: int = 0) -> LossTerms:
        recon, kl, per_latent = _terms(logits, target, kl_elements, self.backend)
        return LossTerms(recon + self.beta * kl, recon, kl, per_latent, 0.0)


class CapacityLoss:
    """``recon + γ·|KL − C(t)|`` with C rising linearly from 0 to ``c_max`` over ``c_steps`` steps
    (Burgess et al. 2018)."""

    def __init__(
        self,
        gamma: float,
        c_max: float,
        c_steps: int,
        backend: str = "auto",
        kl_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0; got {gamma}")
        if not c_max >= 0:
            raise ValueError(f"c_max must be >= 0; got {c_max}")
        if c_steps < 0:
            raise ValueError(f"c_steps must be >= 0; got {c_steps}")
        self.gamma, self.c_max, self.c_steps = float(gamma), float(c_max), int(c_steps)
        self.backend = backend
        # Under DDP each process sees part of the batch; |KL − C| is not linear, so the KL must
        # be the whole batch's before the absolute value (the trainer passes an all-reduced
        # mean). The recon term is linear: DDP's gradient averaging handles it.
        self.kl_reduce = kl_reduce

    def __call__(self, logits, target, kl_elements, step: int = 0) -> LossTerms:
        recon, kl, per_latent = _terms(logits, target, kl_elements, self.backend)
        capacity = capacity_at(step, self.c_max, self.c_steps)
        batch_kl = kl if self.kl_reduce is None else self.kl_reduce(kl)
        return LossTerms(
            recon + self.gamma * (batch_kl - capacity).abs(), recon, kl, per_latent, capacity
        )
