"""``python -m betavae.reproduce``: the experiments of Burgess et al. 2018 (docs/design.md, "The
science"), one file each — a list of training runs (``runs``) and an analysis that reads only their
run directories (``analyse``) and returns a section of the report.

    python -m betavae.reproduce blobs --budget cpu --out docs/reproduction
    python -m betavae.reproduce all --budget paper --seeds 3 --out results
"""

from __future__ import annotations

from . import blobs, capacity_map, chairs, color_dsprites, dsprites, generator

EXPERIMENTS = {
    "blobs": blobs,
    "generator": generator,
    "dsprites": dsprites,
    "color-dsprites": color_dsprites,
    "chairs": chairs,
    "capacity-map": capacity_map,
}
DEFAULT_SEEDS = {
    "blobs": 1,
    "generator": 1,
    "dsprites": 3,
    "color-dsprites": 1,
    "chairs": 1,
    "capacity-map": 2,
}
BUDGETS = ("cpu", "paper", "smoke")
MAX_SEEDS = 1000  # seeds per model: checked before a plan of that many runs is built

__all__ = ["BUDGETS", "DEFAULT_SEEDS", "EXPERIMENTS", "MAX_SEEDS"]
