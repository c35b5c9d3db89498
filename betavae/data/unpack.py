"""Unpacking of verified downloads into the layouts the loaders read: gunzip (SmallNORB's
``.mat.gz``), a tar archive (Cars3D) and the 3D Chairs renders imported into HDF5. Each result
appears under its final name only once complete (written beside it, then renamed)."""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
from pathlib import Path

from betavae.atomic import atomic_path


def gunzip(archive: Path, out: Path) -> Path:
    """``archive`` (.gz) decompressed to ``out``, atomically; kept when already there."""
    if out.is_file():
        return out
    with atomic_path(out) as tmp, gzip.open(archive, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


def _safe_members(archive: tarfile.TarFile, where: Path) -> list[tarfile.TarInfo]:
    """The archive's regular files and directories, refused if any would land outside ``where``
    or is a link or device (a crafted archive could otherwise write anywhere)."""
    members = []
    root = where.resolve()
    for member in archive.getmembers():
        target = (root / member.name).resolve()
        if target != root and root not in target.parents:
            raise ValueError(f"{archive.name}: member {member.name!r} would land outside {where}")
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"{archive.name}: member {member.name!r} is not a regular file")
        members.append(member)
    return members


def untar(archive: Path, out: Path) -> Path:
    """``archive`` (.tar, .tar.gz) unpacked into the directory ``out``; kept when already there."""
    if out.is_dir():
        return out
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with tarfile.open(archive) as tar:
            members = _safe_members(tar, partial)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(partial, members=members, filter="data")
            else:
                tar.extractall(partial, members=members)  # members checked above
        os.replace(partial, out)
    except tarfile.TarError as exc:
        raise ValueError(f"{archive}: not a readable tar archive ({exc})") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out


def chairs(archive: Path, out: Path, quiet: bool = False) -> Path:
    """The 3D Chairs renders archive imported into the HDF5 file ``out`` as
    ``python -m betavae.data import-chairs`` does (grey, 400-pixel centre crop, 64×64); the
    unpacked renders are removed afterwards, the archive is kept."""
    from .chairs import import_chairs

    if out.is_file():
        return out
    renders = untar(archive, out.with_name(f"{out.stem}-renders"))
    try:
        import_chairs(renders, out, quiet=quiet)
    finally:
        shutil.rmtree(renders, ignore_errors=True)
    return out
