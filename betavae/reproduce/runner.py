"""Running an experiment's trainings so that a second invocation continues them: each run has a
fixed directory under the experiment's output; a finished run is skipped, an unfinished one resumes
from its checkpoint, a new one starts. Runs go one after another in this process. A run already
kept as a record (betavae.reproduce.records) by an earlier sitting is not trained again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import TrainConfig, config_from
from ..rundir import RunDir
from ..train import train
from .records import note_sitting


@dataclass
class Run:
    """One training of an experiment: a name (its directory), the train flags that define it, and
    steps at which a copy of the checkpoint is kept (``snapshots/step-NNNNNNN/``), for analyses
    of the model part-way through training."""

    name: str
    flags: dict = field(default_factory=dict)
    snapshots: tuple[int, ...] = ()

    def config(self, out: Path) -> TrainConfig:
        return config_from({**self.flags, "out": str(out / self.name), "quiet": True})


def snapshot_dir(run_dir: Path, step: int) -> Path:
    """Where the checkpoint of step ``step`` is kept (a directory betavae.trained reads)."""
    return RunDir(run_dir).snapshot_dir(step)


def run_state(run_dir: Path) -> tuple[int, int] | None:
    """(step reached, steps planned) of a run directory, or None when it holds no checkpoint."""
    run = RunDir(run_dir)
    if not run.has_checkpoint():
        return None
    state = run.load_checkpoint()
    return int(state["step"]), int(state["config"]["steps"])


def _train_to(run: Run, out: Path, steps: int, runtime: dict, code: str) -> None:
    """Train ``run`` until its checkpoint is at ``steps`` (fresh or resumed; exact either way),
    noting in the run's provenance the commit ``code`` that trained it."""
    config = run.config(out)
    run_dir = Path(config.out)
    state = run_state(run_dir)
    if state is not None and state[0] >= steps:
        return
    if state is not None:
        flags = {"resume": str(run_dir), "steps": steps, "quiet": True, **runtime}
    else:
        flags = {**run.flags, "out": str(run_dir), "steps": steps, "quiet": True, **runtime}
    try:
        train(config_from(flags), flags)
    finally:
        if run_state(run_dir) is not None:  # noted even when the sitting ends by a signal
            note_sitting(run_dir, 0 if state is None else state[0], code)


def execute(
    runs: list[Run],
    out: Path,
    log=print,
    runtime: dict | None = None,
    *,
    code: str = "unknown",
    recorded: Callable[[Run], bool] | None = None,
    on_finished: Callable[[Run, Path], None] | None = None,
) -> list[Path]:
    """Train every run to its planned steps (resuming unfinished ones, keeping the snapshots on
    the way); the directories of the runs trained or found finished. ``runtime``: flags that
    change how, not what, is trained (e.g. ``amp``), for every run; ``code``: the commit doing
    it; ``recorded(run)``: True for a run an earlier sitting kept as a record (skipped);
    ``on_finished(run, run_dir)``: called once a run has reached its planned steps, before the
    next one starts (e.g. to keep its record)."""
    runtime = dict(runtime or {})
    dirs = []
    for run in runs:
        config = run.config(out)
        run_dir = Path(config.out)
        state = run_state(run_dir)
        finished = state is not None and state[0] >= config.steps
        if not finished and recorded is not None and recorded(run):
            log(f"{run.name}: recorded ({config.steps} steps), not trained again")
            continue
        if finished:
            log(f"{run.name}: done ({state[0]} steps)")
        else:
            where = f"resuming at step {state[0]}" if state else "starting"
            log(f"{run.name}: {where}, {config.steps} steps -> {run_dir}")
        for step in sorted(s for s in run.snapshots if s < config.steps):
            if snapshot_dir(run_dir, step) in RunDir(run_dir).snapshots():
                continue
            reached = run_state(run_dir)
            if reached is not None and reached[0] > step:
                log(f"{run.name}: step {step} passed without a snapshot; skipped")
                continue
            _train_to(run, out, step, runtime, code)
            RunDir(run_dir).keep_snapshot(step)
        _train_to(run, out, config.steps, runtime, code)
        if on_finished is not None:
            on_finished(run, run_dir)
        dirs.append(run_dir)
    return dirs


def read_metrics(run_dir: Path) -> list[dict]:
    """The records of ``metrics.jsonl``, one per logged step (``RunDir.read_metrics``)."""
    return RunDir(run_dir).read_metrics()
