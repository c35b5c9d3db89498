"""Helpers shared by the metrics: batched encoding of sampled factor combinations (memory stays
bounded by ``batch_size`` images whatever the sample counts), histogram discretisation, and
mutual information / entropy of discrete variables (sklearn)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.metrics import mutual_info_score

from betavae.data import GroundTruthData

Encoder = Callable[[torch.Tensor], "torch.Tensor | np.ndarray"]


def varying_factors(data: GroundTruthData) -> list[int]:
    """Indices of factors with more than one class (a constant factor carries no information;
    dSprites' colour is skipped, as in disentanglement_lib)."""
    if not data.has_factors:
        raise ValueError(f"dataset {data.name!r} has no ground-truth factors: metrics unavailable")
    return [k for k, s in enumerate(data.factor_sizes) if s > 1]


def _as_array(codes) -> np.ndarray:
    codes = codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else codes
    return np.asarray(codes, dtype=np.float64)


def encode_classes(
    encode: Encoder,
    data: GroundTruthData,
    classes: np.ndarray,
    batch_size: int = 256,
    sample_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Codes ``(n, Z)`` (float64) of the images of factor-class rows ``classes`` (n, K).

    ``encode`` returns posterior means, or ``(means, log-variances)``. With ``sample_rng`` and an
    encoder that gives log-variances, the codes are samples ``z ~ q(z|x)`` instead of means.
    """
    chunks = []
    for start in range(0, len(classes), batch_size):
        images = data.images_for(classes[start : start + batch_size])
        out = encode(images)
        if isinstance(out, tuple):
            codes, logvar = _as_array(out[0]), _as_array(out[1])
            if sample_rng is not None:
                codes = codes + np.exp(0.5 * logvar) * sample_rng.standard_normal(codes.shape)
        else:
            codes = _as_array(out)
        if codes.ndim != 2 or len(codes) != len(images):
            raise ValueError(
                f"encode must return (N, Z) codes; got shape {codes.shape} for {len(images)} images"
            )
        chunks.append(codes)
    return np.concatenate(chunks)


def sample_codes(
    encode: Encoder,
    data: GroundTruthData,
    n: int,
    rng: np.random.Generator,
    batch_size: int = 256,
    sampled: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(codes (n, Z), factor classes (n, K)) of ``n`` random images; ``sampled`` draws
    ``z ~ q(z|x)`` when the encoder gives log-variances (else means)."""
    classes = data.sample_factors(n, rng)
    codes = encode_classes(encode, data, classes, batch_size, rng if sampled else None)
    return codes, classes


def discretize(codes: np.ndarray, bins: int) -> np.ndarray:
    """Each code dimension cut into ``bins`` equal-width bins over its observed range."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        column = codes[:, j]
        edges = np.histogram_bin_edges(column, bins=bins)
        out[:, j] = np.digitize(column, edges[1:-1])
    return out


def mutual_information(discrete_codes: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``(Z, K)`` mutual information (nats) between each code dimension and each factor."""
    return np.array(
        [
            [
                mutual_info_score(classes[:, k], discrete_codes[:, j])
                for k in range(classes.shape[1])
            ]
            for j in range(discrete_codes.shape[1])
        ]
    )


def entropy(classes: np.ndarray) -> np.ndarray:
    """``(K,)`` entropy (nats) of each factor in the sample."""
    return np.array(
        [mutual_info_score(classes[:, k], classes[:, k]) for k in range(classes.shape[1])]
    )


def check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1; got {value}")
