"""The ground-truth dataset interface of every dataset: images plus the factors that made them.

Images are uint8 ``N×C×H×W``; binary datasets (dSprites) keep them bit-packed in memory (1 bit per
pixel, values 0/1) and unpack rows on request, so all 737,280 dSprites images take ~360 MB.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


class ImageStore:
    """Indexable uint8 images ``(N, C, H, W)``: packed bits (binary) or raw bytes, plus an optional
    per-image RGB colour that multiplies a binary mask (coloured dSprites)."""

    def __init__(
        self,
        shape: tuple[int, int, int, int],
        packed: torch.Tensor | None = None,
        raw: torch.Tensor | None = None,
        colors: torch.Tensor | None = None,
    ) -> None:
        if (packed is None) == (raw is None):
            raise ValueError("ImageStore needs exactly one of packed or raw")
        self.shape = tuple(int(s) for s in shape)
        self.packed = packed  # (N, ceil(C*H*W/8)) uint8, numpy bit order "big"
        self.raw = raw  # (N, C, H, W) uint8
        self.colors = colors  # (N, 3) float32 in [0, 1], applied to a 1-channel mask
        self.max_value = 255 if (raw is not None and raw.max() > 1) or colors is not None else 1

    @property
    def binary(self) -> bool:
        """Pixels are exactly 0/1 (uint8 targets can be fed to bernoulli_nll as they are)."""
        return self.max_value == 1

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> torch.Tensor:
        idx = torch.as_tensor(index, dtype=torch.int64)
        scalar = idx.dim() == 0
        idx = idx.reshape(-1)
        out = unpack_images(self, idx)
        return out[0] if scalar else out


def unpack_images(store: ImageStore, idx: torch.Tensor) -> torch.Tensor:
    """uint8 images for index tensor ``idx`` (on the store's device), ``(len(idx), C, H, W)``."""
    _, c, h, w = store.shape
    if store.raw is not None:
        return store.raw[idx]
    rows = store.packed[idx]
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=rows.device)
    bits = (rows.unsqueeze(-1) >> shifts) & 1
    masks = bits.reshape(len(idx), -1)[:, : h * w * (1 if store.colors is not None else c)]
    if store.colors is None:
        return masks.reshape(len(idx), c, h, w)
    color = (store.colors[idx] * 255.0).round().to(torch.uint8)  # (B, 3)
    return masks.reshape(len(idx), 1, h, w) * color[:, :, None, None]


class GroundTruthData:
    """Images with the ground-truth factors that generated them.

    Attributes:
        name: short name ("dsprites", "color-dsprites", "blobs", or a file name).
        images: :class:`ImageStore`; ``images[idx]`` gives uint8 ``(B, C, H, W)``.
        factor_names, factor_sizes: the K factors and their number of classes.
        factor_classes: ``(N, K)`` int64 class of each factor per image (numpy).
        factor_values: ``(N, K)`` float64 value of each factor per image (numpy).
        extra_values: further per-image values that are not metric factors (e.g. ``color``).
    """

    def __init__(
        self,
        name: str,
        images: ImageStore,
        factor_names: Sequence[str],
        factor_sizes: Sequence[int],
        factor_classes: np.ndarray,
        factor_values: np.ndarray,
        full_grid: bool,
        extra_values: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.name = name
        self.images = images
        self.factor_names = list(factor_names)
        self.factor_sizes = [int(s) for s in factor_sizes]
        self.factor_classes = factor_classes
        self.factor_values = factor_values
        self.full_grid = full_grid  # every factor combination exactly once, in mixed-radix order
        self.extra_values = extra_values or {}
        if not full_grid and len(self.factor_sizes):
            self._lookup = {tuple(row): i for i, row in enumerate(factor_classes.tolist())}

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        factors = ", ".join(f"{n}={s}" for n, s in zip(self.factor_names, self.factor_sizes))
        shape = self.images.shape[1:]
        return f"GroundTruthData({self.name!r}, n={len(self)}, shape={shape}, {factors})"

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> tuple[int, int]:
        return self.images.shape[2], self.images.shape[3]

    @property
    def has_factors(self) -> bool:
        return len(self.factor_sizes) > 0

    def _require_factors(self) -> None:
        if not self.has_factors:
            raise ValueError(f"dataset {self.name!r} has no ground-truth factors")

    def index_of(self, classes) -> np.ndarray:
        """Image indices of factor-class rows ``(n, K)``."""
        self._require_factors()
        classes = np.asarray(classes, dtype=np.int64)
        if classes.ndim != 2 or classes.shape[1] != len(self.factor_sizes):
            raise ValueError(
                f"classes must have shape (n, {len(self.factor_sizes)}); got {classes.shape}"
            )
        sizes = np.asarray(self.factor_sizes)
        if (classes < 0).any() or (classes >= sizes).any():
            raise ValueError(f"factor classes out of range for sizes {self.factor_sizes}")
        if self.full_grid:
            strides = np.cumprod([1, *sizes[::-1][:-1]])[::-1]
            return classes @ strides
        try:
            return np.array([self._lookup[tuple(row)] for row in classes.tolist()], dtype=np.int64)
        except KeyError as missing:
            raise ValueError(f"no image has factor classes {missing.args[0]}") from None

    def sample_factors(self, n: int, generator=None) -> np.ndarray:
        """``n`` factor-class rows drawn uniformly (independent factors). ``generator``: a numpy
        Generator, a torch.Generator, or an int seed."""
        self._require_factors()
        draw = _integer_sampler(generator)
        if self.full_grid:
            return np.stack([draw(s, n) for s in self.factor_sizes], axis=1)
        return self.factor_classes[draw(len(self), n)]

    def images_for(self, classes) -> torch.Tensor:
        """uint8 images ``(n, C, H, W)`` of factor-class rows ``(n, K)``."""
        return self.images[torch.from_numpy(self.index_of(classes))]


def _integer_sampler(generator):
    """draw(high, n) -> n uniform integers in [0, high) from a numpy/torch generator or a seed."""
    if isinstance(generator, torch.Generator):
        return lambda high, n: torch.randint(high, (n,), generator=generator).numpy()
    rng = (
        generator
        if isinstance(generator, np.random.Generator)
        else np.random.default_rng(generator)
    )
    return lambda high, n: rng.integers(0, high, size=n)


def grid_classes(sizes: Sequence[int]) -> np.ndarray:
    """Every combination of classes in mixed-radix order (last factor fastest), ``(prod, K)``."""
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1).astype(np.int64)
