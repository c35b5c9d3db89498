"""BetaVAE score (Higgins et al. 2017, "β-VAE: learning basic visual concepts...").

A training point: pick a factor k uniformly, draw ``batch_size`` pairs of images that share the
value of k (all other factors random), and take the mean absolute difference of their codes; the
label is k. A linear classifier (sklearn logistic regression) learns k from these points; the score
is its accuracy on ``num_eval`` fresh points. Defaults as in the paper / disentanglement_lib:
batch_size 64, num_train 10,000, num_eval 5,000. Chance is 1/(number of varying factors).
"""

from __future__ import annotations

import numpy as np
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
        features.append(np.abs(codes[:batch_size] - codes[batch_size:]).mean(0))
        labels.append(k)
    return np.array(features), np.array(labels)


def compute(
    encode,
    data,
    *,
    seed: int,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    encode_batch: int = 256,
) -> dict:
    check_counts(batch_size=batch_size, num_train=num_train, num_eval=num_eval)
    factors = varying_factors(data)
    rng = np.random.default_rng(seed)
    x_train, y_train = _points(encode, data, factors, num_train, batch_size, rng, encode_batch)
    x_eval, y_eval = _points(encode, data, factors, num_eval, batch_size, rng, encode_batch)
    if len(np.unique(y_train)) < 2:
        train_acc = eval_acc = float(np.mean(y_eval == y_train[0]))
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        model.fit(x_train, y_train)
        train_acc, eval_acc = model.score(x_train, y_train), model.score(x_eval, y_eval)
    return {NAME: float(eval_acc), "train_accuracy": float(train_acc), "chance": 1.0 / len(factors)}
