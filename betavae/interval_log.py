"""The trainer's log records: per-step loss terms summed on the device between log steps (no host
sync per step), then averaged (over processes too, under torchrun) into one metrics.jsonl
record. A stop between log steps keeps the partial sums in the checkpoint, so a resumed run logs
the same averages as an uninterrupted one."""

from __future__ import annotations

import torch

from .config import TrainConfig
from .objectives import LossTerms

SCALARS = ("loss", "recon", "kl")


def zero_sums(latent_dim: int) -> dict:
    """Empty sums for a log interval."""
    return {
        "n": 0,
        "loss": 0.0,
        "recon": 0.0,
        "kl": 0.0,
        "capacity": 0.0,
        "kl_per_latent": torch.zeros(latent_dim, dtype=torch.float64),
    }


def accumulate(sums: dict, terms: LossTerms) -> None:
    """Add one step's terms (detached, float64) to ``sums``."""
    sums["n"] += 1
    for key in SCALARS:
        sums[key] = sums[key] + getattr(terms, key).detach().double()
    sums["capacity"] += terms.capacity
    sums["kl_per_latent"] = (
        sums["kl_per_latent"].to(terms.kl_per_latent.device) + terms.kl_per_latent.detach().double()
    )


def for_checkpoint(sums: dict) -> dict:
    """``sums`` as plain CPU tensors and numbers (what a checkpoint may hold)."""
    out = {"n": int(sums["n"]), "capacity": float(sums["capacity"])}
    for key in SCALARS:
        out[key] = torch.as_tensor(sums[key], dtype=torch.float64).reshape(()).cpu()
    out["kl_per_latent"] = sums["kl_per_latent"].cpu()
    return out


def record(
    sums: dict, step: int, config: TrainConfig, lr: float, world: int, images_per_s: float
) -> dict:
    """The metrics.jsonl record of a log step: averages of the interval's sums."""
    n = max(sums["n"], 1)
    values = (
        torch.stack(
            [torch.as_tensor(sums[k], dtype=torch.float64).reshape(()).cpu() for k in SCALARS]
        )
        / n
    )
    per_latent = sums["kl_per_latent"].cpu() / n
    if world > 1:
        import torch.distributed as dist

        packed = torch.cat([values, per_latent]).to(
            "cuda" if torch.cuda.is_available() and dist.get_backend() == "nccl" else "cpu"
        )
        dist.all_reduce(packed)
        packed = packed.cpu() / world
        values, per_latent = packed[:3], packed[3:]
    return {
        "step": step,
        "loss": float(values[0]),
        "recon": float(values[1]),
        "kl": float(values[2]),
        "capacity": sums["capacity"] / n,
        "kl_per_latent": [round(float(v), 6) for v in per_latent],
        "lr": lr,
        "images_per_s": round(images_per_s, 1),
    }


def line(record: dict, steps: int) -> str:
    """One human-readable progress line of a record."""
    return (
        f"step {record['step']}/{steps} loss {record['loss']:.2f} recon "
        f"{record['recon']:.2f} KL {record['kl']:.2f} C {record['capacity']:.2f} "
        f"{record['images_per_s']:.0f} img/s"
    )
