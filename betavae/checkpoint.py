"""Checkpoints: the training state as plain tensors and containers, written atomically (temporary
file, fsync, rename) so an interrupted save never leaves a half-written ``checkpoint.pt``, and
read with PyTorch's weights-only unpickler, so opening a checkpoint can never run code.

A checkpoint holds only tensors, numbers, strings, booleans, None and lists/tuples/dicts of them
(the model and Adam state dicts, the sampler's generator state as a uint8 tensor, the config as
a dict). Anything else in a file — a pickled class, a function call — is refused with the file
named and nothing executed. Version 1 checkpoints (before the dataset fingerprint) still load.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from .atomic import atomic_path

CHECKPOINT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
CHECKPOINT_NAME = "checkpoint.pt"
REQUIRED_KEYS = ("model", "optimizer", "step", "config", "sampler_states")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the problem."""


def save(run_dir: Path, state: dict) -> Path:
    """Write ``state`` as ``run_dir/checkpoint.pt`` atomically (a failure keeps the old file)."""
    path = Path(run_dir) / CHECKPOINT_NAME
    try:
        with atomic_path(path) as tmp:
            torch.save({**state, "version": CHECKPOINT_VERSION}, tmp)
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as RuntimeError
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise CheckpointError(
            f"{path}: cannot write the checkpoint ({reason}); the previous checkpoint, if any, "
            "is kept unchanged"
        ) from exc
    return path


def read_file(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """The dict in checkpoint file ``path``, read without running any code it may contain."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            raise CheckpointError(
                f"{path}: refused to load: the file holds a reference to {found.group(1)!r}, "
                "which a betavae checkpoint never contains (only tensors, numbers, strings and "
                "containers); nothing from it was run"
            ) from None
        raise CheckpointError(
            f"{path}: cannot read the checkpoint (damaged, or not a checkpoint: "
            f"{str(exc).splitlines()[-1][:200]}); nothing from it was run"
        ) from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: cannot read the checkpoint ({exc})") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, not a checkpoint dict")
    return state


def load(run_dir: Path, map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint of ``run_dir`` (a run or snapshot directory); CheckpointError (a ValueError)
    when it is missing, unreadable, unsafe, incomplete or of an unknown version."""
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise CheckpointError(f"{run_dir}: no {CHECKPOINT_NAME} (not a betavae run directory?)")
    state = read_file(path, map_location)
    version = state.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            f"{path}: checkpoint version {version!r} is not supported (this betavae reads "
            f"versions {list(SUPPORTED_VERSIONS)})"
        )
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path}: the checkpoint lacks {missing} (damaged or not ours)")
    if not isinstance(state["config"], dict) or not isinstance(state["step"], int):
        raise CheckpointError(f"{path}: the checkpoint's config or step has the wrong type")
    return state
