"""TensorBoard event files of a run (``--tensorboard``, rank 0), under ``RUN_DIR/tensorboard/``:
every scalar of a metrics.jsonl record (loss terms, C, lr, images/s, per-latent KL, the
``--eval-every`` metrics) and the periodic reconstructions and traversals. metrics.jsonl stays the
source of truth; ``python -m betavae.evaluate RUN --tensorboard`` rebuilds the scalars from it.

A resumed run opens its writer with ``purge_step`` = the checkpoint's step + 1, so the events an
interrupted run wrote after its checkpoint are hidden and every step shows once. TensorBoard is an
optional extra (``pip install ".[tensorboard]"``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

INSTALL = 'pip install ".[tensorboard]"  (or: pip install tensorboard)'
SCALAR_KEYS = ("loss", "recon", "kl", "capacity", "lr", "images_per_s")


def tensorboard_problem() -> str | None:
    """Why ``--tensorboard`` cannot run here, or None."""
    if importlib.util.find_spec("tensorboard") is None:
        return f"--tensorboard needs the tensorboard package: {INSTALL}"
    return None


def log_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "tensorboard"


class TensorBoardLog:
    """A SummaryWriter for one run; ``purge_step`` hides earlier events from that step on."""

    def __init__(self, run_dir: Path, purge_step: int | None = None) -> None:
        problem = tensorboard_problem()
        if problem:
            raise ValueError(problem)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir(run_dir)), purge_step=purge_step)

    def record(self, record: dict) -> None:
        """The scalars of one metrics.jsonl record at its step."""
        step = int(record["step"])
        for key in SCALAR_KEYS:
            if key in record:
                self.writer.add_scalar(f"train/{key}", float(record[key]), step)
        for j, value in enumerate(record.get("kl_per_latent", [])):
            self.writer.add_scalar(f"kl_per_latent/z{j}", float(value), step)
        for key, value in record.get("eval", {}).items():
            if isinstance(value, (int, float)):
                self.writer.add_scalar(f"eval/{key}", float(value), step)

    def image(self, tag: str, png: Path, step: int) -> None:
        """A picture the run wrote (reconstructions, traversals) as an image event."""
        from PIL import Image

        with Image.open(png) as picture:
            pixels = np.asarray(picture.convert("RGB"))
        self.writer.add_image(tag, pixels, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def export(run_dir: Path, records: list[dict]) -> Path:
    """Write a run's metrics.jsonl records as TensorBoard scalars (hiding, by purge, any events
    from the first record's step on, so an export after training replaces its scalars)."""
    if not records:
        raise ValueError(f"{run_dir}: metrics.jsonl has no records to export")
    log = TensorBoardLog(run_dir, purge_step=int(records[0]["step"]))
    try:
        for record in records:
            log.record(record)
    finally:
        log.close()
    return log_dir(run_dir)
