"""Records of finished experiment runs, small enough to commit, so that runs trained in different
sittings (a run directory does not outlive its machine) meet in one report.

    OUT/models/EXPERIMENT/RUN.safetensors   the final model (betavae.model_file: fp32 weights,
                                            config, step, dataset, commit; loading runs no code)
    OUT/models/EXPERIMENT/RUN.json          what the experiment measured on the run directory
                                            (numbers only, thinned training log, provenance)

The model files are the reference models: ``python -m betavae.evaluate`` and
``betavae.trained.load_trained`` read them. No checkpoint, optimiser state or data is kept.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..rundir import RunDir
from ..trained import export_model_file

MODELS = "models"
LOG_POINTS = 300  # training-log records kept per run: enough for the report's curves
PROVENANCE_NAME = "provenance.json"  # in the run directory: the commit of every sitting


def commit() -> str:
    """The checked-out commit (short), with ``-dirty`` when tracked files differ from it, or
    ``unknown`` outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        if not head:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def note_sitting(run_dir: Path, step: int, code: str) -> None:
    """Append to the run directory's provenance the commit ``code`` that trains it from ``step``."""
    path = Path(run_dir) / PROVENANCE_NAME
    sittings = json.loads(path.read_text())["sittings"] if path.exists() else []
    if not sittings or sittings[-1]["commit"] != code:
        sittings.append({"commit": code, "from_step": int(step)})
        atomic_write_text(path, json.dumps({"sittings": sittings}, indent=1) + "\n")


def trained_by(run_dir: Path) -> str:
    """The commits that trained a run directory, in order (``+``-joined), or ``unknown``."""
    path = Path(run_dir) / PROVENANCE_NAME
    if not path.exists():
        return "unknown"
    return "+".join(s["commit"] for s in json.loads(path.read_text())["sittings"])


def model_path(out: Path, experiment: str, name: str) -> Path:
    return Path(out) / MODELS / experiment / f"{name}.safetensors"


def record_path(out: Path, experiment: str, name: str) -> Path:
    return Path(out) / MODELS / experiment / f"{name}.json"


def thinned(log: list[dict], points: int = LOG_POINTS) -> list[dict]:
    """At most ``points`` evenly spaced records of a training log, always with the last."""
    if len(log) <= points:
        return list(log)
    keep = np.unique(np.linspace(0, len(log) - 1, points).round().astype(int))
    return [log[i] for i in keep]


def to_json(value):
    """``value`` with numpy arrays and scalars turned into lists and numbers."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read(out: Path, experiment: str, name: str) -> dict | None:
    """The record of run ``name``, or None when there is none."""
    path = record_path(out, experiment, name)
    return json.loads(path.read_text()) if path.exists() else None


def of_budget(out: Path, experiment: str, budget: str) -> list[dict]:
    """Every record of ``experiment`` in ``out`` made at ``budget``, in the order of their names."""
    folder = Path(out) / MODELS / experiment
    found = [read(out, experiment, p.stem) for p in sorted(folder.glob("*.json"))]
    return [r for r in found if r["budget"] == budget]


def is_recorded(
    out: Path, experiment: str, name: str, budget: str, steps: int, weights: bool = True
) -> bool:
    """Whether run ``name`` has a record of ``budget`` at ``steps`` (and its model file, unless
    the experiment keeps records without ``weights``)."""
    record = read(out, experiment, name)
    return (
        record is not None
        and record.get("budget") == budget
        and record.get("step") == steps
        and (not weights or model_path(out, experiment, name).is_file())
    )


def write(
    run_dir: Path,
    out: Path,
    experiment: str,
    budget: str,
    step: int,
    measured: dict,
    weights: bool = True,
) -> Path:
    """Keep run ``run_dir``'s model file (with ``weights``) and its ``measured`` numbers with its
    thinned log and provenance; the record's path. The model file is written first, so a record
    never names a model that is not there."""
    run_dir = Path(run_dir)
    code = trained_by(run_dir)
    if weights:
        export_model_file(run_dir, model_path(out, experiment, run_dir.name), commit=code)
    record = {
        "name": run_dir.name,
        "experiment": experiment,
        "budget": budget,
        "step": int(step),
        "trained_by": code,
        "recorded_by": commit(),
        "run_dir": os.path.relpath(run_dir, out),  # relative to the report: no machine's path
        "log": thinned(RunDir(run_dir).read_metrics()),
        **to_json(measured),
    }
    path = record_path(out, experiment, run_dir.name)
    atomic_write_text(path, json.dumps(record) + "\n")
    return path


def keep(
    run_dir: Path,
    out: Path,
    experiment: str,
    budget: str,
    step: int,
    measure: Callable[[], dict],
    weights: bool = True,
) -> Path:
    """The record of finished run ``run_dir`` at ``step``: :func:`write` with ``measure()``'s
    numbers, or nothing done when that record (and its model file) are there already."""
    run_dir = Path(run_dir)
    if is_recorded(out, experiment, run_dir.name, budget, step, weights):
        return record_path(out, experiment, run_dir.name)
    return write(run_dir, out, experiment, budget, step, measure(), weights)
