"""Dataset files and chairs imports as a careless or hostile user makes them: every one gets a
one-line error naming the file, reads nothing from outside the file, and writes nothing wrong."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
from PIL import Image

from betavae.data import DatasetFileError, get_dataset
from betavae.data.__main__ import main as data_main
from betavae.data.chairs import import_chairs


def _h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=value)
    return path


def test_hdf5_with_external_storage_is_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(bytes(range(256)) * 16)
    path = tmp_path / "external.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "imgs", shape=(1, 64, 64), dtype=np.uint8, external=[(str(secret), 0, 4096)]
        )
    with pytest.raises(DatasetFileError, match="external.h5.*external/virtual storage"):
        get_dataset(path)


def test_hdf5_declaring_more_than_memory_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs", shape=(2**38, 32, 32), dtype=np.uint8, chunks=(1, 32, 32))
    with pytest.raises(DatasetFileError, match="huge.h5.*256.0 TiB|huge.h5.*GiB, more than"):
        get_dataset(path)


def test_hdf5_imgs_group_and_string_latents_name_the_file(tmp_path):
    path = tmp_path / "group.h5"
    with h5py.File(path, "w") as f:
        f.create_group("imgs")
    with pytest.raises(DatasetFileError, match="group.h5: 'imgs' is a Group, not a dataset"):
        get_dataset(path)
    path = _h5(
        tmp_path / "strings.h5",
        imgs=np.zeros((2, 64, 64), np.uint8),
        **{"latents/classes": np.array([[b"a"], [b"b"]]), "latents/values": np.zeros((2, 1))},
    )
    with pytest.raises(DatasetFileError, match="strings.h5: 'latents/classes' must be numeric"):
        get_dataset(path)


def test_images_that_are_not_64_by_64_are_refused_by_the_trainer(tmp_path, capsys):
    from betavae.train import main

    path = _h5(tmp_path / "small.h5", imgs=np.zeros((10, 32, 32), np.uint8))
    out = tmp_path / "run"
    assert main(["--data", str(path), "--steps", "1", "--quiet", "--out", str(out)]) == 2
    assert "has 32×32 images; the Burgess model takes 64×64" in capsys.readouterr().err
    assert not out.exists()


def _renders(tmp_path, count=2):
    folder = tmp_path / "renders"
    folder.mkdir()
    for k in range(count):
        Image.fromarray(np.full((80, 80), 200, np.uint8)).save(folder / f"{k}.png")
    return folder


@pytest.mark.parametrize(
    "crop, out, message",
    [
        (0, "c.h5", "--crop must be >= 1"),
        (-3, "c.h5", "--crop must be >= 1"),
        (400, "c.npz", "must end in .h5 or .hdf5"),
    ],
)
def test_import_chairs_refuses_bad_arguments(tmp_path, crop, out, message):
    folder = _renders(tmp_path)
    with pytest.raises(ValueError, match=message):
        import_chairs(folder, tmp_path / out, crop=crop, quiet=True)
    assert not (tmp_path / out).exists()


def test_import_chairs_output_that_is_a_directory(tmp_path, capsys):
    folder = _renders(tmp_path)
    (tmp_path / "out.h5").mkdir()
    assert data_main(["import-chairs", str(folder), str(tmp_path / "out.h5")]) == 2
    assert "is a directory; name a file" in capsys.readouterr().err


def test_import_chairs_skips_a_fifo_instead_of_hanging(tmp_path):
    folder = _renders(tmp_path)
    os.mkfifo(folder / "trap.png")
    out = import_chairs(folder, tmp_path / "c.h5", quiet=True)
    assert len(get_dataset(out)) == 2


def test_import_chairs_refuses_a_decompression_bomb(tmp_path, monkeypatch):
    folder = _renders(tmp_path, count=1)
    Image.new("L", (9000, 9000)).save(folder / "bomb.png")  # 81 Mpx, a few hundred KB on disk
    with pytest.raises(ValueError, match="bomb.png"):
        import_chairs(folder, tmp_path / "c.h5", quiet=True)
    assert not (tmp_path / "c.h5").exists()
