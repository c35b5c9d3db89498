"""MPI3D (Gondal et al. 2019): a robot arm holding an object, RGB 64×64, in ``mpi3d_toy.npz``,
``mpi3d_realistic.npz`` or ``mpi3d_real.npz`` (array ``images`` (N, 64, 64, 3) uint8, the factor
grid implicit in the order, last factor fastest). Factors: object_color, object_shape,
object_size 2, camera_height 3, background_color 3, horizontal_axis 40, vertical_axis 40.

Two releases exist and differ in the first two factors: the 2019 one (disentanglement_lib's) with
4 colours × 4 shapes = 460,800 images, and the later one with 6 × 6 = 1,036,800. The release is
read from the image count; any other count is refused. 11.9 GB as uint8 for the larger one: the
images are memory-mapped when the npz stores them uncompressed (as the official ``np.savez`` files
do), else read once; they are never copied a second time. From https://github.com/rr-learning/disentanglement_dataset."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .base import GroundTruthData, ImageStore, grid_classes
from .checks import DatasetFileError, regular_file
from .mapped import npz_member
from .official import check_count, grid_sizes

FACTOR_NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
RELEASES = {  # image count -> factor sizes
    460_800: (4, 4, 2, 3, 3, 40, 40),  # 2019 (disentanglement_lib, NeurIPS 2019 challenge)
    1_036_800: (6, 6, 2, 3, 3, 40, 40),  # later release
}


def release_sizes(path, n: int) -> list[int]:
    """The factor grid of the release that holds ``n`` images; refused for any other count."""
    if n not in RELEASES:
        counts = " or ".join(f"{k:,} ({'×'.join(map(str, v))})" for k, v in RELEASES.items())
        raise DatasetFileError(
            path, f"holds {n:,} images; an MPI3D release holds {counts}: incomplete or not MPI3D"
        )
    return list(RELEASES[n])


def load_mpi3d(
    path: os.PathLike | str, factor_sizes: Sequence[int] | None = None
) -> GroundTruthData:
    """MPI3D from an official .npz; ``factor_sizes`` replaces the release grid (tests only)."""
    path = regular_file(path, " (expected mpi3d_toy/realistic/real.npz)")
    images = npz_member(path, "images")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (64, 64, 3):
        raise DatasetFileError(
            path, f"'images' must be (N, 64, 64, 3) uint8; got {images.shape} {images.dtype}"
        )
    n = len(images)
    if factor_sizes is None:
        sizes = release_sizes(path, n)
    else:
        sizes = grid_sizes(path, RELEASES[460_800], factor_sizes)
        check_count(path, n, sizes)
    classes = grid_classes(sizes)
    store = ImageStore.channels_last_bytes(images, path)
    return GroundTruthData(
        "mpi3d", store, FACTOR_NAMES, sizes, classes, classes.astype(np.float64), full_grid=True
    )
