"""The interface every experiment of ``python -m betavae.reproduce`` offers: its training runs
for a budget and seed count, and the analysis that turns finished runs into a report section;
optionally records (so runs of different sittings meet in one section) and follow-up runs that a
decision rule plans from a recorded run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .runner import Run


@dataclass(frozen=True)
class Experiment:
    """One experiment: ``runs(budget, seeds, data)`` plans its trainings, ``analyse(run_dirs,
    figures, report_dir, budget)`` returns its section's lines. With records: ``recorded(run,
    report_dir, budget)`` says an earlier sitting kept the run, ``keep_record(run_dir,
    report_dir, budget)`` keeps a finished one. ``follow_ups(report_dir, budget)`` gives
    ``(runs, why)`` of its decision rule."""

    name: str
    schedules: dict[str, dict]
    default_seeds: int
    runs: Callable[[str, int, str | None], list[Run]]
    analyse: Callable[[list[Path], Path, Path, str], list[str]]
    recorded: Callable[[Run, Path, str], bool] | None = None
    keep_record: Callable[[Path, Path, str], Path] | None = None
    follow_ups: Callable[[Path, str], tuple[list[Run], str]] | None = None
