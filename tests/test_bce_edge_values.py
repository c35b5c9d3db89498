"""bernoulli_nll at the edges of its domain, on every backend that takes CPU tensors: infinite
logits give the true loss and gradient (not inf - inf), saturated logits cost exactly 0 on the
fused float32 paths, and uint8 targets are binary (any non-zero byte is 1)."""

from __future__ import annotations

import pytest
import torch
from conftest import cpu_tensor_backends

from betavae import ops

BACKENDS = ["reference", *cpu_tensor_backends()]
INF = float("inf")
# (logit, target, true loss, true d loss / d logit)
EDGES = [
    (INF, 1.0, 0.0, 0.0),
    (INF, 0.0, INF, 1.0),
    (-INF, 0.0, 0.0, 0.0),
    (-INF, 1.0, INF, -1.0),
    (INF, 0.25, INF, 0.75),
    (-INF, 0.25, INF, -0.25),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_infinite_logits_give_the_true_loss_and_gradient(backend, dtype):
    if backend == "triton" and dtype == torch.float64:
        pytest.skip("triton takes no float64")
    x = torch.tensor([[e[0] for e in EDGES]], dtype=dtype, requires_grad=True)
    t = torch.tensor([[e[1] for e in EDGES]], dtype=dtype)
    for k, (_, _, loss, grad) in enumerate(EDGES):
        xi = x[:, k : k + 1].detach().clone().requires_grad_()
        out = ops.bernoulli_nll(xi, t[:, k : k + 1], backend=backend)
        out.sum().backward()
        assert out.item() == loss, (backend, EDGES[k])
        assert xi.grad.item() == grad, (backend, EDGES[k])


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "reference"])
def test_saturated_logits_cost_nothing(backend):
    x = torch.tensor([[100.0, -100.0, 90.0, -88.0, 1e30, -1e30]])
    t = torch.tensor([[1, 0, 1, 0, 1, 0]], dtype=torch.uint8)
    out = ops.bernoulli_nll(x, t, backend=backend)
    assert out.item() < 1e-37  # the true value, 3.7e-44 at |x| = 100, below float32's normals
    reference = ops.bernoulli_nll(x.double(), t, backend="reference")
    assert abs(out.item() - reference.item()) < 1e-37


@pytest.mark.parametrize("backend", BACKENDS)
def test_uint8_targets_are_binary(backend):
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    mask = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5
    as_01 = mask.to(torch.uint8)
    as_255 = as_01 * 255
    as_odd = as_01 * 7
    expected = ops.bernoulli_nll(x, mask.float(), backend="reference")
    for target in (as_01, as_255, as_odd, mask):
        torch.testing.assert_close(ops.bernoulli_nll(x, target, backend=backend), expected)
    xg = x.clone().requires_grad_()
    ops.bernoulli_nll(xg, as_255, backend=backend).sum().backward()
    torch.testing.assert_close(xg.grad, torch.sigmoid(x) - mask.float())
