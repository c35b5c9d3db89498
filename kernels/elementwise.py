"""Per-element helpers shared by the Triton kernels (the Triton twin of csrc/elementwise.h)."""

import triton
import triton.language as tl


@triton.jit
def log1p_unit(e):
    """log1p(e) for e in [0, 1]: log(1+e) scaled by e/((1+e)-1), exact to a few ulp."""
    u = 1.0 + e
    d = u - 1.0
    d_safe = tl.where(d == 0.0, 1.0, d)
    return tl.where(d == 0.0, e, tl.log(u) * (e / d_safe))


@triton.jit
def bce_with_logits(x, t):
    """max(x, 0) - x*t + log1p(exp(-|x|))."""
    return tl.maximum(x, 0.0) - x * t + log1p_unit(tl.exp(-tl.abs(x)))


@triton.jit
def bce_with_logits_grad(x, t):
    """sigmoid(x) - t, from exp(-|x|) so it never overflows."""
    e = tl.exp(-tl.abs(x))
    inv = 1.0 / (1.0 + e)
    return tl.where(x >= 0.0, inv, e * inv) - t
