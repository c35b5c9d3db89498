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

from .atomic import atomic_path, current_umask
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
    from safetensors import SafetensorError
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
    try:
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
            tmp.chmod(
                0o666 & ~current_umask()
            )  # safetensors writes 0600; a shared file gets the umask
    except (OSError, SafetensorError) as exc:
        raise ModelFileError(f"{path}: cannot write the model file ({exc})") from exc
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
        config.validate()  # the checks a command line gets: ranges, NaN, names
        step = json.loads(metadata["step"])
        dataset = json.loads(metadata.get("dataset", "null"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: damaged metadata ({exc})") from exc
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ModelFileError(f"{path}: damaged metadata (step {metadata['step']!r})")
    if dataset is not None and not isinstance(dataset, dict):
        raise ModelFileError(f"{path}: damaged metadata ('dataset' is not an object)")
    _check_weights(path, weights)
    return weights, config, step, dataset


def _check_weights(path: Path, weights: dict) -> None:
    """The weights are what :func:`save_model_file` writes: float32 (or integer buffers), all
    finite; anything else is refused rather than cast or loaded."""
    for name, tensor in weights.items():
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            raise ModelFileError(f"{path}: weight {name!r} is {tensor.dtype}, not float32")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFileError(f"{path}: weight {name!r} holds NaN or infinite values")
