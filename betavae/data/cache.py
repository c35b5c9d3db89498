"""On-disk cache of generated datasets: HDF5 files under a user cache directory (``BETAVAE_CACHE``
overrides it), each with a SHA-256 of its payload; written to a temporary file and renamed, so a
crash never leaves a half-written cache that looks valid."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np

from betavae.atomic import atomic_path


def cache_dir() -> Path:
    root = os.environ.get("BETAVAE_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "betavae"


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def read_checked(path: Path, key: str, version: int) -> np.ndarray | None:
    """The cached array, or None when missing, not a regular file (a FIFO would block),
    unreadable, stale or failing its checksum."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            if int(f.attrs.get("version", -1)) != version:
                return None
            array = f[key][...]
            expected = str(f.attrs["sha256"])
    except (OSError, KeyError, ValueError):
        return None
    return array if sha256(array) == expected else None


def write_atomic(path: Path, key: str, array: np.ndarray, version: int) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset(key, data=array, chunks=(min(len(array), 4096), array.shape[1]))
        f.attrs["sha256"] = sha256(array)
        f.attrs["version"] = version
