"""Download one file over HTTP(S) into a directory: to ``NAME.part`` first, resumed with a Range
request when a previous attempt was cut off, checked against the published size and checksum,
then renamed to ``NAME``. Every failure is a :class:`DownloadError` with a one-line message."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

from tqdm import tqdm

from .sources import RemoteFile

BASE_URL_VARIABLE = "BETAVAE_DATA_URL"  # a mirror: each file is looked up by name under it
CHUNK = 1 << 20
TIMEOUT_S = 60


class DownloadError(Exception):
    """A download that failed; the message says what happened and what to do."""


def file_url(remote: RemoteFile) -> str:
    """The official URL, or the file's name under ``$BETAVAE_DATA_URL`` when that is set."""
    base = os.environ.get(BASE_URL_VARIABLE, "")
    return f"{base.rstrip('/')}/{remote.name}" if base else remote.url


def digest_of(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check(remote: RemoteFile, path: Path) -> str | None:
    """None when ``path`` has the published size and checksum (those that are known), else the
    problem, naming the expected and the actual value."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return f"{path.name}: size {size:,} bytes, expected {remote.size:,}"
    if remote.digest:
        algorithm, expected = remote.digest.split(":", 1)
        actual = digest_of(path, algorithm)
        if actual != expected:
            return f"{path.name}: {algorithm} {actual}, expected {expected}"
    return None


def how_checked(remote: RemoteFile) -> str:
    if remote.digest:
        return f"{remote.digest.split(':')[0]} checksum" + (" and size" if remote.size else "")
    if remote.size:
        return "size only: not verified by checksum (none is published)"
    return "length announced by the server only: not verified by checksum (none is published)"


def fetch(remote: RemoteFile, directory: Path, progress: bool | None = None) -> Path:
    """``directory/remote.name``, downloaded and verified unless it is there and verifies."""
    final = directory / remote.name
    if final.is_file():
        problem = check(remote, final)
        if problem is None:
            print(f"{final}: present, verified ({how_checked(remote)})")
            return final
        print(f"{final}: present but does not verify ({problem}); downloading it again")
    url = file_url(remote)
    part = final.with_name(final.name + ".part")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _transfer(url, part, progress if progress is not None else sys.stderr.isatty())
        problem = check(remote, part)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionRefusedError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot reach {url} ({reason}); download it by hand and place it at {final} (then "
            "run this again), or give the trainer the official files with --data-path PATH"
        ) from None
    except (HTTPException, ConnectionError) as exc:
        raise DownloadError(
            f"{url}: the connection broke ({type(exc).__name__}: {exc}); {part} keeps what "
            "arrived: run the command again to resume"
        ) from None
    except OSError as exc:
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            raise DownloadError(f"cannot write into {directory}: not a directory") from None
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
    if problem:
        part.unlink(missing_ok=True)
        raise DownloadError(f"checksum mismatch for {problem}; the download was deleted")
    os.replace(part, final)
    print(f"{final}: downloaded, verified ({how_checked(remote)})")
    return final


def _open(url: str, offset: int):
    request = urllib.request.Request(url, headers={"User-Agent": "betavae"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left beyond what the .part holds
            return None
        raise


def _transfer(url: str, part: Path, bar: bool) -> None:
    """Append the rest of ``url`` to ``part`` (a Range request from its length)."""
    offset = part.stat().st_size if part.is_file() else 0
    response = _open(url, offset)
    if response is None:
        return
    with response:
        resumed = offset > 0 and response.status == 206
        start = offset if resumed else 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        note = f" (resuming at {start:,} bytes)" if resumed else ""
        print(f"downloading {url} -> {part.parent}{note}", flush=True)
        shown = tqdm(total=total, initial=start, unit="B", unit_scale=True, disable=not bar)
        with shown, open(part, "ab" if resumed else "wb") as out:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                shown.update(len(block))
            received = out.tell()
    if total is not None and received < total:
        raise ConnectionError(f"got {received:,} of {total:,} bytes")
