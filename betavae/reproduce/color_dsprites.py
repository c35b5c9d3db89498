"""Coloured dSprites under the capacity objective: traversals, and which latents take colour.
Paper: three latents take colour. The colour (one RGB value per image) is not a ground-truth
factor, so a latent "takes colour" when a linear function of the RGB colour explains most of its
posterior mean (R² > 0.5) while the shape/scale/orientation/position factors explain less."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .analysis import (
    ACTIVE_KL,
    load_trained,
    markdown_table,
    posterior,
    traversal_figure,
)
from .runner import Run
from .schedules import capacity_schedules

TITLE = "Coloured dSprites: which latents take colour"
SCHEDULES = capacity_schedules(5_000, 4_000, 4, batch_size=8)
TAKES_COLOUR_R2 = 0.5


def runs(budget: str, seeds: int, data_path: str | None = None) -> list[Run]:
    schedule = dict(SCHEDULES[budget], image_every=10**9)
    return [
        Run(f"capacity-seed{seed}", dict(preset="color-dsprites", seed=seed, **schedule))
        for seed in range(seeds)
    ]


def r_squared(features: np.ndarray, target: np.ndarray) -> float:
    """R² of the least-squares fit of ``target`` by ``features`` (with an intercept)."""
    design = np.column_stack([features, np.ones(len(features))])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    total = ((target - target.mean()) ** 2).sum()
    return float(1 - (residual**2).sum() / total) if total > 0 else 0.0


def factor_design(data, index: np.ndarray) -> np.ndarray:
    """One-hot columns of every varying factor's class (so R² covers non-linear effects too)."""
    columns = []
    for k, size in enumerate(data.factor_sizes):
        if size > 1:
            columns.append(np.eye(size)[data.factor_classes[index, k]][:, 1:])
    return np.concatenate(columns, axis=1)


def analyse(run_dirs: list[Path], figures: Path, report_dir: Path, budget: str) -> list[str]:
    lines = [f"## {TITLE}", ""]
    for run_dir in run_dirs:
        model, config, data, step = load_trained(run_dir)
        index = np.random.default_rng(0).integers(0, len(data), 5000)
        mu, _, kl_each = posterior(model, data, index)
        kl = kl_each.mean(0)
        colour = data.extra_values["color"][index]
        factors = factor_design(data, index)
        rows, colour_latents = [], []
        for j in np.argsort(-kl):
            if kl[j] < ACTIVE_KL:
                continue
            r2_colour, r2_factors = r_squared(colour, mu[:, j]), r_squared(factors, mu[:, j])
            takes = r2_colour > TAKES_COLOUR_R2 and r2_colour > r2_factors
            colour_latents += [f"z{j}"] if takes else []
            rows.append([f"z{j}", f"{kl[j]:.2f}", r2_colour, r2_factors, "yes" if takes else "no"])
        trav = traversal_figure(model, data, kl, figures / f"color-{run_dir.name}-trav.png")
        lines += [
            f"Run `{run_dir.name}`: {step} steps, C 0 → {config.c_max:g} over {config.c_steps} "
            f"steps. Latents that take colour: **{len(colour_latents)}** "
            f"({', '.join(colour_latents) or 'none'}); paper: 3.",
            "",
        ]
        lines += markdown_table(
            ["latent", "KL", "R² by RGB colour", "R² by the factors (one-hot)", "takes colour"],
            rows,
        )
        lines += [f"![traversals]({trav.relative_to(report_dir)})", ""]
    return lines
