"""gaussian_sample_kl: every CPU-tensor backend against the reference, forward and backward, plus
gradcheck, opcheck and determinism."""

import pytest
import torch
from conftest import cpu_tensor_backends

from betavae import ops
from betavae.ops.gaussian_sample_kl import gaussian_sample_kl_backward_op, gaussian_sample_kl_op

SHAPES = [(1, 10), (64, 10), (3, 7, 5), (2, 3, 16, 16), (1, 100_003), (17, 33)]


def _inputs(shape, dtype, seed=0, extreme=False):
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(shape, generator=gen, dtype=torch.float64) * 3
    if extreme:
        logvar = torch.linspace(-30, 30, mu.numel(), dtype=torch.float64).reshape(shape)
    else:
        logvar = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
    return mu.to(dtype), logvar.to(dtype)


def _upstream(shape, dtype):
    gen = torch.Generator().manual_seed(99)
    g_z = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
    g_kl = torch.rand(shape, generator=gen, dtype=torch.float64).to(dtype)
    return g_z, g_kl


def _fwd_bwd(mu, logvar, seed, offset, backend, grads=("z", "kl")):
    mu = mu.clone().requires_grad_(True)
    logvar = logvar.clone().requires_grad_(True)
    z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend=backend)
    g_z, g_kl = _upstream(z.shape, z.dtype)
    loss = 0
    if "z" in grads:
        loss = loss + (z * g_z).sum()
    if "kl" in grads:
        loss = loss + (kl * g_kl).sum()
    loss.backward()
    return z.detach(), kl.detach(), mu.grad, logvar.grad


# Normals of different backends agree within 1e-6 (different log/cos), so outputs that carry eps may
# differ by 1e-6 * sigma (z) and 1e-6 * |g_z| * sigma / 2 (grad logvar) beyond rounding.
EPS_AGREEMENT = 1e-6


def _assert_close(got, want, noise_scale, dtype, what):
    rtol = 1e-10 if dtype == torch.float64 else 2e-5
    atol = 1e-10 if dtype == torch.float64 else 1e-5
    bound = atol + rtol * want.abs() + EPS_AGREEMENT * noise_scale
    excess = (got.double() - want.double()).abs() - bound.double()
    assert bool((excess <= 0).all()), f"{what}: worst excess {float(excess.max()):.3g}"


def _dtypes(backend):
    return [torch.float32, torch.float64] if backend == "cpu" else [torch.float32]


@pytest.mark.parametrize("backend", cpu_tensor_backends())
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("extreme", [False, True], ids=["normal", "logvar±30"])
def test_matches_reference(backend, shape, extreme):
    for dtype in _dtypes(backend):
        mu, logvar = _inputs(shape, dtype, extreme=extreme)
        fused = _fwd_bwd(mu, logvar, 11, 5, backend)
        oracle = _fwd_bwd(mu, logvar, 11, 5, "reference")
        sigma = torch.exp(0.5 * logvar.double())
        g_z, _ = _upstream(mu.shape, dtype)
        noise = (sigma, torch.zeros_like(sigma), torch.zeros_like(sigma), 0.5 * sigma * g_z.abs())
        for got, want, scale, what in zip(fused, oracle, noise, ("z", "kl", "grad mu", "grad lv")):
            assert got.dtype == dtype, what
            _assert_close(got, want, scale, dtype, what)


@pytest.mark.parametrize("backend", cpu_tensor_backends())
@pytest.mark.parametrize("grads", [("z",), ("kl",)], ids=["only-z", "only-kl"])
def test_backward_with_one_output_used(backend, grads):
    mu, logvar = _inputs((8, 10), torch.float32)
    fused = _fwd_bwd(mu, logvar, 3, 0, backend, grads)
    oracle = _fwd_bwd(mu, logvar, 3, 0, "reference", grads)
    sigma = torch.exp(0.5 * logvar.double())
    for got, want in zip(fused[2:], oracle[2:]):
        _assert_close(got, want, 3 * sigma, torch.float32, "grad")


@pytest.mark.parametrize("backend", cpu_tensor_backends())
def test_sample_uses_the_documented_noise(backend):
    mu, logvar = _inputs((6, 10), torch.float32)
    z, _ = ops.gaussian_sample_kl(mu, logvar, 8, 123, backend=backend)
    eps = ops.standard_normal(mu.shape, 8, 123, backend=backend)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps, rtol=1e-5, atol=1e-5)


def test_gradcheck_float64():
    mu, logvar = _inputs((4, 5), torch.float64)
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda m, v: ops.gaussian_sample_kl(m, v, 17, 3, backend="cpu"), (mu, logvar)
    )


def test_opcheck():
    mu, logvar = _inputs((4, 10), torch.float32)
    mu.requires_grad_(True)
    args = (mu, logvar, torch.tensor(5), torch.tensor(7), "cpu")
    torch.library.opcheck(gaussian_sample_kl_op, args)
    grad = torch.ones(4, 10)
    torch.library.opcheck(
        gaussian_sample_kl_backward_op,
        (grad, None, mu.detach(), logvar, torch.tensor(5), torch.tensor(7), "cpu"),
    )


def test_deterministic_across_runs_and_threads():
    mu, logvar = _inputs((300, 123), torch.float32)
    threads = torch.get_num_threads()
    try:
        results = []
        for n in (1, 2, 1, 2):
            torch.set_num_threads(n)
            results.append(_fwd_bwd(mu, logvar, 1, 2, "cpu"))
    finally:
        torch.set_num_threads(threads)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert torch.equal(a, b)


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    mu = torch.zeros(2, 10)
    z, kl = ops.gaussian_sample_kl(mu, torch.zeros(2, 10), 0, backend="cpu")
    assert torch.equal(kl, torch.zeros(2, 10))
    _, kl = ops.gaussian_sample_kl(mu + 0.5, torch.full((2, 10), 0.3), 0, backend="cpu")
    assert bool((kl > 0).all())


@pytest.mark.parametrize("backend", cpu_tensor_backends())
def test_non_contiguous_inputs_and_expanded_gradients(backend):
    """Transposed mu/logvar and the stride-0 gradients of .sum() reach the kernels contiguous."""
    base_mu, base_lv = _inputs((10, 6), torch.float32)
    results = []
    for name in (backend, "reference"):
        mu = base_mu.clone().requires_grad_(True)
        lv = base_lv.clone().requires_grad_(True)
        assert not mu.t().is_contiguous()
        z, kl = ops.gaussian_sample_kl(mu.t(), lv.t(), 4, 2, backend=name)
        (z.sum() + kl.sum()).backward()
        results.append((z.detach(), kl.detach(), mu.grad, lv.grad))
    sigma = torch.exp(0.5 * base_lv.double()).t()
    for got, want, scale in zip(
        results[0], results[1], (sigma, 0 * sigma, 0 * sigma.t(), sigma.t())
    ):
        _assert_close(got, want, scale, torch.float32, "non-contiguous")
