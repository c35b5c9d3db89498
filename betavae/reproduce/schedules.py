"""The training schedules of the experiments, from one source: the ``paper`` budget is the paper's
dSprites recipe as ``TrainConfig``'s defaults hold it (C 0 → C_max over ``c_steps``, ``steps`` in
all); the ``cpu`` and ``smoke`` budgets are shortened copies named as such in every report."""

from __future__ import annotations

from ..config import TrainConfig
from ..objectives import step_at_capacity

PAPER = TrainConfig()  # the paper's dSprites recipe (preset ``dsprites``)


def capacity_schedules(cpu_steps: int, cpu_c_steps: int, smoke_steps: int, **smoke) -> dict:
    """Per budget, the schedule flags of a capacity experiment."""
    return {
        "paper": dict(steps=PAPER.steps, c_steps=PAPER.c_steps, log_every=200, save_every=5000),
        "cpu": dict(
            steps=cpu_steps,
            c_steps=cpu_c_steps,
            log_every=50,
            save_every=max(1, cpu_steps // 10),
        ),
        "smoke": dict(
            steps=smoke_steps,
            c_steps=smoke_steps,
            log_every=2,
            save_every=max(1, smoke_steps // 2),
            **smoke,
        ),
    }


SNAPSHOT_CAPACITIES = (3.0, 7.0, 15.0, 25.0)  # nats: where the paper's panels and stages sit


def capacity_snapshots(schedule: dict, c_max: float = PAPER.c_max) -> tuple[int, ...]:
    """Steps at which C first reaches each of SNAPSHOT_CAPACITIES (those before the last step;
    the end of the run is analysed from the run directory itself)."""
    steps = (step_at_capacity(c, c_max, schedule["c_steps"]) for c in SNAPSHOT_CAPACITIES)
    return tuple(sorted({max(1, s) for s in steps if s < schedule["steps"]}))
