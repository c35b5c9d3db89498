"""Shapes3D (Burgess & Kim 2018, DeepMind's ``3dshapes.h5``): 480,000 RGB 64×64 images of a
shape in a room, factors floor_hue 10, wall_hue 10, object_hue 10, scale 8, shape 4, orientation
15, the last varying fastest. The file holds ``images`` (480000, 64, 64, 3) uint8 and ``labels``
(480000, 6) float64 (the factor values); get it from https://github.com/deepmind/3d-shapes.

The images stay channels-last as stored and are memory-mapped when the file keeps them contiguous
and uncompressed (the official file does), so 5.9 GB are never copied."""

from __future__ import annotations

import os
from collections.abc import Sequence

import h5py
import numpy as np

from .base import GroundTruthData, ImageStore
from .checks import (
    DatasetFileError,
    check_hdf5_dataset,
    check_hdf5_storage,
    has_link,
    regular_file,
)
from .mapped import hdf5_array
from .official import check_count, check_grid_order, classes_from_labels, grid_sizes

FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)


def load_shapes3d(
    path: os.PathLike | str, factor_sizes: Sequence[int] | None = None
) -> GroundTruthData:
    """Shapes3D from ``3dshapes.h5``; ``factor_sizes`` replaces the official grid (tests only)."""
    path = regular_file(path, " (expected DeepMind's 3dshapes.h5)")
    sizes = grid_sizes(path, FACTOR_SIZES, factor_sizes)
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("images", "labels") if not has_link(f, k)]
            if missing:
                hint = (
                    " (a dSprites-layout file? use --data with the file path)"
                    if has_link(f, "imgs")
                    else ""
                )
                raise DatasetFileError(
                    path, f"missing {missing}; 3dshapes.h5 holds 'images' and 'labels'{hint}"
                )
            images = check_hdf5_storage(f, "images", path)  # mapped, or read if it fits
            labels = check_hdf5_dataset(f, "labels", path)
            n = images.shape[0] if images.ndim else 0
            if images.dtype != np.uint8 or images.shape[1:] != (64, 64, 3):
                raise DatasetFileError(
                    path,
                    f"'images' must be (N, 64, 64, 3) uint8; got {images.shape} {images.dtype}",
                )
            if labels.shape != (n, 6) or labels.dtype.kind != "f":
                raise DatasetFileError(
                    path, f"'labels' must be ({n}, 6) float; got {labels.shape} {labels.dtype}"
                )
            check_count(path, n, sizes)
            values = labels[...].astype(np.float64)
            pixels = hdf5_array(path, f, "images")
    except OSError as exc:
        raise DatasetFileError(path, f"not a readable HDF5 file ({exc})") from exc
    classes = classes_from_labels(path, values, sizes, FACTOR_NAMES)
    check_grid_order(path, classes, sizes, FACTOR_NAMES)
    store = ImageStore.channels_last_bytes(pixels, path)
    return GroundTruthData("shapes3d", store, FACTOR_NAMES, sizes, classes, values, full_grid=True)
