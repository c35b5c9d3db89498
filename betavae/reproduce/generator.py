"""Paper Fig. 3: the factor-conditioned generator. The ground-truth dSprites factors each pass
through their own Gaussian channel into the Burgess decoder (``betavae.models.FactorGenerator``),
trained with the capacity objective on the total KL while C rises. Paper: x and y gain information
first, then scale (near log-likelihood −200), then shape and orientation; reconstructions at total
KL ≈ 3.1 nats show position only, ≈ 7.3 add scale, ≈ 15.4 add shape, ≈ 23.8 everything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..model_io import per_latent_kl
from ..objectives import step_at_capacity
from ..rundir import RunDir
from ..trained import load_trained
from . import information, records
from .analysis import (
    images_at,
    markdown_table,
    pyplot,
    reconstruction_rows,
    save_figure,
)
from .runner import Run, read_metrics, run_state
from .schedules import capacity_schedules

EXPERIMENT = "generator"
TITLE = "Factor-conditioned generator (paper Fig. 3)"
TARGET_KL = (3.0, 7.0, 15.0, 24.0)  # nats: the paper's reconstruction panels
C_MAX = 25.0
SCHEDULES = capacity_schedules(10_000, 8_000, 8, batch_size=8)


def runs(budget: str, seeds: int, data_path: str | None = None) -> list[Run]:
    schedule = SCHEDULES[budget]
    # KL follows C(t) = C_max·t/T closely under γ = 1000: keep the model where C crosses each
    # target KL of the paper's panels.
    snapshots = tuple(
        max(1, step_at_capacity(target, C_MAX, schedule["c_steps"])) for target in TARGET_KL
    )
    return [
        Run(
            f"generator-seed{seed}",
            dict(preset="generator", seed=seed, c_max=C_MAX, image_every=10**9, **schedule),
            snapshots,
        )
        for seed in range(seeds)
    ]


def keep_record(run_dir: Path, out: Path, budget: str) -> Path:
    """Keep a finished run's model (the reference model) and its final channel information in
    ``out/models/generator/``; nothing when this step's record is there. The section itself is
    built from the run directory (its snapshots are needed for the reconstruction panel)."""

    def measure() -> dict:
        _, model, data, _ = load_trained(run_dir)
        return dict(channels=measure_channels(model, data))

    return records.keep(run_dir, out, EXPERIMENT, budget, run_state(run_dir)[0], measure)


def _curves_figure(records, curves, names, path: Path) -> Path:
    plt = pyplot()
    steps = [r["step"] for r in records]
    loglik = [-r["recon"] for r in records]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for f, name in enumerate(names):
        axes[0].plot(loglik, curves[:, f], label=name)
        axes[1].plot(steps, curves[:, f], label=name)
    axes[0].set_xlabel("log-likelihood (−recon, nats per image)")
    axes[1].set_xlabel("step")
    axes[1].plot(steps, [r["capacity"] for r in records], "k--", linewidth=1, label="C (total)")
    for ax in axes:
        ax.set_ylabel("KL of the factor's channel (nats)")
        ax.legend(fontsize=7)
    axes[0].set_xlim(max(min(loglik), -800), max(loglik) + 10)
    return save_figure(fig, path)


def _snapshot_panel(snapshots: list[Path], path: Path) -> tuple[Path, list]:
    """Targets (row 1) above the decoded channel means of every snapshot (one row each); per
    snapshot (step, total KL, measure_channels rows)."""
    rows, labels, measured = [], ["data"], []
    example = None
    data = None
    for snap in snapshots:
        _, model, data, step = load_trained(snap, data=data)
        if example is None:
            rng = np.random.default_rng(0)
            example = np.sort(data.index_of(data.sample_factors(10, rng)))
            rows.append(images_at(data, example))
        channels = measure_channels(model, data)
        total = sum(c["kl"] for c in channels)
        rows.append(reconstruction_rows(model, data, example))
        labels.append(f"step {step}\nKL {total:.1f}")
        measured.append((step, total, channels))
    grid = viz.to_uint8_grid(torch.cat(rows), nrow=len(example))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 1.1 * len(rows)))
    ax.imshow(grid)
    row_height = grid.shape[0] / len(rows)
    ax.set_yticks([row_height * (r + 0.5) for r in range(len(rows))], labels)
    ax.set_xticks([])
    return save_figure(fig, path), measured


@torch.no_grad()
def measure_channels(model, data, samples: int = 4000) -> list[dict]:
    """Per varying factor, its channel's KL and exact information I(v; z) (Monte Carlo, with its
    standard error) over the factor's classes, each class equally likely as in dSprites; the
    channel sees only its own factor, so I ≤ H(v) = ln(classes) and KL − I is paid for nothing."""
    rows = []
    d = model.dims_per_factor
    for f, k in enumerate(model.factor_index):
        size = data.factor_sizes[k]
        classes = torch.zeros(size, len(data.factor_sizes), dtype=torch.int64)
        classes[:, k] = torch.arange(size)
        mu, logvar = (t[:, f * d : (f + 1) * d].double() for t in model.encode(classes))
        kl = float(per_latent_kl(mu, logvar).sum(1).mean())
        mu, sigma = mu.numpy(), (0.5 * logvar).exp().numpy()
        info, se = information.channel_information(mu, sigma, samples, seed=f)
        entropy = float(np.log(size))
        rows.append(
            dict(
                factor=model.factor_names[f],
                entropy=entropy,
                kl=kl,
                information=info,
                se=se,
                uninformative_kl=kl - info,
                fraction=info / entropy,
            )
        )
    return rows


def analyse(run_dirs: list[Path], figures: Path, report_dir: Path, budget: str) -> list[str]:
    lines = [f"## {TITLE}", ""]
    for run_dir in run_dirs:
        keep_record(run_dir, report_dir, budget)
        reference = records.model_path(report_dir, EXPERIMENT, run_dir.name)
        reference = reference.relative_to(report_dir)
        config, model, data, step = load_trained(run_dir)
        names, dims = model.factor_names, model.dims_per_factor
        log = read_metrics(run_dir)
        # per logged step, the KL of each factor's channel (its latents summed): (T, F)
        per_latent = torch.tensor([r["kl_per_latent"] for r in log], dtype=torch.float64)
        curves = model.factor_kl(per_latent).numpy()
        fig = _curves_figure(log, curves, names, figures / f"{run_dir.name}-kl.png")
        snaps = RunDir(run_dir).snapshots() + [run_dir]
        panel, measured = _snapshot_panel(snaps, figures / f"{run_dir.name}-reconstructions.png")
        steps = [m[0] for m in measured]
        fractions = [np.array([[c["fraction"] for c in m[2]]]) for m in measured]
        captured, _ = information.onsets(steps, fractions)
        order = sorted((c for c in zip(names, captured) if c[1] is not None), key=lambda c: c[1])
        lines += [
            f"Run `{run_dir.name}`: {step} steps, C 0 → {config.c_max:g} nats over "
            f"{config.c_steps} steps, γ {config.gamma:g}, lr {config.lr:g}, batch "
            f"{config.batch_size}; {dims} latents per factor channel; trained by commit "
            f"`{records.trained_by(run_dir)}`; reference model `{reference}`.",
            "",
            "Each channel sees one factor, so its information I(v; z) (Monte Carlo over the "
            "factor's classes, ± its standard error) is at most H(v) = ln(classes); what the "
            "channel pays beyond I is KL that carries nothing. Final model:",
            "",
        ]
        lines += markdown_table(
            ["factor", "H (nats)", "KL", "I(v; z)", "± SE", "KL − I", "I / H"],
            [
                [
                    c["factor"],
                    c["entropy"],
                    c["kl"],
                    c["information"],
                    c["se"],
                    c["uninformative_kl"],
                    c["fraction"],
                ]
                for c in measured[-1][2]
            ],
        )
        lines += [
            "Order in which the channels first carry half their factor's entropy (I/H ≥ 0.5, "
            "measured at the snapshots, C ≈ 3/7/15/25 nats, and the end): **"
            + (" → ".join(f"{n} (step {s})" for n, s in order) or "none")
            + "**; never: "
            + (", ".join(n for n, s in zip(names, captured) if s is None) or "none")
            + ".",
            "",
            f"![per-factor KL]({fig.relative_to(report_dir)})",
            "",
            "I / H of each channel at each snapshot (KL of the channel in brackets):",
            "",
        ]
        lines += markdown_table(
            ["step", "total KL"] + names,
            [
                [s, f"{t:.1f}"] + [f"{c['fraction']:.2f} ({c['kl']:.2f})" for c in per]
                for s, t, per in measured
            ],
        )
        lines += [
            "Reconstructions (decoded channel means) as the capacity grows:",
            "",
            f"![reconstructions]({panel.relative_to(report_dir)})",
            "",
        ]
    return lines
