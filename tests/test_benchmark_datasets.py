"""The benchmark datasets from files in their official layouts (generated small in
tests/official_layouts.py), their refusals of broken files, noisy dSprites, nuisance factors, and
training on each through the CLI."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from official_layouts import (
    CARS3D_SMALL,
    MPI3D_SMALL,
    SHAPES3D_SMALL,
    SMALLNORB_SMALL,
    car_value,
    cars3d_dir,
    mpi3d_file,
    norb_value,
    shapes3d_file,
    smallnorb_dir,
)

from betavae import metrics
from betavae.data import DatasetFileError, get_dataset, mpi3d, shapes3d, smallnorb
from betavae.data.base import GroundTruthData, ImageStore, grid_classes, noise_bytes


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def index_of_pixels(images: torch.Tensor) -> np.ndarray:
    """The index each test image encodes at pixel (0, 0) (see official_layouts.index_images)."""
    return (images[:, 0, 0, 0].long() + 256 * images[:, 1, 0, 0].long()).numpy()


# -- Shapes3D -------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_shapes3d_loads_grid_and_images_agree(tmp_path, compression):
    path = shapes3d_file(tmp_path / "3dshapes.h5", compression=compression)
    data = get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)
    assert data.factor_names == list(shapes3d.FACTOR_NAMES)
    assert data.factor_sizes == list(SHAPES3D_SMALL) and data.full_grid
    assert data.images.shape == (len(data), 3, 64, 64) and data.images.max_value == 255
    assert (data.images.mapped_file is not None) == (compression is None)
    classes = data.sample_factors(50, 0)
    idx = data.index_of(classes)
    np.testing.assert_array_equal(index_of_pixels(data.images_for(classes)), idx)
    np.testing.assert_array_equal(data.factor_classes[idx], classes)
    # the labels' values are kept as the factor values
    assert data.factor_values[:, 5].min() == -30 and data.factor_values[:, 5].max() == 30


def test_shapes3d_as_a_plain_file_path_and_never_writes_the_file(tmp_path):
    path = shapes3d_file(tmp_path / "3dshapes.h5")
    before = digest(path)
    shapes3d.FACTOR_SIZES, saved = SHAPES3D_SMALL, shapes3d.FACTOR_SIZES
    try:
        data = get_dataset(str(path))  # the dSprites-layout loader hands the file over
    finally:
        shapes3d.FACTOR_SIZES = saved
    assert data.name == "shapes3d"
    data.images.raw[0] = 0  # copy-on-write: the mapped file is untouched
    assert digest(path) == before


def test_shapes3d_official_grid_is_the_default(tmp_path):
    path = shapes3d_file(tmp_path / "3dshapes.h5")
    with pytest.raises(
        DatasetFileError, match=r"holds 96 images; the factor grid \[10, 10, 10, 8, 4, 15\]"
    ):
        get_dataset("shapes3d", path=path)


def test_shapes3d_refuses_broken_files(tmp_path):
    order = np.arange(96)
    order[[0, 1]] = order[[1, 0]]
    shuffled = shapes3d_file(tmp_path / "shuffled.h5", order=order)
    with pytest.raises(DatasetFileError, match="not complete in the official order.*image 0"):
        get_dataset("shapes3d", path=shuffled, factor_sizes=SHAPES3D_SMALL)
    # the right image count, but a grid whose scale has 4 classes: the labels show 2
    with pytest.raises(DatasetFileError, match="'scale' takes 2 distinct values; expected 4"):
        get_dataset("shapes3d", path=shuffled, factor_sizes=(2, 2, 2, 4, 1, 3))
    import h5py

    with h5py.File(tmp_path / "nolabels.h5", "w") as f:
        f.create_dataset("images", data=np.zeros((4, 64, 64, 3), np.uint8))
    with pytest.raises(DatasetFileError, match=r"missing \['labels'\]"):
        get_dataset("shapes3d", path=tmp_path / "nolabels.h5")
    with h5py.File(tmp_path / "gray.h5", "w") as f:
        f.create_dataset("images", data=np.zeros((4, 64, 64), np.uint8))
        f.create_dataset("labels", data=np.zeros((4, 6)))
    with pytest.raises(DatasetFileError, match=r"'images' must be \(N, 64, 64, 3\) uint8"):
        get_dataset("shapes3d", path=tmp_path / "gray.h5")
    with pytest.raises(DatasetFileError, match="no such file"):
        get_dataset("shapes3d", path=tmp_path / "absent.h5")
    with pytest.raises(ValueError, match="give their path"):
        get_dataset("shapes3d")


# -- MPI3D ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d_loads_stored_npz_memory_mapped(tmp_path, compressed):
    n = int(np.prod(MPI3D_SMALL))
    path = mpi3d_file(tmp_path / "mpi3d_toy.npz", n, compressed)
    before = digest(path)
    data = get_dataset("mpi3d", path=path, factor_sizes=MPI3D_SMALL)
    assert (data.images.mapped_file is not None) == (not compressed)
    assert data.factor_names == list(mpi3d.FACTOR_NAMES) and data.full_grid
    idx = torch.tensor([0, 5, n - 1])
    np.testing.assert_array_equal(index_of_pixels(data.images[idx]), idx.numpy())
    np.testing.assert_array_equal(data.factor_classes, grid_classes(MPI3D_SMALL))
    data.images.raw[0] = 7
    assert digest(path) == before


def test_mpi3d_release_from_the_image_count(tmp_path):
    assert mpi3d.release_sizes("f", 460_800) == [4, 4, 2, 3, 3, 40, 40]
    assert mpi3d.release_sizes("f", 1_036_800) == [6, 6, 2, 3, 3, 40, 40]
    assert all(int(np.prod(v)) == k for k, v in mpi3d.RELEASES.items())
    path = mpi3d_file(tmp_path / "mpi3d_toy.npz", 24)
    with pytest.raises(DatasetFileError, match="holds 24 images; an MPI3D release holds 460,800"):
        get_dataset("mpi3d", path=path)
    with pytest.raises(DatasetFileError, match="the factor grid .* needs 48"):
        get_dataset("mpi3d", path=path, factor_sizes=MPI3D_SMALL)
    np.savez(tmp_path / "other.npz", imgs=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(DatasetFileError, match="missing array 'images'"):
        get_dataset("mpi3d", path=tmp_path / "other.npz")


def test_mpi3d_truncated_file_is_refused(tmp_path):
    path = mpi3d_file(tmp_path / "mpi3d_toy.npz", 48)
    raw = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetFileError):
        get_dataset("mpi3d", path=tmp_path / "cut.npz", factor_sizes=MPI3D_SMALL)


# -- SmallNORB ------------------------------------------------------------------------------------


def test_smallnorb_merges_splits_into_grid_order_with_instance_as_nuisance(tmp_path):
    directory = smallnorb_dir(tmp_path / "norb")
    data = get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    assert data.factor_names == list(smallnorb.FACTOR_NAMES) and data.full_grid
    assert data.nuisance == ("instance",) and data.metric_factors == [0, 2, 3, 4]
    assert data.images.shape == (int(np.prod(SMALLNORB_SMALL)), 1, 64, 64)
    np.testing.assert_array_equal(data.factor_classes, grid_classes(SMALLNORB_SMALL))
    # each image is its factor classes' first-camera picture, resized (constant stays constant)
    images = data.images[torch.arange(len(data))]
    expected = norb_value(data.factor_classes, SMALLNORB_SMALL)
    np.testing.assert_array_equal(images[:, 0, 10, 10].numpy(), expected)
    assert (images.amin(dim=(1, 2, 3)) == images.amax(dim=(1, 2, 3))).all()
    # the nuisance is sampled when drawing, and no metric scores it
    drawn = data.sample_factors(400, 0)
    assert len(np.unique(drawn[:, 1])) == 4
    codes = data.factor_classes.astype(float)
    result = metrics.compute_from_codes(
        "mig", codes, data.factor_classes, factor_sizes=data.factor_sizes
    )
    assert len(result["per_factor"]) == 5  # compute_from_codes scores what it is given
    table = metrics.CodeTable(lambda x: torch.zeros(len(x), 3), data)
    assert metrics.compute("mig", table, data, num_train=200)["factor_names"] == [
        "category",
        "elevation",
        "azimuth",
        "lighting",
    ]


def test_smallnorb_refuses_broken_files(tmp_path):
    directory = smallnorb_dir(tmp_path / "norb")
    info = smallnorb.split_file(directory, smallnorb.SPLITS[1], "info")
    saved = info.read_bytes()
    info.write_bytes(b"\x1f\x8b" + saved[2:])  # looks gzipped
    with pytest.raises(DatasetFileError, match="unknown NORB magic number.*uncompress"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    info.write_bytes(saved[:-4])
    with pytest.raises(DatasetFileError, match="data bytes; its header"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    info.unlink()
    with pytest.raises(DatasetFileError, match="no such file"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    other = smallnorb_dir(tmp_path / "norb2")
    with pytest.raises(DatasetFileError, match="not complete: .* missing"):
        get_dataset("smallnorb", path=other, factor_sizes=(2, 4, 2, 3, 3))
    with pytest.raises(DatasetFileError, match="a class outside"):
        get_dataset("smallnorb", path=other, factor_sizes=(2, 4, 2, 2, 2))


# -- Cars3D ---------------------------------------------------------------------------------------


def test_cars3d_objects_follow_list_txt(tmp_path):
    directory = cars3d_dir(tmp_path / "cars")
    data = get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)
    assert data.factor_names == ["elevation", "azimuth", "object"] and data.full_grid
    assert data.images.shape == (12, 3, 64, 64)
    for e, a, k in data.factor_classes[[0, 5, 7, 11]]:
        image = data.images_for([[e, a, k]])[0]
        assert (image == car_value(e, a, k)).all(), (e, a, k)


def test_cars3d_refuses_broken_directories(tmp_path):
    directory = cars3d_dir(tmp_path / "cars")
    with pytest.raises(DatasetFileError, match=r"holds 2 car files; the factor grid \[183\]"):
        get_dataset("cars3d", path=directory)
    with pytest.raises(DatasetFileError, match=r"'im' must be \(H, W, 3, 24, 4\)"):
        get_dataset("cars3d", path=directory, factor_sizes=(4, 24, 2))
    (directory / "list.txt").write_text("car_000_mesh\ncar_009_mesh\n")
    with pytest.raises(DatasetFileError, match="names 1 missing files"):
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)
    (directory / "list.txt").unlink()
    with pytest.raises(DatasetFileError, match="no list.txt"):
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)
    (directory / "car_000_mesh.mat").write_bytes(b"not matlab")
    (directory / "list.txt").write_text("car_000_mesh\ncar_001_mesh\n")
    with pytest.raises(DatasetFileError, match="not a readable MATLAB file"):
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)


# -- noisy dSprites, nuisance factors, the store ---------------------------------------------------


def test_noise_is_uniform_fixed_per_image_and_seeded():
    idx = torch.arange(2000)
    noise = noise_bytes(0, idx, (3, 8, 8))
    counts = np.bincount(noise.flatten().numpy(), minlength=256)
    expected = noise.numel() / 256
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 330  # 255 degrees of freedom: p ≈ 0.001 bound
    assert torch.equal(noise_bytes(0, idx[[7, 3]], (3, 8, 8)), noise[[7, 3]])
    assert not torch.equal(noise_bytes(1, idx[:10], (3, 8, 8)), noise[:10])
    # neighbouring pixels and images are uncorrelated
    flat = noise.float().reshape(len(idx), -1)
    assert abs(np.corrcoef(flat[:, 0], flat[:, 1])[0, 1]) < 0.1
    assert abs(np.corrcoef(flat[:-1, 0], flat[1:, 0])[0, 1]) < 0.1


def test_noisy_store_keeps_the_sprite_white_and_the_background_noise():
    masks = torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    masks[:, :, 2:5, 2:5] = 1
    packed = torch.from_numpy(np.packbits(masks.reshape(4, -1).numpy(), axis=1))
    store = ImageStore((4, 3, 8, 8), packed=packed, noise_seed=3)
    images = store[torch.arange(4)]
    assert images.shape == (4, 3, 8, 8) and store.max_value == 255
    inside = masks.expand(-1, 3, -1, -1).bool()
    assert (images[inside] == 255).all()
    np.testing.assert_array_equal(
        images[~inside].numpy(), noise_bytes(3, torch.arange(4), (3, 8, 8))[~inside].numpy()
    )
    assert torch.equal(store.to("cpu")[torch.arange(4)], images)


@pytest.mark.slow
def test_noisy_dsprites_dataset():
    data = get_dataset("noisy-dsprites", quiet=True)
    plain = get_dataset("dsprites", quiet=True)
    idx = torch.tensor([0, 123_456, 737_279])
    images, masks = data.images[idx], plain.images[idx]
    assert images.shape == (3, 3, 64, 64)
    assert (images[masks.expand(-1, 3, -1, -1).bool()] == 255).all()
    background = images[~masks.expand(-1, 3, -1, -1).bool()].float()
    assert abs(background.mean().item() - 127.5) < 2
    assert data.factor_sizes == plain.factor_sizes and data.full_grid


def test_nuisance_must_name_a_factor():
    store = ImageStore((2, 1, 2, 2), raw=torch.zeros(2, 1, 2, 2, dtype=torch.uint8))
    classes = np.array([[0], [1]])
    with pytest.raises(ValueError, match="nuisance factors"):
        GroundTruthData("x", store, ["a"], [2], classes, classes * 1.0, True, nuisance=["b"])


def test_channels_last_store_returns_nchw():
    raw = torch.arange(2 * 4 * 4 * 3, dtype=torch.uint8).reshape(2, 4, 4, 3)
    store = ImageStore((2, 3, 4, 4), raw=raw, channels_last=True)
    assert torch.equal(store[torch.tensor([1])][0], raw[1].permute(2, 0, 1))


# -- training and evaluating on each, through the CLIs ---------------------------------------------


def _small_files(tmp_path, monkeypatch):
    """Each benchmark dataset as a small official-layout file, with the loader's official grid
    replaced by the small one (explicitly, as only a test may)."""
    from betavae.data import cars3d

    monkeypatch.setattr(shapes3d, "FACTOR_SIZES", SHAPES3D_SMALL)
    monkeypatch.setattr(mpi3d, "RELEASES", {int(np.prod(MPI3D_SMALL)): MPI3D_SMALL})
    monkeypatch.setattr(smallnorb, "FACTOR_SIZES", SMALLNORB_SMALL)
    monkeypatch.setattr(cars3d, "FACTOR_SIZES", CARS3D_SMALL)
    return {
        "shapes3d": shapes3d_file(tmp_path / "3dshapes.h5"),
        "mpi3d": mpi3d_file(tmp_path / "mpi3d_toy.npz", int(np.prod(MPI3D_SMALL))),
        "smallnorb": smallnorb_dir(tmp_path / "norb"),
        "cars3d": cars3d_dir(tmp_path / "cars"),
    }


@pytest.mark.parametrize("name", ["shapes3d", "mpi3d", "smallnorb", "cars3d"])
def test_train_and_evaluate_on_each_dataset(tmp_path, monkeypatch, name):
    import json

    from betavae import evaluate
    from betavae.train import main

    path = _small_files(tmp_path, monkeypatch)[name]
    out = tmp_path / "run"
    argv = ["--data", name, "--data-path", str(path), "--steps", "20", "--batch-size", "8"]
    assert main([*argv, "--out", str(out), "--quiet", "--log-every", "10"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"] == name and config["data_path"] == str(path.resolve())
    assert evaluate.main([str(out), "--metrics", "mig", "--samples", "60"]) == 0
    result = json.loads((out / "eval" / "eval.json").read_text())
    scored = result["mig"]["factor_names"]  # nuisance and constant factors are not scored
    assert len(scored) == {"shapes3d": 6, "mpi3d": 5, "smallnorb": 4, "cars3d": 3}[name]
    assert "instance" not in scored


def test_file_dataset_flags_are_checked(capsys):
    from betavae.train import main

    assert main(["--data", "shapes3d", "--steps", "1"]) == 2
    assert "add --data-path PATH" in capsys.readouterr().err
    assert main(["--data", "dsprites", "--data-path", "x.h5", "--steps", "1"]) == 2
    assert "--data-path applies to --data shapes3d" in capsys.readouterr().err
    assert main(["--data", "shapes3d", "--data-path", "/nonexistent/3dshapes.h5"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_evaluate_finds_moved_files_with_data_path(tmp_path, monkeypatch, capsys):
    import shutil

    from betavae import evaluate
    from betavae.train import main

    path = _small_files(tmp_path, monkeypatch)["shapes3d"]
    out = tmp_path / "run"
    argv = ["--data", "shapes3d", "--data-path", str(path), "--steps", "4", "--batch-size", "8"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    moved = tmp_path / "elsewhere.h5"
    shutil.move(path, moved)
    assert evaluate.main([str(out), "--metrics", "mig", "--samples", "40"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert (
        evaluate.main([str(out), "--metrics", "mig", "--samples", "40", "--data-path", str(moved)])
        == 0
    )
    args = [str(out), "--metrics", "mig", "--samples", "40", "--data", "shapes3d"]
    assert evaluate.main([*args, "--data-path", str(moved)]) == 0
    assert evaluate.main([str(out), "--metrics", "mig", "--data", "blobs"]) == 2
    assert "trained on 'shapes3d', not on 'blobs'" in capsys.readouterr().err


def test_data_info_checks_an_official_file(tmp_path, monkeypatch, capsys):
    from betavae.data.__main__ import main

    path = _small_files(tmp_path, monkeypatch)["mpi3d"]
    assert main(["info", "mpi3d", "--path", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "GroundTruthData('mpi3d'" in shown and f"memory-mapped from {path}" in shown
    assert main(["info", "smallnorb", "--path", str(tmp_path / "norb")]) == 0
    assert "instance=4 (nuisance)" in capsys.readouterr().out
    assert main(["info", "cars3d", "--path", str(tmp_path)]) == 2
    assert "no list.txt" in capsys.readouterr().err


@pytest.mark.slow
def test_train_on_noisy_dsprites(tmp_path):
    import json

    from betavae.train import main

    out = tmp_path / "run"
    argv = ["--data", "noisy-dsprites", "--steps", "20", "--batch-size", "8", "--quiet"]
    assert main([*argv, "--out", str(out), "--log-every", "10"]) == 0
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 20 and last["recon"] > 0


def test_more_broken_files_are_refused(tmp_path):
    import struct
    import zipfile

    import h5py
    import scipy.io

    # Shapes3D: labels of the wrong shape
    with h5py.File(tmp_path / "labels.h5", "w") as f:
        f.create_dataset("images", data=np.zeros((4, 64, 64, 3), np.uint8))
        f.create_dataset("labels", data=np.zeros((4, 5)))
    with pytest.raises(DatasetFileError, match=r"'labels' must be \(4, 6\) float"):
        get_dataset("shapes3d", path=tmp_path / "labels.h5")
    # MPI3D: a Fortran-ordered array, a damaged zip local header
    np.savez(tmp_path / "fortran.npz", images=np.asfortranarray(np.zeros((2, 64, 64, 3), np.uint8)))
    with pytest.raises(DatasetFileError, match="must be a C-ordered numeric array"):
        get_dataset("mpi3d", path=tmp_path / "fortran.npz", factor_sizes=(1, 1, 1, 1, 1, 1, 2))
    good = mpi3d_file(tmp_path / "good.npz", 2)
    raw = bytearray(good.read_bytes())
    offset = zipfile.ZipFile(good).getinfo("images.npy").header_offset
    raw[offset : offset + 4] = b"XXXX"
    (tmp_path / "damaged.npz").write_bytes(bytes(raw))
    with pytest.raises(DatasetFileError, match="not a readable npz file .Bad magic number"):
        get_dataset("mpi3d", path=tmp_path / "damaged.npz", factor_sizes=(1, 1, 1, 1, 1, 1, 2))
    # SmallNORB: a header too short, too many dimensions, odd azimuths, wrong image shape
    directory = smallnorb_dir(tmp_path / "norb")
    dat = smallnorb.split_file(directory, smallnorb.SPLITS[0], "dat")
    info = smallnorb.split_file(directory, smallnorb.SPLITS[0], "info")
    saved_dat, saved_info = dat.read_bytes(), info.read_bytes()
    dat.write_bytes(b"\x55\x4c\x3d\x1e")
    with pytest.raises(DatasetFileError, match="too short for a NORB matrix header"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    dat.write_bytes(struct.pack("<ii", 0x1E3D4C55, 9) + bytes(40))
    with pytest.raises(DatasetFileError, match="9 dimensions is not supported"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    dat.write_bytes(struct.pack("<iiiii", 0x1E3D4C55, 3, 48, 96, 96) + bytes(48 * 96 * 96))
    with pytest.raises(DatasetFileError, match=r"must be \(N, 2, H, W\) uint8"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    dat.write_bytes(saved_dat)
    odd = bytearray(saved_info)
    header = 8 + 4 * 3
    odd[header + 8 : header + 12] = struct.pack("<i", 3)  # first row's azimuth
    info.write_bytes(bytes(odd))
    with pytest.raises(DatasetFileError, match="azimuths must be even"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    info.write_bytes(saved_info[:header] + saved_info[header : header + 16 * 47])
    with pytest.raises(DatasetFileError):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    # Cars3D: a MATLAB file without 'im'
    cars = cars3d_dir(tmp_path / "cars")
    scipy.io.savemat(cars / "car_000_mesh.mat", {"other": np.zeros(3)})
    with pytest.raises(DatasetFileError, match="holds no array 'im'"):
        get_dataset("cars3d", path=cars, factor_sizes=CARS3D_SMALL)
