"""Helpers shared by the metrics: batched encoding of sampled factor combinations (memory stays
bounded by ``batch_size`` images whatever the sample counts), a table of precomputed codes for
whole datasets, histogram discretisation, and mutual information / entropy of discrete variables
(sklearn)."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import torch
from sklearn.metrics import mutual_info_score

from betavae.data import GroundTruthData

Encoder = Callable[[torch.Tensor], "torch.Tensor | np.ndarray"]


def varying_factors(data: GroundTruthData) -> list[int]:
    """Indices of the factors the metrics score: more than one class (a constant factor carries no
    information; dSprites' colour is skipped, as in disentanglement_lib) and not a nuisance factor
    (SmallNORB's instance: sampled with the others, never scored)."""
    if not data.has_factors:
        raise ValueError(f"dataset {data.name!r} has no ground-truth factors: metrics unavailable")
    return data.metric_factors


def _as_array(codes) -> np.ndarray:
    codes = codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else codes
    return np.asarray(codes, dtype=np.float64)


class CodeTable:
    """The codes of every image of a dataset, computed once: metrics that draw more images than the
    dataset holds (BetaVAE and FactorVAE at disentanglement_lib's counts draw ~3 M dSprites images,
    4× the dataset) look codes up instead of encoding the same image again. Passed to the metrics
    in place of ``encode``; results equal those of ``encode`` up to float rounding."""

    def __init__(self, encode: Encoder, data: GroundTruthData, batch_size: int = 1024) -> None:
        means, logvars = [], []
        for start in range(0, len(data), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(data)))
            out = encode(data.images[idx])
            mean, logvar = out if isinstance(out, tuple) else (out, None)
            means.append(_as_array(mean).astype(np.float32))
            if logvar is not None:
                logvars.append(_as_array(logvar).astype(np.float32))
        self.means = np.concatenate(means)
        self.logvars = np.concatenate(logvars) if logvars else None

    def lookup(self, index: np.ndarray):
        """Codes of the images at ``index``: means, or (means, log-variances)."""
        if self.logvars is None:
            return self.means[index]
        return self.means[index], self.logvars[index]


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
        rows = classes[start : start + batch_size]
        if isinstance(encode, CodeTable):
            out, n_images = encode.lookup(data.index_of(rows)), len(rows)
        else:
            images = data.images_for(rows)
            out, n_images = encode(images), len(images)
        if isinstance(out, tuple):
            codes, logvar = _as_array(out[0]), _as_array(out[1])
            if sample_rng is not None:
                codes = codes + np.exp(0.5 * logvar) * sample_rng.standard_normal(codes.shape)
        else:
            codes = _as_array(out)
        if codes.ndim != 2 or len(codes) != n_images:
            raise ValueError(
                f"encode must return (N, Z) codes; got shape {codes.shape} for {n_images} images"
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


def train_test_codes(
    encode: Encoder,
    data: GroundTruthData,
    num_train: int,
    num_test: int,
    seed: int,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(x_train, y_train, x_test, y_test, factor names): posterior means of random images and
    the classes of their varying factors, a training and a held-out draw (disentanglement_lib's
    ``generate_batch_factor_code`` twice)."""
    check_counts(num_train=num_train, num_test=num_test)
    factors = varying_factors(data)
    rng = np.random.default_rng(seed)
    x_train, y_train = sample_codes(encode, data, num_train, rng, batch_size)
    x_test, y_test = sample_codes(encode, data, num_test, rng, batch_size)
    names = [data.factor_names[k] for k in factors]
    return x_train, y_train[:, factors], x_test, y_test[:, factors], names


def discretize(codes: np.ndarray, bins: int) -> np.ndarray:
    """Each code dimension cut into ``bins`` equal-width bins over its observed range (the
    histogram discretiser of disentanglement_lib; a value on an inner edge goes to the upper bin,
    the maximum to the last bin)."""
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


def one_minus_row_entropy(matrix: np.ndarray) -> np.ndarray:
    """Per row of a non-negative matrix: ``1 − H(row / row sum)``, entropy in base #columns, with
    disentanglement_lib's 1e-11 smoothing (an all-zero row counts as uniform and scores 0)."""
    p = matrix + 1e-11
    p = p / p.sum(axis=1, keepdims=True)
    if matrix.shape[1] < 2:
        return np.ones(len(p))
    return 1.0 + (p * np.log(p)).sum(axis=1) / np.log(matrix.shape[1])


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets centred and scaled by the training set's mean and (population) standard
    deviation; a constant column is only centred (disentanglement_lib divides by zero there)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def check_counts(**counts: int) -> None:
    """Each count must be an integer >= 1 (a float such as 2.5 is refused, not truncated)."""
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer; got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1; got {value}")
