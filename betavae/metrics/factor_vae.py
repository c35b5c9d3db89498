"""FactorVAE score (Kim & Mnih 2018, "Disentangling by factorising").

Codes are divided by their per-latent standard deviation over ``num_variance_estimate`` random
images; latents whose variance is below ``prune_threshold`` (collapsed) are ignored. A vote: fix one
factor k in a batch of ``batch_size`` images, take the latent with the smallest normalised variance;
the majority-vote classifier maps each latent to its most frequent factor, and the score is its
accuracy on ``num_eval`` votes. Defaults as in the paper / disentanglement_lib: batch_size 64,
num_train 10,000, num_eval 5,000, num_variance_estimate 10,000, prune_threshold 0.05. A code with no
active latent scores 0.
"""

from __future__ import annotations

import numpy as np

from .common import check_counts, encode_classes, sample_codes, varying_factors

NAME = "factor_vae"


def _votes(encode, data, factors, n, batch_size, scale, active, rng, encode_batch):
    votes = np.zeros((len(scale), len(factors)), dtype=np.int64)
    for _ in range(n):
        which = rng.integers(len(factors))
        classes = data.sample_factors(batch_size, rng)
        classes[:, factors[which]] = classes[0, factors[which]]
        codes = encode_classes(encode, data, classes, encode_batch) / scale
        variances = np.where(active, codes.var(axis=0, ddof=1), np.inf)
        votes[int(np.argmin(variances)), which] += 1
    return votes


def compute(
    encode,
    data,
    *,
    seed: int,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    prune_threshold: float = 0.05,
    encode_batch: int = 256,
) -> dict:
    check_counts(
        batch_size=batch_size,
        num_train=num_train,
        num_eval=num_eval,
        num_variance_estimate=num_variance_estimate,
    )
    factors = varying_factors(data)
    rng = np.random.default_rng(seed)
    codes, _ = sample_codes(encode, data, num_variance_estimate, rng, encode_batch)
    variance = codes.var(axis=0, ddof=1)
    active = variance >= prune_threshold
    if not active.any():
        return {NAME: 0.0, "train_accuracy": 0.0, "active_latents": 0, "chance": 1.0 / len(factors)}
    scale = np.sqrt(np.where(active, variance, 1.0))
    train = _votes(encode, data, factors, num_train, batch_size, scale, active, rng, encode_batch)
    evaluation = _votes(
        encode, data, factors, num_eval, batch_size, scale, active, rng, encode_batch
    )
    classifier = np.argmax(train, axis=1)  # latent -> factor
    train_acc = train[np.arange(len(classifier)), classifier].sum() / train.sum()
    eval_acc = evaluation[np.arange(len(classifier)), classifier].sum() / evaluation.sum()
    return {
        NAME: float(eval_acc),
        "train_accuracy": float(train_acc),
        "active_latents": int(active.sum()),
        "chance": 1.0 / len(factors),
    }
