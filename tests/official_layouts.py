"""Small files in the official layouts of the benchmark datasets, for the loader tests. Each image
encodes its own grid index (or factor classes) so a test can check that image and factors agree.
Sizes are reduced; the loaders only accept them through an explicit ``factor_sizes``."""

from __future__ import annotations

import struct
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from betavae.data.base import grid_classes
from betavae.data.smallnorb import SPLITS, split_file

SHAPES3D_SMALL = (2, 2, 2, 2, 2, 3)
MPI3D_SMALL = (2, 2, 2, 1, 1, 2, 3)
SMALLNORB_SMALL = (2, 4, 2, 3, 2)  # category, instance, elevation, azimuth, lighting
CARS3D_SMALL = (2, 3, 2)  # elevation, azimuth, object


def index_images(n: int, channels: int = 3) -> np.ndarray:
    """(n, 64, 64, C) uint8 whose pixel (0, 0) holds the index in base 256 (channels 0, 1)."""
    images = np.random.default_rng(0).integers(0, 256, (n, 64, 64, channels), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n) % 256
    images[:, 0, 0, 1] = np.arange(n) // 256
    return images


def shapes3d_file(path: Path, sizes=SHAPES3D_SMALL, compression=None, order=None) -> Path:
    """A 3dshapes.h5 layout file (``order``: a permutation of the rows, to break the grid)."""
    classes = grid_classes(sizes)
    scales = [
        np.linspace(0.0, 0.9, s) if k < 3 else np.linspace(-30, 30, s) for k, s in enumerate(sizes)
    ]
    labels = np.stack([scales[k][classes[:, k]] for k in range(len(sizes))], 1)
    images = index_images(len(classes))
    if order is not None:
        images, labels = images[order], labels[order]
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images, compression=compression)
        f.create_dataset("labels", data=labels)
    return path


def mpi3d_file(path: Path, n: int, compressed: bool = False) -> Path:
    save = np.savez_compressed if compressed else np.savez
    save(path, images=index_images(n))
    return path


def _norb_matrix(path: Path, array: np.ndarray) -> None:
    magic = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}[array.dtype]
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims)
    path.write_bytes(
        header + np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    )


def norb_value(classes: np.ndarray, sizes) -> np.ndarray:
    """The grey level that a test image of factor classes ``classes`` has (first camera)."""
    strides = np.cumprod([1, *sizes[::-1][:-1]])[::-1]
    return (classes @ strides) % 250 + 1


def smallnorb_dir(directory: Path, sizes=SMALLNORB_SMALL, seed: int = 0) -> Path:
    """The six official files; instances split between the two files as NORB does (disjoint),
    rows shuffled, the second camera's image set to 0 to show it is not the one used."""
    directory.mkdir(parents=True, exist_ok=True)
    classes = grid_classes(sizes)
    rng = np.random.default_rng(seed)
    in_training = classes[:, 1] % 2 == 0
    for split, rows in zip(SPLITS, (classes[in_training], classes[~in_training])):
        rows = rows[rng.permutation(len(rows))]
        dat = np.zeros((len(rows), 2, 96, 96), np.uint8)
        dat[:, 0] = norb_value(rows, sizes)[:, None, None]
        info = np.stack([rows[:, 1], rows[:, 2], 2 * rows[:, 3], rows[:, 4]], 1).astype(np.int32)
        _norb_matrix(split_file(directory, split, "dat"), dat)
        _norb_matrix(split_file(directory, split, "cat"), rows[:, 0].astype(np.int32))
        _norb_matrix(split_file(directory, split, "info"), info)
    return directory


def car_value(elevation: int, azimuth: int, car: int) -> int:
    return 10 + 40 * car + 6 * azimuth + elevation


def cars3d_dir(directory: Path, sizes=CARS3D_SMALL) -> Path:
    """One .mat per car with ``im`` (128, 128, 3, azimuths, elevations), constant images whose
    grey level encodes (elevation, azimuth, car), and a list.txt in reverse name order."""
    directory.mkdir(parents=True, exist_ok=True)
    elevations, azimuths, cars = sizes
    names = [f"car_{k:03d}_mesh" for k in range(cars)][::-1]  # object k = k-th listed
    for k, name in enumerate(names):
        im = np.zeros((128, 128, 3, azimuths, elevations), np.uint8)
        for a in range(azimuths):
            for e in range(elevations):
                im[:, :, :, a, e] = car_value(e, a, k)
        scipy.io.savemat(directory / f"{name}.mat", {"im": im})
    (directory / "list.txt").write_text("\n".join(names) + "\n")
    return directory
