"""What every loader of a dataset file checks, and the one error they raise: a file's problem
named with its path (``DatasetFileError``), paths that must be regular files (a FIFO or device
would block forever), the machine's memory, HDF5 datasets that must hold their own numeric data
(no links into other files, no storage that was never written). The loaders import this module;
it imports none of them."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np


class DatasetFileError(ValueError):
    """A dataset file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: os.PathLike | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def regular_file(path: os.PathLike | str, expected: str = "") -> Path:
    """``path`` after checking that it names a regular file (symlinks followed); else a
    DatasetFileError: reading a FIFO, device or socket could block or stream forever.
    ``expected`` is added to the message (e.g. " (expected 3dshapes.h5)")."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DatasetFileError(path, f"no such file{expected}") from None
    except OSError as exc:
        raise DatasetFileError(path, f"cannot be read ({exc.strerror or exc}){expected}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise DatasetFileError(
            path, f"is {kind}, not a regular file{expected}; refused (reading it could block)"
        )
    return path


def memory_bytes() -> int:
    """Physical memory of this machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_shape(path: os.PathLike | str, what: str, shape: Sequence[int]) -> None:
    """Refuse a declared array shape with a negative dimension (a damaged or forged header);
    ``what`` names the array in the message."""
    if any(int(s) < 0 for s in shape):
        raise DatasetFileError(path, f"{what} declares a negative dimension: {tuple(shape)}")


def check_picture_size(path: os.PathLike | str, height: int, width: int, minimum: int = 64) -> None:
    """Refuse pictures smaller than ``minimum`` pixels a side: they are resized to 64×64, and a
    0×0, 1×1 or thumbnail picture carries no image to learn from."""
    if min(height, width) < minimum:
        raise DatasetFileError(
            path, f"holds {height}×{width}-pixel pictures; at least {minimum}×{minimum} needed"
        )


def has_link(group: h5py.Group, name: str) -> bool:
    """Whether ``group`` has a link ``name`` (one level), without following it: ``name in
    group`` opens the target of an external link, which may be a FIFO."""
    return name in group.keys()


def hard_linked(f: h5py.File, name: str, path: os.PathLike | str) -> h5py.HLObject:
    """``f[name]`` after checking that every link on the way is a hard link of this file: soft
    and external links may lead to data in other files (or to a FIFO, which blocks)."""
    node, walked = f, []
    for part in (p for p in name.split("/") if p):
        walked.append(part)
        where = "/".join(walked)
        if not isinstance(node, h5py.Group):
            raise DatasetFileError(path, f"{'/'.join(walked[:-1])!r} is not a group")
        link = node.get(part, getlink=True)
        if link is None:
            raise DatasetFileError(path, f"missing {where!r}")
        if isinstance(link, h5py.ExternalLink):
            raise DatasetFileError(
                path,
                f"{where!r} is an external link to {link.path!r} in {link.filename!r}; "
                "a dataset must be stored in this file",
            )
        if isinstance(link, h5py.SoftLink):
            raise DatasetFileError(
                path, f"{where!r} is a soft link to {link.path!r}; refused (store the data there)"
            )
        node = node[part]
    return node


def _unwritten(dset: h5py.Dataset) -> str | None:
    """Why ``dset`` would read back as fill zeros (declared, never written), or None."""
    if dset.size == 0:
        return None
    if dset.id.get_create_plist().fill_value_defined() == h5py.h5d.FILL_VALUE_USER_DEFINED:
        return None  # the writer chose the value of unwritten elements
    if dset.chunks is None:
        return "was declared but never written" if dset.id.get_storage_size() == 0 else None
    expected = math.prod(math.ceil(s / c) for s, c in zip(dset.shape, dset.chunks))
    written = dset.id.get_num_chunks()
    if written < expected:
        return f"has only {written:,} of its {expected:,} chunks written (the rest read as zeros)"
    return None


def check_hdf5_storage(
    f: h5py.File, name: str, path: os.PathLike | str, fit_memory: bool = False
) -> h5py.Dataset:
    """``f[name]`` after checking it is a numeric dataset whose data this file holds and that
    was written (and, with ``fit_memory``, that it fits into memory); DatasetFileError naming
    the file otherwise."""
    dset = hard_linked(f, name, path)
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
    if fit_memory and size > memory_bytes():
        raise DatasetFileError(
            path,
            f"{name!r} declares {dset.shape} {dset.dtype} = {size / 2**30:,.1f} GiB, more than "
            f"this machine's {memory_bytes() / 2**30:,.1f} GiB of memory",
        )
    problem = _unwritten(dset)
    if problem:
        raise DatasetFileError(path, f"{name!r} {problem}; refused")
    return dset


def check_hdf5_dataset(f: h5py.File, name: str, path: os.PathLike | str) -> h5py.Dataset:
    """``f[name]`` after :func:`check_hdf5_storage`, including that it fits into memory."""
    return check_hdf5_storage(f, name, path, fit_memory=True)
