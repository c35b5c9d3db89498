"""Inputs a careless or hostile user makes (issue 31): nothing hangs, nothing wrong is accepted
silently. Each case expects its one-line error, naming the file and the problem. Files are built
in the test: FIFOs with os.mkfifo, HDF5 links with h5py, forged headers byte by byte."""

from __future__ import annotations

import os
import signal

import h5py
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

from betavae.data import DatasetFileError, get_dataset
from betavae.data import smallnorb as norb
from betavae.data.__main__ import main as data_main


@pytest.fixture(autouse=True)
def no_hang():
    """A test that blocks (on a FIFO, say) fails after 60 s instead of hanging the suite."""

    def hung(signum, frame):
        raise TimeoutError("blocked for 60 s: a loader waited on a FIFO or device")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# -- 2. hangs: a FIFO or any other non-regular file where a data file is expected ------------------


def _fifo(path):
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("name", ["x.h5", "x.hdf5", "x.npz", "no_extension"])
def test_a_fifo_as_a_dataset_file_is_refused(tmp_path, name):
    fifo = _fifo(tmp_path / name)
    with pytest.raises(DatasetFileError, match=f"{name}: is a FIFO .*not a regular file") as exc:
        get_dataset(fifo)
    _one_line(exc)


@pytest.mark.parametrize(
    "name, file",
    [("shapes3d", "3dshapes.h5"), ("mpi3d", "mpi3d_toy.npz")],
)
def test_a_fifo_as_an_official_file_is_refused(tmp_path, name, file):
    fifo = _fifo(tmp_path / file)
    with pytest.raises(DatasetFileError, match=f"{file}: is a FIFO"):
        get_dataset(name, path=fifo)


def test_a_device_or_directory_as_a_dataset_file_is_refused(tmp_path):
    (tmp_path / "zeros.npz").symlink_to("/dev/zero")  # would stream zeros forever
    with pytest.raises(DatasetFileError, match="zeros.npz: is a character device"):
        get_dataset(tmp_path / "zeros.npz")
    (tmp_path / "dir.h5").mkdir()
    with pytest.raises(DatasetFileError, match="dir.h5: is a directory, not a regular file"):
        get_dataset(tmp_path / "dir.h5")


def test_the_cli_and_the_trainer_refuse_a_fifo(tmp_path, capsys):
    from betavae.train import main as train_main

    fifo = _fifo(tmp_path / "x.h5")
    assert data_main(["info", str(fifo)]) == 2
    assert data_main(["info", "shapes3d", "--path", str(fifo)]) == 2
    out = tmp_path / "run"
    assert train_main(["--data", str(fifo), "--steps", "1", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("x.h5: is a FIFO (named pipe)" in line for line in err), err
    assert not out.exists()


def test_a_fifo_among_the_smallnorb_files_is_refused(tmp_path):
    directory = smallnorb_dir(tmp_path / "norb")
    cat = norb.split_file(directory, norb.SPLITS[1], "cat")
    cat.unlink()
    _fifo(cat)
    with pytest.raises(DatasetFileError, match=f"{cat.name}: is a FIFO"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)


@pytest.mark.parametrize("which", ["list.txt", "car_001_mesh.mat"])
def test_a_fifo_among_the_cars3d_files_is_refused(tmp_path, which):
    directory = cars3d_dir(tmp_path / "cars")
    (directory / which).unlink()
    _fifo(directory / which)
    with pytest.raises(DatasetFileError, match=f"{which}: is a FIFO"):
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)


def test_an_hdf5_link_to_a_fifo_is_refused_without_opening_it(tmp_path):
    _fifo(tmp_path / "trap.h5")
    for layout, name in (("dsprites", "imgs"), ("shapes3d", "images")):
        path = tmp_path / f"{layout}.h5"
        with h5py.File(path, "w") as f:
            f[name] = h5py.ExternalLink(str(tmp_path / "trap.h5"), "/data")
            f.create_dataset("labels", data=np.zeros((2, 6)))
        with pytest.raises(DatasetFileError, match=f"{layout}.h5: '{name}' is an external link"):
            get_dataset(path)


def test_a_fifo_in_the_cache_is_treated_as_no_cache(tmp_path):
    from betavae.data import cache

    fifo = _fifo(tmp_path / "dsprites.h5")
    assert cache.read_checked(fifo, "packed", 1) is None  # regenerated, not waited on


# -- 3. silent acceptance: HDF5 data that is not this file's own, or was never written ------------


def _shapes3d_with(path, images):
    """A small 3dshapes.h5 whose 'images' entry is made by ``images(f, data)``."""
    good = shapes3d_file(path.with_name("source.h5"))
    with h5py.File(good, "r") as src:
        data, labels = src["images"][...], src["labels"][...]
    with h5py.File(path, "w") as f:
        images(f, data)
        f.create_dataset("labels", data=labels)
    return path


def test_shapes3d_images_that_live_in_another_file_are_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("pixels", data=np.zeros((48, 64, 64, 3), np.uint8))

    def external(f, data):
        f["images"] = h5py.ExternalLink(str(other), "/pixels")

    path = _shapes3d_with(tmp_path / "external.h5", external)
    with pytest.raises(DatasetFileError, match="external.h5: 'images' is an external link"):
        get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)

    def soft(f, data):
        f.create_dataset("elsewhere", data=data)
        f["images"] = h5py.SoftLink("/elsewhere")

    path = _shapes3d_with(tmp_path / "soft.h5", soft)
    with pytest.raises(DatasetFileError, match="soft.h5: 'images' is a soft link to '/elsewhere'"):
        get_dataset(path)


def test_a_dsprites_layout_with_linked_latents_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("classes", data=np.arange(4)[:, None])
        f.create_dataset("values", data=np.arange(4.0)[:, None])
    path = tmp_path / "linked.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs", data=np.zeros((4, 64, 64), np.uint8))
        f["latents"] = h5py.ExternalLink(str(other), "/")
    with pytest.raises(DatasetFileError, match="linked.h5: 'latents' is an external link"):
        get_dataset(path)
    with h5py.File(path, "a") as f:
        del f["latents"]
        f.create_group("latents")
        f["latents/classes"] = h5py.ExternalLink(str(other), "/classes")
        f.create_dataset("latents/values", data=np.arange(4.0)[:, None])
    with pytest.raises(DatasetFileError, match="'latents/classes' is an external link"):
        get_dataset(path)


@pytest.mark.parametrize("chunks", [None, (1, 64, 64)])
def test_images_declared_but_never_written_are_refused(tmp_path, chunks):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs", shape=(4, 64, 64), dtype=np.uint8, chunks=chunks)
    with pytest.raises(
        DatasetFileError, match="empty.h5: 'imgs' (was declared but never|has only 0)"
    ):
        get_dataset(path)


def test_images_partly_written_are_refused(tmp_path):
    path = tmp_path / "partial.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs", shape=(4, 64, 64), dtype=np.uint8, chunks=(1, 64, 64))[0] = 1
    with pytest.raises(DatasetFileError, match="partial.h5: 'imgs' has only 1 of its 4 chunks"):
        get_dataset(path)


def test_shapes3d_images_never_written_are_refused(tmp_path):
    def unwritten(f, data):
        f.create_dataset("images", shape=data.shape, dtype=np.uint8)

    path = _shapes3d_with(tmp_path / "blank.h5", unwritten)
    with pytest.raises(DatasetFileError, match="blank.h5: 'images' was declared but never written"):
        get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)


def test_a_fill_value_the_writer_chose_is_data(tmp_path):
    path = tmp_path / "filled.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs", shape=(2, 64, 64), dtype=np.uint8, fillvalue=1)
    assert get_dataset(path).images[[0]].max() == 1


def test_hdf5_groups_where_datasets_are_expected_are_refused(tmp_path):
    def group(f, data):
        f.create_group("images")

    path = _shapes3d_with(tmp_path / "group.h5", group)
    with pytest.raises(DatasetFileError, match="group.h5: 'images' is a Group, not a dataset"):
        get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)
    path = shapes3d_file(tmp_path / "labels.h5")
    with h5py.File(path, "a") as f:
        del f["labels"]
        f.create_group("labels")
    with pytest.raises(DatasetFileError, match="labels.h5: 'labels' is a Group, not a dataset"):
        get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)
    path = tmp_path / "latents.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs", data=np.zeros((2, 64, 64), np.uint8))
        f.create_group("latents/values")
        f.create_dataset("latents/classes", data=np.arange(2)[:, None])
    with pytest.raises(DatasetFileError, match="latents.h5: 'latents/values' is a Group"):
        get_dataset(path)


def test_the_mapped_images_are_the_opened_files_own(tmp_path, monkeypatch):
    from betavae.data import mapped

    path = shapes3d_file(tmp_path / "s.h5")
    data = get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)
    assert data.images.mapped_file == str(path)
    data = get_dataset("mpi3d", path=mpi3d_file(tmp_path / "m.npz", 48), factor_sizes=MPI3D_SMALL)
    assert data.images.mapped_file == str(tmp_path / "m.npz")
    checked = mapped.check_hdf5_storage

    def swap_then_check(f, name, where):  # another file takes the path after it was opened
        impostor = shapes3d_file(tmp_path / "impostor.h5")
        os.replace(impostor, path)
        return checked(f, name, where)

    monkeypatch.setattr(mapped, "check_hdf5_storage", swap_then_check)
    with pytest.raises(DatasetFileError, match="s.h5: was replaced while it was being read"):
        get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)


def _npz_with_negative_shape(path, key, extra=()):
    """An .npz whose member ``key`` declares shape (-2, 64, 64) in its .npy header."""
    import io
    import zipfile

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 64, 64), np.uint8))
    raw = buffer.getvalue().replace(b"(2, 64, 64)", b"(-2, 64, 64)")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{key}.npy", raw)
        for name in extra:
            archive.writestr(f"{name}.npy", buffer.getvalue())
    return path


def test_npz_headers_with_negative_shapes_are_refused(tmp_path):
    path = _npz_with_negative_shape(tmp_path / "neg.npz", "images")
    with pytest.raises(
        DatasetFileError, match="neg.npz: 'images' declares a negative dimension"
    ) as exc:
        get_dataset("mpi3d", path=path, factor_sizes=(1, 1, 1, 1, 1, 1, 2))
    _one_line(exc)
    path = _npz_with_negative_shape(
        tmp_path / "negd.npz", "imgs", extra=("latents_values", "latents_classes")
    )
    with pytest.raises(DatasetFileError, match="negd.npz: .*negative dimensions") as exc:
        get_dataset(path)
    _one_line(exc)


# -- 3. silent acceptance: factor values that are not numbers, classes that repeat -----------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_shapes3d_labels_that_are_not_finite_are_refused(tmp_path, bad):
    path = shapes3d_file(tmp_path / "nan.h5")
    with h5py.File(path, "a") as f:
        f["labels"][5, 3] = bad
    with pytest.raises(
        DatasetFileError, match="nan.h5: factor 'scale' has a non-finite label"
    ) as exc:
        get_dataset("shapes3d", path=path, factor_sizes=SHAPES3D_SMALL)
    _one_line(exc)


def _dsprites_layout(path, classes, values):
    n = len(classes)
    if path.suffix == ".npz":
        np.savez(
            path,
            imgs=np.zeros((n, 64, 64), np.uint8),
            latents_classes=classes,
            latents_values=values,
        )
    else:
        with h5py.File(path, "w") as f:
            f.create_dataset("imgs", data=np.zeros((n, 64, 64), np.uint8))
            f.create_dataset("latents/classes", data=classes)
            f.create_dataset("latents/values", data=values)
    return path


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_dsprites_layout_latent_values_that_are_not_finite_are_refused(tmp_path, suffix, bad):
    classes = np.arange(4)[:, None]
    values = classes * 0.5
    values[2, 0] = bad
    path = _dsprites_layout(tmp_path / f"x{suffix}", classes, values)
    with pytest.raises(DatasetFileError, match=f"x{suffix}: latent values hold NaN or infinity"):
        get_dataset(path)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_dsprites_layout_with_repeated_class_rows_is_refused(tmp_path, suffix):
    classes = np.array([[0, 0], [0, 1], [1, 0], [0, 1]])
    path = _dsprites_layout(tmp_path / f"dup{suffix}", classes, classes * 1.0)
    with pytest.raises(
        DatasetFileError, match=r"images 1 and 3 have the same latent classes \[0, 1\]"
    ):
        get_dataset(path)


# -- SmallNORB: float categories, headers, sizes ---------------------------------------------------


def _norb_header(magic: int, dims) -> bytes:
    import struct

    padded = list(dims) + [1] * max(0, 3 - len(dims))
    return struct.pack(f"<ii{len(padded)}i", magic, len(dims), *padded)


def _norb(tmp_path):
    directory = smallnorb_dir(tmp_path / "norb")
    return directory, (lambda kind: norb.split_file(directory, norb.SPLITS[0], kind))


def test_smallnorb_category_file_of_floats_is_refused(tmp_path):
    directory, file = _norb(tmp_path)
    cat = file("cat")
    saved = norb.read_norb_matrix(cat)
    floats = saved.astype(np.float32) + 0.7  # truncation would give the same classes back
    cat.write_bytes(_norb_header(0x1E3D4C51, floats.shape) + floats.astype("<f4").tobytes())
    with pytest.raises(DatasetFileError, match=f"{cat.name}: must hold integers .*float32") as exc:
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    _one_line(exc)


@pytest.mark.parametrize(
    "header, message",
    [
        (_norb_header(0x1E3D4C54, [1] * 8)[:24], "too short for the header of 8 dimensions"),
        (_norb_header(0x1E3D4C54, [-4, 4]), r"its header declares a negative dimension"),
    ],
    ids=["short", "negative"],
)
def test_smallnorb_header_errors_name_the_file(tmp_path, header, message):
    directory, file = _norb(tmp_path)
    info = file("info")
    info.write_bytes(header)
    with pytest.raises(DatasetFileError, match=f"{info.name}: {message}") as exc:
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)
    _one_line(exc)


def test_smallnorb_file_larger_than_memory_is_refused_before_reading(tmp_path, monkeypatch):
    directory, file = _norb(tmp_path)
    monkeypatch.setattr(norb, "memory_bytes", lambda: 1000)
    monkeypatch.setattr(type(file("dat")), "read_bytes", lambda self: pytest.fail("read whole"))
    with pytest.raises(DatasetFileError, match=f"{file('dat').name}: is .* GiB, more than"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)


def test_smallnorb_pictures_of_one_pixel_are_refused(tmp_path):
    directory, file = _norb(tmp_path)
    dat = file("dat")
    n = len(norb.read_norb_matrix(dat))
    dat.write_bytes(_norb_header(0x1E3D4C55, (n, 2, 1, 1)) + bytes(2 * n))
    with pytest.raises(DatasetFileError, match=f"{dat.name}: holds 1×1-pixel pictures"):
        get_dataset("smallnorb", path=directory, factor_sizes=SMALLNORB_SMALL)


# -- Cars3D: list.txt entries, tiny pictures, unreadable files -------------------------------------


def _cars3d_listing(tmp_path, text):
    directory = cars3d_dir(tmp_path / "cars")
    (directory / "list.txt").write_text(text)
    return directory


@pytest.mark.parametrize(
    "listing, message",
    [
        ("car_001_mesh\ncar_000_mesh\ncar_001_mesh.mat\n", "line 3 repeats 'car_001_mesh.mat'"),
        ("car_001_mesh\n{abs}/car_000_mesh\n", "line 2: '/.*' is not a file name"),
        ("car_001_mesh\n../cars/car_000_mesh\n", "line 2: '../cars/car_000_mesh' is not a file"),
        ("car_001_mesh\n..\n", "line 2: '..' is not a file name"),
    ],
    ids=["repeat", "absolute", "parent", "dotdot"],
)
def test_cars3d_list_entries_that_repeat_or_leave_the_directory_are_refused(
    tmp_path, listing, message
):
    directory = _cars3d_listing(tmp_path, listing.format(abs=tmp_path / "cars"))
    with pytest.raises(DatasetFileError, match=f"list.txt: {message}") as exc:
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)
    _one_line(exc)


def test_cars3d_one_car_under_two_names_is_refused(tmp_path):
    directory = _cars3d_listing(tmp_path, "car_001_mesh\nalias\n")
    (directory / "alias.mat").symlink_to(directory / "car_001_mesh.mat")
    with pytest.raises(DatasetFileError, match="'alias.mat' and 'car_001_mesh.mat' are the same"):
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)


def test_cars3d_list_that_is_not_utf8_is_refused(tmp_path):
    directory = cars3d_dir(tmp_path / "cars")
    (directory / "list.txt").write_bytes(b"car_001_mesh\ncar_\xff\xfe000_mesh\n")
    with pytest.raises(
        DatasetFileError, match=r"list.txt: is not UTF-8 text \(byte 0xff at"
    ) as exc:
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)
    _one_line(exc)


@pytest.mark.parametrize("side", [0, 1, 32])
def test_cars3d_pictures_smaller_than_64_pixels_are_refused(tmp_path, side):
    import scipy.io

    directory = cars3d_dir(tmp_path / "cars")
    elevations, azimuths, _ = CARS3D_SMALL
    im = np.zeros((side, side, 3, azimuths, elevations), np.uint8)
    scipy.io.savemat(directory / "car_000_mesh.mat", {"im": im})
    with pytest.raises(DatasetFileError, match=f"car_000_mesh.mat: holds {side}×{side}-pixel"):
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)


def test_cars3d_matlab_v73_file_gets_one_line(tmp_path):
    directory = cars3d_dir(tmp_path / "cars")
    path = directory / "car_000_mesh.mat"
    with h5py.File(path, "w", userblock_size=512) as f:  # MATLAB -v7.3 files are HDF5
        f.create_dataset("im", data=np.zeros((2, 3, 3, 128, 128), np.uint8))
    header = b"MATLAB 7.3 MAT-file".ljust(116) + bytes(8) + b"\x00\x02" + b"IM"
    with open(path, "r+b") as f:
        f.write(header)
    with pytest.raises(DatasetFileError, match="car_000_mesh.mat: is a MATLAB v7.3") as exc:
        get_dataset("cars3d", path=directory, factor_sizes=CARS3D_SMALL)
    _one_line(exc)


# -- blobs: widths that render blank or indistinguishable images -----------------------------------


@pytest.mark.parametrize(
    "width, message",
    [
        (0.1, r"blob width 0.1 px renders 648 of 1024 images blank"),
        (0.2, r"blob width 0.2 px renders 4 of 1024 images blank"),
        (1e6, r"blob width 1e\+06 px renders 1024 positions as only 1 different images"),
        (float("nan"), r"blob width must be > 0 pixels and finite; got nan"),
        (float("inf"), r"blob width must be > 0 pixels and finite; got inf"),
    ],
)
def test_blob_widths_that_render_degenerate_images_are_refused(width, message):
    with pytest.raises(ValueError, match=message):
        get_dataset("blobs", width=width)


@pytest.mark.parametrize("grid", [0, 1, 2.5, 65, 10**6, True])
def test_blob_grids_out_of_range_are_refused(grid):
    with pytest.raises(ValueError, match="blob grid must be an integer in"):
        get_dataset("blobs", grid=grid)


def test_training_with_a_blank_blob_width_is_refused(tmp_path, capsys):
    from betavae.train import main as train_main

    out = tmp_path / "run"
    argv = ["--data", "blobs", "--blob-width", "0.1", "--steps", "1", "--quiet", "--out", str(out)]
    assert train_main(argv) == 2
    assert "blob width 0.1 px renders 648 of 1024 images blank" in capsys.readouterr().err
    assert not out.exists()


# -- compute_from_codes: class ids, too few rows, empty codes, float counts ----------------------


def test_large_integer_class_ids_stay_distinct():
    from betavae.metrics import compute_from_codes

    rng = np.random.default_rng(0)
    ids = np.array([2**53, 2**53 + 1])[rng.integers(0, 2, 300)]  # equal as float64
    codes = np.stack([ids - 2**53 + 0.01 * rng.normal(size=300), rng.normal(size=300)], 1)
    result = compute_from_codes("mig", codes, ids[:, None])
    assert result["factor_entropy"][0] > 0.6 and result["mig"] > 0.9


@pytest.mark.parametrize("name", ["mig", "dci", "sap", "modularity_explicitness"])
@pytest.mark.parametrize("num_train", [1, 2, 3])
def test_a_handful_of_rows_is_refused(name, num_train):
    from betavae.metrics import compute_from_codes

    rng = np.random.default_rng(1)
    codes, factors = rng.normal(size=(60, 3)), rng.integers(0, 3, (60, 2))
    with pytest.raises(ValueError, match=r"num_train (must be in \[10, 60\]|1 \+|2 \+|3 \+)"):
        compute_from_codes(name, codes, factors, num_train=num_train)
    with pytest.raises(ValueError, match="codes have 5 rows; a metric needs at least 10"):
        compute_from_codes(name, codes[:5], factors[:5])


def test_a_factor_constant_in_the_rows_used_is_refused():
    from betavae.metrics import compute_from_codes

    factors = np.repeat([0, 1], 30)[:, None]  # sorted: the first 40 rows hold 30 zeros, 10 ones
    codes = np.random.default_rng(2).normal(size=(60, 2))
    with pytest.raises(ValueError, match="factor 'factor0' takes one value in the 20 first rows"):
        compute_from_codes("mig", codes, factors, num_train=20)
    with pytest.raises(ValueError, match="factor 'factor0' takes one value in the 20 test rows"):
        compute_from_codes("modularity_explicitness", codes[10:], factors[10:], num_train=30)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(num_train=20.0), r"num_train must be an integer; got 20.0 \(float\)"),
        (dict(num_train=2.5), r"num_train must be an integer; got 2.5"),
        (dict(num_bins=2.5), r"num_bins must be an integer; got 2.5"),
        (dict(num_bins=True), r"num_bins must be an integer; got True"),
        (dict(num_bins=1), r"num_bins must be >= 2; got 1"),
        (dict(num_train="30"), r"num_train must be an integer; got '30' \(str\)"),
    ],
)
def test_counts_that_are_not_integers_are_refused(params, message):
    from betavae.metrics import compute_from_codes

    codes, factors = np.zeros((60, 2)), np.tile([0, 1, 2], 20)[:, None]
    with pytest.raises(ValueError, match=message):
        compute_from_codes("mig", codes, factors, **params)


def test_codes_without_columns_are_refused():
    from betavae.metrics import compute_from_codes

    with pytest.raises(ValueError, match=r"codes must be an \(N, C\) array .*got shape \(60, 0\)"):
        compute_from_codes("mig", np.zeros((60, 0)), np.tile([0, 1], 30))
    with pytest.raises(ValueError, match=r"factors must be an \(N, F\) array .*\(60, 0\)"):
        compute_from_codes("mig", np.zeros((60, 2)), np.zeros((60, 0)))


def test_compute_refuses_float_counts():
    from betavae.metrics.common import check_counts

    with pytest.raises(ValueError, match="num_bins must be an integer; got 2.5"):
        check_counts(num_bins=2.5)


# -- reproduce: huge counts are refused before any plan is built -----------------------------------


@pytest.mark.parametrize("experiment", ["blobs", "dsprites", "capacity-map", "all"])
def test_reproduce_refuses_huge_seed_counts_before_planning(
    tmp_path, capsys, monkeypatch, experiment
):
    import dataclasses

    from betavae.reproduce import EXPERIMENTS, MAX_SEEDS
    from betavae.reproduce.__main__ import main

    for name, experiment_ in list(EXPERIMENTS.items()):
        unplannable = dataclasses.replace(
            experiment_, runs=lambda *a, **k: pytest.fail("planned first")
        )
        monkeypatch.setitem(EXPERIMENTS, name, unplannable)
    out = tmp_path / "report"
    argv = [experiment, "--seeds", str(10**12), "--budget", "smoke", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--seeds must be <= {MAX_SEEDS} (runs per model); got 1,000,000,000,000" in err
    assert not out.exists()


def test_reproduce_escape_refuses_huge_seed_counts(tmp_path, capsys):
    from betavae.reproduce.escape import main

    assert main(["--seeds", str(10**12), "--out", str(tmp_path / "out")]) == 2
    assert "--seeds must be <= 1000; got 1,000,000,000,000" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_reproduce_creates_nothing_when_only_names_an_unknown_run(tmp_path, capsys):
    from betavae.reproduce.__main__ import main

    out = tmp_path / "report"
    argv = ["blobs", "--only", "nope", "--budget", "smoke", "--out", str(out)]
    assert main(argv) == 2
    assert "--only: nope not in the plan" in capsys.readouterr().err
    assert not out.exists()
