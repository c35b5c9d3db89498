"""One optimisation step: encoder, the fused reparameterised sample + KL, decoder, the loss of
the objective, backward and the Adam update, under bf16 autocast when ``--amp`` asks for it. The
trainer (betavae.train) calls :func:`training_step` once per step; the benchmarks call it too."""

from __future__ import annotations

import torch
from torch import nn

from . import ops
from .amp import autocast
from .data import BatchSampler
from .gradient_probe import GradientProbe
from .model_io import unit_range
from .objectives import at_least_fp32


class TrainingStep(nn.Module):
    """Encoder → fused sample + KL → decoder: the unit that DDP and torch.compile wrap. The
    encoder's input is the image batch (BurgessVAE) or its factor classes (FactorGenerator)."""

    def __init__(self, vae: nn.Module, backend: str) -> None:
        super().__init__()
        self.vae, self.backend = vae, backend

    def forward(self, inputs, seed, offset):
        mu, logvar = self.vae.encode(inputs)
        # Under --amp the encoder hands back bf16: the sample and the KL are taken in float32
        # (bf16's 8-bit mantissa would quantise both), and the decoder casts z back itself.
        mu, logvar = at_least_fp32(mu), at_least_fp32(logvar)
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend=self.backend)
        return self.vae.decode(z), kl


def training_step(
    module: nn.Module,
    loss_fn,
    optimizer: torch.optim.Optimizer,
    sampler: BatchSampler,
    batch_size: int,
    seed: torch.Tensor,
    offset: torch.Tensor,
    step: int,
    amp: bool = False,
    probe: GradientProbe | None = None,
):
    """One optimisation step on a fresh batch (uint8 targets for binary data, channels-last).
    ``probe`` (``--probe-every``) looks at the loss's terms before the update, changing nothing."""
    images, idx = sampler.sample(batch_size)
    x = unit_range(images, sampler.max_value).contiguous(memory_format=torch.channels_last)
    target = images if sampler.binary else x
    inputs = sampler.classes(idx) if input_kind(module) == "factors" else x
    with autocast(sampler.device, amp):
        logits, kl = module(inputs, seed, offset)
    terms = loss_fn(logits, target, kl, step)
    if probe is not None:
        probe.observe(terms, step, optimizer)
    optimizer.zero_grad(set_to_none=True)
    terms.loss.backward()
    optimizer.step()
    return terms


def make_optimizer(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam with torch's fused kernel (one pass over all parameters instead of a loop of small
    ops per tensor; on the CPU it took 2.8 of a 41 ms step as a loop). Same update rule."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=device.type in ("cpu", "cuda"))


def input_kind(module: nn.Module) -> str:
    """``images`` or ``factors``: what the wrapped model's encoder takes (through DDP/compile)."""
    inner = getattr(module, "_orig_mod", module)
    inner = getattr(inner, "module", inner)
    return inner.vae.input_kind
