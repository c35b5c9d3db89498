"""GPU backends (cuda, triton) against the reference on CUDA tensors: all dtypes, noise agreement,
opcheck, gradcheck, torch.compile and CUDA-graph capture. Skipped cleanly without a GPU; run by
scripts/gpu_check.sh on a GPU machine."""

import pytest
import torch
import torch.nn.functional as F
from conftest import TOLERANCES

from betavae import ops
from betavae.ops import backends, reference
from betavae.ops.bernoulli_nll import bernoulli_nll_op
from betavae.ops.gaussian_sample_kl import gaussian_sample_kl_op

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

GPU_BACKENDS = ["cuda", "triton"]
# Normals of different backends agree "within a few 1e-6" (issue contract): Triton may lower log
# and cos to PTX approximations (cos.approx.f32: ~2^-20.5 absolute), scaled by r <= 5.7.
NORMAL_ATOL = 5e-6
DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64]


def _skip_unsupported(backend, dtype=torch.float32):
    reason = backends.unavailable_reason(backend)
    if reason is not None:
        pytest.skip(f"{backend}: {reason}")
    if dtype not in backends.get(backend).dtypes:
        pytest.skip(f"{backend} does not take {dtype}")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_noise_agrees_with_cpu_and_reference(backend):
    _skip_unsupported(backend)
    n, seed, offset = 1_000_003, 2**40 + 7, 2**32 - 100
    impl = backends.get(backend)
    words = impl.philox_words(n, seed, offset, torch.device("cuda")).cpu()
    assert torch.equal(
        words, backends.get("cpu").philox_words(n, seed, offset, torch.device("cpu"))
    )
    uniform = impl.uniform(n, seed, offset, torch.device("cuda")).cpu()
    assert torch.equal(uniform, reference.uniform((n,), seed, offset))
    normal = ops.standard_normal((n,), seed, offset, device="cuda", backend=backend).cpu()
    cpu_normal = ops.standard_normal((n,), seed, offset, backend="cpu")
    torch.testing.assert_close(normal, cpu_normal, rtol=0, atol=NORMAL_ATOL)


def test_cuda_and_triton_draw_identical_noise():
    for name in GPU_BACKENDS:
        _skip_unsupported(name)
    a = ops.standard_normal((4096, 64), 9, 11, device="cuda", backend="cuda")
    b = ops.standard_normal((4096, 64), 9, 11, device="cuda", backend="triton")
    torch.testing.assert_close(a, b, rtol=0, atol=NORMAL_ATOL)


@pytest.mark.parametrize("backend", GPU_BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(64, 10), (65536, 64), (3, 5, 7)], ids=str)
def test_gaussian_sample_kl_matches_reference(backend, dtype, shape):
    _skip_unsupported(backend, dtype)
    gen = torch.Generator(device="cuda").manual_seed(0)
    mu = (torch.randn(shape, device="cuda", generator=gen) * 2).to(dtype)
    # exp(logvar) must stay finite in the output dtype: fp16 tops out at 65504 (kl ~ exp(lv)/2)
    limit = 10.0 if dtype == torch.float16 else 30.0
    logvar = torch.linspace(-limit, limit, mu.numel(), device="cuda").reshape(shape).to(dtype)
    results = {}
    for name in (backend, "reference"):
        m = mu.detach().clone().requires_grad_(True)
        v = logvar.detach().clone().requires_grad_(True)
        z, kl = ops.gaussian_sample_kl(
            m.float() if name == "reference" else m,
            v.float() if name == "reference" else v,
            5,
            17,
            backend=name,
        )
        g = torch.ones_like(z)
        (z * g).sum().backward(retain_graph=True)
        (kl * 0.5).sum().backward()
        results[name] = [t.detach().float() for t in (z, kl, m.grad, v.grad)]
    sigma = torch.exp(0.5 * logvar.float())
    tol = TOLERANCES[torch.float32 if dtype == torch.float64 else dtype]
    for got, want, noise in zip(results[backend], results["reference"], (sigma, 0, 0, sigma)):
        bound = tol["atol"] + tol["rtol"] * want.abs() + NORMAL_ATOL * noise
        assert bool(((got - want).abs() <= bound).all())


@pytest.mark.parametrize("backend", GPU_BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(64, 1, 64, 64), (2, 3, 256, 256), (1024, 3, 64, 64)], ids=str)
@pytest.mark.parametrize("target_kind", ["uint8", "bool", "float"])
def test_bernoulli_nll_matches_torch(backend, dtype, shape, target_kind):
    _skip_unsupported(backend, dtype)
    gen = torch.Generator(device="cuda").manual_seed(1)
    logits = (torch.randn(shape, device="cuda", generator=gen) * 20).to(dtype)
    logits.view(-1)[:4] = torch.tensor([100.0, -100.0, 0.0, 1e4]).to(dtype)
    bits = torch.rand(shape, device="cuda", generator=gen) > 0.5
    target = {"uint8": bits.to(torch.uint8), "bool": bits, "float": bits.to(dtype)}[target_kind]
    x = logits.detach().clone().requires_grad_(True)
    loss = ops.bernoulli_nll(x, target, backend=backend)
    loss.sum().backward()
    xr = logits.detach().double().requires_grad_(True)
    want = F.binary_cross_entropy_with_logits(xr, bits.double(), reduction="none")
    want = want.flatten(1).sum(1)
    want.sum().backward()
    rtol = 1e-9 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(loss.double(), want, rtol=rtol, atol=rtol * 10)
    torch.testing.assert_close(x.grad.double(), xr.grad, **TOLERANCES[dtype])
    again = ops.bernoulli_nll(logits, target, backend=backend)
    assert torch.equal(again, loss.detach()), "not deterministic"


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_opcheck_on_cuda(backend):
    _skip_unsupported(backend)
    mu = torch.randn(8, 10, device="cuda", requires_grad=True)
    logvar = torch.randn(8, 10, device="cuda")
    torch.library.opcheck(
        gaussian_sample_kl_op, (mu, logvar, torch.tensor(1), torch.tensor(2), backend)
    )
    logits = torch.randn(4, 1, 16, 16, device="cuda", requires_grad=True)
    target = (torch.rand(4, 1, 16, 16, device="cuda") > 0.5).to(torch.uint8)
    torch.library.opcheck(bernoulli_nll_op, (logits, target, backend))


def test_gradcheck_float64_cuda():
    _skip_unsupported("cuda", torch.float64)
    mu = torch.randn(4, 5, device="cuda", dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(4, 5, device="cuda", dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda m, v: ops.gaussian_sample_kl(m, v, 3, 1, backend="cuda"), (mu, logvar)
    )
    logits = torch.randn(3, 10, device="cuda", dtype=torch.float64, requires_grad=True)
    target = torch.rand(3, 10, device="cuda", dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x: ops.bernoulli_nll(x, target, backend="cuda"), (logits,)
    )


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_torch_compile_on_cuda(backend):
    _skip_unsupported(backend)
    torch._dynamo.reset()

    @torch.compile(fullgraph=True)
    def loss_fn(mu, logvar, logits, target, seed, offset):
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend=backend)
        nll = ops.bernoulli_nll(logits * z.mean(), target, backend=backend)
        return nll.mean() + kl.sum(1).mean()

    mu = torch.randn(64, 10, device="cuda", requires_grad=True)
    logvar = torch.randn(64, 10, device="cuda", requires_grad=True)
    logits = torch.randn(64, 1, 64, 64, device="cuda", requires_grad=True)
    target = (torch.rand(64, 1, 64, 64, device="cuda") > 0.5).to(torch.uint8)
    for step in range(3):
        seed, offset = torch.tensor(1), torch.tensor(step * 640)
        loss = loss_fn(mu, logvar, logits, target, seed, offset)
        loss.backward()
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend=backend)
        eager = ops.bernoulli_nll(logits * z.mean(), target, backend=backend).mean()
        torch.testing.assert_close(loss, eager + kl.sum(1).mean(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_cuda_graph_capture_of_a_training_step(backend):
    """Capture forward+backward once; replays with a new offset (a device tensor) match eager."""
    _skip_unsupported(backend)
    torch.manual_seed(0)
    model = torch.nn.Linear(20, 2 * 10 + 64).cuda()
    x = torch.randn(64, 20, device="cuda")
    target = (torch.rand(64, 64, device="cuda") > 0.5).to(torch.uint8)
    seed = torch.tensor(7, device="cuda")
    offset = torch.zeros((), dtype=torch.int64, device="cuda")

    def step():
        out = model(x)
        mu, logvar = out[:, :10], out[:, 10:20]
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend=backend)
        logits = out[:, 20:] + z.sum(1, keepdim=True)
        loss = ops.bernoulli_nll(logits, target, backend=backend).mean() + kl.sum(1).mean()
        loss.backward()
        return loss

    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):  # warm-up outside the graph
            model.zero_grad(set_to_none=False)
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    model.zero_grad(set_to_none=False)
    with torch.cuda.graph(graph):
        static_loss = step()
    for k in range(3):
        offset.fill_(640 * (k + 1))
        model.zero_grad(set_to_none=False)
        graph.replay()
        replay_loss, replay_grad = static_loss.clone(), model.weight.grad.clone()
        model.zero_grad(set_to_none=False)
        eager_loss = step()
        torch.testing.assert_close(replay_loss, eager_loss)
        torch.testing.assert_close(replay_grad, model.weight.grad)


def test_cuda_build_has_code_for_this_gpu():
    """The compiled architecture list covers the GPU under test, and auto picks the cuda backend."""
    from betavae.ops import cuda_archs, native

    if not native.with_cuda():
        pytest.skip("built without CUDA")
    capability = torch.cuda.get_device_capability()
    assert cuda_archs.covers(native.require().CUDA_ARCHS, capability)
    assert backends.get("cuda").device_problem(torch.device("cuda")) is None
    assert backends.resolve("auto", torch.device("cuda"), torch.float32, "op") == "cuda"


def test_training_step_under_amp_keeps_the_loss_in_fp32():
    """CUDA --amp: the model in bf16, the fused ops and the loss terms in fp32."""
    from betavae.data import BatchSampler, get_dataset
    from betavae.models import BurgessVAE
    from betavae.objectives import CapacityLoss
    from betavae.train import TrainingStep, make_optimizer, training_step

    device = torch.device("cuda")
    data = get_dataset("blobs")
    vae = BurgessVAE(data.channels).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(vae, 1e-4, device)
    sampler = BatchSampler(data, device, seed=0)
    module, loss_fn = TrainingStep(vae, "auto"), CapacityLoss(1000.0, 25.0, 100)
    seed, offset = torch.tensor(0), torch.tensor(0)
    terms = training_step(module, loss_fn, optimizer, sampler, 16, seed, offset, 0, True)
    assert terms.loss.dtype == terms.recon.dtype == terms.kl.dtype == torch.float32
    assert torch.isfinite(terms.loss)
