"""Procedural dSprites: renders all 737,280 64×64 binary images of Matthey et al.'s dSprites in the
official factor order (color, shape, scale, orientation, posX, posY; sizes 1, 3, 6, 40, 32, 32).

The original rendering code was never published. This clone places the sprite centre at
``0.25·W + 0.5·W·pos`` (centres span the middle half of the canvas, as the official centroids do),
scales each shape's outline linearly with ``scale`` (so its area grows as scale²), and binarises by
point-sampling each pixel at its centre (inside the outline → 1), as the official images are
binary without anti-aliasing.

Size, calibrated to the official data rather than to the canvas: the official images' mean pixel
value is 0.0425 (≈ 174 of 4,096 pixels). A scale-1 sprite's circumscribed radius of
``MAX_RADIUS_PX`` = 12.49 px gives a mean pixel value of 0.04296 (+1.1 %) over all 737,280 images
(checked in tests/test_data.py), with sprite areas (10/50/90 % quantiles over the dataset) of
78/162/305 px against 73/142/288 px measured on 100 official images, and a largest bounding box
of 25 px against 27. Mean area by scale class: 74, 107, 146, 190, 241, 297 px; by shape:
square 181, ellipse 145, heart 202 px. 12.49 rather than the 12.43 that meets 0.0425 exactly:
there, two adjacent scales of an upright square cover the same pixel count at some positions
(the grid quantises the side), which the official scales never do. The shapes' relative sizes
are our own choice (official per-shape areas were not available to check them against).
Geometry is computed in float64 with exact IEEE operations only, so the bytes are identical on
every machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

FACTOR_NAMES = ["color", "shape", "scale", "orientation", "posX", "posY"]
FACTOR_SIZES = [1, 3, 6, 40, 32, 32]
SHAPES = ["square", "ellipse", "heart"]
SIZE = 64
PATCH = 32  # every sprite fits a 32x32 patch around its centre
MAX_RADIUS_PX = 12.49  # circumscribed radius of a scale-1 sprite (calibrated: see the docstring)
NUM_IMAGES = int(np.prod(FACTOR_SIZES))


def factor_values_table() -> list[np.ndarray]:
    """The value of each class of each factor (as in the official file's ``latents_values``)."""
    return [
        np.ones(1),
        np.arange(1, 4, dtype=np.float64),  # shape ids 1..3 as in the official file
        np.linspace(0.5, 1.0, 6),
        np.linspace(0.0, 2 * math.pi, 40),  # both ends included: 0 and 39 are the same pose
        np.linspace(0.0, 1.0, 32),
        np.linspace(0.0, 1.0, 32),
    ]


def _inside(shape: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Point-in-shape for sprite-frame coordinates scaled so the circumscribed radius is 1."""
    if shape == 0:  # square, half-side 0.7 (corner radius 0.99)
        return (u.abs() <= 0.7) & (v.abs() <= 0.7)
    if shape == 1:  # ellipse with semi-axes 1 and 0.5
        return u * u + 0.25**-1 * v * v <= 1.0
    # heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, centred on its centroid and scaled to radius 1
    x = u * 1.2935
    y = -v * 1.2935 + 0.2935
    r = x * x + y * y - 1.0
    return r * r * r - x * x * y * y * y <= 0.0


def _centres() -> tuple[torch.Tensor, torch.Tensor]:
    """Sprite centres (px) and the patch origins (first pixel) for the 32 positions of one axis."""
    pos = torch.linspace(0.0, 1.0, 32, dtype=torch.float64)
    centre = 0.25 * SIZE + 0.5 * SIZE * pos
    origin = torch.floor(centre).to(torch.int64) - PATCH // 2
    return centre, origin


def render_block(shape: int, scale: float, orientation: int) -> torch.Tensor:
    """The 1024 images (posX-major, posY-minor) of one (shape, scale, orientation):
    bool ``(1024, 64, 64)``."""
    angle = 2 * math.pi * (orientation % 39) / 39  # index 39 is 2*pi: render it as exactly 0
    cos, sin = math.cos(angle), math.sin(angle)
    centre, origin = _centres()
    offsets = torch.arange(PATCH, dtype=torch.float64) + 0.5
    radius = MAX_RADIUS_PX * scale
    # pixel-centre coordinates relative to the sprite centre, in sprite radii
    dx = (origin[:, None].to(torch.float64) + offsets[None, :] - centre[:, None]) / radius  # (X, j)
    dy = (origin[:, None].to(torch.float64) + offsets[None, :] - centre[:, None]) / radius  # (Y, i)
    dxb = dx[:, None, None, :]  # (X, 1, 1, j)
    dyb = dy[None, :, :, None]  # (1, Y, i, 1)
    u = cos * dxb + sin * dyb
    v = cos * dyb - sin * dxb
    patch = _inside(shape, u, v)  # (X, Y, i, j)
    canvas = torch.zeros(32, 32, SIZE, SIZE, dtype=torch.bool)
    rows = origin[None, :, None, None] + torch.arange(PATCH)[None, None, :, None]
    cols = origin[:, None, None, None] + torch.arange(PATCH)[None, None, None, :]
    xs = torch.arange(32)[:, None, None, None]
    ys = torch.arange(32)[None, :, None, None]
    canvas[xs, ys, rows, cols] = patch
    return canvas.reshape(1024, SIZE, SIZE)


def render_all(progress: Callable[[int], None] | None = None) -> np.ndarray:
    """All dSprites images, bit-packed: uint8 ``(737280, 512)`` (numpy bit order "big")."""
    packed = np.empty((NUM_IMAGES, SIZE * SIZE // 8), dtype=np.uint8)
    scales = factor_values_table()[2]
    block = 0
    for shape in range(3):
        for scale in scales:
            for orientation in range(40):
                images = render_block(shape, float(scale), orientation).reshape(1024, -1).numpy()
                packed[block * 1024 : (block + 1) * 1024] = np.packbits(images, axis=1)
                block += 1
                if progress is not None:
                    progress(1024)
    return packed
