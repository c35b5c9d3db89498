"""Dataset files: the official dSprites layouts (npz: ``imgs``, ``latents_values``,
``latents_classes``; HDF5: ``imgs``, ``latents/values``, ``latents/classes``), our 3D Chairs HDF5
(``imgs`` only), and export of any dataset to both layouts. Broken files get a
:class:`DatasetFileError` that names the file and the problem."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch

from betavae.atomic import atomic_path

from .base import GroundTruthData, ImageStore, grid_classes
from .dsprites_render import FACTOR_NAMES as DSPRITES_NAMES
from .dsprites_render import FACTOR_SIZES as DSPRITES_SIZES

CHUNK = 8192


class DatasetFileError(ValueError):
    """A dataset file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: os.PathLike | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


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


def _dataset(path, imgs, classes, values) -> GroundTruthData:
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
    values = np.asarray(values, dtype=np.float64)
    if classes.ndim != 2 or classes.shape[0] != len(imgs) or values.shape != classes.shape:
        raise DatasetFileError(
            path,
            f"latent classes {classes.shape} and values {values.shape} must both be "
            f"(N={len(imgs)}, K)",
        )
    if not np.issubdtype(classes.dtype, np.integer) or (classes < 0).any():
        raise DatasetFileError(path, "latent classes must be non-negative integers")
    classes = classes.astype(np.int64)
    sizes = (classes.max(axis=0) + 1).tolist()
    names = DSPRITES_NAMES if sizes == DSPRITES_SIZES else [f"factor{k}" for k in range(len(sizes))]
    full = int(np.prod(sizes)) == len(imgs) and np.array_equal(classes, grid_classes(sizes))
    return GroundTruthData(name, _store(imgs), names, sizes, classes, values, full_grid=full)


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
                    from .mpi3d import load_mpi3d  # MPI3D's layout (images only, implicit grid)

                    return load_mpi3d(path)
                missing = {"imgs", "latents_values", "latents_classes"} - set(archive.files)
                if missing:
                    raise DatasetFileError(path, f"missing arrays {sorted(missing)} (npz layout)")
                return _dataset(
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
                from .shapes3d import load_shapes3d  # DeepMind's 3dshapes.h5 layout

                return load_shapes3d(path)
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
            return _dataset(path, imgs, classes, values)
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


def memory_bytes() -> int:
    """Physical memory of this machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_hdf5_dataset(f: h5py.File, name: str, path) -> h5py.Dataset:
    """``f[name]`` after checking it is a numeric dataset stored inside this file and small enough
    to read into memory; DatasetFileError naming the file otherwise."""
    dset = f[name]
    if not isinstance(dset, h5py.Dataset):
        raise DatasetFileError(path, f"{name!r} is a {type(dset).__name__}, not a dataset")
    if dset.external or dset.is_virtual:
        # external or virtual storage reads bytes from other files named inside this one
        raise DatasetFileError(
            path, f"{name!r} keeps its data in other files (external/virtual storage); refused"
        )
    if dset.dtype.kind not in "biuf":
        raise DatasetFileError(path, f"{name!r} must be numeric; got dtype {dset.dtype}")
    size = int(np.prod(dset.shape, dtype=np.float64) * dset.dtype.itemsize)
    if size > memory_bytes():
        raise DatasetFileError(
            path,
            f"{name!r} declares {dset.shape} {dset.dtype} = {size / 2**30:,.1f} GiB, more than "
            f"this machine's {memory_bytes() / 2**30:,.1f} GiB of memory",
        )
    return dset


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
