"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning deep disentangled embeddings with
the F-statistic loss"), as disentanglement_lib computes them.

Modularity: from the latent × factor mutual information m (posterior means, 20 equal-width bins,
as MIG), per latent ``1 − (Σ_k m²_k − max_k m²_k) / (max_k m²_k · (K − 1))``, i.e. 1 when a latent
informs about one factor only; a latent with no information scores 0; the mean over latents.
Explicitness: per factor, a one-vs-rest ROC-AUC (macro average over classes) of sklearn's
``LogisticRegression()`` predicting the factor class from all standardised latents (scaled by the
training set's mean and std), on ``num_test`` held-out images; the mean over factors. Defaults
(disentanglement_lib's study): num_train 10,000, num_test 5,000. A constant latent is left
unscaled (disentanglement_lib divides by its zero std).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import label_binarize

from .common import check_counts, discretize, mutual_information, standardise, train_test_codes

NAME = "modularity_explicitness"


def modularity(mi: np.ndarray) -> float:
    """Mean over latents of the modularity of a (latents × factors) MI matrix."""
    squared = np.square(mi)
    top = squared.max(axis=1)
    k = mi.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (squared.sum(axis=1) - top) / (top * (k - 1))
    per_latent = np.where(top > 0, 1.0 - delta, 0.0) if k > 1 else (top > 0).astype(float)
    return float(per_latent.mean())


def explicitness_per_factor(x_train, y_train, x_test, y_test, seed: int = 0) -> tuple[float, float]:
    """(train, test) macro ROC-AUC of a logistic regression on standardised codes."""
    classes = np.unique(y_train)
    if len(classes) < 2:
        return 1.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(random_state=seed).fit(x_train, y_train)
    scores = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        truth = label_binarize(y, classes=model.classes_)
        proba = model.predict_proba(x)
        if len(model.classes_) == 2:  # label_binarize gives one column for two classes
            truth, proba = truth[:, 0], proba[:, 1]
        present = truth.ndim == 1 or truth.any(axis=0)
        if truth.ndim == 2 and not present.all():  # a class absent from this set has no AUC
            truth, proba = truth[:, present], proba[:, present]
        scores.append(float(roc_auc_score(truth, proba, average="macro")))
    return scores[0], scores[1]


def compute(
    encode,
    data,
    *,
    seed: int,
    num_train: int = 10_000,
    num_test: int = 5_000,
    num_bins: int = 20,
    batch_size: int = 256,
) -> dict:
    check_counts(num_bins=num_bins)
    *codes, names = train_test_codes(encode, data, num_train, num_test, seed, batch_size)
    return from_codes(*codes, names, num_bins, seed)


def from_codes(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    names: list[str] | None = None,
    num_bins: int = 20,
    seed: int = 0,
) -> dict:
    """Modularity and explicitness of codes ``(n, Z)`` against factor classes ``(n, K)``."""
    mi = mutual_information(discretize(x_train, num_bins), y_train)
    train_norm, test_norm = standardise(x_train, x_test)
    explicit = np.array(
        [
            explicitness_per_factor(train_norm, y_train[:, j], test_norm, y_test[:, j], seed)
            for j in range(y_train.shape[1])
        ]
    )
    names = names or [f"factor{k}" for k in range(y_train.shape[1])]
    return {
        "modularity": modularity(mi),
        "explicitness": float(explicit[:, 1].mean()),
        "explicitness_train": float(explicit[:, 0].mean()),
        "per_factor_explicitness": dict(zip(names, explicit[:, 1].round(6).tolist())),
    }
