"""Shared test set-up. Without a CUDA device, Triton kernels run on CPU tensors through the Triton
interpreter, which must be switched on before any kernel module is imported."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402

from betavae.ops import backends  # noqa: E402


def cpu_tensor_backends() -> list[str]:
    """Native backends that take CPU tensors here (cpu; triton under the interpreter)."""
    names = []
    for name in ("cpu", "triton"):
        if backends.unavailable_reason(name) is None and backends.get(name).supports_device(
            torch.device("cpu")
        ):
            names.append(name)
    return names


def tiny_chairs(tmp_path, count: int = 6):
    """A 3D-Chairs-like HDF5 file imported from ``count`` random 80×80 renders."""
    import numpy as np
    from PIL import Image

    from betavae.data.chairs import import_chairs

    folder = tmp_path / "renders"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(count):
        Image.fromarray(rng.integers(0, 256, (80, 80), dtype=np.uint8)).save(folder / f"{k}.png")
    return import_chairs(folder, tmp_path / "chairs.h5", quiet=True)


def require_backend(name: str) -> None:
    reason = backends.unavailable_reason(name)
    if reason is not None:
        pytest.skip(f"backend {name} unavailable: {reason}")


# Tolerances per dtype for comparing a fused backend with the reference.
TOLERANCES = {
    torch.float64: dict(rtol=1e-10, atol=1e-10),
    torch.float32: dict(rtol=2e-5, atol=2e-5),
    torch.float16: dict(rtol=2e-3, atol=2e-3),
    torch.bfloat16: dict(rtol=2e-2, atol=2e-2),
}


def synthetic_grid(sizes):
    """A full factor grid whose 2×2 uint8 "images" hold their own index (big-endian), so an
    encoder can recover each image's factors exactly; factor values = classes."""
    import numpy as np

    from betavae.data import GroundTruthData, ImageStore
    from betavae.data.base import grid_classes

    classes = grid_classes(sizes)
    n = len(classes)
    index_bytes = np.arange(n, dtype=">u4").view(np.uint8).reshape(n, 1, 2, 2)
    store = ImageStore((n, 1, 2, 2), raw=torch.from_numpy(index_bytes.copy()))
    names = [f"f{k}" for k in range(len(sizes))]
    return GroundTruthData("synthetic", store, names, sizes, classes, classes * 1.0, True)


def synthetic_index(images):
    """The indices that synthetic_grid's images hold."""
    import numpy as np

    return images.reshape(len(images), 4).numpy().astype(np.int64) @ np.array(
        [2**24, 2**16, 2**8, 1]
    )
