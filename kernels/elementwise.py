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
    """max(x, 0) - x*t + log1p(exp(-|x|)), the first part as |x|*w (w = 1 - t for x > 0, else t;
    0 when w = 0) so that x = +-inf gives the true value, not inf - inf."""
    ax = tl.abs(x)
    w = tl.where(x > 0.0, 1.0 - t, t)
    return tl.where(w == 0.0, 0.0, ax * w) + log1p_unit(tl.exp(-ax))


@triton.jit
def binary_target(t):
    """A loaded target as float32: uint8 as binary (any non-zero byte is 1), floats as they are."""
    if t.dtype == tl.uint8:
        return tl.where(t != 0, 1.0, 0.0)
    return t.to(tl.float32)


@triton.jit
def bce_with_logits_grad(x, t):
    """sigmoid(x) - t, from exp(-|x|) so it never overflows."""
    e = tl.exp(-tl.abs(x))
    inv = 1.0 / (1.0 + e)
    return tl.where(x >= 0.0, inv, e * inv) - t
