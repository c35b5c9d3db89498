"""What every loader of a dataset file checks, and the one error they raise: a file's problem
named with its path (``DatasetFileError``), the machine's memory, HDF5 datasets that must hold
their own numeric data. The loaders import this module; it imports none of them."""

from __future__ import annotations

import os

import h5py
import numpy as np


class DatasetFileError(ValueError):
    """A dataset file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: os.PathLike | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


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
