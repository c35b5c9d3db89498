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
from .checks import DatasetFileError, check_hdf5_dataset, hard_linked, has_link, regular_file
from .dsprites_render import FACTOR_SIZES as DSPRITES_SIZES
from .files import dsprites_layout
from .mpi3d import load_mpi3d
from .shapes3d import load_shapes3d


def load_file(path: os.PathLike | str) -> GroundTruthData:
    """A dataset from an official-layout ``.npz``/``.h5``/``.hdf5`` file (or a chairs import)."""
    path = regular_file(path)
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
                names = set(f.keys())  # link names, none followed
            if "imgs" not in names and {"images", "labels"} <= names:
                return load_shapes3d(path)  # DeepMind's 3dshapes.h5 layout
            return dsprites_layout(path, *_hdf5_arrays(path, names))
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


def _hdf5_arrays(path: Path, names: set[str]) -> tuple:
    """(imgs, classes, values) of a dSprites-layout HDF5 file (None for absent latents), each
    dataset checked (stored in this file, written, numeric, fits memory) before it is read."""
    if "imgs" not in names:
        raise DatasetFileError(path, "missing dataset 'imgs' (HDF5 layout)")
    with h5py.File(path, "r") as f:
        wanted = ["imgs"]
        if "latents" in names:
            latents = hard_linked(f, "latents", path)
            if not isinstance(latents, h5py.Group) or not (
                has_link(latents, "values") and has_link(latents, "classes")
            ):
                raise DatasetFileError(path, "'latents' must hold 'values' and 'classes'")
            wanted += ["latents/classes", "latents/values"]
        arrays = [check_hdf5_dataset(f, name, path)[...] for name in wanted]
    return (*arrays, None, None) if len(arrays) == 1 else tuple(arrays)
