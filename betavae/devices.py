"""Which torch device a ``--device`` value means, for the trainer and the evaluator alike."""

from __future__ import annotations

import torch

from . import distributed


def resolve_device(name: str) -> torch.device:
    """The torch device a ``--device`` value names; ValueError for an unknown or absent one."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name!r}: betavae trains on cpu or cuda devices")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: torch sees no CUDA device")
        if device.index is None:
            device = torch.device("cuda", distributed.local_rank())
        if device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
        torch.cuda.set_device(device)
    return device
