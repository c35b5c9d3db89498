"""Ground-truth datasets: procedural dSprites, coloured dSprites, blobs, official npz/HDF5 files and
3D Chairs imports, all as :class:`GroundTruthData`, plus the on-device :class:`BatchSampler`.

    data = get_dataset("dsprites")          # generated once (~10 s), then cached as HDF5
    sampler = BatchSampler(data, device="cuda", seed=0)
    images, idx = sampler.sample(64)        # uint8 (64, 1, 64, 64), values 0/1
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import GroundTruthData, ImageStore
from .blobs import load_blobs
from .dsprites import load_color_dsprites, load_dsprites
from .files import DatasetFileError, export, load_file
from .sampler import BatchSampler

DATASET_NAMES = ("dsprites", "color-dsprites", "blobs")


def get_dataset(name_or_path: str | os.PathLike, **options) -> GroundTruthData:
    """A dataset by name (``dsprites``, ``color-dsprites``, ``blobs``) or from an .npz/.h5 file.

    Options: ``quiet`` (no progress bar) for the dSprites variants; ``seed`` and ``color_range`` for
    ``color-dsprites``; ``width`` and ``grid`` for ``blobs``.
    """
    name = str(name_or_path)
    if name == "dsprites":
        return load_dsprites(**options)
    if name == "color-dsprites":
        return load_color_dsprites(**options)
    if name == "blobs":
        return load_blobs(**options)
    if Path(name).suffix.lower() in (".npz", ".h5", ".hdf5") or Path(name).exists():
        if options:
            raise TypeError(f"options {sorted(options)} do not apply to a dataset file")
        return load_file(name)
    raise ValueError(
        f"unknown dataset {name!r}: expected one of {DATASET_NAMES} or a path to an .npz/.h5 file"
    )


__all__ = [
    "BatchSampler",
    "DATASET_NAMES",
    "DatasetFileError",
    "GroundTruthData",
    "ImageStore",
    "export",
    "get_dataset",
]
