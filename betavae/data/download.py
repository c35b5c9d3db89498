"""The official datasets in the data directory (``~/.cache/betavae``, ``$BETAVAE_CACHE``):
download and unpack one (``python -m betavae.data download NAME``), find it for the trainer,
describe it (``python -m betavae.data info NAME``)."""

from __future__ import annotations

import os
from pathlib import Path

from . import cache, unpack
from .fetch import DownloadError, check, fetch, how_checked
from .sources import SOURCES, Source

DATA_NAMES = {source.data: name for name, source in SOURCES.items()}  # --data -> download NAME
ALIASES = {"dsprites-official": "dsprites"}


def data_dir(directory: os.PathLike | str | None = None) -> Path:
    """``directory``, or the project's data cache."""
    return Path(directory).expanduser() if directory else cache.cache_dir()


def source(name: str) -> Source:
    name = ALIASES.get(name, name)
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r} to download; choose from {sorted(SOURCES)}")
    return SOURCES[name]


def download(
    name: str, directory: os.PathLike | str | None = None, progress: bool | None = None
) -> Path:
    """Download, verify and unpack dataset ``name``; the path its loader reads."""
    src, root = source(name), data_dir(directory)
    files = [fetch(remote, root / src.subdir, progress) for remote in src.files]
    target = root / src.target
    try:
        if src.unpack == "gunzip":
            for archive in files:
                unpack.gunzip(archive, archive.with_suffix(""))
        elif src.unpack == "untar":
            unpack.untar(files[0], root / Path(src.target).parts[0])
        elif src.unpack == "chairs":
            unpack.chairs(files[0], target, quiet=progress is False)
    except OSError as exc:
        raise DownloadError(f"cannot unpack into {root}: {exc.strerror or exc}") from None
    if not target.exists():
        raise DownloadError(
            f"{files[0]} unpacked, but {target} is not there: not the official archive?"
        )
    return target


def located(data: str, directory: os.PathLike | str | None = None) -> Path | None:
    """The downloaded files of ``--data`` name ``data`` when present, else None."""
    root = data_dir(directory)
    if data == "mpi3d":  # any one release that is present
        present = [p for k in ("toy", "realistic", "real") if (p := located(f"mpi3d-{k}", root))]
        if len(present) > 1:
            raise ValueError(
                f"--data mpi3d: {len(present)} releases are downloaded in {root}; choose one "
                "with --data mpi3d-toy, mpi3d-realistic or mpi3d-real"
            )
        return present[0] if present else None
    if data not in DATA_NAMES:
        return None
    target = root / SOURCES[DATA_NAMES[data]].target
    return target if target.exists() else None


def missing_hint(data: str) -> str:
    """How to get the files of ``--data`` name ``data``."""
    name = DATA_NAMES.get(data, "mpi3d-toy" if data == "mpi3d" else data)
    return f"run `python -m betavae.data download {name}` (into {data_dir()})"


def show_downloaded(name: str, directory: os.PathLike | str | None = None) -> None:
    """Print :func:`describe`'s lines (``python -m betavae.data info NAME``)."""
    if name == "dsprites":
        print(
            "(the procedural replica, --data dsprites, needs no download; this is DeepMind's file)"
        )
    for line in describe(name, directory):
        print(line)


def describe(name: str, directory: os.PathLike | str | None = None) -> list[str]:
    """Lines saying whether each file of ``name`` is present, its size and whether it verifies."""
    src, root = source(name), data_dir(directory)
    lines = []
    for remote in src.files:
        path = root / src.subdir / remote.name
        if not path.is_file():
            lines.append(f"{path}: missing (python -m betavae.data download {name})")
            continue
        problem = check(remote, path)
        verdict = f"does NOT verify ({problem})" if problem else "verifies"
        lines.append(
            f"{path}: present, {path.stat().st_size:,} bytes, {verdict} ({how_checked(remote)})"
        )
    target = root / src.target
    if src.unpack != "none":
        state = "present" if target.exists() else "missing: run the download (again) to unpack"
        lines.append(f"{target} (unpacked): {state}")
    return [*lines, f"trains with: python -m betavae.train --data {src.data}"]
