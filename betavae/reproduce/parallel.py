"""Training a plan's runs several at a time (``--jobs N``) and writing each run as its own command
(``--list-commands``), so a sweep of independent runs uses the whole machine, or many machines.

Each run goes to a process of its own running ``python -m betavae.reproduce EXP … --only RUN
--train-only``: the same command ``--list-commands`` prints for a cluster scheduler. A run's
process gets ``cores // N`` threads (``OMP_NUM_THREADS``); its checkpoints record that count, so a
resume with another one warns as it does for any run. Why: on the 2-core CPU two one-thread
trainings do about 1.2× the work of one two-thread training (the convolutions of one small-batch
step do not keep two cores busy; ``python -m betavae.bench train`` measures it)."""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..process_tuning import threads_per_run
from .runner import Run

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Sitting:
    """The flags that decide an experiment's plan and where it writes: what every per-run
    command repeats so that it plans the same runs into the same directories."""

    experiment: str
    budget: str
    seeds: int
    out: Path
    runs_dir: Path | None = None
    data: str | None = None
    amp: bool = False
    follow_up: bool = False

    def run_command(self, run: Run, python: str = "python") -> list[str]:
        """The self-contained, resumable command that trains ``run`` (and keeps its record)
        without building the report; paths absolute, so it works from any directory."""
        command = [python, "-m", "betavae.reproduce", self.experiment]
        command += ["--budget", self.budget, "--seeds", str(self.seeds)]
        command += ["--out", str(self.out.resolve())]
        if self.runs_dir is not None:
            command += ["--runs", str(self.runs_dir.resolve())]
        if self.data is not None:
            command += ["--data", str(Path(self.data).resolve())]
        command += ["--amp"] if self.amp else []
        command += ["--follow-up"] if self.follow_up else []
        return [*command, "--only", run.name, "--train-only"]


def command_lines(sitting: Sitting, runs: list[Run], threads: int | None = None) -> list[str]:
    """One shell line per run (``--list-commands``), with ``OMP_NUM_THREADS`` when the runs are
    meant to share a machine (``--jobs``)."""
    prefix = f"OMP_NUM_THREADS={threads} " if threads is not None else ""
    return [prefix + shlex.join(sitting.run_command(run)) for run in runs]


def train_concurrently(
    sitting: Sitting, runs: list[Run], jobs: int, log=print, poll_s: float = 0.5
) -> list[str]:
    """Train ``runs`` in child processes, at most ``jobs`` at once, each with its share of the
    cores; the names of the runs whose process failed. SIGINT and SIGTERM are passed on to every
    running child (which saves its checkpoint at the next step, as ``betavae.train`` does) and no
    further run starts; then :class:`SystemExit` with the signal's exit code. The children run in
    a session of their own, so a terminal's Ctrl-C reaches them once, through here; should this
    process die without passing a signal on (SIGKILL), Linux sends each child SIGTERM."""
    threads = threads_per_run(jobs)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    pending, active, failed = list(runs), {}, []
    stop: list[int] = []

    def forward(signum, frame):
        stop.append(signum)
        for child in active.values():
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    try:
        while active or (pending and not stop):
            while pending and len(active) < jobs and not stop:
                run = pending.pop(0)
                log(f"{run.name}: in its own process, {threads} thread(s)")
                command = sitting.run_command(run, python=sys.executable)
                active[run.name] = subprocess.Popen(
                    command, env=env, start_new_session=True, preexec_fn=_stop_with_parent
                )
            for name, child in list(active.items()):
                if child.poll() is not None:
                    del active[name]
                    if child.returncode != 0:
                        failed.append(name)
                        log(f"{name}: its process ended with exit code {child.returncode}")
            time.sleep(poll_s if active else 0)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stop:
        name = signal.Signals(stop[0]).name
        if stop.count(signal.SIGINT) > 1:  # betavae.train stops at once on a second Ctrl-C
            log(
                "interrupted twice: the runs in flight stopped at once, each keeping its last "
                "saved checkpoint; the same command continues them from there"
            )
        else:
            log(
                f"stopped by {name}: the runs in flight saved their checkpoints; the same "
                "command continues them"
            )
        raise SystemExit(128 + int(stop[0]))
    return failed


def _stop_with_parent() -> None:
    """In a child before it runs: ask Linux for SIGTERM when the parent dies (the child then
    saves its checkpoint and stops, instead of training on unwatched). Elsewhere nothing."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
