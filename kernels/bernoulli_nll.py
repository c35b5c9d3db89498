"""Triton kernels of bernoulli_nll: one program per row sums the BCE in a fixed order (fp32
accumulator, deterministic); the backward is one element-wise pass."""

import triton
import triton.language as tl

from .elementwise import bce_with_logits, bce_with_logits_grad, binary_target


@triton.jit
def bernoulli_nll_forward_kernel(logits_ptr, target_ptr, out_ptr, cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    base = row * cols
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, cols, BLOCK):
        idx = start + tl.arange(0, BLOCK)
        mask = idx < cols
        x = tl.load(logits_ptr + base + idx, mask=mask, other=0.0).to(tl.float32)
        t = binary_target(tl.load(target_ptr + base + idx, mask=mask, other=0))
        acc += tl.where(mask, bce_with_logits(x, t), 0.0)
    tl.store(out_ptr + row, tl.sum(acc, axis=0).to(out_ptr.dtype.element_ty))


@triton.jit
def bernoulli_nll_backward_kernel(
    grad_ptr, logits_ptr, target_ptr, grad_logits_ptr, n, cols, BLOCK: tl.constexpr
):
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    g = tl.load(grad_ptr + idx // cols, mask=mask, other=0.0).to(tl.float32)
    x = tl.load(logits_ptr + idx, mask=mask, other=0.0).to(tl.float32)
    t = binary_target(tl.load(target_ptr + idx, mask=mask, other=0))
    grad = g * bce_with_logits_grad(x, t)
    tl.store(grad_logits_ptr + idx, grad.to(grad_logits_ptr.dtype.element_ty), mask=mask)
