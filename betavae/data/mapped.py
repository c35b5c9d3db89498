"""Reading large official arrays without a second copy: an array stored uncompressed inside an
``.npz`` (zip member) or an HDF5 file (contiguous dataset) is memory-mapped copy-on-write, so the
operating system pages images in as batches touch them; anything else is read into memory once,
after checking that it fits."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import h5py
import numpy as np

from .checks import DatasetFileError, memory_bytes

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


def npz_member(path: os.PathLike | str, key: str) -> np.ndarray:
    """Array ``key`` of an .npz file: memory-mapped when the member is stored uncompressed
    (``np.savez``), else read into memory once (``np.savez_compressed``)."""
    path = Path(path)
    member = f"{key}.npy"
    try:
        with zipfile.ZipFile(path) as archive:
            if member not in archive.namelist():
                raise DatasetFileError(
                    path,
                    f"missing array {key!r} (holds {sorted(n[:-4] for n in archive.namelist())})",
                )
            info = archive.getinfo(member)
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(f)
                header_len = f.tell()
            if fortran or dtype.hasobject:
                raise DatasetFileError(path, f"{key!r} must be a C-ordered numeric array")
            if info.compress_type != zipfile.ZIP_STORED:
                _fits_in_memory(path, key, shape, dtype)
                with np.load(path, allow_pickle=False) as loaded:
                    return loaded[key]
        # archive.open above has checked this local header's signature
        with open(path, "rb") as raw:
            raw.seek(info.header_offset)
            fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
        name_len, extra_len = fields[-2], fields[-1]
        offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + header_len
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if offset + expected > path.stat().st_size:
            raise DatasetFileError(path, f"{key!r} is truncated (the file ends inside it)")
        return np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=tuple(shape))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        if isinstance(exc, DatasetFileError):
            raise
        raise DatasetFileError(path, f"not a readable npz file ({exc})") from exc


def hdf5_array(path: os.PathLike | str, f: h5py.File, name: str) -> np.ndarray:
    """Dataset ``name`` of an open HDF5 file: memory-mapped when it is stored contiguous and
    uncompressed, else read into memory once (after checking it fits)."""
    dset = f[name]
    offset = dset.id.get_offset() if dset.chunks is None and dset.compression is None else None
    if offset is not None and dset.dtype.kind in "biuf":
        expected = int(np.prod(dset.shape, dtype=np.int64)) * dset.dtype.itemsize
        if offset + expected > Path(path).stat().st_size:
            raise DatasetFileError(path, f"{name!r} is truncated (the file ends inside it)")
        return np.memmap(path, dtype=dset.dtype, mode="c", offset=offset, shape=dset.shape)
    _fits_in_memory(path, name, dset.shape, dset.dtype)
    return dset[...]
