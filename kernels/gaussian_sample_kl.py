"""Triton kernels of gaussian_sample_kl: z and kl in one pass; the backward regenerates eps."""

import triton
import triton.language as tl


@triton.jit
def gaussian_sample_kl_forward_kernel(
    mu_ptr, logvar_ptr, z_ptr, kl_ptr, n, seed_ptr, offset_ptr, BLOCK: tl.constexpr
):
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    eps = tl.randn(tl.load(seed_ptr), tl.load(offset_ptr) + idx)
    mu = tl.load(mu_ptr + idx, mask=mask, other=0.0).to(tl.float32)
    logvar = tl.load(logvar_ptr + idx, mask=mask, other=0.0).to(tl.float32)
    sigma = tl.exp(0.5 * logvar)
    z = mu + sigma * eps
    kl = 0.5 * (mu * mu + sigma * sigma - logvar - 1.0)
    tl.store(z_ptr + idx, z.to(z_ptr.dtype.element_ty), mask=mask)
    tl.store(kl_ptr + idx, kl.to(kl_ptr.dtype.element_ty), mask=mask)


@triton.jit
def gaussian_sample_kl_backward_kernel(
    grad_z_ptr,
    grad_kl_ptr,
    mu_ptr,
    logvar_ptr,
    grad_mu_ptr,
    grad_logvar_ptr,
    n,
    seed_ptr,
    offset_ptr,
    HAS_GRAD_Z: tl.constexpr,
    HAS_GRAD_KL: tl.constexpr,
    BLOCK: tl.constexpr,
):
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    mu = tl.load(mu_ptr + idx, mask=mask, other=0.0).to(tl.float32)
    logvar = tl.load(logvar_ptr + idx, mask=mask, other=0.0).to(tl.float32)
    sigma = tl.exp(0.5 * logvar)
    grad_mu = tl.zeros([BLOCK], dtype=tl.float32)
    grad_logvar = tl.zeros([BLOCK], dtype=tl.float32)
    if HAS_GRAD_Z:
        g_z = tl.load(grad_z_ptr + idx, mask=mask, other=0.0).to(tl.float32)
        eps = tl.randn(tl.load(seed_ptr), tl.load(offset_ptr) + idx)
        grad_mu += g_z
        grad_logvar += 0.5 * g_z * eps * sigma
    if HAS_GRAD_KL:
        g_kl = tl.load(grad_kl_ptr + idx, mask=mask, other=0.0).to(tl.float32)
        grad_mu += g_kl * mu
        grad_logvar += 0.5 * g_kl * (sigma * sigma - 1.0)
    tl.store(grad_mu_ptr + idx, grad_mu.to(grad_mu_ptr.dtype.element_ty), mask=mask)
    tl.store(grad_logvar_ptr + idx, grad_logvar.to(grad_logvar_ptr.dtype.element_ty), mask=mask)
