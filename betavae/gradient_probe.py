"""``--probe-every N``: what the two terms of the objective do to the encoder's output layer.

A question the dSprites runs raise (docs/reproduction/report.md, "Why two latents"): at large γ
the capacity objective keeps two latents open. One candidate cause is Adam: the capacity term
γ·|KL − C| flips sign whenever the batch KL crosses C, and if its gradient dominates Adam's
second-moment estimate v of the encoder's output layer, the reconstruction gradient that would
open a new latent is divided by a large √v and barely moves the weights. This probe measures
that, without changing training:

- every step, whether the batch KL exceeds C (``kl_above_c``: a count over the log interval);
- every N-th step, before the optimiser's update, the gradients of ``recon`` and of the
  regulariser (``loss − recon``: γ·|KL − C|, or β·KL) on the encoder's last linear layer taken
  separately (``torch.autograd.grad`` on the retained graph, so the parameters' ``.grad`` and the
  update are untouched), per output row: rows 0..Z-1 are the μ head, Z..2Z-1 the log σ² head.
  For each row: the two gradients' norms, the RMS of Adam's bias-corrected √v̂, and the RMS of
  each gradient divided by (√v̂ + eps): the size (in units of lr) of the step that term alone
  would take under Adam's scaling.

The numbers go into the log record of the step the probe ran in (``record["probe"]``), one value
per latent for each head. Off by default (N = 0): then nothing is computed or logged.
"""

from __future__ import annotations

import torch
from torch import nn

HEADS = ("mu", "logvar")


def probe_problem(vae: nn.Module) -> str | None:
    """None when ``vae`` has the output layer the probe reads, else why not (one sentence)."""
    if _output_layer(vae) is None:
        return (
            "--probe-every needs the burgess model (an encoder whose last layer is one linear "
            "map to (μ, log σ²))"
        )
    return None


def _output_layer(vae: nn.Module) -> nn.Linear | None:
    fc = getattr(getattr(vae, "encoder", None), "fc", None)
    last = fc[-1] if isinstance(fc, nn.Sequential) and len(fc) else None
    return last if isinstance(last, nn.Linear) else None


def rows(weight_and_bias) -> torch.Tensor:
    """A linear layer's (weight, bias)-shaped tensors as one row per output, in float32."""
    weight, bias = weight_and_bias
    return torch.cat([weight, bias[:, None]], 1).float()


class GradientProbe:
    """Counts KL > C every step and measures the two terms' gradients every ``every`` steps;
    :meth:`take` hands the log interval's numbers to the trainer's record and starts anew."""

    def __init__(self, vae: nn.Module, every: int) -> None:
        layer = _output_layer(vae)
        if layer is None or every < 1:
            raise ValueError(probe_problem(vae) or f"--probe-every must be >= 1; got {every}")
        self.layer, self.every, self.latent_dim = layer, every, layer.out_features // 2
        self.above = torch.zeros((), dtype=torch.int64, device=layer.weight.device)
        self.counted = 0
        self.measured: dict | None = None

    def observe(self, terms, step: int, optimizer: torch.optim.Optimizer) -> None:
        """Called by the training step after the loss and before ``backward``; ``step`` is the
        step being taken (0-based), so the measurement lands in record ``step + 1``."""
        self.above += (terms.kl.detach() > terms.capacity).to(torch.int64)
        self.counted += 1
        if (step + 1) % self.every == 0:
            self.measured = self._measure(terms, optimizer)

    def _measure(self, terms, optimizer) -> dict:
        params = [self.layer.weight, self.layer.bias]
        recon = torch.autograd.grad(terms.recon, params, retain_graph=True)
        regulariser = torch.autograd.grad(terms.loss - terms.recon, params, retain_graph=True)
        g_recon, g_reg = rows(recon), rows(regulariser)
        states = [optimizer.state.get(p, {}) for p in params]
        out = {
            "grad_recon_norm": g_recon.norm(dim=1),
            "grad_regulariser_norm": g_reg.norm(dim=1),
        }
        if all("exp_avg_sq" in state for state in states):  # from the second step on
            group = optimizer.param_groups[0]
            eps, beta2 = group["eps"], group["betas"][1]
            # Adam divides by √v̂ with v̂ = v / (1 − β₂ᵗ) (bias correction), t the steps taken
            root_v = rows(
                [(s["exp_avg_sq"] / (1 - beta2 ** float(s["step"]))).sqrt() for s in states]
            )
            out["adam_root_v_rms"] = root_v.square().mean(1).sqrt()
            out["recon_step_rms"] = (g_recon / (root_v + eps)).square().mean(1).sqrt()
            out["regulariser_step_rms"] = (g_reg / (root_v + eps)).square().mean(1).sqrt()
        z = self.latent_dim
        return {
            f"{name}_{head}": [round(float(x), 8) for x in values[k * z : (k + 1) * z]]
            for name, values in out.items()
            for k, head in enumerate(HEADS)
        }

    def take(self) -> dict:
        """The interval's numbers for the log record (the KL > C count over the steps this
        process took in the interval, and the last measurement in it, if any); starts anew."""
        out = {"kl_above_c": int(self.above), "steps_counted": self.counted}
        if self.measured is not None:
            out.update(self.measured)
        self.above.zero_()
        self.counted, self.measured = 0, None
        return out
