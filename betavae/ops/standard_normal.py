"""The noise of gaussian_sample_kl on its own: ``betavae::standard_normal`` (for tests and users who
need the exact eps a fused call used)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import backends, checks, reference

OP = "standard_normal"


@torch.library.custom_op("betavae::standard_normal", mutates_args=())
def standard_normal_op(
    seed: torch.Tensor,
    offset: torch.Tensor,
    shape: Sequence[int],
    device: torch.device,
    backend: str,
) -> torch.Tensor:
    n = 1
    for size in shape:
        n *= size
    out = backends.get(backend).standard_normal(n, seed, offset, device)
    return out.reshape(tuple(shape))


@standard_normal_op.register_fake
def _(seed, offset, shape, device, backend):
    return torch.empty(tuple(shape), dtype=torch.float32, device=device)


def standard_normal(
    shape: Sequence[int] | int,
    seed: int | torch.Tensor,
    offset: int | torch.Tensor = 0,
    device: torch.device | str | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """float32 standard normals; element i (row-major) is the normal at counter ``offset + i``.

    The same numbers that :func:`gaussian_sample_kl` uses as eps for the same (seed, offset).
    """
    dims = checks.check_shape(OP, shape)
    seed_t = checks.rng_scalar(OP, "seed", seed, allow_negative=True)
    offset_t = checks.rng_scalar(OP, "offset", offset, allow_negative=False)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    name = backends.resolve(backend, dev, torch.float32, OP)
    if name == "reference":
        return reference.standard_normal(dims, int(seed_t), int(offset_t), device=dev)
    return standard_normal_op(seed_t, offset_t, dims, dev, name)
