"""``python -m betavae.bench train``: training images/s of the Burgess model at batch 64 — the
trainer's step (fused loss, uint8 targets, channels-last) against the same step with the reference
loss, with and without torch.compile, and against a plain PyTorch loop (same model, batch and
optimiser, data preloaded as float, eager, default memory format) — all in one run; plus the share
of the step spent sampling data."""

from __future__ import annotations

import multiprocessing
import statistics
import time

import torch
import torch.nn.functional as F

from betavae.data import BatchSampler, get_dataset
from betavae.models import BurgessVAE
from betavae.objectives import CapacityLoss
from betavae.train import TrainingStep, training_step

from .report import markdown_table, text_table


def _images_per_s(step_fn, steps: int, warmup: int, batch: int, device, windows: int = 3) -> float:
    """Median images/s over ``windows`` timed windows of ``steps`` steps, after ``warmup`` steps."""
    for k in range(warmup):
        step_fn(k)
    rates = []
    for w in range(windows):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for k in range(steps):
            step_fn(warmup + w * steps + k)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def plain_loop(data, device, batch: int):
    """The baseline a user would write: float data, eager, default layout, torch losses."""
    torch.manual_seed(0)
    vae = BurgessVAE(data.channels).to(device)
    opt = torch.optim.Adam(vae.parameters(), lr=5e-4)
    pool = data.images[torch.arange(0, len(data), max(1, len(data) // 8192))].float().to(device)
    pool = pool / data.images.max_value

    def step(k):
        x = pool[torch.randint(len(pool), (batch,), device=device)]
        mu, logvar = vae.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = vae.decode(z)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
        kl = (0.5 * (mu.square() + logvar.exp() - logvar - 1)).sum(1).mean()
        loss = recon + 1000.0 * (kl - min(25.0, 25.0 * k / 100_000)).abs()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def fused_loop(data, device, batch: int, backend: str, compile_model: bool):
    torch.manual_seed(0)
    vae = BurgessVAE(data.channels).to(device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(vae.parameters(), lr=5e-4)
    module = TrainingStep(vae, backend)
    if compile_model:
        module = torch.compile(module)
    sampler = BatchSampler(data, device, seed=0)
    loss_fn = CapacityLoss(1000.0, 25.0, 100_000, backend=backend)
    seed = torch.tensor(0)

    def step(k):
        training_step(module, loss_fn, opt, sampler, batch, seed, torch.tensor(k * batch * 10), k)

    return step, sampler


def _measure(
    variant: str, backend: str, compiled: bool, device: str, data_name: str, batch: int, steps: int
) -> tuple[float, float | None]:
    """(images/s, sampling share or None) of one variant; runs in its own process."""
    dev = torch.device(device)
    data = get_dataset(data_name, quiet=True) if "dsprites" in data_name else get_dataset(data_name)
    if variant == "plain":
        return _images_per_s(plain_loop(data, dev, batch), steps, 3, batch, dev), None
    step, sampler = fused_loop(data, dev, batch, backend, compiled)
    rate = _images_per_s(step, steps, 5 if compiled else 3, batch, dev)
    sample_rate = _images_per_s(lambda k: sampler.sample(batch), steps * 10, 3, batch, dev)
    return rate, rate / sample_rate


def _in_subprocess(args: tuple, timeout_s: float):
    """Run _measure in a fresh process (fair, isolated); None when it exceeds ``timeout_s``."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        job = pool.apply_async(_measure, args)
        try:
            return job.get(timeout=timeout_s)
        except multiprocessing.TimeoutError:
            pool.terminate()
            return None


def run(
    device: str = "cpu",
    data_name: str = "dsprites",
    batch: int = 64,
    steps: int = 20,
    use_compile: bool = True,
    timeout_s: float = 240.0,
) -> tuple[str, str]:
    variants = [
        ("plain PyTorch loop", "plain", "-", False),
        ("fused loss", "fused", "auto", False),
        ("reference loss", "fused", "reference", False),
    ]
    if use_compile:
        variants += [
            ("fused loss", "fused", "auto", True),
            ("reference loss", "fused", "reference", True),
        ]
    rows, plain, sample_share = [], None, None
    for label, variant, backend, compiled in variants:
        result = _in_subprocess(
            (variant, backend, compiled, device, data_name, batch, steps), timeout_s
        )
        if result is None:
            rows.append(
                [
                    label,
                    backend,
                    "yes" if compiled else "no",
                    f"did not finish in {timeout_s:.0f} s",
                    "-",
                ]
            )
            continue
        rate, share = result
        plain = plain or rate
        sample_share = share if sample_share is None else sample_share
        rows.append(
            [label, backend, "yes" if compiled else "no", f"{rate:.0f}", f"{rate / plain:.2f}x"]
        )
    headers = ["loop", "loss backend", "torch.compile", "images/s", "vs plain loop"]
    share = f"{100 * sample_share:.1f}%" if sample_share is not None else "n/a"
    env = (
        f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
        f"batch {batch}, {data_name}, Burgess model, median of 3 windows of {steps} steps, "
        f"each variant in a fresh process; data sampling takes {share} of the fused step"
    )
    markdown = "\n\n".join(["# Training benchmark", env + ".", markdown_table(headers, rows)])
    return env + "\n" + text_table(headers, rows), markdown
