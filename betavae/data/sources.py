"""Where each official dataset file comes from: its URL, its size and checksum as other loaders
publish them, and the path under the data directory that the loader reads once it is unpacked.

Checksums are never computed here: each one is copied from the public source named beside it.
A file without a published checksum is checked by size (when a size is published) and otherwise
only against the length the server announces; ``python -m betavae.data download`` says so."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: ``name`` is its name in the data directory and under
    ``$BETAVAE_DATA_URL``; ``digest`` is ``"md5:HEX"`` or ``"sha256:HEX"`` or None."""

    name: str
    url: str
    size: int | None = None
    digest: str | None = None


@dataclass(frozen=True)
class Source:
    """A downloadable dataset: its files (stored under ``subdir``), how they are unpacked
    (``none``, ``gunzip``, ``untar`` or ``chairs``) and the path the loader reads."""

    files: tuple[RemoteFile, ...]
    target: str  # relative to the data directory
    unpack: str = "none"
    subdir: str = ""  # where the downloaded files go, relative to the data directory
    data: str = ""  # the `--data` name that trains on it


# dSprites: MD5 of the npz as published by BoevaLab/latte (latte/dataset/dsprites.py) and other
# loaders that agree on it; no published size.
_DSPRITES = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
# Shapes3D: size and SHA-256 from tensorflow/datasets,
# tensorflow_datasets/url_checksums/shapes3d.txt.
_SHAPES3D_SHA256 = "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785"
# MPI3D: MD5 of each whole file ("full" hash) from nmichlo/disent,
# disent/dataset/data/_groundtruth__mpi3d.py; no published sizes.
_MPI3D = "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
_MPI3D_MD5 = {
    "toy": "55889cb7c7dfc655d6e0277beee88868",
    "realistic": "59a6225b88b635365f70c91b3e52f70f",
    "real": "0f33f609918fb5c97996692f91129802",
}
# SmallNORB: sizes and SHA-256 of the six .mat.gz files from tensorflow/datasets,
# tensorflow_datasets/url_checksums/smallnorb.txt.
_NORB = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
_NORB_FILES = {
    "5x46789x9x18x6x2x96x96-training-dat": (
        131896188,
        "5ffd6272a07d32695ee1082a26a41a93a37aab8c28da047f8c34ed348d214873",
    ),
    "5x46789x9x18x6x2x96x96-training-cat": (
        348,
        "2784e542c1922060691090952b6cd6278879a216c90f81476f0f00256d42cdaa",
    ),
    "5x46789x9x18x6x2x96x96-training-info": (
        71052,
        "de7eb932ebe7a4ee16217fead60660d0eb3d23632c2f4d1c51f88c501c17bf32",
    ),
    "5x01235x9x18x6x2x96x96-testing-dat": (
        130799817,
        "cf7104eed3e51174d2f65b66d1e5878b9da233b886f161b0d88f4510ba2c7474",
    ),
    "5x01235x9x18x6x2x96x96-testing-cat": (
        347,
        "ecaf6d5bb8c3bc5eab9cf0258f6d2198dd474e016e374836fc097f2e5ff509ff",
    ),
    "5x01235x9x18x6x2x96x96-testing-info": (
        10428,
        "16adf314226327ee006d1a44db8cfef52773c06c829951d5653a9f6f310248a2",
    ),
}
# Cars3D: MD5 of the archive ("full" hash) from nmichlo/disent,
# disent/dataset/data/_groundtruth__cars3d.py (BoevaLab/latte publishes the same); no size.
_CARS3D_MD5 = "4e866a7919c1beedf53964e6f7a23686"
# 3D Chairs (Aubry et al. 2014): no loader we know of publishes a size or checksum; the archive
# is only checked against the length the server announces.

SOURCES: dict[str, Source] = {
    "dsprites": Source(
        (
            RemoteFile(
                _DSPRITES,
                f"https://github.com/deepmind/dsprites-dataset/raw/master/{_DSPRITES}",
                digest="md5:7da33b31b13a06f4b04a70402ce90c2e",
            ),
        ),
        target=_DSPRITES,
        data="dsprites-official",
    ),
    "shapes3d": Source(
        (
            RemoteFile(
                "3dshapes.h5",
                "https://storage.googleapis.com/3d-shapes/3dshapes.h5",
                size=267573662,
                digest=f"sha256:{_SHAPES3D_SHA256}",
            ),
        ),
        target="3dshapes.h5",
        data="shapes3d",
    ),
    **{
        f"mpi3d-{kind}": Source(
            (RemoteFile(f"mpi3d_{kind}.npz", f"{_MPI3D}mpi3d_{kind}.npz", digest=f"md5:{md5}"),),
            target=f"mpi3d_{kind}.npz",
            data=f"mpi3d-{kind}",
        )
        for kind, md5 in _MPI3D_MD5.items()
    },
    "smallnorb": Source(
        tuple(
            RemoteFile(
                f"smallnorb-{stem}.mat.gz",
                f"{_NORB}smallnorb-{stem}.mat.gz",
                size=size,
                digest=f"sha256:{sha256}",
            )
            for stem, (size, sha256) in _NORB_FILES.items()
        ),
        target="smallnorb",
        unpack="gunzip",
        subdir="smallnorb",
        data="smallnorb",
    ),
    "cars3d": Source(
        (
            RemoteFile(
                "nips2015-analogy-data.tar.gz",
                "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
                digest=f"md5:{_CARS3D_MD5}",
            ),
        ),
        target="cars3d/data/cars",  # the archive holds data/cars/{list.txt, car_*_mesh.mat}
        unpack="untar",
        data="cars3d",
    ),
    "chairs": Source(
        (
            RemoteFile(
                "rendered_chairs.tar",
                "https://www.di.ens.fr/willow/research/seeing3Dchairs/data/rendered_chairs.tar",
            ),
        ),
        target="chairs.h5",
        unpack="chairs",
        data="chairs",
    ),
}
