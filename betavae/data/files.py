"""Dataset files: the official dSprites layouts (npz: ``imgs``, ``latents_values``,
``latents_classes``; HDF5: ``imgs``, ``latents/values``, ``latents/classes``), our 3D Chairs HDF5
(``imgs`` only), and export of any dataset to both layouts. Broken files get a
:class:`DatasetFileError` that names the file and the problem."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch

from betavae.atomic import atomic_path

from .base import GroundTruthData, ImageStore, grid_classes
from .checks import DatasetFileError
from .dsprites_render import FACTOR_NAMES as DSPRITES_NAMES
from .dsprites_render import FACTOR_SIZES as DSPRITES_SIZES

CHUNK = 8192


def _images_nchw(imgs: np.ndarray, path) -> np.ndarray:
    if imgs.dtype != np.uint8:
        raise DatasetFileError(path, f"'imgs' must be uint8; got {imgs.dtype}")
    if imgs.ndim == 3:
        return imgs[:, None]
    if imgs.ndim == 4 and imgs.shape[-1] in (1, 3):
        return np.ascontiguousarray(imgs.transpose(0, 3, 1, 2))
    raise DatasetFileError(path, f"'imgs' must be (N, H, W) or (N, H, W, 1|3); got {imgs.shape}")


def _store(imgs: np.ndarray) -> ImageStore:
    """Bit-pack binary images (values 0/1), keep others as bytes."""
    n = len(imgs)
    binary = all(int(imgs[i : i + CHUNK].max(initial=0)) <= 1 for i in range(0, n, CHUNK))
    if not binary:
        return ImageStore(imgs.shape, raw=torch.from_numpy(np.ascontiguousarray(imgs)))
    packed = (
        np.concatenate(
            [
                np.packbits(imgs[i : i + CHUNK].reshape(len(imgs[i : i + CHUNK]), -1), axis=1)
                for i in range(0, n, CHUNK)
            ]
        )
        if n
        else np.zeros((0, 0), np.uint8)
    )
    return ImageStore(imgs.shape, packed=torch.from_numpy(packed))


def _check_latents(path, classes: np.ndarray, values: np.ndarray) -> None:
    """Refuse non-finite latent values and two images with the same latent classes (a lookup by
    classes could only ever find one of them)."""
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, k = (int(i) for i in bad[0])
        raise DatasetFileError(
            path, f"latent values hold NaN or infinity (image {row}, factor {k}: {values[row, k]})"
        )
    if classes.shape[1] == 0:
        return
    order = np.lexsort(classes.T[::-1])
    same = (classes[order[1:]] == classes[order[:-1]]).all(axis=1)
    if same.any():
        i = int(np.argmax(same))
        a, b = sorted((int(order[i]), int(order[i + 1])))
        raise DatasetFileError(
            path,
            f"images {a} and {b} have the same latent classes {classes[a].tolist()}; each image "
            "must have its own combination",
        )


def dsprites_layout(path, imgs, classes, values) -> GroundTruthData:
    """A dataset from the arrays of a dSprites-layout file (``imgs``, and the latents' classes and
    values or None), checked; binary images bit-packed."""
    name = Path(path).name
    imgs = _images_nchw(imgs, path)
    if len(imgs) == 0:
        raise DatasetFileError(path, "'imgs' holds no images")
    if classes is None:
        return GroundTruthData(
            name,
            _store(imgs),
            [],
            [],
            np.zeros((len(imgs), 0), np.int64),
            np.zeros((len(imgs), 0)),
            full_grid=False,
        )
    classes = np.asarray(classes)
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetFileError(path, "latent values must be numbers") from None
    if classes.ndim != 2 or classes.shape[0] != len(imgs) or values.shape != classes.shape:
        raise DatasetFileError(
            path,
            f"latent classes {classes.shape} and values {values.shape} must both be "
            f"(N={len(imgs)}, K)",
        )
    if not np.issubdtype(classes.dtype, np.integer) or (classes < 0).any():
        raise DatasetFileError(path, "latent classes must be non-negative integers")
    classes = classes.astype(np.int64)
    _check_latents(path, classes, values)
    sizes = (classes.max(axis=0) + 1).tolist()
    names = DSPRITES_NAMES if sizes == DSPRITES_SIZES else [f"factor{k}" for k in range(len(sizes))]
    full = int(np.prod(sizes)) == len(imgs) and np.array_equal(classes, grid_classes(sizes))
    return GroundTruthData(name, _store(imgs), names, sizes, classes, values, full_grid=full)


def create_images(f: h5py.File, shape: tuple[int, ...]) -> h5py.Dataset:
    """The ``imgs`` dataset of our HDF5 layout: uint8 (N, H, W[, C]), gzip, chunks of ~1 MB."""
    per_chunk = max(1, min(shape[0], 2**20 // max(1, int(np.prod(shape[1:])))))
    return f.create_dataset(
        "imgs", shape=shape, dtype=np.uint8, chunks=(per_chunk, *shape[1:]), compression="gzip"
    )


def _image_chunks(data: GroundTruthData):
    for start in range(0, len(data), CHUNK):
        idx = torch.arange(start, min(start + CHUNK, len(data)))
        images = data.images[idx].numpy()  # (n, C, H, W)
        yield start, images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)


def export(data: GroundTruthData, path: os.PathLike | str) -> Path:
    """Write ``data`` in the official layout chosen by the extension (.npz or .h5), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".h5", ".hdf5"):
        raise DatasetFileError(path, f"unknown extension {suffix!r}; expected .npz, .h5 or .hdf5")
    _, c, h, w = data.images.shape
    shape = (len(data), h, w) if c == 1 else (len(data), h, w, c)
    with atomic_path(path) as tmp:
        if suffix == ".npz":
            imgs = np.empty(shape, np.uint8)
            for start, chunk in _image_chunks(data):
                imgs[start : start + len(chunk)] = chunk
            np.savez_compressed(
                tmp,
                imgs=imgs,
                latents_values=data.factor_values,
                latents_classes=data.factor_classes,
                metadata=np.array(repr(data)),
            )
        else:
            with h5py.File(tmp, "w") as f:
                dset = create_images(f, shape)
                for start, chunk in _image_chunks(data):
                    dset[start : start + len(chunk)] = chunk
                if data.has_factors:
                    f.create_dataset("latents/values", data=data.factor_values)
                    f.create_dataset("latents/classes", data=data.factor_classes)
                f.attrs["factor_names"] = ",".join(data.factor_names)
    return path
