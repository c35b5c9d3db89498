"""What every reader of a model does with it, in one place: images as floats in [0, 1] (by the
dataset's ``max_value``), what the model's encoder takes (images, or factor classes for the
factor-conditioned generator), the posterior's statistics, and the per-latent Gaussian KL. Used
by the trainer, evaluate, the in-training evaluation and every experiment."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .data import GroundTruthData


def unit_range(images: torch.Tensor, max_value: int) -> torch.Tensor:
    """uint8 images as float32 in [0, 1]: 0/1 pixels (``max_value`` 1) or bytes (255)."""
    x = images.float()
    return x if max_value == 1 else x / max_value  # no pass over the batch to divide by 1


def images_at(data: GroundTruthData, index: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The images at ``index`` as float32 in [0, 1]."""
    index = torch.as_tensor(index)
    return unit_range(data.images[index], data.images.max_value)


def model_inputs(model: nn.Module, data: GroundTruthData, index: np.ndarray) -> torch.Tensor:
    """What the model's encoder takes for the images at ``index``: the images in [0, 1], or their
    factor classes (``model.input_kind == "factors"``: the generator)."""
    if getattr(model, "input_kind", "images") == "factors":
        return torch.from_numpy(data.factor_classes[index])
    return images_at(data, index)


def per_latent_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) of each latent, elementwise: ½(μ² + σ² − ln σ² − 1)."""
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1)


def make_encoder(
    vae: nn.Module, device: torch.device, max_value: int
) -> Callable[[torch.Tensor], tuple[np.ndarray, np.ndarray]]:
    """``encode(uint8 images) -> (posterior means, log-variances)`` as numpy arrays, for the
    metrics (channels-last: ~1.5x faster convolutions on the CPU)."""

    @torch.no_grad()
    def encode(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        x = unit_range(images.to(device), max_value).contiguous(memory_format=torch.channels_last)
        mu, logvar = vae.encode(x)
        return mu.cpu().numpy(), logvar.cpu().numpy()

    return encode


@torch.no_grad()
def posterior(
    model: nn.Module, data: GroundTruthData, index: np.ndarray, batch: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu, sigma, kl) float64 arrays ``(len(index), Z)`` of q(z|x) for the images at ``index``."""
    mus, logvars = [], []
    for start in range(0, len(index), batch):
        mu, logvar = model.encode(model_inputs(model, data, index[start : start + batch]))
        mus.append(mu.double())
        logvars.append(logvar.double())
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    return mu.numpy(), (0.5 * logvar).exp().numpy(), per_latent_kl(mu, logvar).numpy()
