"""Mutual Information Gap (Chen et al. 2018, "Isolating sources of disentanglement in VAEs").

For each factor v_k: the gap between the largest and the second-largest mutual information of a
latent with v_k, divided by H(v_k); MIG is the mean over factors. MI is estimated as in
disentanglement_lib: posterior means of ``num_train`` random images, each latent discretised into
``num_bins`` equal-width bins. Defaults: num_train 10,000, num_bins 20. Constant factors are
skipped; a constant code has zero MI everywhere and scores 0.
"""

from __future__ import annotations

import numpy as np

from .common import (
    check_counts,
    discretize,
    entropy,
    mutual_information,
    sample_codes,
    varying_factors,
)

NAME = "mig"


def compute(
    encode, data, *, seed: int, num_train: int = 10_000, num_bins: int = 20, batch_size: int = 256
) -> dict:
    check_counts(num_train=num_train, num_bins=num_bins, batch_size=batch_size)
    factors = varying_factors(data)
    rng = np.random.default_rng(seed)
    codes, classes = sample_codes(encode, data, num_train, rng, batch_size)
    classes = classes[:, factors]
    mi = mutual_information(discretize(codes, num_bins), classes)  # (Z, K)
    h = entropy(classes)
    top = np.sort(mi, axis=0)[::-1]
    second = top[1] if len(top) > 1 else np.zeros_like(top[0])
    per_factor = np.where(h > 0, (top[0] - second) / np.where(h > 0, h, 1.0), 0.0)
    names = [data.factor_names[k] for k in factors]
    return {
        NAME: float(per_factor.mean()),
        "per_factor": dict(zip(names, per_factor.round(6).tolist())),
        "mutual_information": mi.round(6).tolist(),
        "factor_names": names,
    }
