"""Cars3D (Reed et al. 2015, "Deep visual analogy-making"): 183 car models rendered at 4
elevations × 24 azimuths, RGB, resized from 128×128 to 64×64 with Pillow's Lanczos filter (as
disentanglement_lib does). Factors: elevation 4, azimuth 24, object 183 = 17,568 images.

``path`` is the directory of the official ``cars`` release (http://www.scottreed.info/): one
MATLAB file per car whose array ``im`` is (128, 128, 3, 24 azimuths, 4 elevations) uint8, and
``list.txt`` naming the files one per line; object k is the k-th file of ``list.txt`` (a
directory listing's order differs between machines, which is how object labels get misaligned)."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from .base import GroundTruthData, ImageStore, grid_classes
from .checks import DatasetFileError, check_picture_size, memory_bytes, regular_file
from .official import check_count, grid_sizes

FACTOR_NAMES = ("elevation", "azimuth", "object")
FACTOR_SIZES = (4, 24, 183)
_MAT_ERRORS = (
    ValueError,
    OSError,
    TypeError,
    EOFError,
    KeyError,
    IndexError,
    struct.error,
    zlib.error,
    scipy.io.matlab.MatReadError,
)


def _listed_names(listing: Path) -> list[str]:
    """The entries of ``list.txt``, each a plain file name of its directory, none repeated."""
    regular_file(listing)
    raw = listing.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetFileError(
            listing, f"is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})"
        ) from None
    names, seen = [], {}
    for number, line in enumerate(text.splitlines(), 1):
        name = line.strip()
        if not name:
            continue
        if "/" in name or "\\" in name or name in (".", ".."):
            raise DatasetFileError(
                listing,
                f"line {number}: {name!r} is not a file name in this directory (a path, "
                "absolute or with '..'); refused",
            )
        name = name if name.endswith(".mat") else f"{name}.mat"
        if name in seen:
            raise DatasetFileError(
                listing, f"line {number} repeats {name!r} (line {seen[name]}): one car twice"
            )
        seen[name] = number
        names.append(name)
    return names


def car_files(directory: Path) -> list[Path]:
    """The car files in ``list.txt`` order (a name may omit ``.mat``), each a regular file of
    ``directory`` named once; two names of one file (links) are refused as a repeat."""
    listing = directory / "list.txt"
    if not listing.exists():
        raise DatasetFileError(
            directory, "no list.txt: it fixes which car is object k (a directory listing does not)"
        )
    files = [directory / name for name in _listed_names(listing)]
    missing = [f.name for f in files if not f.exists()]
    if missing:
        raise DatasetFileError(listing, f"names {len(missing)} missing files, e.g. {missing[:3]}")
    seen = {}
    for f in files:
        st = regular_file(f).stat()
        first = seen.setdefault((st.st_dev, st.st_ino), f.name)
        if first != f.name:
            raise DatasetFileError(listing, f"{f.name!r} and {first!r} are the same file")
    return files


def _load_mat(path: Path) -> dict:
    """The arrays of one MATLAB file; any failure is a DatasetFileError naming it."""
    if path.stat().st_size > memory_bytes():
        raise DatasetFileError(path, "is larger than this machine's memory (not a car file?)")
    try:
        return scipy.io.loadmat(path)
    except NotImplementedError:  # scipy reads MATLAB up to v7; v7.3 files are HDF5
        raise DatasetFileError(
            path, "is a MATLAB v7.3 (HDF5) file, which scipy cannot read; save it with -v7"
        ) from None
    except MemoryError:
        raise DatasetFileError(path, "holds more than this machine's memory") from None
    except _MAT_ERRORS as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetFileError(path, f"not a readable MATLAB file ({problem})") from None


def _car_images(path: Path, elevations: int, azimuths: int) -> np.ndarray:
    """``(elevations, azimuths, 64, 64, 3)`` uint8 of one car file."""
    contents = _load_mat(path)
    if "im" not in contents:
        raise DatasetFileError(path, "holds no array 'im'")
    im = contents["im"]
    if im.dtype != np.uint8 or im.ndim != 5 or im.shape[2:] != (3, azimuths, elevations):
        raise DatasetFileError(
            path,
            f"'im' must be (H, W, 3, {azimuths}, {elevations}) uint8; got {im.shape} {im.dtype}",
        )
    check_picture_size(path, im.shape[0], im.shape[1])
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
