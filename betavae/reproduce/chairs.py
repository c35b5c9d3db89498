"""3D Chairs under the capacity objective (paper: traversals only; chairs have no ground-truth
factors). Runs only when the user passes an imported chairs file (``--data chairs.h5`` from
``python -m betavae.data import-chairs DIR chairs.h5``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..trained import load_trained
from .analysis import ACTIVE_KL, markdown_table, posterior, traversal_figure
from .runner import Run
from .schedules import capacity_schedules

TITLE = "3D Chairs: traversals"
SCHEDULES = capacity_schedules(5_000, 4_000, 4, batch_size=4)


def runs(budget: str, seeds: int, data_path: str | None = None) -> list[Run]:
    if not data_path:
        raise ValueError(
            "the chairs experiment needs --data PATH: an HDF5 file made by "
            "`python -m betavae.data import-chairs DIR chairs.h5` from the 3D Chairs renders"
        )
    schedule = dict(SCHEDULES[budget], image_every=10**9)
    return [
        Run(f"capacity-seed{seed}", dict(preset="chairs", data=data_path, seed=seed, **schedule))
        for seed in range(seeds)
    ]


def analyse(run_dirs: list[Path], figures: Path, report_dir: Path, budget: str) -> list[str]:
    lines = [f"## {TITLE}", ""]
    for run_dir in run_dirs:
        config, model, data, step = load_trained(run_dir)
        index = np.random.default_rng(0).integers(0, len(data), min(len(data), 2000))
        _, _, kl_each = posterior(model, data, index)
        kl = kl_each.mean(0)
        trav = traversal_figure(model, data, kl, figures / f"chairs-{run_dir.name}-trav.png")
        active = [[f"z{j}", f"{kl[j]:.2f}"] for j in np.argsort(-kl) if kl[j] >= ACTIVE_KL]
        lines += [f"Run `{run_dir.name}` on `{config.data}`: {step} steps.", ""]
        lines += markdown_table(["active latent", "KL"], active)
        lines += [f"![traversals]({trav.relative_to(report_dir)})", ""]
    return lines
