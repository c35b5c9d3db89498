"""The blob dataset of the paper's Fig. 2: one Gaussian blob whose x and y take the 32×32 dSprites
position grid on a 64×64 canvas (centre at 0.25·W + 0.5·W·pos), grey levels 0..255."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .base import GroundTruthData, ImageStore, grid_classes

SIZE = 64
MAX_GRID = 64  # positions per axis; 64² images of 64×64 bytes


def _check_rendered(raw: np.ndarray, width: float) -> None:
    """Refuse a width whose images are blank (a blob narrower than a pixel falls between pixel
    centres) or not one per position (a blob so wide that positions look alike)."""
    blank = int((raw.reshape(len(raw), -1).max(axis=1) == 0).sum())
    if blank:
        raise ValueError(
            f"blob width {width:g} px renders {blank} of {len(raw)} images blank; use a wider blob"
        )
    distinct = len(np.unique(raw.reshape(len(raw), -1), axis=0))
    if distinct < len(raw):
        raise ValueError(
            f"blob width {width:g} px renders {len(raw)} positions as only {distinct} different "
            "images; use a width that keeps the blob inside the 64×64 canvas"
        )


def load_blobs(width: float = 3.0, grid: int = 32) -> GroundTruthData:
    """``grid``² images; ``width`` is the blob's standard deviation in pixels. Widths that
    render a blank image, or two positions as the same image, are refused."""
    if not isinstance(width, numbers.Real) or not math.isfinite(width) or width <= 0:
        raise ValueError(f"blob width must be > 0 pixels and finite; got {width!r}")
    if (
        not isinstance(grid, numbers.Integral)
        or isinstance(grid, bool)
        or not 2 <= grid <= MAX_GRID
    ):
        raise ValueError(f"blob grid must be an integer in [2, {MAX_GRID}]; got {grid!r}")
    width, grid = float(width), int(grid)
    pos = np.linspace(0.0, 1.0, grid)
    centre = 0.25 * SIZE + 0.5 * SIZE * pos
    pixel = np.arange(SIZE) + 0.5
    gx = np.exp(-0.5 * ((pixel[None, :] - centre[:, None]) / width) ** 2)  # (x, col)
    gy = np.exp(-0.5 * ((pixel[None, :] - centre[:, None]) / width) ** 2)  # (y, row)
    images = gx[:, None, None, :] * gy[None, :, :, None]  # (x, y, row, col), peak 1
    raw = np.round(images * 255).astype(np.uint8).reshape(grid * grid, 1, SIZE, SIZE)
    _check_rendered(raw, width)
    classes = grid_classes([grid, grid])
    values = np.stack([pos[classes[:, 0]], pos[classes[:, 1]]], axis=1)
    store = ImageStore((grid * grid, 1, SIZE, SIZE), raw=torch.from_numpy(raw))
    return GroundTruthData(
        "blobs", store, ["posX", "posY"], [grid, grid], classes, values, full_grid=True
    )
