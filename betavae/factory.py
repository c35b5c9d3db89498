"""From a :class:`~betavae.config.TrainConfig` to the objects a run is made of: its dataset, its
model and its objective. The trainer, the run-directory loader and the reproduction all build
them here, so a run is rebuilt exactly as it was trained."""

from __future__ import annotations

from torch import nn

from .config import TrainConfig
from .data import GroundTruthData, get_dataset
from .models import IMAGE_SIZE, build_model
from .objectives import BetaVAELoss, CapacityLoss


def load_data(config: TrainConfig) -> GroundTruthData:
    """The dataset a config names (generated or cached for the procedural ones)."""
    if config.data in ("dsprites", "noisy-dsprites"):
        return get_dataset(config.data, quiet=config.quiet)
    if config.data == "color-dsprites":
        return get_dataset(config.data, quiet=config.quiet, color_range=config.color_range)
    if config.data == "blobs":
        return get_dataset("blobs", width=config.blob_width)
    if config.data_path:
        return get_dataset(config.data, path=config.data_path)
    return get_dataset(config.data)


def make_model(config: TrainConfig, data: GroundTruthData) -> nn.Module:
    """The config's model for ``data``; ValueError when the images are not the model's size."""
    _, _, height, width = data.images.shape
    if (height, width) != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"dataset {data.name!r} has {height}×{width} images; the Burgess model takes "
            f"{IMAGE_SIZE}×{IMAGE_SIZE} (resize them, e.g. with `python -m betavae.data "
            "import-chairs`)"
        )
    return build_model(
        config.model,
        data.channels,
        config.latent_dim,
        data.factor_names,
        data.factor_sizes,
        config.factor_dims,
    )


def make_loss(config: TrainConfig, kl_reduce=None):
    """β-VAE (``objective=beta``) or capacity (``objective=capacity``) loss of the config.
    ``kl_reduce``: the batch KL's reduction over DDP processes (capacity only: β·KL is linear, so
    DDP's gradient averaging is exact for it)."""
    if config.objective == "beta":
        return BetaVAELoss(config.beta, backend=config.backend)
    return CapacityLoss(
        config.gamma, config.c_max, config.c_steps, backend=config.backend, kl_reduce=kl_reduce
    )
