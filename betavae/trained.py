"""Trained models: the one way to load a model (from a run directory, a snapshot directory or a
model file) and to export a run's model as a model file. Train, evaluate, the in-training
evaluation and every experiment load through :func:`load_trained`, which always returns
``config, model, data, step`` in that order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from . import checkpoint
from .config import TrainConfig
from .data import GroundTruthData
from .factory import load_data, make_model
from .model_format import is_model_file, read_model_file, save_model_file
from .rundir import RunDir, RunDirError, config_of


class LoadedRun(NamedTuple):
    """A trained model with what made it: ``config, model, data, step = load_trained(path)``."""

    config: TrainConfig
    model: nn.Module
    data: GroundTruthData
    step: int


def load_trained(
    path: os.PathLike | str,
    device: str | torch.device = "cpu",
    data: GroundTruthData | None = None,
    *,
    data_path: os.PathLike | str | None = None,
) -> LoadedRun:
    """``config, model, data, step`` of a run directory, a snapshot directory or a model file
    (``.safetensors``, e.g. the reference models in docs/reproduction/models/); the model in eval
    mode on ``device``. Never runs code from the file. ``data``
    skips loading the dataset again when the caller has it; ``data_path`` says where the official
    files of a file dataset (shapes3d, mpi3d, smallnorb, cars3d) are now, if they moved."""
    path = Path(path)
    device = torch.device(device)
    if is_model_file(path):
        weights, config, step, fingerprint = read_model_file(path)
    else:
        state = checkpoint.load(path)
        config, step, weights = config_of(state, path), state["step"], state["model"]
        fingerprint = state.get("dataset")
    config.quiet = True
    if data_path is not None:
        config.data_path = str(Path(data_path).resolve())
    data = data if data is not None else load_data(config)
    if fingerprint is not None and data.name != fingerprint["name"]:
        raise RunDirError(f"{path}: trained on {fingerprint['name']!r}, not on {data.name!r}")
    model = make_model(config, data)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise RunDirError(f"{path}: the weights do not fit a {config.model} model ({exc})") from exc
    return LoadedRun(config, model.to(device).eval(), data, int(step))


def export_model_file(
    run_dir: os.PathLike | str, path: os.PathLike | str, commit: str = ""
) -> Path:
    """Write the model of a run (or snapshot) directory as a model file, built by
    :func:`load_trained` as every other reader of a run builds it."""
    config, model, _, step = load_trained(run_dir)
    dataset = RunDir(run_dir).load_checkpoint().get("dataset")
    return save_model_file(path, model, config, step, dataset, commit)
