"""dSprites as a :class:`GroundTruthData`: generated procedurally (dsprites_render.py), cached as
HDF5 with a checksum, regenerated with a progress bar when the cache is missing or corrupt."""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from . import cache
from .base import GroundTruthData, ImageStore, grid_classes
from .dsprites_render import (
    FACTOR_NAMES,
    FACTOR_SIZES,
    NUM_IMAGES,
    SIZE,
    factor_values_table,
    render_all,
)

RENDER_VERSION = 2  # bump when the rendering changes; stale caches are regenerated
# 1: sprites sized to the canvas (mean pixel 0.0620); 2: sized to the official data (0.04296)
CACHE_NAME = f"dsprites-procedural-v{RENDER_VERSION}.h5"


def packed_dsprites(quiet: bool = False) -> np.ndarray:
    """The bit-packed images ``(737280, 512)``, from the cache or freshly generated."""
    path = cache.cache_dir() / CACHE_NAME
    packed = cache.read_checked(path, "packed", RENDER_VERSION)
    if packed is not None:
        return packed
    with tqdm(total=NUM_IMAGES, desc="generating dSprites", unit="img", disable=quiet) as bar:
        packed = render_all(progress=bar.update)
    try:
        cache.write_atomic(path, "packed", packed, RENDER_VERSION)
    except OSError as exc:  # an unwritable cache only costs regeneration next time
        print(f"warning: could not cache dSprites at {path}: {exc}")
    return packed


def dsprites_factors() -> tuple[np.ndarray, np.ndarray]:
    """(classes, values) ``(737280, 6)`` in the official order."""
    classes = grid_classes(FACTOR_SIZES)
    table = factor_values_table()
    values = np.stack([table[k][classes[:, k]] for k in range(6)], axis=1)
    return classes, values


def load_dsprites(quiet: bool = False) -> GroundTruthData:
    packed = torch.from_numpy(packed_dsprites(quiet))
    classes, values = dsprites_factors()
    store = ImageStore((NUM_IMAGES, 1, SIZE, SIZE), packed=packed)
    return GroundTruthData(
        "dsprites", store, FACTOR_NAMES, FACTOR_SIZES, classes, values, full_grid=True
    )


def load_color_dsprites(
    seed: int = 0, color_range: tuple[float, float] = (0.5, 1.0), quiet: bool = False
) -> GroundTruthData:
    """dSprites with one RGB colour per image (each channel uniform in ``color_range``,
    deterministic from ``seed``); the colour is kept in ``extra_values["color"]``, not a factor."""
    low, high = color_range
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"color_range must satisfy 0 <= low <= high <= 1; got {color_range}")
    base = load_dsprites(quiet)
    rng = np.random.default_rng(seed)
    colors = rng.uniform(low, high, size=(NUM_IMAGES, 3)).astype(np.float32)
    store = ImageStore(
        (NUM_IMAGES, 3, SIZE, SIZE), packed=base.images.packed, colors=torch.from_numpy(colors)
    )
    return _variant(base, "color-dsprites", store, extra_values={"color": colors})


def load_noisy_dsprites(seed: int = 0, quiet: bool = False) -> GroundTruthData:
    """dSprites in RGB with the background replaced by uniform noise and the sprite white
    (disentanglement_lib's noisy dSprites: ``min(mask + U[0, 1]^3, 1)`` per pixel). The noise is a
    fixed function of (``seed``, image index, pixel) (``base.noise_bytes``), so an index always
    shows the same image and nothing beyond dSprites' bits is stored or cached; disentanglement_lib
    draws fresh noise each time an image is sampled instead."""
    base = load_dsprites(quiet)
    store = ImageStore((NUM_IMAGES, 3, SIZE, SIZE), packed=base.images.packed, noise_seed=seed)
    return _variant(base, "noisy-dsprites", store)


def _variant(base: GroundTruthData, name: str, store: ImageStore, **extra) -> GroundTruthData:
    """A dSprites variant: other pixels (``store``), dSprites' factors and grid."""
    return GroundTruthData(
        name,
        store,
        base.factor_names,
        base.factor_sizes,
        base.factor_classes,
        base.factor_values,
        full_grid=True,
        **extra,
    )
