"""`python -m betavae.data download NAME` against a local HTTP server on 127.0.0.1 serving small
generated files in each official layout (BETAVAE_DATA_URL), with their checksums injected into
the source table: success for every NAME, resume after a cut connection, checksum mismatch, 404,
connection refused, an unwritable directory; the trainer finding the downloaded files."""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.server
import io
import json
import os
import socket
import tarfile
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from official_layouts import (
    CARS3D_SMALL,
    MPI3D_SMALL,
    SHAPES3D_SMALL,
    SMALLNORB_SMALL,
    cars3d_dir,
    mpi3d_file,
    shapes3d_file,
    smallnorb_dir,
)

from betavae.data import any_file, cars3d, fetch, files, mpi3d, shapes3d, smallnorb, sources
from betavae.data.__main__ import main as data_cli
from betavae.data.base import grid_classes
from betavae.data.download import located

DSPRITES_SMALL = [1, 3, 2, 2, 2, 2]


class Server(http.server.ThreadingHTTPServer):
    """Serves ``files`` (name -> bytes) with Range support; ``cut`` (name -> n) sends only the
    first n bytes of the next full response, then drops the connection."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        name = self.path.lstrip("/")
        self.server.requests.append((name, self.headers.get("Range")))
        if name not in self.server.files:
            self.send_error(404)
            return
        body, start = self.server.files[name], 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        cut = self.server.cut.pop(name, None)
        self.wfile.write(body[start:cut] if cut is not None else body[start:])
        if cut is not None:
            self.close_connection = True


@pytest.fixture
def server(monkeypatch, tmp_path):
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("BETAVAE_DATA_URL", srv.url)
    monkeypatch.setenv("BETAVAE_CACHE", str(tmp_path / "cache"))
    yield srv
    srv.shutdown()
    srv.server_close()


def _serve(server: Server, monkeypatch, name: str, payloads: dict[str, bytes]) -> None:
    """Serve ``payloads`` as the files of dataset ``name``, with their SHA-256 and size."""
    source = sources.SOURCES[name]
    by_name = {remote.name: remote for remote in source.files}
    remotes = []
    for file_name, body in payloads.items():
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        remotes.append(replace(by_name[file_name], size=len(body), digest=digest))
        server.files[file_name] = body
    table = {**sources.SOURCES, name: replace(source, files=tuple(remotes))}
    monkeypatch.setattr(sources, "SOURCES", table)
    monkeypatch.setattr("betavae.data.download.SOURCES", table)


def _tar(folder: Path, arcname: str, mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        tar.add(folder, arcname=arcname)
    return buffer.getvalue()


def _small_grids(monkeypatch) -> None:
    monkeypatch.setattr(shapes3d, "FACTOR_SIZES", SHAPES3D_SMALL)
    monkeypatch.setattr(mpi3d, "RELEASES", {int(np.prod(MPI3D_SMALL)): MPI3D_SMALL})
    monkeypatch.setattr(smallnorb, "FACTOR_SIZES", SMALLNORB_SMALL)
    monkeypatch.setattr(cars3d, "FACTOR_SIZES", CARS3D_SMALL)
    monkeypatch.setattr(files, "DSPRITES_SIZES", DSPRITES_SMALL)
    monkeypatch.setattr(any_file, "DSPRITES_SIZES", DSPRITES_SMALL)


def _dsprites_npz(path: Path) -> bytes:
    classes = grid_classes(DSPRITES_SMALL)
    imgs = np.zeros((len(classes), 64, 64), np.uint8)
    imgs[np.arange(len(classes)), classes[:, 4] * 8, classes[:, 5] * 8] = 1
    np.savez_compressed(path, imgs=imgs, latents_classes=classes, latents_values=classes * 1.0)
    return path.read_bytes()


def _chairs_tar(tmp: Path) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    for chair in ("chair_a", "chair_b"):
        renders = tmp / "rendered_chairs" / chair / "renders"
        renders.mkdir(parents=True)
        for k in range(2):
            pixels = rng.integers(0, 256, (120, 120), dtype=np.uint8)
            Image.fromarray(pixels).save(renders / f"image_{k:03d}.png")
    return _tar(tmp / "rendered_chairs", "rendered_chairs", "w")


def official_payloads(name: str, tmp: Path) -> dict[str, bytes]:
    """Small files in the official layout of dataset ``name``, as served."""
    tmp.mkdir(parents=True, exist_ok=True)
    if name == "dsprites":
        return {sources.SOURCES[name].files[0].name: _dsprites_npz(tmp / "d.npz")}
    if name == "shapes3d":
        return {"3dshapes.h5": shapes3d_file(tmp / "3dshapes.h5").read_bytes()}
    if name.startswith("mpi3d-"):
        path = mpi3d_file(tmp / "m.npz", int(np.prod(MPI3D_SMALL)))
        return {f"mpi3d_{name[6:]}.npz": path.read_bytes()}
    if name == "smallnorb":
        directory = smallnorb_dir(tmp / "norb")
        return {f"{p.name}.gz": gzip.compress(p.read_bytes()) for p in directory.glob("*.mat")}
    if name == "cars3d":
        cars3d_dir(tmp / "data" / "cars")
        return {"nips2015-analogy-data.tar.gz": _tar(tmp / "data", "data", "w:gz")}
    return {"rendered_chairs.tar": _chairs_tar(tmp)}


@pytest.mark.parametrize("name", list(sources.SOURCES))
def test_download_every_dataset(name, server, monkeypatch, tmp_path, capsys):
    from betavae.data import get_dataset

    _small_grids(monkeypatch)
    _serve(server, monkeypatch, name, official_payloads(name, tmp_path / "made"))
    assert data_cli(["download", name]) == 0
    shown = capsys.readouterr().out
    assert f"downloading {server.url}" in shown and "verified (sha256 checksum and size)" in shown
    source = sources.SOURCES[name]
    target = tmp_path / "cache" / source.target
    data = get_dataset(target) if name == "chairs" else get_dataset(source.data, path=target)
    assert len(data) > 0
    assert located(source.data) == target  # where the trainer looks without --data-path
    assert not list((tmp_path / "cache").rglob("*.part"))
    requests = len(server.requests)
    assert data_cli(["download", name]) == 0  # already there: verified, nothing fetched
    assert "present, verified" in capsys.readouterr().out and len(server.requests) == requests
    assert data_cli(["info", name]) == 0
    assert "verifies" in capsys.readouterr().out


def test_resume_after_a_cut_connection(server, monkeypatch, tmp_path, capsys):
    payloads = official_payloads("shapes3d", tmp_path / "made")
    _serve(server, monkeypatch, "shapes3d", payloads)
    size = len(payloads["3dshapes.h5"])
    server.cut["3dshapes.h5"] = size // 2
    assert data_cli(["download", "shapes3d"]) == 2
    err = capsys.readouterr().err
    assert "connection broke" in err and "run the command again to resume" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    part = tmp_path / "cache" / "3dshapes.h5.part"
    assert part.stat().st_size == size // 2 and not (tmp_path / "cache" / "3dshapes.h5").exists()
    assert data_cli(["download", "shapes3d"]) == 0
    assert server.requests[-1] == ("3dshapes.h5", f"bytes={size // 2}-")
    assert "resuming at" in capsys.readouterr().out
    assert (tmp_path / "cache" / "3dshapes.h5").read_bytes() == payloads["3dshapes.h5"]
    assert not part.exists()


def test_checksum_mismatch_leaves_nothing(server, monkeypatch, tmp_path, capsys):
    payloads = official_payloads("mpi3d-toy", tmp_path / "made")
    _serve(server, monkeypatch, "mpi3d-toy", payloads)
    remote = sources.SOURCES["mpi3d-toy"].files[0]
    wrong = replace(remote, digest="md5:" + "0" * 32, size=None)
    table = {**sources.SOURCES, "mpi3d-toy": replace(sources.SOURCES["mpi3d-toy"], files=(wrong,))}
    monkeypatch.setattr("betavae.data.download.SOURCES", table)
    assert data_cli(["download", "mpi3d-toy"]) == 2
    err = capsys.readouterr().err
    actual = hashlib.md5(payloads["mpi3d_toy.npz"]).hexdigest()
    assert "checksum mismatch for mpi3d_toy.npz" in err
    assert f"md5 {actual}, expected {'0' * 32}" in err
    assert not any((tmp_path / "cache").iterdir())  # neither the file nor its .part


def test_not_found(server, capsys):
    assert data_cli(["download", "cars3d"]) == 2  # nothing is served
    err = capsys.readouterr().err
    assert f"{server.url}nips2015-analogy-data.tar.gz: HTTP 404" in err
    assert "Traceback" not in err


def test_connection_refused(monkeypatch, tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("BETAVAE_DATA_URL", f"http://127.0.0.1:{port}/")
    assert data_cli(["download", "shapes3d", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach http://127.0.0.1:{port}/3dshapes.h5")
    assert "place it at" in err and "--data-path" in err and len(err.splitlines()) == 1


def test_unwritable_directory(server, monkeypatch, tmp_path, capsys):
    _serve(server, monkeypatch, "shapes3d", official_payloads("shapes3d", tmp_path / "made"))
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert data_cli(["download", "shapes3d", "--dir", str(blocked)]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot write into {blocked}: not a directory" in err and "Traceback" not in err
    if os.geteuid() != 0:  # root writes into read-only directories anyway
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o500)
        assert data_cli(["download", "shapes3d", "--dir", str(readonly)]) == 2
        assert "Permission denied" in capsys.readouterr().err


def test_full_disk(server, monkeypatch, tmp_path, capsys):
    _serve(server, monkeypatch, "shapes3d", official_payloads("shapes3d", tmp_path / "made"))

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fetch, "open", lambda *a, **k: Full(), raising=False)
    assert data_cli(["download", "shapes3d"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "No space left on device" in err


def test_info_reports_a_damaged_file(server, monkeypatch, tmp_path, capsys):
    _serve(server, monkeypatch, "shapes3d", official_payloads("shapes3d", tmp_path / "made"))
    assert data_cli(["info", "shapes3d"]) == 0
    assert "3dshapes.h5: missing (python -m betavae.data download shapes3d)" in (
        capsys.readouterr().out
    )
    assert data_cli(["download", "shapes3d"]) == 0
    path = tmp_path / "cache" / "3dshapes.h5"
    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"\xff" * 8)
    capsys.readouterr()
    assert data_cli(["info", "shapes3d"]) == 0
    shown = capsys.readouterr().out
    assert f"{path.stat().st_size:,} bytes" in shown and "does NOT verify" in shown


@pytest.mark.parametrize("name", ["shapes3d", "dsprites"])
def test_trainer_finds_downloaded_files(name, server, monkeypatch, tmp_path, capsys):
    from betavae.train import main as train

    _small_grids(monkeypatch)
    data = sources.SOURCES[name].data
    argv = ["--data", data, "--steps", "2", "--batch-size", "4", "--quiet"]
    assert train([*argv, "--out", str(tmp_path / "missing")]) == 2
    assert f"python -m betavae.data download {name}" in capsys.readouterr().err
    _serve(server, monkeypatch, name, official_payloads(name, tmp_path / "made"))
    assert data_cli(["download", name]) == 0
    out = tmp_path / "run"
    assert train([*argv, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data_path"] == str(tmp_path / "cache" / sources.SOURCES[name].target)


def test_plain_mpi3d_takes_the_one_release_downloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("BETAVAE_CACHE", str(tmp_path))
    assert located("mpi3d") is None
    (tmp_path / "mpi3d_real.npz").write_bytes(b"")
    assert located("mpi3d") == tmp_path / "mpi3d_real.npz"
    (tmp_path / "mpi3d_toy.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="choose one with --data mpi3d-toy"):
        located("mpi3d")
