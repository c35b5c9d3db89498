"""Public API of betavae.ops: backend selection, clear errors for bad input, torch.compile."""

import os
import shutil

import pytest
import torch

from betavae import ops
from betavae.ops import backends, native


def test_available_backends_lists_reference_and_cpu():
    names = ops.available_backends()
    assert names[:2] == ["reference", "cpu"]
    assert set(names) <= {"reference", "cpu", "cuda", "triton"}
    if not torch.cuda.is_available():
        assert "cuda" not in names


def test_auto_picks_cpu_for_cpu_tensors_and_reference_for_half():
    assert backends.resolve("auto", torch.device("cpu"), torch.float32, "op") == "cpu"
    assert backends.resolve("auto", torch.device("cpu"), torch.float16, "op") == "reference"


def test_native_module_reports_its_cuda_build():
    """With nvcc at build time (CI sets BETAVAE_EXPECT_CUDA_BUILD=1 then), CUDA kernels are in."""
    expected = os.environ.get("BETAVAE_EXPECT_CUDA_BUILD")
    if expected is None:
        pytest.skip("BETAVAE_EXPECT_CUDA_BUILD not set (set by .ci/run)")
    assert native.with_cuda() == (expected == "1"), (shutil.which("nvcc"), native.with_cuda())
    if native.with_cuda() and not torch.cuda.is_available():
        assert "cuda" not in ops.available_backends()
        with pytest.raises(ValueError, match="backend 'cuda' is not available"):
            ops.bernoulli_nll(torch.zeros(1, 2), torch.zeros(1, 2), backend="cuda")


MU, LV = torch.zeros(4, 3), torch.zeros(4, 3)
X, T = torch.zeros(4, 8), torch.zeros(4, 8, dtype=torch.uint8)


@pytest.mark.parametrize(
    "call,error,pattern",
    [
        (
            lambda: ops.gaussian_sample_kl(MU.int(), LV, 0),
            TypeError,
            "mu must have a floating-point",
        ),
        (lambda: ops.gaussian_sample_kl(MU, [0.0], 0), TypeError, "logvar must be a torch.Tensor"),
        (
            lambda: ops.gaussian_sample_kl(MU, LV.double(), 0),
            TypeError,
            "logvar must have the dtype",
        ),
        (lambda: ops.gaussian_sample_kl(MU, LV[:2], 0), ValueError, "logvar must have the shape"),
        (lambda: ops.gaussian_sample_kl(MU[:0], LV[:0], 0), ValueError, "mu is empty"),
        (lambda: ops.gaussian_sample_kl(MU, LV, 0, offset=-1), ValueError, "offset must be >= 0"),
        (
            lambda: ops.gaussian_sample_kl(MU, LV, 0, offset=torch.tensor(-3)),
            ValueError,
            "offset must be >= 0",
        ),
        (lambda: ops.gaussian_sample_kl(MU, LV, 1.5), TypeError, "seed must be an int"),
        (
            lambda: ops.gaussian_sample_kl(MU, LV, torch.tensor([1, 2])),
            ValueError,
            "seed must hold one",
        ),
        (lambda: ops.gaussian_sample_kl(MU, LV, 2**64), ValueError, "seed must fit in 64 bits"),
        (
            lambda: ops.gaussian_sample_kl(MU, LV, 0, backend="gpu"),
            ValueError,
            "backend must be 'auto'",
        ),
        (
            lambda: ops.gaussian_sample_kl(MU, LV, 0, backend=3),
            TypeError,
            "backend must be a string",
        ),
        (
            lambda: ops.gaussian_sample_kl(MU.half(), LV.half(), 0, backend="cpu"),
            TypeError,
            "backend 'cpu' supports dtypes float32, float64; got float16",
        ),
        (lambda: ops.bernoulli_nll(X, T.float()[:, :3]), ValueError, "target must have the shape"),
        (lambda: ops.bernoulli_nll(X, T.long()), TypeError, "target must be float, uint8 or bool"),
        (lambda: ops.bernoulli_nll(X.long(), T), TypeError, "logits must have a floating-point"),
        (lambda: ops.bernoulli_nll(X[:0], T[:0]), ValueError, "logits is empty"),
        (
            lambda: ops.bernoulli_nll(torch.tensor(1.0), torch.tensor(1.0)),
            ValueError,
            "at least one dimension",
        ),
        (
            lambda: ops.bernoulli_nll(X, X.clone().requires_grad_(True)),
            ValueError,
            "target requires grad",
        ),
        (lambda: ops.standard_normal((2, -1), 0), ValueError, "negative sizes"),
        (lambda: ops.standard_normal("abc", 0), TypeError, "shape must be a sequence of ints"),
    ],
)
def test_bad_input_is_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.skipif(not hasattr(torch, "device"), reason="always runs")
def test_mixed_devices_and_wrong_device_backend():
    meta = torch.zeros(4, 3, device="meta")
    with pytest.raises(ValueError, match="same device"):
        ops.gaussian_sample_kl(MU, meta, 0)
    with pytest.raises(ValueError, match="same device"):
        ops.bernoulli_nll(X, torch.zeros(4, 8, device="meta"))
    if "triton" in ops.available_backends() and os.environ.get("TRITON_INTERPRET") != "1":
        with pytest.raises(ValueError, match="cannot take tensors on device cpu"):
            ops.bernoulli_nll(X, T, backend="triton")
    with pytest.raises(ValueError, match="backend 'cpu' cannot take tensors on device meta"):
        ops.gaussian_sample_kl(meta, meta, 0, backend="cpu")


def test_unavailable_backend_names_what_is_available():
    missing = [name for name in ("cuda", "triton") if name not in ops.available_backends()]
    if not missing:
        pytest.skip("every backend is available here")
    with pytest.raises(
        ValueError, match=r"is not available here .*available: \['reference', 'cpu'"
    ):
        ops.gaussian_sample_kl(MU, LV, 0, backend=missing[0])


def test_torch_compile_fullgraph_without_recompiles():
    torch._dynamo.reset()
    compiles = []

    def backend(gm, example_inputs):
        compiles.append(gm)
        return gm.forward

    @torch.compile(fullgraph=True, backend=backend)
    def loss_fn(mu, logvar, logits, target, seed, offset):
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend="cpu")
        nll = ops.bernoulli_nll(logits + z.sum(), target, backend="cpu")
        return nll.mean() + kl.sum(1).mean()

    mu = torch.randn(8, 10, requires_grad=True)
    logvar = torch.randn(8, 10, requires_grad=True)
    logits = torch.randn(8, 1, 16, 16, requires_grad=True)
    target = (torch.rand(8, 1, 16, 16) > 0.5).to(torch.uint8)
    seed = torch.tensor(3)
    for step in range(4):
        offset = torch.tensor(step * mu.numel())
        loss = loss_fn(mu, logvar, logits, target, seed, offset)
        loss.backward()
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend="cpu")
        nll = ops.bernoulli_nll(logits + z.sum(), target, backend="cpu")
        torch.testing.assert_close(loss, nll.mean() + kl.sum(1).mean())
    assert len(compiles) == 1


def test_torch_compile_with_python_int_seed_and_offset():
    """Int seeds/offsets that change between calls may recompile (they become symbolic ints) but
    must not crash: Inductor cannot hold a 64-bit mask of a symbolic int in an int64."""
    torch._dynamo.reset()
    mu, logvar = torch.randn(8, 4), torch.randn(8, 4)

    @torch.compile
    def fused(mu, logvar, seed, offset):
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset)
        return z, kl

    for seed, offset in [(3, 0), (3, 32), (2**64 - 1, 64), (2**63 - 1, 96), (-5, 128)]:
        z, kl = fused(mu, logvar, seed, offset)
        z_eager, kl_eager = ops.gaussian_sample_kl(mu, logvar, seed, offset)
        torch.testing.assert_close(z, z_eager)
        torch.testing.assert_close(kl, kl_eager)
    z, _ = fused(mu, logvar, torch.tensor(-1), 160)  # the same seed as an int64 tensor
    torch.testing.assert_close(z, ops.gaussian_sample_kl(mu, logvar, 2**64 - 1, 160)[0])


def test_a_stale_native_build_is_refused_with_advice(monkeypatch):
    """A _C built from older sources (another API version) must not be used silently."""
    import types

    stale = types.SimpleNamespace(API_VERSION=native.NATIVE_API_VERSION - 1, __file__="/old/_C.so")
    monkeypatch.setattr(native, "_module", None)
    monkeypatch.setattr(native, "_error", None)
    monkeypatch.setattr(native.importlib, "import_module", lambda name: stale)
    assert native.load() is None
    assert "rebuild it with `pip install .`" in native.load_error()
    with pytest.raises(RuntimeError, match="native API version"):
        native.require()
