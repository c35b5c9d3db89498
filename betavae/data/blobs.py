"""The blob dataset of the paper's Fig. 2: one Gaussian blob whose x and y take the 32×32 dSprites
position grid on a 64×64 canvas (centre at 0.25·W + 0.5·W·pos), grey levels 0..255."""

from __future__ import annotations

import numpy as np
import torch

from .base import GroundTruthData, ImageStore, grid_classes

SIZE = 64


def load_blobs(width: float = 3.0, grid: int = 32) -> GroundTruthData:
    """``grid``² images; ``width`` is the blob's standard deviation in pixels."""
    if width <= 0:
        raise ValueError(f"blob width must be > 0 pixels; got {width}")
    pos = np.linspace(0.0, 1.0, grid)
    centre = 0.25 * SIZE + 0.5 * SIZE * pos
    pixel = np.arange(SIZE) + 0.5
    gx = np.exp(-0.5 * ((pixel[None, :] - centre[:, None]) / width) ** 2)  # (x, col)
    gy = np.exp(-0.5 * ((pixel[None, :] - centre[:, None]) / width) ** 2)  # (y, row)
    images = gx[:, None, None, :] * gy[None, :, :, None]  # (x, y, row, col), peak 1
    raw = np.round(images * 255).astype(np.uint8).reshape(grid * grid, 1, SIZE, SIZE)
    classes = grid_classes([grid, grid])
    values = np.stack([pos[classes[:, 0]], pos[classes[:, 1]]], axis=1)
    store = ImageStore((grid * grid, 1, SIZE, SIZE), raw=torch.from_numpy(raw))
    return GroundTruthData(
        "blobs", store, ["posX", "posY"], [grid, grid], classes, values, full_grid=True
    )
