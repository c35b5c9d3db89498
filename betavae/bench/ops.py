"""``python -m betavae.bench ops``: fused ops vs what a user writes instead, eager and under
torch.compile (``user``, ``user+compile``: betavae/bench/user_code.py), and vs our pure-PyTorch
``reference`` backend (the value oracle, with its own Philox; eager and compiled).

For each op, shape and implementation: forward and forward+backward, median and spread of repeated
timed runs after warm-up, the bytes an ideal fused implementation must move, GB/s, the fraction of
a memory-copy bandwidth measured in the same run, speed-ups over the user's eager and compiled code
and over the eager and compiled reference, and extra memory.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass

import torch

from betavae import ops
from betavae.ops import backends, reference

from . import user_code
from .report import markdown_table, text_table
from .timing import allocated_bytes, copy_bandwidth, time_interleaved

BASELINE_LABELS = {
    "user": "user eager",
    "user+compile": "user compiled",
    "reference": "eager ref",
    "reference+compile": "compiled ref",
}


@dataclass
class Case:
    op: str
    shape: tuple[int, ...]
    variant: str  # target dtype for bernoulli_nll, "-" for gaussian_sample_kl
    quick: bool  # part of --quick


CASES = [
    Case("bernoulli_nll", (64, 1, 64, 64), "uint8", True),
    Case("bernoulli_nll", (64, 1, 64, 64), "float", True),
    Case("bernoulli_nll", (1024, 3, 64, 64), "uint8", False),
    Case("gaussian_sample_kl", (64, 10), "-", True),
    Case("gaussian_sample_kl", (65536, 64), "-", False),
]


def _inputs(case: Case, device: torch.device, dtype: torch.dtype):
    gen = torch.Generator(device=device).manual_seed(0)
    if case.op == "bernoulli_nll":
        logits = torch.randn(case.shape, device=device, generator=gen, dtype=dtype) * 3
        bits = torch.rand(case.shape, device=device, generator=gen) > 0.5
        target = bits.to(torch.uint8) if case.variant == "uint8" else bits.to(dtype)
        return logits, target
    mu = torch.randn(case.shape, device=device, generator=gen, dtype=dtype)
    logvar = torch.randn(case.shape, device=device, generator=gen, dtype=dtype)
    return mu, logvar


def ideal_bytes(case: Case, first: torch.Tensor, second: torch.Tensor, backward: bool) -> int:
    """Bytes a fused implementation must read and write (inputs once, outputs once)."""
    a, b = first.numel() * first.element_size(), second.numel() * second.element_size()
    if case.op == "bernoulli_nll":
        rows = first.shape[0] * 4
        fwd = a + b + rows
        return fwd + (a + b + rows + a if backward else 0)  # bwd: logits, target, g in; grad out
    fwd = 2 * a + 2 * a  # mu, logvar in; z, kl out
    return fwd + (6 * a if backward else 0)  # bwd: gz, gkl, mu, logvar in; gmu, glv out


def _make_call(case: Case, impl: str, compiled: dict) -> Callable:
    """A function (first, second, offset) -> outputs for one implementation."""
    if impl.startswith("user"):
        fn = user_code.bernoulli_nll if case.op == "bernoulli_nll" else user_code.sample_kl
        if impl == "user+compile":
            key = ("user", case.op, case.shape, case.variant)
            fn = compiled.setdefault(key, torch.compile(fn, dynamic=False))
        if case.op == "bernoulli_nll":
            return lambda x, t, off, fn=fn: (fn(x, t),)
        return lambda mu, lv, off, fn=fn: fn(mu, lv)
    if case.op == "bernoulli_nll":
        if impl.startswith("reference"):
            fn = reference.bernoulli_nll
            if impl == "reference+compile":
                fn = compiled.setdefault(("nll", case.shape, case.variant), torch.compile(fn))
            return lambda x, t, off: (fn(x, t),)
        return lambda x, t, off: (ops.bernoulli_nll(x, t, backend=impl),)
    if impl.startswith("reference"):

        def ref(mu, lv, off):
            return reference.gaussian_sample_kl(mu, lv, 1, off)

        fn = ref
        if impl == "reference+compile":
            fn = compiled.setdefault(("gsk", case.shape), torch.compile(ref, dynamic=False))
        return fn
    seed = torch.tensor(1)
    return lambda mu, lv, off: ops.gaussian_sample_kl(mu, lv, seed, off, backend=impl)


def _step(case: Case, call: Callable, first, second, backward: bool) -> Callable[[], object]:
    offset = 0 if case.op == "gaussian_sample_kl" else None
    off = torch.tensor(0) if offset is not None else None
    grads = {}

    def run():
        outputs = call(first, second, off if off is not None else 0)
        if backward:
            first.grad = None
            if case.op == "gaussian_sample_kl":
                second.grad = None
            if "g" not in grads:
                grads["g"] = [torch.ones_like(o) for o in outputs]
            torch.autograd.backward(outputs, grads["g"])
        return outputs

    return run


def run(device: str = "cpu", quick: bool = False, use_compile: bool = True) -> tuple[str, str]:
    """Run the ops benchmark; returns (text table, markdown report)."""
    dev = torch.device(device)
    copy_bw = copy_bandwidth(dev, 64 if quick else 256)
    impls = [
        name
        for name in ops.available_backends()
        if name != "reference"
        and backends.get(name).supports_device(dev)
        and not (dev.type == "cpu" and name == "triton")  # the interpreter is for tests only
    ]
    baselines = ["user"] + (["user+compile"] if use_compile else [])
    baselines += ["reference"] + (["reference+compile"] if use_compile else [])
    compiled: dict = {}
    rows = []
    for case in CASES:
        if quick and not case.quick:
            continue
        for backward in (False, True):
            rows += _case_rows(case, backward, baselines + impls, dev, compiled, quick, copy_bw)
    return _report(rows, dev, copy_bw)


def _case_rows(case, backward: bool, names, dev, compiled, quick: bool, copy_bw: float):
    """The table rows of one case and pass, every implementation timed side by side."""
    fns, nbytes = {}, {}
    for impl in names:
        first, second = _inputs(case, dev, torch.float32)
        if backward:
            first.requires_grad_(True)
            if case.op == "gaussian_sample_kl":
                second.requires_grad_(True)
        fns[impl] = _step(case, _make_call(case, impl, compiled), first, second, backward)
        nbytes[impl] = ideal_bytes(case, first, second, backward)
    # Round-robin, so that every implementation sees the same machine state (this VM drifts
    # by 10-20 % within a minute): the ratios are side by side.
    timings = time_interleaved(
        fns, dev, repeats=3 if quick else 9, min_time_s=0.02 if quick else 0.1
    )
    results = {
        impl: (timings[impl], allocated_bytes(fn, dev), nbytes[impl]) for impl, fn in fns.items()
    }
    rows = []
    for impl, (timing, mem, size) in results.items():
        gbps = size / timing.median_s / 1e9
        rows.append(
            [
                case.op,
                "x".join(map(str, case.shape)),
                case.variant,
                "fwd+bwd" if backward else "fwd",
                impl,
                f"{timing.median_s * 1e6:.1f}",
                f"{timing.spread_s * 1e6:.1f}",
                f"{gbps:.2f}",
                f"{100 * gbps * 1e9 / copy_bw:.0f}%",
                *(_ratio(results, base, timing) for base in BASELINE_LABELS),
                f"{mem / 2**20:.2f}",
            ]
        )
    return rows


def _report(rows: list, dev: torch.device, copy_bw: float) -> tuple[str, str]:
    """(text table, markdown report) of the benchmark's rows, headed by the machine."""
    headers = [
        "op",
        "shape",
        "target",
        "pass",
        "impl",
        "median us",
        "IQR us",
        "GB/s",
        "of copy BW",
        *(f"vs {label}" for label in BASELINE_LABELS.values()),
        "extra MB",
    ]
    cpu_name = _cpu_model()
    env = (
        f"torch {torch.__version__}, device {dev}"
        + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else f" ({cpu_name})")
        + f", {torch.get_num_threads()} threads, copy bandwidth {copy_bw / 1e9:.2f} GB/s"
        + (f", CPU kernel path {_cpu_path()}" if dev.type == "cpu" else "")
    )
    memory_note = (
        "extra MB: peak CUDA memory above the inputs"
        if dev.type == "cuda"
        else "extra MB: bytes allocated during one call (torch keeps no CPU peak statistic)"
    )
    markdown = "\n\n".join(
        [
            "# Fused ops benchmark",
            f"{env}. `user`: the PyTorch a user writes instead (`randn_like` + the KL formula; "
            "`binary_cross_entropy_with_logits(...).flatten(1).sum(1)` on a float copy of the "
            "target), eager and `torch.compile`d: the speed baselines. `reference`: our "
            "pure-PyTorch oracle (its own Philox), for comparison only. Bytes are the minimum an "
            "ideal fused kernel moves (inputs read once, outputs written once); GB/s = those bytes "
            f"/ median time. {memory_note}.",
            markdown_table(headers, rows),
        ]
    )
    return env + "\n" + text_table(headers, rows), markdown


def _ratio(results: dict, baseline: str, timing) -> str:
    """How many times faster than ``baseline`` (its median over this median), or "-"."""
    base = results.get(baseline)
    return f"{base[0].median_s / timing.median_s:.2f}x" if base else "-"


def _cpu_path() -> str:
    """The instruction-set path of the CPU kernels (csrc/cpu/dispatch.cpp), or why none."""
    from betavae.ops import native

    module = native.load()
    return module.cpu_isa() if module is not None else "none (betavae._C not built)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
