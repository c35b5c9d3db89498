"""SmallNORB (LeCun et al. 2004): 48,600 grey 96×96 stereo photographs of 50 toys, both official
splits merged, the first camera's image resized to 64×64 with Pillow's Lanczos filter (as
disentanglement_lib does). Factors: category 5, instance 10, elevation 9, azimuth 18 (the files'
0, 2, …, 34 halved), lighting 6. The instance is a nuisance factor: it is sampled when images are
drawn, never scored (disentanglement_lib's convention).

``path`` is the directory with the six official files from
https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/, uncompressed:
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat``. Despite the extension they are
not MATLAB files but NORB's binary matrices: an int32 magic number for the element type, the
number of dimensions, at least three int32 sizes, then the data."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .base import GroundTruthData, ImageStore
from .checks import DatasetFileError, check_picture_size, check_shape, memory_bytes, regular_file
from .official import grid_order, grid_sizes

FACTOR_NAMES = ("category", "instance", "elevation", "azimuth", "lighting")
FACTOR_SIZES = (5, 10, 9, 18, 6)
NUISANCE = ("instance",)
SPLITS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
_TYPES = {
    0x1E3D4C55: np.uint8,
    0x1E3D4C54: np.int32,
    0x1E3D4C51: np.float32,
    0x1E3D4C53: np.float64,
}


def split_file(directory: Path, split: str, kind: str) -> Path:
    return directory / f"smallnorb-{split}-{kind}.mat"


def read_norb_matrix(path: Path) -> np.ndarray:
    """One NORB binary matrix (see the module docstring); its size is checked against the
    machine's memory and its header against its length before the data are read."""
    regular_file(path, " (one of the six official SmallNORB files)")
    size = path.stat().st_size
    if size > memory_bytes():
        raise DatasetFileError(
            path,
            f"is {size / 2**30:,.1f} GiB, more than this machine's "
            f"{memory_bytes() / 2**30:,.1f} GiB of memory (not a SmallNORB file?)",
        )
    with open(path, "rb") as f:
        head = f.read(8 + 4 * 8)
        if len(head) < 20:
            raise DatasetFileError(path, "too short for a NORB matrix header")
        magic, ndim = (int(v) for v in np.frombuffer(head, "<i4", 2))
        if magic not in _TYPES:
            raise DatasetFileError(
                path, f"unknown NORB magic number {magic:#x} (gzipped? uncompress the .gz first)"
            )
        if not 1 <= ndim <= 8:
            raise DatasetFileError(path, f"a NORB matrix of {ndim} dimensions is not supported")
        header = 8 + 4 * max(3, ndim)
        if len(head) < header:
            raise DatasetFileError(path, f"too short for the header of {ndim} dimensions")
        dims = tuple(int(v) for v in np.frombuffer(head, "<i4", ndim, 8))
        check_shape(path, "its header", dims)
        dtype = np.dtype(_TYPES[magic]).newbyteorder("<")
        expected = math.prod(dims) * dtype.itemsize
        if size - header != expected:
            raise DatasetFileError(
                path, f"holds {size - header:,} data bytes; its header {dims} needs {expected:,}"
            )
        f.seek(header)
        data = f.read(expected)
    if len(data) != expected:
        raise DatasetFileError(path, "changed size while it was read")
    return np.frombuffer(data, dtype).reshape(dims)


def _integers(path: Path, matrix: np.ndarray) -> np.ndarray:
    """A category or info matrix as int64; one of floats is refused (truncating would invent
    classes)."""
    if matrix.dtype.kind not in "iu":
        raise DatasetFileError(path, f"must hold integers (int32); got {matrix.dtype}")
    return matrix.astype(np.int64)


def _resized(pictures: np.ndarray) -> np.ndarray:
    out = np.empty((len(pictures), 64, 64), np.uint8)
    for i, picture in enumerate(pictures):
        out[i] = np.asarray(Image.fromarray(picture).resize((64, 64), Image.LANCZOS))
    return out


def load_smallnorb(
    path: os.PathLike | str, factor_sizes: Sequence[int] | None = None
) -> GroundTruthData:
    """SmallNORB from the directory of its official files; ``factor_sizes`` replaces the
    official grid (tests only)."""
    directory = Path(path)
    if not directory.is_dir():
        raise DatasetFileError(directory, "not a directory (expected the six SmallNORB files)")
    sizes = grid_sizes(directory, FACTOR_SIZES, factor_sizes)
    images, factors = [], []
    for split in SPLITS:
        dat_file, cat_file, info_file = (
            split_file(directory, split, kind) for kind in ("dat", "cat", "info")
        )
        dat = read_norb_matrix(dat_file)
        cat = _integers(cat_file, read_norb_matrix(cat_file))
        info = _integers(info_file, read_norb_matrix(info_file))
        n = len(dat)
        if dat.dtype != np.uint8 or dat.ndim != 4 or dat.shape[1] != 2:
            raise DatasetFileError(dat_file, f"must be (N, 2, H, W) uint8; got {dat.shape}")
        check_picture_size(dat_file, dat.shape[2], dat.shape[3])
        if cat.shape != (n,):
            raise DatasetFileError(cat_file, f"must be ({n},) like its images; got {cat.shape}")
        if info.shape != (n, 4):
            raise DatasetFileError(info_file, f"must be ({n}, 4) like its images; got {info.shape}")
        azimuth = info[:, 2]
        if (azimuth % 2).any():
            raise DatasetFileError(info_file, "azimuths must be even (0, 2, …, 34)")
        factors.append(np.stack([cat, info[:, 0], info[:, 1], azimuth // 2, info[:, 3]], 1))
        images.append(_resized(dat[:, 0]))
    classes = np.concatenate(factors)
    order = grid_order(directory, classes, sizes, FACTOR_NAMES)
    pixels = np.concatenate(images)[order]
    classes = classes[order]
    store = ImageStore((len(pixels), 1, 64, 64), raw=torch.from_numpy(pixels[:, None]))
    return GroundTruthData(
        "smallnorb",
        store,
        FACTOR_NAMES,
        sizes,
        classes,
        classes.astype(np.float64),
        full_grid=True,
        nuisance=NUISANCE,
    )
