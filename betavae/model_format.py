"""Trained models as single safetensors files: the model's fp32 weights plus, in the file's
metadata, the TrainConfig that made them, the step, the dataset fingerprint and the commit. The
format holds tensors and strings only, so loading one can never run code; these are the files
committed as reference models (docs/reproduction/models/). This module is the format only:
betavae.trained loads a model file into a model and exports a run as one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .atomic import atomic_path
from .config import TrainConfig

FORMAT = "betavae-model"
FORMAT_VERSION = "1"
SUFFIX = ".safetensors"


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file."""


def is_model_file(path: os.PathLike | str) -> bool:
    path = Path(path)
    return path.suffix == SUFFIX and path.is_file()


def save_model_file(
    path: os.PathLike | str,
    model: nn.Module,
    config: TrainConfig,
    step: int,
    dataset: dict | None = None,
    commit: str = "",
) -> Path:
    """Write ``model``'s weights (fp32, CPU) and its provenance to ``path`` (atomic)."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != SUFFIX:
        raise ModelFileError(f"{path}: a model file's name must end in {SUFFIX}")
    tensors = {
        name: value.detach()
        .to("cpu", torch.float32 if value.is_floating_point() else None)
        .contiguous()
        .clone()
        for name, value in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": json.dumps(config.to_dict()),
        "step": str(int(step)),
        "dataset": json.dumps(dataset),
        "commit": commit,
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_model_file(path: os.PathLike | str) -> tuple[dict, TrainConfig, int, dict | None]:
    """(weights, config, step, dataset fingerprint or None) of a model file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        weights = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable safetensors file ({exc})") from exc
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a betavae model file (no '{FORMAT}' metadata)")
    if metadata.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model file version {metadata.get('version')!r} is not supported "
            f"(this betavae reads version {FORMAT_VERSION})"
        )
    try:
        config = TrainConfig.from_dict(json.loads(metadata["config"]))
        step = int(metadata["step"])
        dataset = json.loads(metadata.get("dataset", "null"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: damaged metadata ({exc})") from exc
    return weights, config, step, dataset
