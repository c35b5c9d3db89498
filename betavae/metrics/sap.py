"""SAP score, the Separated Attribute Predictability (Kumar et al. 2018, "Variational inference of
disentangled latent concepts from unlabeled observations"), as disentanglement_lib computes it.

A score matrix S (latents × factors): for discrete factors (the study's setting,
``continuous_factors=False``) S[i, j] is the held-out accuracy of a linear SVM
(``LinearSVC(C=0.01, class_weight="balanced")``) that predicts factor j from latent i alone,
trained on ``num_train`` and tested on ``num_test`` posterior means; for continuous factors it is
the squared correlation of latent i and factor j (0 for a latent of variance ≤ 1e-12). SAP is the
mean over factors of the gap between the two largest entries of the factor's column. Defaults
(disentanglement_lib's study): num_train 10,000, num_test 5,000, discrete factors.
"""

from __future__ import annotations

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from .common import train_test_codes

NAME = "sap"


def _svm_accuracy(x_train, y_train, x_test, y_test) -> float:
    """Held-out accuracy of a linear SVM on one latent (a single-class factor is always right)."""
    if len(np.unique(y_train)) < 2:
        return float(np.mean(y_test == y_train[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearSVC(C=0.01, class_weight="balanced").fit(x_train[:, None], y_train)
    return float(np.mean(model.predict(x_test[:, None]) == y_test))


def _squared_correlation(x: np.ndarray, y: np.ndarray) -> float:
    cov = np.cov(x, y, ddof=1)
    return float(cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])) if cov[0, 0] > 1e-12 else 0.0


def score_matrix(
    x_train, y_train, x_test, y_test, continuous_factors: bool = False, n_jobs: int = -1
) -> np.ndarray:
    """S (latents × factors) from codes ``(n, Z)`` and factor classes ``(n, K)``."""
    pairs = [(i, j) for i in range(x_train.shape[1]) for j in range(y_train.shape[1])]
    if continuous_factors:
        values = [_squared_correlation(x_train[:, i], y_train[:, j]) for i, j in pairs]
    else:
        values = Parallel(n_jobs=n_jobs)(
            delayed(_svm_accuracy)(x_train[:, i], y_train[:, j], x_test[:, i], y_test[:, j])
            for i, j in pairs
        )
    return np.array(values, dtype=np.float64).reshape(x_train.shape[1], y_train.shape[1])


def top_two_gap(matrix: np.ndarray) -> float:
    """Mean over columns of (largest − second-largest entry)."""
    ordered = np.sort(matrix, axis=0)
    second = ordered[-2] if len(ordered) > 1 else np.zeros(matrix.shape[1])
    return float(np.mean(ordered[-1] - second))


def compute(
    encode,
    data,
    *,
    seed: int,
    num_train: int = 10_000,
    num_test: int = 5_000,
    continuous_factors: bool = False,
    n_jobs: int = -1,
    batch_size: int = 256,
) -> dict:
    *codes, names = train_test_codes(encode, data, num_train, num_test, seed, batch_size)
    return {**from_codes(*codes, continuous_factors, n_jobs), "factor_names": names}


def from_codes(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    continuous_factors: bool = False,
    n_jobs: int = -1,
) -> dict:
    """SAP of codes ``(n, Z)`` against factor classes ``(n, K)`` (no sampling)."""
    matrix = score_matrix(x_train, y_train, x_test, y_test, continuous_factors, n_jobs)
    return {NAME: top_two_gap(matrix), "score_matrix": matrix.round(6).tolist()}
