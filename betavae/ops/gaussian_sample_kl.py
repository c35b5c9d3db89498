"""Fused reparameterised sample + per-element Gaussian KL: ``betavae::gaussian_sample_kl``.

One kernel pass gives ``z = mu + exp(logvar/2)·eps`` and
``kl = 0.5·(mu² + exp(logvar) − logvar − 1)``; eps is the standard normal at counter
``offset + i`` under ``seed`` (docs/design.md, "RNG"). The backward pass regenerates eps from
(seed, offset) instead of saving it.
"""

from __future__ import annotations

from typing import Optional

import torch

from . import backends, checks, reference

OP = "gaussian_sample_kl"


@torch.library.custom_op("betavae::gaussian_sample_kl", mutates_args=())
def gaussian_sample_kl_op(
    mu: torch.Tensor, logvar: torch.Tensor, seed: torch.Tensor, offset: torch.Tensor, backend: str
) -> tuple[torch.Tensor, torch.Tensor]:
    return _run_forward(mu, logvar, seed, offset, backend)


@gaussian_sample_kl_op.register_fake
def _(mu, logvar, seed, offset, backend):
    return torch.empty_like(mu), torch.empty_like(mu)


@torch.library.custom_op("betavae::gaussian_sample_kl_backward", mutates_args=())
def gaussian_sample_kl_backward_op(
    grad_z: Optional[torch.Tensor],
    grad_kl: Optional[torch.Tensor],
    mu: torch.Tensor,
    logvar: torch.Tensor,
    seed: torch.Tensor,
    offset: torch.Tensor,
    backend: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    return _run_backward(grad_z, grad_kl, mu, logvar, seed, offset, backend)


@gaussian_sample_kl_backward_op.register_fake
def _(grad_z, grad_kl, mu, logvar, seed, offset, backend):
    return torch.empty_like(mu), torch.empty_like(mu)


def _setup_context(ctx, inputs, output):
    mu, logvar, seed, offset, backend = inputs
    ctx.save_for_backward(mu, logvar, seed, offset)
    ctx.backend = backend


def _backward(ctx, grad_z, grad_kl):
    mu, logvar, seed, offset = ctx.saved_tensors
    grad_mu, grad_logvar = gaussian_sample_kl_backward_op(
        grad_z, grad_kl, mu, logvar, seed, offset, ctx.backend
    )
    return grad_mu, grad_logvar, None, None, None


gaussian_sample_kl_op.register_autograd(_backward, setup_context=_setup_context)


class _EagerGaussianSampleKL(torch.autograd.Function):
    """Eager fast path onto the same backend calls as the custom op, without the ~40 us per call of
    custom-op dispatch. torch.compile traces the custom op instead (see gaussian_sample_kl). Kept
    lean (docs/design.md, speed goals: at (64, 10) the whole op is a few microseconds of kernel
    inside tens of microseconds of Python): only mu and logvar go through save_for_backward, seed
    and offset ride on ctx, and inputs that are already contiguous are not touched."""

    @staticmethod
    def forward(ctx, mu, logvar, seed, offset, backend):
        mu, logvar = _contiguous(mu), _contiguous(logvar)
        ctx.save_for_backward(mu, logvar)
        if backend == "cpu":  # read the scalars once, not again in the backward pass
            seed, offset = int(seed), int(offset)
        ctx.rng = (seed, offset, backend)
        ctx.set_materialize_grads(False)
        return _run_forward(mu, logvar, seed, offset, backend)

    @staticmethod
    def backward(ctx, grad_z, grad_kl):
        mu, logvar = ctx.saved_tensors
        seed, offset, backend = ctx.rng
        grads = _run_backward(grad_z, grad_kl, mu, logvar, seed, offset, backend)
        return grads[0], grads[1], None, None, None


def _contiguous(tensor: torch.Tensor) -> torch.Tensor:
    return tensor if tensor.is_contiguous() else tensor.contiguous()


def _run_forward(mu, logvar, seed, offset, backend: str):
    """Contiguous inputs for the kernels; shared by the custom op and the eager fast path."""
    return backends.get(backend).gaussian_sample_kl_forward(
        _contiguous(mu), _contiguous(logvar), seed, offset
    )


def _gradient_in(grad: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """An upstream gradient as the kernels take it: None stays None (the kernels skip it); others
    contiguous in the compute dtype (they often arrive expanded)."""
    if grad is None:
        return None
    if grad.dtype != dtype:
        grad = grad.to(dtype)
    return _contiguous(grad)


def _run_backward(grad_z, grad_kl, mu, logvar, seed, offset, backend: str):
    return backends.get(backend).gaussian_sample_kl_backward(
        _gradient_in(grad_z, mu.dtype),
        _gradient_in(grad_kl, mu.dtype),
        _contiguous(mu),
        _contiguous(logvar),
        seed,
        offset,
    )


def gaussian_sample_kl(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    seed: int | torch.Tensor,
    offset: int | torch.Tensor = 0,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reparameterised sample ``z`` and element-wise KL to N(0, 1), in one fused pass.

    Args:
        mu, logvar: posterior mean and log-variance, same shape ``(..., Z)``, dtype and device.
        seed: RNG key (int or integer tensor; a tensor avoids recompiles under torch.compile).
        offset: first RNG counter (>= 0); element i uses counter ``offset + i``. Advance it by
            ``mu.numel()`` per call to draw fresh noise.
        backend: "auto", "reference", "cpu", "cuda" or "triton".

    Returns:
        ``(z, kl)``, both shaped like ``mu``.
    """
    mu, logvar = checks.check_gaussian_inputs(mu, logvar)
    seed_t = checks.rng_scalar(OP, "seed", seed, allow_negative=True)
    offset_t = checks.rng_scalar(OP, "offset", offset, allow_negative=False)
    name = backends.resolve(backend, mu.device, mu.dtype, OP)
    if name == "reference":
        return reference.gaussian_sample_kl(mu, logvar, int(seed_t), int(offset_t))
    if torch.compiler.is_compiling():
        return gaussian_sample_kl_op(mu, logvar, seed_t, offset_t, name)
    return _EagerGaussianSampleKL.apply(mu, logvar, seed_t, offset_t, name)
