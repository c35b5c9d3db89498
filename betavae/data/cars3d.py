"""Cars3D (Reed et al. 2015, "Deep visual analogy-making"): 183 car models rendered at 4
elevations × 24 azimuths, RGB, resized from 128×128 to 64×64 with Pillow's Lanczos filter (as
disentanglement_lib does). Factors: elevation 4, azimuth 24, object 183 = 17,568 images.

``path`` is the directory of the official ``cars`` release (http://www.scottreed.info/): one
MATLAB file per car whose array ``im`` is (128, 128, 3, 24 azimuths, 4 elevations) uint8, and
``list.txt`` naming the files one per line; object k is the k-th file of ``list.txt`` (a
directory listing's order differs between machines, which is how object labels get misaligned)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from .base import GroundTruthData, ImageStore, grid_classes
from .checks import DatasetFileError
from .official import check_count, grid_sizes

FACTOR_NAMES = ("elevation", "azimuth", "object")
FACTOR_SIZES = (4, 24, 183)


def car_files(directory: Path) -> list[Path]:
    """The car files in ``list.txt`` order (a name may omit ``.mat``)."""
    listing = directory / "list.txt"
    if not listing.is_file():
        raise DatasetFileError(
            directory, "no list.txt: it fixes which car is object k (a directory listing does not)"
        )
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    files = [directory / (n if n.endswith(".mat") else f"{n}.mat") for n in names]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DatasetFileError(listing, f"names {len(missing)} missing files, e.g. {missing[:3]}")
    return files


def _car_images(path: Path, elevations: int, azimuths: int) -> np.ndarray:
    """``(elevations, azimuths, 64, 64, 3)`` uint8 of one car file."""
    try:
        contents = scipy.io.loadmat(path)
    except (ValueError, OSError, TypeError, scipy.io.matlab.MatReadError) as exc:
        raise DatasetFileError(path, f"not a readable MATLAB file ({exc})") from exc
    if "im" not in contents:
        raise DatasetFileError(path, "holds no array 'im'")
    im = contents["im"]
    if im.dtype != np.uint8 or im.ndim != 5 or im.shape[2:] != (3, azimuths, elevations):
        raise DatasetFileError(
            path,
            f"'im' must be (H, W, 3, {azimuths}, {elevations}) uint8; got {im.shape} {im.dtype}",
        )
    out = np.empty((elevations, azimuths, 64, 64, 3), np.uint8)
    for e in range(elevations):
        for a in range(azimuths):
            picture = Image.fromarray(np.ascontiguousarray(im[:, :, :, a, e]))
            out[e, a] = np.asarray(picture.resize((64, 64), Image.LANCZOS))
    return out


def load_cars3d(
    path: os.PathLike | str, factor_sizes: Sequence[int] | None = None
) -> GroundTruthData:
    """Cars3D from the directory of its official files; ``factor_sizes`` replaces the official
    grid (tests only)."""
    directory = Path(path)
    if not directory.is_dir():
        raise DatasetFileError(directory, "not a directory (expected the cars .mat files)")
    elevations, azimuths, objects = grid_sizes(directory, FACTOR_SIZES, factor_sizes)
    files = car_files(directory)
    check_count(directory / "list.txt", len(files), [objects], what="car files")
    # (object, elevation, azimuth) images, put into grid order (elevation, azimuth, object)
    cars = np.stack([_car_images(f, elevations, azimuths) for f in files])
    pixels = np.ascontiguousarray(cars.transpose(1, 2, 0, 3, 4, 5)).reshape(-1, 64, 64, 3)
    sizes = [elevations, azimuths, objects]
    classes = grid_classes(sizes)
    store = ImageStore.channels_last_bytes(pixels, path)
    return GroundTruthData(
        "cars3d", store, FACTOR_NAMES, sizes, classes, classes.astype(np.float64), full_grid=True
    )
