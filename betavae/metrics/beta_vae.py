"""BetaVAE score (Higgins et al. 2017, "β-VAE: learning basic visual concepts...").

A training point: pick a factor k uniformly, draw ``batch_size`` pairs of images that share the
value of k (all other factors random), and take the mean absolute difference of their codes; the
label is k. A linear classifier (sklearn logistic regression) learns k from these points; the score
is its accuracy on ``num_eval`` fresh points. Defaults as disentanglement_lib's study: batch_size
64, num_train 10,000, num_eval 5,000, and sklearn's ``LogisticRegression()`` with its default
settings on the raw features. Chance is 1/(number of varying factors).

Option ``standardize=True`` scales the features to unit variance first and lets the solver run
up to 2,000 iterations (our former default: it converges where raw features of very different
scales stop lbfgs at 100 iterations; the scores agreed within noise on the codes we tried).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .common import check_counts, encode_classes, varying_factors

NAME = "beta_vae"


def _points(encode, data, factors, n, batch_size, rng, encode_batch):
    features, labels = [], []
    for _ in range(n):
        k = factors[rng.integers(len(factors))]
        first = data.sample_factors(batch_size, rng)
        second = data.sample_factors(batch_size, rng)
        second[:, k] = first[:, k]
        codes = encode_classes(encode, data, np.concatenate([first, second]), encode_batch)
        features.append(pair_feature(codes[:batch_size], codes[batch_size:]))
        labels.append(k)
    return np.array(features), np.array(labels)


def pair_feature(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The feature of one point: mean over the batch of |code(x1) − code(x2)| per latent."""
    return np.abs(first - second).mean(axis=0)


def from_points(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_eval: np.ndarray,
    y_eval: np.ndarray,
    standardize: bool = False,
    seed: int = 0,
) -> tuple[float, float]:
    """(train accuracy, eval accuracy) of the linear classifier on given points (no sampling)."""
    if len(np.unique(y_train)) < 2:
        accuracy = float(np.mean(y_eval == y_train[0]))
        return accuracy, accuracy
    if standardize:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    else:
        model = LogisticRegression(random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as in disentanglement_lib
        model.fit(x_train, y_train)
    return float(model.score(x_train, y_train)), float(model.score(x_eval, y_eval))


def compute(
    encode,
    data,
    *,
    seed: int,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    standardize: bool = False,
    encode_batch: int = 256,
) -> dict:
    check_counts(batch_size=batch_size, num_train=num_train, num_eval=num_eval)
    factors = varying_factors(data)
    rng = np.random.default_rng(seed)
    x_train, y_train = _points(encode, data, factors, num_train, batch_size, rng, encode_batch)
    x_eval, y_eval = _points(encode, data, factors, num_eval, batch_size, rng, encode_batch)
    train_acc, eval_acc = from_points(x_train, y_train, x_eval, y_eval, standardize, seed)
    return {NAME: eval_acc, "train_accuracy": train_acc, "chance": 1.0 / len(factors)}
