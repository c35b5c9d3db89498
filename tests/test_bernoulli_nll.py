"""bernoulli_nll: every CPU-tensor backend against torch's BCE-with-logits and the reference,
forward and backward, with extreme logits, soft/uint8/bool targets, gradcheck, opcheck and
determinism."""

import pytest
import torch
import torch.nn.functional as F
from conftest import cpu_tensor_backends

from betavae import ops
from betavae.ops.bernoulli_nll import bernoulli_nll_backward_op, bernoulli_nll_op

SHAPES = [(1, 1), (5, 17), (64, 1, 64, 64), (3, 3, 64, 64), (2, 100_001), (7,)]
TARGETS = ["uint8", "bool", "soft"]


def _inputs(shape, dtype, target_kind, scale=5.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)
    if target_kind == "soft":
        target = torch.rand(shape, generator=gen, dtype=torch.float64).to(dtype)
    else:
        target = torch.rand(shape, generator=gen) > 0.5
        target = target if target_kind == "bool" else target.to(torch.uint8)
    return logits, target


def _torch_bce(logits, target):
    loss = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="none")
    return loss.reshape(loss.shape[0], -1).sum(1)


def _fwd_bwd(logits, target, backend):
    x = logits.clone().requires_grad_(True)
    loss = ops.bernoulli_nll(x, target, backend=backend)
    weights = torch.linspace(0.5, 1.5, loss.shape[0], dtype=loss.dtype)
    (loss * weights).sum().backward()
    return loss.detach(), x.grad


def _dtypes(backend):
    return [torch.float32, torch.float64] if backend == "cpu" else [torch.float32]


@pytest.mark.parametrize("backend", cpu_tensor_backends())
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("target_kind", TARGETS)
def test_matches_torch_bce(backend, shape, target_kind):
    for dtype in _dtypes(backend):
        logits, target = _inputs(shape, dtype, target_kind)
        got = ops.bernoulli_nll(logits, target, backend=backend)
        want = _torch_bce(logits.double(), target).to(dtype)
        rtol = 1e-10 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("backend", cpu_tensor_backends())
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4], ids=["x~1", "x~100", "x~1e4"])
@pytest.mark.parametrize("target_kind", TARGETS)
def test_forward_backward_match_reference(backend, scale, target_kind):
    for dtype in _dtypes(backend):
        logits, target = _inputs((6, 1, 32, 32), dtype, target_kind, scale=scale)
        if scale == 100.0:  # the exact extremes too
            logits.view(-1)[:4] = torch.tensor([100.0, -100.0, 0.0, -0.0], dtype=dtype)
        fused = _fwd_bwd(logits, target, backend)
        oracle = _fwd_bwd(logits.double(), target, "reference")
        tol = 1e-10 if dtype == torch.float64 else 2e-5
        torch.testing.assert_close(fused[0], oracle[0].to(dtype), rtol=tol, atol=tol)
        torch.testing.assert_close(fused[1], oracle[1].to(dtype), rtol=tol, atol=tol)
        assert fused[1].shape == logits.shape


def test_gradcheck_float64():
    logits, target = _inputs((3, 2, 5), torch.float64, "soft")
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: ops.bernoulli_nll(x, target, backend="cpu"), (logits,)
    )
    _, binary = _inputs((3, 2, 5), torch.float64, "uint8")
    assert torch.autograd.gradcheck(
        lambda x: ops.bernoulli_nll(x, binary, backend="cpu"), (logits,)
    )


@pytest.mark.parametrize("target_kind", TARGETS)
def test_opcheck(target_kind):
    logits, target = _inputs((4, 1, 8, 8), torch.float32, target_kind)
    logits.requires_grad_(True)
    if target.dtype == torch.bool:
        target = target.to(torch.uint8)  # the public wrapper hands bool to the op as bytes
    torch.library.opcheck(bernoulli_nll_op, (logits, target, "cpu"))
    torch.library.opcheck(
        bernoulli_nll_backward_op, (torch.ones(4), logits.detach(), target, "cpu")
    )


def test_deterministic_across_runs_and_threads():
    logits, target = _inputs((5, 3, 64, 64), torch.float32, "uint8")
    threads = torch.get_num_threads()
    try:
        results = []
        for n in (1, 2, 1, 2):
            torch.set_num_threads(n)
            results.append(_fwd_bwd(logits, target, "cpu"))
    finally:
        torch.set_num_threads(threads)
    for other in results[1:]:
        assert torch.equal(results[0][0], other[0])
        assert torch.equal(results[0][1], other[1])


def test_non_contiguous_inputs_are_handled():
    logits, target = _inputs((8, 16, 16), torch.float32, "uint8")
    got = ops.bernoulli_nll(logits.transpose(1, 2), target.transpose(1, 2), backend="cpu")
    torch.testing.assert_close(got, _torch_bce(logits.transpose(1, 2), target.transpose(1, 2)))


def _fused_gradient_inputs():
    gen = torch.Generator().manual_seed(7)
    logits = torch.randn(6, 1, 33, 35, generator=gen) * 20
    target = (torch.rand(6, 1, 33, 35, generator=gen) > 0.5).to(torch.uint8)
    upstream = torch.randn(6, generator=gen)
    return logits, target, upstream


def test_gradient_from_the_forward_pass_equals_the_backward_kernels():
    """The cpu backend's eager path writes sigmoid(x) − t in the forward pass and scales it in the
    backward; the custom op (torch.compile's path) runs the backward kernel: same bits."""
    logits, target, upstream = _fused_gradient_inputs()
    fused = logits.clone().requires_grad_()
    loss = ops.bernoulli_nll(fused, target, backend="cpu")
    loss.backward(upstream)
    separate = logits.clone().requires_grad_()
    want = bernoulli_nll_op(separate, target, "cpu")
    want.backward(upstream)
    assert torch.equal(loss, want)
    assert torch.equal(fused.grad, separate.grad)


def test_second_backward_through_the_same_graph_recomputes():
    logits, target, upstream = _fused_gradient_inputs()
    logits.requires_grad_()
    loss = ops.bernoulli_nll(logits, target, backend="cpu")
    loss.backward(upstream, retain_graph=True)
    first = logits.grad.clone()
    logits.grad = None
    loss.backward(upstream)  # the in-place scaled buffer is used up: the kernel recomputes
    assert torch.equal(logits.grad, first)


def test_no_gradient_buffer_under_no_grad(monkeypatch):
    from betavae.ops import backends

    calls = []
    backend = backends.get("cpu")
    original = backend.bernoulli_nll_forward_with_grad
    monkeypatch.setattr(
        backend,
        "bernoulli_nll_forward_with_grad",
        lambda *args: calls.append(1) or original(*args),
    )
    logits, target, _ = _fused_gradient_inputs()
    logits.requires_grad_()
    with torch.no_grad():
        ops.bernoulli_nll(logits, target, backend="cpu")
    assert calls == []
    ops.bernoulli_nll(logits, target, backend="cpu")
    assert calls == [1]
