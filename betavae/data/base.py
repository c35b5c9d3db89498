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
    per-image RGB colour that multiplies a binary mask (coloured dSprites) or a noise seed that
    fills a binary mask's background with uniform noise (noisy dSprites).

    ``raw`` may be stored channels-last, ``(N, H, W, C)`` (``channels_last=True``), as the official
    files of Shapes3D and MPI3D hold it: a batch is permuted on access, so a file that is
    memory-mapped or read once is never copied a second time. ``max_value`` (1 for 0/1 pixels, else
    255) is taken from the data unless given, which avoids reading a memory-mapped file whole.
    """

    def __init__(
        self,
        shape: tuple[int, int, int, int],
        packed: torch.Tensor | None = None,
        raw: torch.Tensor | None = None,
        colors: torch.Tensor | None = None,
        *,
        channels_last: bool = False,
        noise_seed: int | None = None,
        max_value: int | None = None,
        mapped_file: str | None = None,
    ) -> None:
        if (packed is None) == (raw is None):
            raise ValueError("ImageStore needs exactly one of packed or raw")
        if (colors is not None or noise_seed is not None) and packed is None:
            raise ValueError("colors and noise_seed apply to packed binary masks only")
        self.shape = tuple(int(s) for s in shape)
        self.packed = packed  # (N, ceil(C*H*W/8)) uint8, numpy bit order "big"
        self.raw = raw  # (N, C, H, W) uint8, or (N, H, W, C) when channels_last
        self.colors = colors  # (N, 3) float32 in [0, 1], applied to a 1-channel mask
        self.channels_last = bool(channels_last)
        self.noise_seed = noise_seed  # background noise of a 1-channel mask (see noise_bytes)
        self.mapped_file = mapped_file  # the file ``raw`` is memory-mapped from, if it is
        if max_value is None:
            shaded = colors is not None or noise_seed is not None
            max_value = 255 if (raw is not None and raw.max() > 1) or shaded else 1
        self.max_value = int(max_value)

    @classmethod
    def channels_last_bytes(cls, pixels: np.ndarray, source) -> ImageStore:
        """A store of RGB/grey bytes ``(N, H, W, C)`` as an official file holds them (memory-mapped
        or read once), never copied."""
        n, h, w, c = pixels.shape
        mapped = str(source) if isinstance(pixels, np.memmap) else None
        return cls(
            (n, c, h, w),
            raw=torch.from_numpy(pixels),
            channels_last=True,
            max_value=255,
            mapped_file=mapped,
        )

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

    def to(self, device: torch.device | str) -> ImageStore:
        """The same images with their tensors on ``device`` (no copy where they already are)."""

        def move(t):
            return None if t is None else t.to(device)

        return ImageStore(
            self.shape,
            packed=move(self.packed),
            raw=move(self.raw),
            colors=move(self.colors),
            channels_last=self.channels_last,
            noise_seed=self.noise_seed,
            max_value=self.max_value,
            mapped_file=self.mapped_file if torch.device(device).type == "cpu" else None,
        )


_MASK32 = 0xFFFFFFFF


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer mixer on int64 tensors holding values in [0, 2^32): xor-shifts and two odd
    multipliers below 2^31, so every product fits in int64 and the result is the same on every
    device (integer arithmetic only)."""
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & _MASK32
    return x ^ (x >> 15)


def noise_bytes(seed: int, idx: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Uniform noise bytes ``(len(idx), C, H, W)``, a fixed function of (seed, image index,
    pixel): an image shows the same noise every time it is drawn, on any device."""
    c, h, w = shape
    key = _hash32((idx.to(torch.int64) * 0x9E3779B1 + int(seed) * 0x85EBCA77) & _MASK32)
    pixel = torch.arange(c * h * w, dtype=torch.int64, device=idx.device)
    bits = _hash32(_hash32(key[:, None] ^ pixel[None, :]) ^ key[:, None])
    return (bits >> 24).to(torch.uint8).reshape(len(idx), c, h, w)


def unpack_images(store: ImageStore, idx: torch.Tensor) -> torch.Tensor:
    """uint8 images for index tensor ``idx`` (on the store's device), ``(len(idx), C, H, W)``."""
    _, c, h, w = store.shape
    if store.raw is not None:
        images = store.raw[idx]
        return images.permute(0, 3, 1, 2) if store.channels_last else images
    rows = store.packed[idx]
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=rows.device)
    bits = (rows.unsqueeze(-1) >> shifts) & 1
    shaded = store.colors is not None or store.noise_seed is not None
    masks = bits.reshape(len(idx), -1)[:, : h * w * (1 if shaded else c)]
    if not shaded:
        return masks.reshape(len(idx), c, h, w)
    masks = masks.reshape(len(idx), 1, h, w)
    if store.colors is not None:
        color = (store.colors[idx] * 255.0).round().to(torch.uint8)  # (B, 3)
        return masks * color[:, :, None, None]
    # the sprite white in every channel, the background uniform noise: min(mask + U, 1)
    noise = noise_bytes(store.noise_seed, idx, (c, h, w))
    return torch.where(masks.bool(), torch.full_like(noise, 255), noise)


class GroundTruthData:
    """Images with the ground-truth factors that generated them.

    Attributes:
        name: short name ("dsprites", "color-dsprites", "blobs", or a file name).
        images: :class:`ImageStore`; ``images[idx]`` gives uint8 ``(B, C, H, W)``.
        factor_names, factor_sizes: the K factors and their number of classes.
        factor_classes: ``(N, K)`` int64 class of each factor per image (numpy).
        factor_values: ``(N, K)`` float64 value of each factor per image (numpy).
        extra_values: further per-image values that are not metric factors (e.g. ``color``).
        nuisance: names of factors that vary in the data and are sampled when drawing images, but
            are not scored by any metric (SmallNORB's object instance, as disentanglement_lib).
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
        nuisance: Sequence[str] = (),
    ) -> None:
        unknown = sorted(set(nuisance) - set(factor_names))
        if unknown:
            raise ValueError(f"nuisance factors {unknown} are not among {list(factor_names)}")
        self.name = name
        self.images = images
        self.factor_names = list(factor_names)
        self.factor_sizes = [int(s) for s in factor_sizes]
        self.factor_classes = factor_classes
        self.factor_values = factor_values
        self.full_grid = full_grid  # every factor combination exactly once, in mixed-radix order
        self.extra_values = extra_values or {}
        self.nuisance = tuple(nuisance)
        if not full_grid and len(self.factor_sizes):
            self._lookup = {tuple(row): i for i, row in enumerate(factor_classes.tolist())}

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        factors = ", ".join(
            f"{n}={s}" + (" (nuisance)" if n in self.nuisance else "")
            for n, s in zip(self.factor_names, self.factor_sizes)
        )
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

    @property
    def metric_factors(self) -> list[int]:
        """Indices of the factors a metric scores: more than one class and not a nuisance."""
        return [
            k
            for k, (name, size) in enumerate(zip(self.factor_names, self.factor_sizes))
            if size > 1 and name not in self.nuisance
        ]

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
