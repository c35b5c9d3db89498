"""Atomic, durable file writes: write to a temporary file beside the target, flush it to disk,
rename it over the target and flush the directory entry. A crash, a full disk or an error never
leaves a half-written file under the real name, and a completed write survives a power cut."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

TMP_MARK = ".tmp"  # temporary names are ``.<name>.<pid>.tmp<suffix>``


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_MARK}{path.suffix}")


def fsync_path(path: os.PathLike | str) -> None:
    """Flush a file's data, or a directory's entries, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: os.PathLike | str) -> Iterator[Path]:
    """Yields a temporary path (same folder and suffix) to write; on success flushes it, renames it
    to ``path`` and flushes the folder; on failure deletes it and leaves ``path`` as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def current_umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: os.PathLike | str, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and durably."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def stale_temporaries(folder: os.PathLike | str, name: str) -> list[Path]:
    """Temporary files of ``name`` left in ``folder`` by a writer that died mid-write."""
    return sorted(Path(folder).glob(f".{name}.*{TMP_MARK}*"))
