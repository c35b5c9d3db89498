"""Batches for training and evaluation, drawn on the training device: the dataset's (packed) images
live on the device once, a batch is one index tensor and a few tensor ops (no per-item Python)."""

from __future__ import annotations

import torch

from .base import GroundTruthData, unpack_images


class BatchSampler:
    """Random or indexed batches of a :class:`GroundTruthData` on ``device``.

    ``batch(idx)`` returns images for an index tensor; ``sample(n)`` draws ``n`` uniform indices
    from the sampler's seeded generator (deterministic given the seed and the number of calls).
    Images come as uint8 (``dtype=torch.uint8``: 0/1 for binary data, else 0..255) or as float in
    [0, 1] (any floating dtype).
    """

    def __init__(self, data: GroundTruthData, device: torch.device | str = "cpu", seed: int = 0):
        self.data = data
        self.device = torch.device(device)
        self._store = data.images.to(self.device)
        # Indices are drawn on the CPU whatever the device (64 integers a step), so the sampler's
        # state is the same object everywhere and a checkpoint resumes on another device.
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(seed)
        self._classes: torch.Tensor | None = None  # factor classes on the device, when needed

    @property
    def binary(self) -> bool:
        return self._store.binary

    @property
    def max_value(self) -> int:
        """The value of a full pixel in the uint8 images (1 for 0/1 pixels, else 255)."""
        return self._store.max_value

    def indices(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` uniform indices from ``generator`` (default: the sampler's own seeded one)."""
        if n <= 0:
            raise ValueError(f"batch size must be > 0; got {n}")
        gen = generator or self.generator
        return torch.randint(len(self.data), (n,), generator=gen, device=gen.device).to(self.device)

    def batch(self, idx: torch.Tensor, dtype: torch.dtype = torch.uint8) -> torch.Tensor:
        images = unpack_images(self._store, idx.to(self.device))
        if dtype == torch.uint8:
            return images
        return images.to(dtype) / self._store.max_value

    def sample(
        self, n: int, dtype: torch.dtype = torch.uint8, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, indices) of ``n`` random images."""
        idx = self.indices(n, generator)
        return self.batch(idx, dtype), idx

    def classes(self, idx: torch.Tensor) -> torch.Tensor:
        """Factor classes ``(len(idx), K)`` (int64, on the device) of the images at ``idx``: mixed
        radix digits of the index for a full factor grid, else a lookup in a device copy."""
        data = self.data
        if not data.has_factors:
            raise ValueError(f"dataset {data.name!r} has no ground-truth factors")
        idx = idx.to(self.device)
        if data.full_grid:
            digits, rest = [], idx
            for size in reversed(data.factor_sizes):
                digits.append(rest % size)
                rest = rest // size
            return torch.stack(digits[::-1], dim=1)
        if self._classes is None:
            self._classes = torch.from_numpy(data.factor_classes).to(self.device)
        return self._classes[idx]

    def get_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        try:
            self.generator.set_state(state.cpu())
        except RuntimeError as exc:  # e.g. a CUDA generator's state from an older version
            raise ValueError(
                f"the checkpoint's batch-sampler state does not fit a CPU generator "
                f"({len(state)} bytes; written by an older betavae on a GPU?): {exc}"
            ) from exc
