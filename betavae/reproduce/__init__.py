"""``python -m betavae.reproduce``: the experiments of Burgess et al. 2018 (docs/design.md, "The
science"), one file each — a list of training runs (``runs``) and an analysis that reads only their
run directories or records (``analyse``) and returns a section of the report — declared here as
:class:`~betavae.reproduce.experiment.Experiment` values.

    python -m betavae.reproduce blobs --budget cpu --out docs/reproduction
    python -m betavae.reproduce all --budget paper --seeds 3 --out results
"""

from __future__ import annotations

from . import blobs, capacity_map, chairs, color_dsprites, dsprites, generator
from .experiment import Experiment

EXPERIMENTS: dict[str, Experiment] = {
    "blobs": Experiment("blobs", blobs.SCHEDULES, 1, blobs.runs, blobs.analyse),
    "generator": Experiment(
        "generator",
        generator.SCHEDULES,
        1,
        generator.runs,
        generator.analyse,
        keep_record=generator.keep_record,
    ),
    "dsprites": Experiment(
        "dsprites",
        dsprites.SCHEDULES,
        3,
        dsprites.runs,
        dsprites.analyse,
        recorded=dsprites.recorded,
        keep_record=dsprites.keep_record,
        follow_ups=dsprites.follow_ups,
    ),
    "color-dsprites": Experiment(
        "color-dsprites",
        color_dsprites.SCHEDULES,
        1,
        color_dsprites.runs,
        color_dsprites.analyse,
        recorded=color_dsprites.recorded,
        keep_record=color_dsprites.keep_record,
    ),
    "chairs": Experiment("chairs", chairs.SCHEDULES, 1, chairs.runs, chairs.analyse),
    "capacity-map": Experiment(
        "capacity-map",
        capacity_map.SCHEDULES,
        2,
        capacity_map.runs,
        capacity_map.analyse,
        recorded=capacity_map.recorded,
        keep_record=capacity_map.keep_record,
    ),
}
DEFAULT_SEEDS = {name: e.default_seeds for name, e in EXPERIMENTS.items()}
BUDGETS = ("cpu", "paper", "smoke")
MAX_SEEDS = 1000  # seeds per model: checked before a plan of that many runs is built

__all__ = ["BUDGETS", "DEFAULT_SEEDS", "EXPERIMENTS", "MAX_SEEDS", "Experiment"]
