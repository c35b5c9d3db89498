"""Coloured dSprites under the capacity objective: traversals, and which latents take colour.
Paper: three latents take colour. The colour (one RGB value per image) is not a ground-truth
factor, so a latent "takes colour" when a linear function of the RGB colour explains most of its
posterior mean (R² > 0.5) while the shape/scale/orientation/position factors explain less.
Trained at the paper's recipe (γ 1000, lr 5e-4) and at the setting the γ/lr map found to open a
third latent on dSprites (γ 100, lr 1e-3: :data:`betavae.reproduce.dsprites.BEST_SETTING`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..trained import load_trained
from . import information, records
from .analysis import (
    ACTIVE_KL,
    markdown_table,
    posterior,
    traversal_figure,
)
from .dsprites import BEST_KIND, BEST_SETTING
from .runner import Run, run_state
from .schedules import capacity_schedules, capacity_snapshots

EXPERIMENT = "color-dsprites"
TITLE = "Coloured dSprites: which latents take colour"
SCHEDULES = capacity_schedules(5_000, 4_000, 4, batch_size=8)
TAKES_COLOUR_R2 = 0.5


FULL_RANGE = (0.0, 1.0)  # the paper's samples show dark colours too


SETTINGS = {"capacity": {}, BEST_KIND: BEST_SETTING}  # run-name prefix: flags over the preset


def runs(budget: str, seeds: int, data_path: str | None = None) -> list[Run]:
    """Colours from U[0.5, 1]³ (the common variant) on every seed, and U[0, 1]³ on seed 0; each
    at the paper's recipe and at the map's setting (named by :data:`SETTINGS`)."""
    schedule = dict(SCHEDULES[budget], image_every=10**9)
    snapshots = capacity_snapshots(schedule)
    out = []
    for seed in range(seeds):
        for kind, setting in SETTINGS.items():
            flags = dict(preset="color-dsprites", seed=seed, **schedule, **setting)
            out.append(Run(f"{kind}-seed{seed}", flags, snapshots))
    for kind, setting in SETTINGS.items():
        flags = dict(preset="color-dsprites", seed=0, color_range=FULL_RANGE, **schedule, **setting)
        out.append(Run(f"{kind}-full-range-seed0", flags, snapshots))
    return out


@torch.no_grad()
def decoded_colour_correlation(model, data, index: np.ndarray, mu: np.ndarray) -> list[float]:
    """Per RGB channel, the correlation over images of the true colour with the decoded colour:
    the mean of the decoded posterior means' channel inside the sprite's mask."""
    decoded = torch.sigmoid(model.decode(torch.from_numpy(mu).float())).numpy()  # (N, 3, H, W)
    images = data.images[torch.from_numpy(index)].numpy()  # uint8: mask × colour
    inside = images.max(axis=1) > 0  # the sprite (a colour of exactly 0 is invisible anyway)
    counts = np.maximum(inside.sum((1, 2)), 1)
    colour = data.extra_values["color"][index]
    out = []
    for c in range(3):
        seen = (decoded[:, c] * inside).sum((1, 2)) / counts
        out.append(float(np.corrcoef(seen, colour[:, c])[0, 1]))
    return out


def fitted_r_squared(features: np.ndarray, target: np.ndarray) -> float:
    """R² of the least-squares fit of ``target`` by ``features`` (with an intercept)."""
    design = np.column_stack([features, np.ones(len(features))])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    total = ((target - target.mean()) ** 2).sum()
    return float(1 - (residual**2).sum() / total) if total > 0 else 0.0


def factor_one_hots(data, index: np.ndarray) -> dict[str, np.ndarray]:
    """Per varying factor, one-hot columns of its class (so R² covers non-linear effects too; the
    first class is dropped, the fit's intercept holds it)."""
    return {
        name: np.eye(size)[data.factor_classes[index, k]][:, 1:]
        for k, (name, size) in enumerate(zip(data.factor_names, data.factor_sizes))
        if size > 1
    }


def best_factor(one_hots: dict[str, np.ndarray], values: np.ndarray) -> tuple[str, float]:
    """The factor whose class alone explains ``values`` best, with that R²: what a latent that
    does not take colour holds instead."""
    scores = {name: fitted_r_squared(columns, values) for name, columns in one_hots.items()}
    name = max(scores, key=scores.get)
    return name, scores[name]


def recorded(run: Run, out: Path, budget: str) -> bool:
    """Whether an earlier sitting kept ``run``'s record in ``out`` (see :func:`keep_record`)."""
    return records.is_recorded(out, EXPERIMENT, run.name, budget, run.config(out).steps)


def keep_record(run_dir: Path, out: Path, budget: str) -> Path:
    """Measure a finished run once and keep its model and numbers in ``out/models/color-dsprites/``
    (the section is built from those records, so the colour ranges trained in different sittings
    meet in one section). Does nothing when the record of this step is there."""
    step = run_state(run_dir)[0]
    return records.keep(run_dir, out, EXPERIMENT, budget, step, lambda: measure(run_dir))


def measure(run_dir: Path) -> dict:
    """Per active latent its KL, the R² of its posterior mean by the colour and by the factors, and
    the factor that alone explains it best; the colour held by the whole code and by the decoded
    images; over 5,000 random images."""
    config, model, data, step = load_trained(run_dir)
    index = np.random.default_rng(0).integers(0, len(data), 5000)
    mu, _, kl_each = posterior(model, data, index)
    kl = kl_each.mean(0)
    colour = data.extra_values["color"][index]
    one_hots = factor_one_hots(data, index)
    factors = np.concatenate(list(one_hots.values()), axis=1)
    latents = []
    for j in np.argsort(-kl):
        if kl[j] < ACTIVE_KL:
            continue
        r2_colour, r2_factors = (
            fitted_r_squared(colour, mu[:, j]),
            fitted_r_squared(factors, mu[:, j]),
        )
        takes = r2_colour > TAKES_COLOUR_R2 and r2_colour > r2_factors
        factor, r2_factor = best_factor(one_hots, mu[:, j])
        latents.append(
            dict(
                latent=int(j),
                kl=float(kl[j]),
                r2_colour=r2_colour,
                r2_factors=r2_factors,
                factor=factor,
                r2_factor=r2_factor,
                takes_colour=bool(takes),
            )
        )
    return dict(
        seed=config.seed,
        color_range=list(config.color_range),
        kl_per_latent=kl,
        latents=latents,
        whole_code=[information.r_squared(mu, colour[:, c]) for c in range(3)],
        decoded_correlation=decoded_colour_correlation(model, data, index, mu),
    )


def _record_lines(record: dict, report_dir: Path, figures: Path) -> list[str]:
    """The section's part of one recorded run: numbers from the record, traversals from its
    model file."""
    name = record["name"]
    config, model, data, step = load_trained(records.model_path(report_dir, EXPERIMENT, name))
    colour_latents = [f"z{r['latent']}" for r in record["latents"] if r["takes_colour"]]
    trav = traversal_figure(
        model, data, np.asarray(record["kl_per_latent"]), figures / f"color-{name}-trav.png"
    )
    low, high = record["color_range"]
    whole, decoded = record["whole_code"], record["decoded_correlation"]
    lines = [
        f"Run `{name}`: {step} steps, γ {config.gamma:g}, lr {config.lr:g}, "
        f"C 0 → {config.c_max:g} over {config.c_steps} steps, "
        f"colours U[{low:g}, {high:g}]³; trained by commit `{record['trained_by']}`. Latents "
        f"that take colour: **{len(colour_latents)}** ({', '.join(colour_latents) or 'none'}; "
        f"each alone, by R² > {TAKES_COLOUR_R2:g}); paper: 3.",
        "",
        "Colour held by the whole code (held-out R² of each channel from all of μ; a colour "
        "spread over several latents shows here, not in the per-latent table) and in the "
        "decoded images (correlation of true with decoded colour inside the sprite):",
        "",
    ]
    lines += markdown_table(
        ["channel", "R² linear", "R² MLP", "decoded-colour correlation"],
        [
            [channel, whole[c]["linear"], whole[c]["mlp"], decoded[c]]
            for c, channel in enumerate("RGB")
        ],
    )
    lines += markdown_table(
        [
            "latent",
            "KL",
            "R² by RGB colour",
            "R² by the factors (one-hot)",
            "factor it holds most (R² alone)",
            "takes colour",
        ],
        [
            [
                f"z{r['latent']}",
                f"{r['kl']:.2f}",
                r["r2_colour"],
                r["r2_factors"],
                f"{r['factor']} ({r['r2_factor']:.2f})",
                "yes" if r["takes_colour"] else "no",
            ]
            for r in record["latents"]
        ],
    )
    return lines + [f"![traversals]({trav.relative_to(report_dir)})", ""]


def analyse(run_dirs: list[Path], figures: Path, report_dir: Path, budget: str) -> list[str]:
    """The section from every record of ``budget`` (this sitting's runs are recorded first, so
    earlier sittings' runs join them), U[0.5, 1]³ seeds first, then U[0, 1]³; within each, the
    paper's recipe before the map's setting."""
    for run_dir in run_dirs:
        keep_record(run_dir, report_dir, budget)
    found = records.of_budget(report_dir, EXPERIMENT, budget)
    found.sort(
        key=lambda r: (tuple(r["color_range"]) == FULL_RANGE, r["seed"], _kind_order(r["name"]))
    )
    lines = [f"## {TITLE}", ""]
    for record in found:
        lines += _record_lines(record, report_dir, figures)
    return lines


def _kind_order(name: str) -> tuple[int, str]:
    """The position of a run's setting in :data:`SETTINGS` (unknown names last, by name)."""
    for i, kind in enumerate(SETTINGS):
        if name.startswith(f"{kind}-"):
            return i, name
    return len(SETTINGS), name
