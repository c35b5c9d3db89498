"""Reading large official arrays without a second copy: an array stored uncompressed inside an
``.npz`` (zip member) or an HDF5 file (contiguous dataset) is memory-mapped copy-on-write, so the
operating system pages images in as batches touch them; anything else is read into memory once,
after checking that it fits. A mapping is only ever made of the file that was opened and checked
(the same open file, or one proven to be it), never of storage elsewhere."""

from __future__ import annotations

import math
import os
import struct
import zipfile

import h5py
import numpy as np

from .checks import DatasetFileError, check_hdf5_storage, check_shape, memory_bytes, regular_file

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # zip local file header, 30 bytes


def _fits_in_memory(path, name: str, shape, dtype) -> None:
    size = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    if size > memory_bytes():
        raise DatasetFileError(
            path,
            f"{name!r} holds {tuple(shape)} {np.dtype(dtype)} = {size / 2**30:,.1f} GiB, "
            f"compressed, more than this machine's {memory_bytes() / 2**30:,.1f} GiB of memory "
            "(store it uncompressed to memory-map it)",
        )


def _npy_header(archive: zipfile.ZipFile, member: str):
    """(shape, fortran, dtype, header length) of an .npy member."""
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(f)
        return shape, fortran, dtype, f.tell()


def npz_member(path: os.PathLike | str, key: str) -> np.ndarray:
    """Array ``key`` of an .npz file: memory-mapped when the member is stored uncompressed
    (``np.savez``), else read into memory once (``np.savez_compressed``)."""
    path = regular_file(path)
    member = f"{key}.npy"
    try:
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            if member not in archive.namelist():
                raise DatasetFileError(
                    path,
                    f"missing array {key!r} (holds {sorted(n[:-4] for n in archive.namelist())})",
                )
            info = archive.getinfo(member)
            shape, fortran, dtype, header_len = _npy_header(archive, member)
            check_shape(path, repr(key), shape)
            if fortran or dtype.hasobject:
                raise DatasetFileError(path, f"{key!r} must be a C-ordered numeric array")
            if info.compress_type != zipfile.ZIP_STORED:
                _fits_in_memory(path, key, shape, dtype)
                raw.seek(0)
                with np.load(raw, allow_pickle=False) as loaded:
                    return loaded[key]
            # archive.open above has checked this local header's signature
            raw.seek(info.header_offset)
            fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
            name_len, extra_len = fields[-2], fields[-1]
            offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + header_len
            expected = math.prod(int(s) for s in shape) * dtype.itemsize
            if offset + expected > os.fstat(raw.fileno()).st_size:
                raise DatasetFileError(path, f"{key!r} is truncated (the file ends inside it)")
            return np.memmap(raw, dtype=dtype, mode="c", offset=offset, shape=tuple(shape))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, OverflowError) as exc:
        if isinstance(exc, DatasetFileError):
            raise
        raise DatasetFileError(path, f"not a readable npz file ({exc})") from exc


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def hdf5_array(path: os.PathLike | str, f: h5py.File, name: str) -> np.ndarray:
    """Dataset ``name`` of an open HDF5 file (checked by :func:`check_hdf5_storage`):
    memory-mapped when it is stored contiguous and uncompressed in this very file, else read
    into memory once (after checking it fits)."""
    dset = check_hdf5_storage(f, name, path)
    offset = dset.id.get_offset() if dset.chunks is None and dset.compression is None else None
    if offset is not None:
        expected = math.prod(dset.shape) * dset.dtype.itemsize
        with open(path, "rb") as raw:
            mine = os.fstat(raw.fileno())
            if not _same_file(mine, os.fstat(f.id.get_vfd_handle())):
                raise DatasetFileError(path, "was replaced while it was being read; refused")
            if offset + expected > mine.st_size:
                raise DatasetFileError(path, f"{name!r} is truncated (the file ends inside it)")
            return np.memmap(raw, dtype=dset.dtype, mode="c", offset=offset, shape=dset.shape)
    _fits_in_memory(path, name, dset.shape, dset.dtype)
    return dset[...]
