"""Ground-truth datasets, all as :class:`GroundTruthData`, plus the on-device
:class:`BatchSampler`: procedural dSprites and its coloured and noisy variants, blobs; the
benchmark datasets from their official files (Shapes3D, MPI3D, SmallNORB, Cars3D); dSprites-layout
npz/HDF5 files and 3D Chairs imports.

    data = get_dataset("dsprites")          # generated once (~10 s), then cached as HDF5
    sampler = BatchSampler(data, device="cuda", seed=0)
    images, idx = sampler.sample(64)        # uint8 (64, 1, 64, 64), values 0/1
"""

from __future__ import annotations

import os
from pathlib import Path

from .any_file import load_dsprites_official, load_file
from .base import GroundTruthData, ImageStore
from .blobs import load_blobs
from .cars3d import load_cars3d
from .checks import DatasetFileError
from .dsprites import load_color_dsprites, load_dsprites, load_noisy_dsprites
from .files import export
from .mpi3d import load_mpi3d
from .sampler import BatchSampler
from .shapes3d import load_shapes3d
from .smallnorb import load_smallnorb

GENERATED = {  # made here, cached where that pays
    "dsprites": load_dsprites,
    "color-dsprites": load_color_dsprites,
    "noisy-dsprites": load_noisy_dsprites,
    "blobs": load_blobs,
}
OFFICIAL_FILES = {  # read from the official release, given with path=
    "shapes3d": load_shapes3d,  # 3dshapes.h5
    "mpi3d": load_mpi3d,  # mpi3d_toy.npz, mpi3d_realistic.npz or mpi3d_real.npz
    "mpi3d-toy": load_mpi3d,  # the same, each release by name (found where downloaded)
    "mpi3d-realistic": load_mpi3d,
    "mpi3d-real": load_mpi3d,
    "smallnorb": load_smallnorb,  # the directory of the six smallnorb-*.mat files
    "cars3d": load_cars3d,  # the directory of the cars .mat files and list.txt
    "dsprites-official": load_dsprites_official,  # DeepMind's dsprites_ndarray_*.npz
}
DATASET_NAMES = (*GENERATED, *OFFICIAL_FILES)


def get_dataset(
    name_or_path: str | os.PathLike, path: str | os.PathLike | None = None, **options
) -> GroundTruthData:
    """A dataset by name, or a dSprites-layout .npz/.h5 file (or chairs import) by its path.

    Generated: ``dsprites``, ``color-dsprites`` (options ``seed``, ``color_range``),
    ``noisy-dsprites`` (option ``seed``), ``blobs`` (``width``, ``grid``); ``quiet`` hides the
    dSprites progress bar. From official files, with ``path``: ``shapes3d`` (3dshapes.h5),
    ``mpi3d`` (an .npz of either release), ``smallnorb`` and ``cars3d`` (their directories);
    option ``factor_sizes`` replaces the official grid, for small generated files in tests only.
    """
    name = str(name_or_path)
    if name in OFFICIAL_FILES:
        if path is None or str(path) == "":
            raise ValueError(
                f"dataset {name!r} is read from its official files: give their path "
                f"(get_dataset({name!r}, path=...), or --data {name} --data-path PATH)"
            )
        return OFFICIAL_FILES[name](path, **options)
    if path is not None and str(path) != "":
        raise ValueError(f"dataset {name!r} takes no path (only {sorted(OFFICIAL_FILES)} do)")
    if name in GENERATED:
        return GENERATED[name](**options)
    if Path(name).suffix.lower() in (".npz", ".h5", ".hdf5") or Path(name).exists():
        if options:
            raise TypeError(f"options {sorted(options)} do not apply to a dataset file")
        return load_file(name)
    raise ValueError(
        f"unknown dataset {name!r}: expected one of {DATASET_NAMES} or a path to an .npz/.h5 file"
    )


__all__ = [
    "BatchSampler",
    "DATASET_NAMES",
    "DatasetFileError",
    "GENERATED",
    "OFFICIAL_FILES",
    "GroundTruthData",
    "ImageStore",
    "export",
    "get_dataset",
]
