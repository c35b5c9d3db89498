"""Pure-PyTorch reference of the fused ops: the oracle every backend is tested against.

Everything here is plain torch, differentiated by autograd, including a vectorised Philox4x32-10
written with int64 tensor arithmetic, so the RNG contract (docs/design.md, "RNG") is checked by an
independent implementation. Nothing here is fast; it is meant to be obviously right.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

MASK32 = 0xFFFFFFFF
PHILOX_MUL_A = 0xD2511F53
PHILOX_MUL_B = 0xCD9E8D57
PHILOX_KEY_A = 0x9E3779B9
PHILOX_KEY_B = 0xBB67AE85
PHILOX_ROUNDS = 10
UNIFORM_SCALE = 4.6566127342e-10
TWO_PI = 6.283185307179586
NORMAL_U1_MIN = 1.0e-7


def _mul_hi_lo(constant: int, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32-bit words of ``constant * value`` (both < 2^32) without int64 overflow."""
    product_lo16 = value * (constant & 0xFFFF)  # < 2^48
    product_hi16 = value * (constant >> 16)  # < 2^48; counts 2^16 units
    middle = product_lo16 + ((product_hi16 & 0xFFFF) << 16)  # < 2^49
    low = middle & MASK32
    high = (product_hi16 >> 16) + (middle >> 32)
    return high, low


def philox4x32(seed: int, counters: torch.Tensor) -> torch.Tensor:
    """Philox4x32-10 words for each 64-bit counter; returns int64 tensor ``(*counters.shape, 4)``.

    Key = (seed low 32 bits, seed high 32 bits), counter = (counter low, counter high, 0, 0), as
    Triton's ``tl.randint4x(seed, counter)``. Words are returned as non-negative int64 values.
    """
    seed &= 0xFFFFFFFFFFFFFFFF
    key0, key1 = seed & MASK32, seed >> 32
    counters = counters.to(torch.int64)
    c0 = counters & MASK32
    c1 = (counters >> 32) & MASK32
    c2 = torch.zeros_like(c0)
    c3 = torch.zeros_like(c0)
    for _ in range(PHILOX_ROUNDS):
        hi_b, lo_b = _mul_hi_lo(PHILOX_MUL_B, c2)
        hi_a, lo_a = _mul_hi_lo(PHILOX_MUL_A, c0)
        c0, c1, c2, c3 = hi_b ^ c1 ^ key0, lo_b, hi_a ^ c3 ^ key1, lo_a
        key0 = (key0 + PHILOX_KEY_A) & MASK32
        key1 = (key1 + PHILOX_KEY_B) & MASK32
    return torch.stack([c0, c1, c2, c3], dim=-1)


def uniform_from_words(words: torch.Tensor) -> torch.Tensor:
    """float32 uniforms in [0, 1) from 32-bit words, exactly as ``tl.rand``."""
    signed = torch.where(words >= 2**31, words - 2**32, words)
    folded = torch.where(signed < 0, -signed - 1, signed)
    return folded.to(torch.float32) * torch.tensor(UNIFORM_SCALE, dtype=torch.float32)


def normal_from_words(w0: torch.Tensor, w1: torch.Tensor) -> torch.Tensor:
    """Box-Muller (cosine branch) as ``tl.randn``, in float32."""
    u1 = uniform_from_words(w0).clamp_min(NORMAL_U1_MIN)
    theta = uniform_from_words(w1) * torch.tensor(TWO_PI, dtype=torch.float32)
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(theta)


def _counters(numel: int, offset: int, device: torch.device | str | None) -> torch.Tensor:
    return torch.arange(numel, dtype=torch.int64, device=device) + offset


def uniform(
    shape: Sequence[int], seed: int, offset: int = 0, device: torch.device | str | None = None
) -> torch.Tensor:
    """Uniforms (word 0 of each counter), as ``tl.rand(seed, offset + arange)``."""
    n = _numel(shape)
    words = philox4x32(seed, _counters(n, offset, device))
    return uniform_from_words(words[:, 0]).reshape(tuple(shape))


def standard_normal(
    shape: Sequence[int], seed: int, offset: int = 0, device: torch.device | str | None = None
) -> torch.Tensor:
    """float32 normals: element i (row-major) is the normal at counter ``offset + i``."""
    n = _numel(shape)
    words = philox4x32(seed, _counters(n, offset, device))
    return normal_from_words(words[:, 0], words[:, 1]).reshape(tuple(shape))


def gaussian_sample_kl(
    mu: torch.Tensor, logvar: torch.Tensor, seed: int, offset: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``z = mu + exp(logvar/2)*eps`` and element-wise ``KL(N(mu, exp(logvar)) || N(0, 1))``."""
    eps = standard_normal(mu.shape, seed, offset, device=mu.device).to(mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps
    kl = 0.5 * (mu.square() + torch.exp(logvar) - logvar - 1.0)
    return z, kl


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample Bernoulli NLL summed over all non-batch dims; shape ``(B,)``.

    ``max(x, 0) - x*t + log1p(exp(-|x|))``, written as ``|x|·w + log1p(exp(-|x|))`` with
    ``w = 1 - t`` for x > 0 and ``t`` otherwise, and ``|x|·w = 0`` when ``w = 0``: the true value
    at x = ±inf too (0 for the matching target, inf for the other), where the textbook form gives
    inf - inf. Accumulated in float32 for half inputs. uint8/bool targets are binary: any
    non-zero byte is 1. The derivative is exactly ``sigmoid(x) - t`` everywhere (also at x = 0,
    where autograd of ``|x|`` would give a subgradient of its own).
    """
    compute_dtype = torch.float32 if logits.dtype in (torch.float16, torch.bfloat16) else None
    x = logits.to(compute_dtype) if compute_dtype else logits
    t = (target != 0) if target.dtype in (torch.uint8, torch.bool) else target
    loss = _BinaryCrossEntropyWithLogits.apply(x, t.to(x.dtype))
    return loss.reshape(loss.shape[0], -1).sum(dim=1)


class _BinaryCrossEntropyWithLogits(torch.autograd.Function):
    """Element-wise BCE with logits (see :func:`bernoulli_nll`), gradient sigmoid(x) - t."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, t)
        ax = x.abs()
        w = torch.where(x > 0, 1 - t, t)
        linear = torch.where(w == 0, torch.zeros_like(ax), ax * w)
        return linear + torch.log1p(torch.exp(-ax))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, t = ctx.saved_tensors
        return grad * (torch.sigmoid(x) - t), None


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for size in shape:
        n *= int(size)
    return n
