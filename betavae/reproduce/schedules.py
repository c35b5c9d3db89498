"""The training schedules of the experiments, from one source: the ``paper`` budget is the paper's
dSprites recipe as ``TrainConfig``'s defaults hold it (C 0 → C_max over ``c_steps``, ``steps`` in
all); the ``cpu`` and ``smoke`` budgets are shortened copies named as such in every report."""

from __future__ import annotations

from ..config import TrainConfig

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
