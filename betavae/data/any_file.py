"""Which loader reads a dataset file: its layout is recognised from what the file holds (an npz
with ``images`` is MPI3D's, an HDF5 file with ``images`` and ``labels`` is Shapes3D's, the rest
must be the dSprites layout of betavae.data.files), and the loader chosen here."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import h5py
import numpy as np

from .base import GroundTruthData
from .checks import DatasetFileError, check_hdf5_dataset
from .dsprites_render import FACTOR_SIZES as DSPRITES_SIZES
from .files import dsprites_layout
from .mpi3d import load_mpi3d
from .shapes3d import load_shapes3d


def load_file(path: os.PathLike | str) -> GroundTruthData:
    """A dataset from an official-layout ``.npz``/``.h5``/``.hdf5`` file (or a chairs import)."""
    path = Path(path)
    if not path.exists():
        raise DatasetFileError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "images" in archive.files and "imgs" not in archive.files:
                    return load_mpi3d(path)  # MPI3D's layout (images only, implicit grid)
                missing = {"imgs", "latents_values", "latents_classes"} - set(archive.files)
                if missing:
                    raise DatasetFileError(path, f"missing arrays {sorted(missing)} (npz layout)")
                return dsprites_layout(
                    path, archive["imgs"], archive["latents_classes"], archive["latents_values"]
                )
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, MemoryError) as exc:
            if isinstance(exc, DatasetFileError):
                raise
            if isinstance(exc, MemoryError):
                raise DatasetFileError(
                    path, "an array is too large for this machine's memory"
                ) from None
            raise DatasetFileError(path, f"not a readable npz file ({exc})") from exc
    if suffix in (".h5", ".hdf5"):
        try:
            with h5py.File(path, "r") as f:
                shapes3d_layout = "imgs" not in f and {"images", "labels"} <= set(f.keys())
            if shapes3d_layout:
                return load_shapes3d(path)  # DeepMind's 3dshapes.h5 layout
            with h5py.File(path, "r") as f:
                if "imgs" not in f:
                    raise DatasetFileError(path, "missing dataset 'imgs' (HDF5 layout)")
                has_latents = "latents" in f
                if has_latents and (
                    not isinstance(f["latents"], h5py.Group)
                    or not {"values", "classes"} <= set(f["latents"].keys())
                ):
                    raise DatasetFileError(path, "'latents' must hold 'values' and 'classes'")
                names = ["imgs"] + (["latents/classes", "latents/values"] if has_latents else [])
                for name in names:
                    check_hdf5_dataset(f, name, path)
                imgs = f["imgs"][...]
                classes = f["latents/classes"][...] if has_latents else None
                values = f["latents/values"][...] if has_latents else None
            return dsprites_layout(path, imgs, classes, values)
        except OSError as exc:
            raise DatasetFileError(path, f"not a readable HDF5 file ({exc})") from exc
    raise DatasetFileError(path, f"unknown extension {suffix!r}; expected .npz, .h5 or .hdf5")


def load_dsprites_official(path: os.PathLike | str) -> GroundTruthData:
    """DeepMind's dSprites file (``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` or its
    ``.hdf5``), named ``dsprites-official`` (``--data dsprites-official``)."""
    data = load_file(path)
    if data.factor_sizes != list(DSPRITES_SIZES):
        raise DatasetFileError(
            path, f"factor grid {data.factor_sizes} is not dSprites' {list(DSPRITES_SIZES)}"
        )
    data.name = "dsprites-official"
    return data
