"""Fused per-sample Bernoulli negative log-likelihood: ``betavae::bernoulli_nll``.

Forward: ``sum over non-batch dims of max(x, 0) − x·t + log1p(exp(−|x|))`` in one pass, reading
uint8/bool targets at one byte per pixel. Backward: ``g_b·(sigmoid(x) − t)`` in one pass.
"""

from __future__ import annotations

import torch

from . import backends, checks, reference
from .backend_base import nll_output_dtype

OP = "bernoulli_nll"


@torch.library.custom_op("betavae::bernoulli_nll", mutates_args=())
def bernoulli_nll_op(logits: torch.Tensor, target: torch.Tensor, backend: str) -> torch.Tensor:
    return _run_forward(logits, target, backend)


@bernoulli_nll_op.register_fake
def _(logits, target, backend):
    return logits.new_empty((logits.shape[0],), dtype=nll_output_dtype(logits.dtype))


@torch.library.custom_op("betavae::bernoulli_nll_backward", mutates_args=())
def bernoulli_nll_backward_op(
    grad: torch.Tensor, logits: torch.Tensor, target: torch.Tensor, backend: str
) -> torch.Tensor:
    return _run_backward(grad, logits, target, backend)


@bernoulli_nll_backward_op.register_fake
def _(grad, logits, target, backend):
    return torch.empty_like(logits)


def _setup_context(ctx, inputs, output):
    logits, target, backend = inputs
    ctx.save_for_backward(logits, target)
    ctx.backend = backend


def _backward(ctx, grad):
    logits, target = ctx.saved_tensors
    return bernoulli_nll_backward_op(grad, logits, target, ctx.backend), None, None


bernoulli_nll_op.register_autograd(_backward, setup_context=_setup_context)


class _EagerBernoulliNLL(torch.autograd.Function):
    """Eager fast path onto the same backend calls as the custom op, without the ~40 us per call of
    custom-op dispatch. torch.compile traces the custom op instead (see bernoulli_nll).

    When the logits need a gradient and the backend can (cpu), the forward pass also writes the
    element gradients sigmoid(x) − t, sharing exp(−|x|) with the loss, and the backward pass scales
    them in place by each row's upstream gradient and hands that buffer on as the gradient: one
    pass of the transcendental math and no second gradient-sized allocation. A second backward
    through the same graph (retain_graph) finds the buffer used and recomputes with the kernel."""

    @staticmethod
    def forward(ctx, logits, target, backend, gradient_follows):
        impl = backends.get(backend)
        flat_logits, flat_target = _flat(logits), _flat(_as_kernel_target(target))
        ctx.save_for_backward(logits, target)
        ctx.backend = backend
        ctx.grad_unit = None
        if gradient_follows and impl.fuses_nll_gradient:
            loss, ctx.grad_unit = impl.bernoulli_nll_forward_with_grad(flat_logits, flat_target)
            return loss
        return impl.bernoulli_nll_forward(flat_logits, flat_target)

    @staticmethod
    def backward(ctx, grad):
        logits, target = ctx.saved_tensors
        if ctx.grad_unit is not None:  # element gradients from the forward pass; used once
            grad_logits, ctx.grad_unit = ctx.grad_unit, None
            grad_logits.mul_(grad.to(grad_logits.dtype).unsqueeze(1))
            return grad_logits.view(logits.shape), None, None, None
        return _run_backward(grad, logits, target, ctx.backend), None, None, None


def _as_kernel_target(target: torch.Tensor) -> torch.Tensor:
    """bool targets are read as their bytes (0/1), like uint8."""
    return target.view(torch.uint8) if target.dtype == torch.bool else target


def _flat(tensor: torch.Tensor) -> torch.Tensor:
    """The contiguous (B, N) view the kernels read."""
    return tensor.reshape(tensor.shape[0], -1).contiguous()


def _run_forward(logits: torch.Tensor, target: torch.Tensor, backend: str) -> torch.Tensor:
    """The kernels see (B, N) views; shared by the custom op and the eager fast path."""
    return backends.get(backend).bernoulli_nll_forward(
        _flat(logits), _flat(_as_kernel_target(target))
    )


def _run_backward(grad, logits: torch.Tensor, target: torch.Tensor, backend: str) -> torch.Tensor:
    grad = grad.to(nll_output_dtype(logits.dtype)).contiguous()
    grad_logits = backends.get(backend).bernoulli_nll_backward(
        grad, _flat(logits), _flat(_as_kernel_target(target))
    )
    return grad_logits.reshape(logits.shape)


def bernoulli_nll(
    logits: torch.Tensor, target: torch.Tensor, backend: str = "auto"
) -> torch.Tensor:
    """Per-sample Bernoulli NLL (binary cross-entropy with logits) summed over non-batch dims.

    Args:
        logits: ``(B, ...)`` floating-point decoder logits.
        target: same shape; float (soft targets allowed), uint8 or bool (0/1). Receives no gradient.
        backend: "auto", "reference", "cpu", "cuda" or "triton".

    Returns:
        ``(B,)`` losses; float32 for half-precision logits, else the logits' dtype.
    """
    logits, target = checks.check_bernoulli_inputs(logits, target)
    name = backends.resolve(backend, logits.device, logits.dtype, OP)
    if name == "reference":
        return reference.bernoulli_nll(logits, target)
    if target.is_floating_point() and target.dtype != logits.dtype:
        target = target.to(logits.dtype)
    if torch.compiler.is_compiling():
        return bernoulli_nll_op(logits, target, name)
    # Inside forward, autograd reports needs_input_grad even under no_grad: decide here.
    gradient_follows = logits.requires_grad and torch.is_grad_enabled()
    return _EagerBernoulliNLL.apply(logits, target, name, gradient_follows)
