"""``python -m betavae.bench train``: training images/s of the Burgess model at batch 64 — the
trainer's step (fused loss, uint8 targets, channels-last) against the same step with the reference
loss, with and without torch.compile, and against a plain PyTorch loop (same model, batch and
optimiser, data preloaded as float, eager, default memory format) — all in one run; plus the share
of the step spent sampling data."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from betavae.data import BatchSampler, get_dataset
from betavae.models import BurgessVAE
from betavae.objectives import CapacityLoss
from betavae.train import TrainingStep, training_step

from .report import markdown_table, text_table


def _images_per_s(step_fn, steps: int, warmup: int, batch: int, device) -> float:
    for k in range(warmup):
        step_fn(k)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for k in range(steps):
        step_fn(warmup + k)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


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


def run(
    device: str = "cpu",
    data_name: str = "dsprites",
    batch: int = 64,
    steps: int = 30,
    use_compile: bool = True,
) -> tuple[str, str]:
    dev = torch.device(device)
    data = get_dataset(data_name, quiet=True) if "dsprites" in data_name else get_dataset(data_name)
    rows = []
    plain = _images_per_s(plain_loop(data, dev, batch), steps, 3, batch, dev)
    rows.append(["plain PyTorch loop", "-", "no", f"{plain:.0f}", "1.00x"])
    sample_share = None
    variants = [("fused (auto)", "auto", False), ("reference loss", "reference", False)]
    if use_compile:
        variants += [("fused (auto)", "auto", True), ("reference loss", "reference", True)]
    for label, backend, compiled in variants:
        step, sampler = fused_loop(data, dev, batch, backend, compiled)
        ips = _images_per_s(step, steps, 5 if compiled else 3, batch, dev)
        rows.append(
            [label, backend, "yes" if compiled else "no", f"{ips:.0f}", f"{ips / plain:.2f}x"]
        )
        if sample_share is None:
            sample_ips = _images_per_s(
                lambda k, s=sampler: s.sample(batch), steps * 10, 3, batch, dev
            )
            sample_share = ips / sample_ips
    headers = ["loop", "loss backend", "torch.compile", "images/s", "vs plain loop"]
    env = (
        f"torch {torch.__version__}, device {dev}, {torch.get_num_threads()} threads, "
        f"batch {batch}, {data_name}, Burgess model; data sampling takes "
        f"{100 * sample_share:.1f}% of the fused step"
    )
    markdown = "\n\n".join(["# Training benchmark", env + ".", markdown_table(headers, rows)])
    return env + "\n" + text_table(headers, rows), markdown
