"""Datasets: procedural dSprites geometry and determinism, the official file layouts, coloured
dSprites, blobs, 3D Chairs import, the batch sampler and the data CLI."""

import zipfile

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from betavae.data import BatchSampler, DatasetFileError, export, get_dataset
from betavae.data.__main__ import main as data_cli
from betavae.data.cache import sha256
from betavae.data.chairs import import_chairs
from betavae.data.dsprites import CACHE_NAME

DSPRITES_SHA256 = "2b996c32d20a45236a4de257e5351f29443a1f9586acd39e1ff601cf3c4aa765"  # render v2


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("betavae-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BETAVAE_CACHE", str(root))
        yield root


@pytest.fixture(scope="session")
def dsprites(cache_root):
    return get_dataset("dsprites", quiet=True)


def _centroid(image: torch.Tensor) -> tuple[float, float]:
    mask = image[0].double()
    rows, cols = torch.nonzero(mask, as_tuple=True)
    return float(cols.double().mean()), float(rows.double().mean())


def test_layout_and_determinism(dsprites, cache_root):
    assert len(dsprites) == 737_280
    assert dsprites.factor_names == ["color", "shape", "scale", "orientation", "posX", "posY"]
    assert dsprites.factor_sizes == [1, 3, 6, 40, 32, 32]
    assert dsprites.images.packed.shape == (737_280, 512)  # 1 bit per pixel: 360 MB
    assert sha256(dsprites.images.packed.numpy()) == DSPRITES_SHA256
    assert (cache_root / CACHE_NAME).exists()
    np.testing.assert_allclose(dsprites.factor_values[-1], [1, 3, 1, 2 * np.pi, 1, 1])


def test_index_formula_round_trip_for_every_factor(dsprites):
    rng = np.random.default_rng(0)
    classes = dsprites.sample_factors(2000, rng)
    idx = dsprites.index_of(classes)
    expected = (
        classes[:, 1] * 245760
        + classes[:, 2] * 40960
        + classes[:, 3] * 1024
        + classes[:, 4] * 32
        + classes[:, 5]
    )
    assert np.array_equal(idx, expected)
    assert np.array_equal(dsprites.factor_classes[idx], classes)
    with pytest.raises(ValueError, match="out of range"):
        dsprites.index_of([[0, 3, 0, 0, 0, 0]])


def test_every_image_is_non_empty_and_inside_the_canvas(dsprites):
    packed = dsprites.images.packed.numpy()
    assert packed.any(axis=1).all(), "an image is empty"
    border = np.zeros((64, 64), dtype=bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    border_bits = np.packbits(border.reshape(-1))
    touching = (packed & border_bits).any(axis=1)
    assert not touching.any(), f"{int(touching.sum())} sprites touch the border"


def _image(data, shape=0, scale=5, orientation=0, x=16, y=16):
    return data.images_for([[0, shape, scale, orientation, x, y]])[0]


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_factors_move_the_sprite_the_right_way(dsprites, shape):
    xs = [_centroid(_image(dsprites, shape, x=k))[0] for k in range(32)]
    ys = [_centroid(_image(dsprites, shape, y=k))[1] for k in range(32)]
    assert all(b > a for a, b in zip(xs, xs[1:])), "posX must move the centroid right"
    assert all(b > a for a, b in zip(ys, ys[1:])), "posY must move the centroid down"
    areas = [int(_image(dsprites, shape, scale=s).sum()) for s in range(6)]
    assert all(b > a for a, b in zip(areas, areas[1:])), "scale must grow the area"
    assert torch.equal(
        _image(dsprites, shape, orientation=0), _image(dsprites, shape, orientation=39)
    )


def _principal_angle(image: torch.Tensor) -> float:
    rows, cols = torch.nonzero(image[0], as_tuple=True)
    pts = torch.stack([cols, rows], 1).double()
    pts -= pts.mean(0)
    cov = pts.T @ pts
    vals, vecs = torch.linalg.eigh(cov)
    vx, vy = vecs[:, 1]
    return float(torch.atan2(vy, vx)) % np.pi


@pytest.mark.parametrize("shape", [1, 2])
def test_rotation_turns_the_principal_axis(dsprites, shape):
    angles = [_principal_angle(_image(dsprites, shape, orientation=o)) for o in (0, 5)]
    turned = abs(angles[1] - angles[0])
    turned = min(turned, np.pi - turned)
    expected = 2 * np.pi * 5 / 39
    assert abs(turned - expected) < 0.15


def test_the_three_shapes_differ(dsprites):
    images = [_image(dsprites, s) for s in range(3)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert int((images[a] != images[b]).sum()) > 20


def test_corrupt_cache_is_regenerated(tmp_path, monkeypatch, dsprites, cache_root):
    """A truncated cache file is detected and rewritten whole (rendering stubbed by the known bytes
    to keep the test fast; the real renderer is covered by test_layout_and_determinism)."""
    from betavae.data import dsprites as module

    monkeypatch.setenv("BETAVAE_CACHE", str(tmp_path))
    renders = []
    known = dsprites.images.packed.numpy()
    monkeypatch.setattr(module, "render_all", lambda progress=None: renders.append(1) or known)
    (tmp_path / CACHE_NAME).write_bytes((cache_root / CACHE_NAME).read_bytes()[:100_000])
    assert sha256(module.packed_dsprites(quiet=True)) == DSPRITES_SHA256
    assert renders == [1]
    assert sha256(module.packed_dsprites(quiet=True)) == DSPRITES_SHA256
    assert renders == [1], "a valid cache must not be regenerated"
    with h5py.File(tmp_path / CACHE_NAME) as f:  # rewritten whole
        assert f["packed"].shape == (737_280, 512)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_official_layout_round_trip(tmp_path, suffix):
    data = get_dataset("blobs", grid=8)
    path = export(data, tmp_path / f"blobs{suffix}")
    loaded = get_dataset(path)
    assert len(loaded) == len(data)
    assert torch.equal(loaded.images[torch.arange(len(data))], data.images[torch.arange(len(data))])
    assert np.array_equal(loaded.factor_classes, data.factor_classes)
    np.testing.assert_allclose(loaded.factor_values, data.factor_values)
    assert loaded.full_grid and loaded.factor_sizes == [8, 8]
    if suffix == ".npz":
        with np.load(path) as archive:
            assert {"imgs", "latents_values", "latents_classes"} <= set(archive.files)
            assert archive["imgs"].shape == (64, 64, 64)
    else:
        with h5py.File(path) as f:
            assert f["imgs"].shape == (64, 64, 64) and f["latents/classes"].shape == (64, 2)


def test_binary_file_is_bit_packed_and_keeps_dsprites_names(tmp_path, dsprites):
    idx = torch.arange(0, 737_280, 97)
    imgs = dsprites.images[idx][:, 0].numpy()
    path = tmp_path / "subset.h5"
    with h5py.File(path, "w") as f:
        f["imgs"] = imgs
        f["latents/classes"] = dsprites.factor_classes[idx.numpy()]
        f["latents/values"] = dsprites.factor_values[idx.numpy()]
    loaded = get_dataset(path)
    assert loaded.images.packed is not None and loaded.images.binary
    assert loaded.factor_names[0] == "color" and not loaded.full_grid
    some = loaded.factor_classes[:5]
    assert np.array_equal(loaded.index_of(some), np.arange(5))
    assert torch.equal(loaded.images_for(some), dsprites.images[idx[:5]])


def test_broken_files_name_the_file_and_the_problem(tmp_path):
    good = export(get_dataset("blobs", grid=4), tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DatasetFileError, match="truncated.npz: not a readable npz"):
        get_dataset(truncated)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all")
    with pytest.raises(DatasetFileError, match="garbage.h5: not a readable HDF5"):
        get_dataset(garbage)
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as f:
        f["imgs"] = np.zeros((4, 64, 64), np.uint8)
        f["latents/classes"] = np.zeros((3, 6), np.int64)
        f["latents/values"] = np.zeros((3, 6))
    with pytest.raises(DatasetFileError, match=r"wrong.h5: latent classes \(3, 6\)"):
        get_dataset(wrong)
    missing_key = tmp_path / "nokey.npz"
    np.savez(missing_key, imgs=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(DatasetFileError, match="nokey.npz: missing arrays"):
        get_dataset(missing_key)
    floats = tmp_path / "floats.h5"
    with h5py.File(floats, "w") as f:
        f["imgs"] = np.zeros((2, 64, 64), np.float32)
    with pytest.raises(DatasetFileError, match="'imgs' must be uint8"):
        get_dataset(floats)
    with pytest.raises(DatasetFileError, match="no such file"):
        get_dataset(tmp_path / "absent.h5")
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        get_dataset("mnist")
    assert zipfile.is_zipfile(good)


def test_color_dsprites(dsprites):
    data = get_dataset("color-dsprites", seed=3, quiet=True)
    assert data.channels == 3 and data.factor_sizes == dsprites.factor_sizes
    colors = data.extra_values["color"]
    assert colors.shape == (737_280, 3) and colors.min() >= 0.5 and colors.max() <= 1.0
    idx = torch.tensor([0, 1000, 500_000])
    images = data.images[idx]
    masks = dsprites.images[idx]
    expected = (
        masks
        * torch.from_numpy(np.round(colors[idx.numpy()] * 255).astype(np.uint8))[:, :, None, None]
    )
    assert torch.equal(images, expected)
    again = get_dataset("color-dsprites", seed=3, quiet=True)
    assert np.array_equal(again.extra_values["color"], colors)
    dark = get_dataset("color-dsprites", seed=3, color_range=(0.0, 1.0), quiet=True)
    assert dark.extra_values["color"].min() < 0.5
    with pytest.raises(ValueError, match="color_range"):
        get_dataset("color-dsprites", color_range=(0.5, 2.0))


def test_blobs():
    data = get_dataset("blobs", width=2.0)
    assert len(data) == 1024 and data.factor_names == ["posX", "posY"]
    first, last = data.images[0], data.images[1023]
    assert int(first.max()) == 255 or int(first.max()) > 200
    assert _centroid((first > 128).to(torch.uint8))[0] < _centroid((last > 128).to(torch.uint8))[0]
    wide = get_dataset("blobs", width=5.0)
    assert int((wide.images[500] > 10).sum()) > int((data.images[500] > 10).sum())
    with pytest.raises(ValueError, match="width must be > 0"):
        get_dataset("blobs", width=0)


def test_chairs_import(tmp_path):
    folder = tmp_path / "chairs" / "sub"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(5):
        pixels = rng.integers(0, 256, size=(600, 500, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"chair_{k}.png")
    (folder / "notes.txt").write_text("not an image")
    out = import_chairs(tmp_path / "chairs", tmp_path / "chairs.h5", quiet=True)
    data = get_dataset(out)
    assert len(data) == 5 and data.channels == 1 and data.image_size == (64, 64)
    assert not data.has_factors
    with pytest.raises(ValueError, match="no ground-truth factors"):
        data.sample_factors(3, np.random.default_rng(0))
    rgb = get_dataset(import_chairs(tmp_path / "chairs", tmp_path / "rgb.h5", rgb=True, quiet=True))
    assert rgb.channels == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        import_chairs(tmp_path / "empty", tmp_path / "x.h5")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read image"):
        import_chairs(broken, tmp_path / "x.h5", quiet=True)
    assert not (tmp_path / "x.h5").exists()  # nothing half-written


def test_sampler_matches_images_and_is_deterministic(dsprites):
    sampler = BatchSampler(dsprites, seed=5)
    images, idx = sampler.sample(64)
    assert images.dtype == torch.uint8 and images.shape == (64, 1, 64, 64)
    assert torch.equal(images, dsprites.images[idx])
    floats = sampler.batch(idx, dtype=torch.float32)
    assert torch.equal(floats, images.float())
    again, idx2 = BatchSampler(dsprites, seed=5).sample(64)
    assert torch.equal(idx, idx2) and torch.equal(again, images)
    state = sampler.get_state()
    a = sampler.indices(10)
    sampler.set_state(state)
    assert torch.equal(sampler.indices(10), a)
    with pytest.raises(ValueError, match="batch size must be > 0"):
        sampler.sample(0)


def test_sampler_scales_grey_images_to_unit_floats():
    data = get_dataset("blobs")
    sampler = BatchSampler(data, seed=0)
    idx = torch.tensor([0, 5, 1023])
    assert not sampler.binary
    torch.testing.assert_close(sampler.batch(idx, torch.float32), data.images[idx].float() / 255)


def test_data_cli(tmp_path, capsys, dsprites):
    assert data_cli(["info", "blobs"]) == 0
    assert "GroundTruthData('blobs'" in capsys.readouterr().out
    assert data_cli(["export", "blobs", str(tmp_path / "b.h5")]) == 0
    assert get_dataset(tmp_path / "b.h5").factor_sizes == [32, 32]
    assert data_cli(["generate", "--quiet"]) == 0
    assert data_cli(["info", str(tmp_path / "missing.h5")]) == 2
    assert "missing.h5: no such file" in capsys.readouterr().err


def test_sample_factors_takes_numpy_torch_generators_and_seeds():
    data = get_dataset("blobs", grid=8)
    for gen in (np.random.default_rng(1), torch.Generator().manual_seed(1), 1):
        classes = data.sample_factors(50, gen)
        assert classes.shape == (50, 2) and classes.min() >= 0 and classes.max() < 8
    assert np.array_equal(data.sample_factors(5, 3), data.sample_factors(5, 3))
    sampler = BatchSampler(data, seed=0)
    images, idx = sampler.sample(4, generator=torch.Generator().manual_seed(9))
    again, idx2 = sampler.sample(4, generator=torch.Generator().manual_seed(9))
    assert torch.equal(idx, idx2) and torch.equal(images, again)


# Statistics of the official dSprites images (docs/design.md, "The science"; sprite areas and
# centroids measured on 100 official images).
OFFICIAL_MEAN_PIXEL = 0.0425
OFFICIAL_CENTROID_SPAN = (17.0, 48.0)  # px, the extreme sprite centroids along either axis


def _areas(data) -> np.ndarray:
    """Pixels set in every image, from the packed bits (popcount by table)."""
    popcount = np.array([bin(b).count("1") for b in range(256)], dtype=np.uint16)
    packed = data.images.packed.numpy()
    return np.concatenate(
        [popcount[packed[i : i + 65536]].sum(1) for i in range(0, len(packed), 65536)]
    )


def test_sprites_are_sized_like_the_official_data(dsprites):
    areas = _areas(dsprites)
    mean_pixel = areas.mean() / 4096
    assert abs(mean_pixel - OFFICIAL_MEAN_PIXEL) <= 0.02 * OFFICIAL_MEAN_PIXEL, mean_pixel
    by_scale = [areas[dsprites.factor_classes[:, 2] == s].mean() for s in range(6)]
    assert all(a < b for a, b in zip(by_scale, by_scale[1:])), by_scale
    # area grows as scale² (scales 0.5 .. 1): the largest class is ~4x the smallest
    assert 3.5 < by_scale[-1] / by_scale[0] < 4.5, by_scale
    q10, q50, q90 = np.percentile(areas, [10, 50, 90])
    assert 60 <= q10 <= 90 and 130 <= q50 <= 175 and 260 <= q90 <= 320, (q10, q50, q90)


def test_sprite_centroids_span_the_official_range(dsprites):
    low, high = OFFICIAL_CENTROID_SPAN
    for pos in (0, 31):
        for axis in (4, 5):
            classes = np.zeros((3, 6), np.int64)
            classes[:, 1] = np.arange(3)
            classes[:, axis] = pos
            classes[:, 9 - axis] = 15
            for image in dsprites.images_for(classes):
                x, y = _centroid(image)
                value = (x if axis == 4 else y) + 0.5  # pixel k covers [k, k + 1)
                assert low - 1.5 <= value <= high + 1.5, (pos, axis, value)
                if pos == 0:
                    assert value < low + 2.5
                else:
                    assert value > high - 2.5


def test_a_cache_of_another_render_version_is_regenerated(tmp_path, monkeypatch, dsprites):
    from betavae.data import cache
    from betavae.data.dsprites import RENDER_VERSION

    monkeypatch.setenv("BETAVAE_CACHE", str(tmp_path))
    stale = dsprites.images.packed.numpy()[:8].copy()
    cache.write_atomic(tmp_path / CACHE_NAME, "packed", stale, RENDER_VERSION - 1)
    # an old version's cache is never read back (so it is regenerated, as a corrupt one is)
    assert cache.read_checked(tmp_path / CACHE_NAME, "packed", RENDER_VERSION) is None
    assert "v1" not in CACHE_NAME
