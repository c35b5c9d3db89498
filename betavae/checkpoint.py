"""Checkpoints: written to a temporary file in the run directory and renamed over the old one, so
an interrupted save never leaves a half-written ``checkpoint.pt``."""

from __future__ import annotations

from pathlib import Path

import torch

from .atomic import atomic_path

CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"


def save(run_dir: Path, state: dict) -> Path:
    path = Path(run_dir) / CHECKPOINT_NAME
    with atomic_path(path) as tmp:
        torch.save({**state, "version": CHECKPOINT_VERSION}, tmp)
    return path


def load(run_dir: Path, map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint of ``run_dir``; ValueError when it is missing, unreadable or incompatible."""
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.exists():
        raise ValueError(f"{run_dir}: no {CHECKPOINT_NAME} (not a betavae run directory?)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged file
        raise ValueError(f"{path}: cannot read the checkpoint ({exc})") from exc
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        found = state.get("version") if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"{path}: checkpoint version {found!r} is not supported (expected {CHECKPOINT_VERSION})"
        )
    return state
