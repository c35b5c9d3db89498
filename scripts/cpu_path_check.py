"""Checks the CPU kernels of the installed build on this CPU: which instruction-set path runs, and
every CPU op forward and backward against the pure-PyTorch reference (float32 and float64, with
extreme logits and log-variances). Made to run under an emulated CPU, e.g.

    PY=$(python -c 'import sys; print(sys.executable)')   # the real binary, not a shim
    qemu-x86_64 -cpu Haswell "$PY" scripts/cpu_path_check.py --expect-isa avx2
    qemu-x86_64 -cpu Nehalem "$PY" scripts/cpu_path_check.py --expect-isa scalar --no-numpy

``--no-numpy`` keeps numpy out of the process (torch runs without it): NumPy 2.4's wheels execute
AVX instructions when imported, so they die on a pre-AVX CPU such as Nehalem, which is the CPU
that shows our baseline (``scalar``) kernels contain none.
Exits 0 and prints one line per check when all agree; exits 1 naming the first disagreement.
Kept small: under emulation each second of native work takes about a minute.
"""

from __future__ import annotations

import argparse
import sys

if "--no-numpy" in sys.argv:
    sys.modules["numpy"] = None  # an import of numpy now fails, and torch runs without it

import torch  # noqa: E402

from betavae import ops  # noqa: E402
from betavae.ops import native  # noqa: E402

# float32: the fused kernels' polynomials vs torch's libm, as in tests/test_*.py; normals of two
# backends agree to ~1e-6, so anything carrying eps gets that much more (scaled by its size).
TOLERANCE = {torch.float32: 2e-5, torch.float64: 1e-9}


def _close(what: str, got, want, dtype: torch.dtype, noise: torch.Tensor | float = 0.0) -> None:
    """|got - want| <= tol·(1 + |want|) + 1e-6·noise, noise = how much eps scales into the value."""
    tol = TOLERANCE[dtype]
    bound = tol + tol * want.double().abs() + 1e-6 * noise
    excess = float(((got.double() - want.double()).abs() - bound).max())
    if excess > 0:
        raise SystemExit(f"FAIL {what} ({dtype}): exceeds the tolerance by {excess:.3g}")
    print(f"ok   {what} ({str(dtype).replace('torch.', '')})")


def _sample_kl(backend: str, mu, logvar, upstream):
    mu, logvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    z, kl = ops.gaussian_sample_kl(mu, logvar, 2024, 77, backend=backend)
    ((z * upstream[0]).sum() + (kl * upstream[1]).sum()).backward()
    return z.detach(), kl.detach(), mu.grad, logvar.grad


def _nll(backend: str, logits, target, upstream):
    logits = logits.clone().requires_grad_()
    nll = ops.bernoulli_nll(logits, target, backend=backend)
    (nll * upstream).sum().backward()
    return nll.detach(), logits.grad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect-isa", help="fail unless the kernels run on this path")
    parser.add_argument("--dump", help="also save every CPU output to this file (torch.save)")
    parser.add_argument(
        "--no-numpy", action="store_true", help="run without numpy (for pre-AVX CPUs)"
    )
    args = parser.parse_args(argv)

    module = native.require()
    isa = module.cpu_isa()
    print(f"cpu path: {isa} (this CPU can run: {', '.join(module.cpu_isas())})")
    if args.expect_isa and isa != args.expect_isa:
        print(f"FAIL expected the {args.expect_isa} path, got {isa}")
        return 1

    outputs: dict[str, torch.Tensor] = {}
    gen = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        mu = (torch.randn(64, 10, generator=gen, dtype=torch.float64) * 3).to(dtype)
        logvar = torch.linspace(-30, 30, 640, dtype=torch.float64).reshape(64, 10).to(dtype)
        upstream = [torch.randn(64, 10, generator=gen, dtype=torch.float64).to(dtype) for _ in "zk"]
        got = _sample_kl("cpu", mu, logvar, upstream)
        outputs.update({f"sample_kl/{dtype}/{i}": t for i, t in enumerate(got)})
        want = _sample_kl("reference", mu, logvar, upstream)
        sigma = (0.5 * logvar.double()).exp()
        noise = (sigma, 0.0, 0.0, upstream[0].double().abs() * sigma / 2)
        for name, g, w, n in zip(("z", "kl", "grad mu", "grad logvar"), got, want, noise):
            _close(f"gaussian_sample_kl {name}", g, w, dtype, n)

        logits = torch.linspace(-100, 100, 8 * 4099, dtype=torch.float64).reshape(8, 4099)
        logits = logits[:, torch.randperm(4099, generator=gen)].to(dtype)
        bits = torch.rand(8, 4099, generator=gen) > 0.5
        upstream = torch.randn(8, generator=gen, dtype=torch.float64).to(dtype)
        for target in (bits.to(torch.uint8), bits.to(dtype)):
            kind = str(target.dtype).replace("torch.", "")
            got = _nll("cpu", logits, target, upstream)
            outputs.update({f"nll/{dtype}/{kind}/{i}": t for i, t in enumerate(got)})
            want = _nll("reference", logits, target, upstream)
            _close(f"bernoulli_nll forward, {kind} target", got[0], want[0], dtype)
            _close(f"bernoulli_nll grad logits, {kind} target", got[1], want[1], dtype)

    got = ops.standard_normal((10_007,), 5, 3, backend="cpu")
    want = ops.standard_normal((10_007,), 5, 3, backend="reference")
    _close("standard_normal", got, want, torch.float32, 1.0)
    outputs["standard_normal"] = got
    if args.dump:
        torch.save({"isa": isa, "outputs": outputs}, args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main())
