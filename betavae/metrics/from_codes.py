"""The metrics that need only (code, factor) pairs, on arrays: for a user's own model, whatever
produced its codes.

    compute_from_codes("mig", codes, factors)            # codes (N, Z), factors (N, K)

Same estimators and defaults as :func:`betavae.metrics.compute` (disentanglement_lib's). The rows
are used in the order given: MIG (and the MI part of modularity) bins the first ``num_train`` rows
(default: all); DCI, SAP and explicitness train on the first ``num_train`` rows and test on the
next ``num_test`` (default: the first two thirds and the rest, the study's 10,000 : 5,000). So
codes drawn the way ``compute`` draws them give ``compute``'s answer (tested).

Factors are classes (any values: each column's distinct values, in order, are its classes) unless
``continuous=True``: then SAP uses its continuous branch (squared correlation) on the values and
the others cut each factor into ``FACTOR_BINS`` equal-width bins, as the codes are cut. A factor
with one value (or ``factor_sizes`` 1) carries no information and is skipped, as ``compute`` skips
it. BetaVAE and FactorVAE intervene on factors and need an encoder: use ``compute``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import dci, mig, modularity_explicitness, sap
from .common import discretize

FROM_CODES = ("mig", "dci", "sap", "modularity_explicitness")
NEED_ENCODER = ("beta_vae", "factor_vae")
FACTOR_BINS = 20  # equal-width bins of a continuous factor (MIG, DCI, modularity/explicitness)


def _as_matrix(array, what: str) -> np.ndarray:
    out = np.asarray(array, dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or len(out) == 0:
        raise ValueError(f"{what} must be an (N, {what[0].upper()}) array; got shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{what} hold NaN or infinite values")
    return out


def _factor_classes(factors: np.ndarray, factor_sizes, continuous: bool) -> np.ndarray:
    if factor_sizes is not None:
        sizes = [int(s) for s in factor_sizes]
        if len(sizes) != factors.shape[1]:
            raise ValueError(
                f"factor_sizes has {len(sizes)} entries for {factors.shape[1]} factors"
            )
        if not continuous:
            if (factors != np.round(factors)).any():
                raise ValueError("with factor_sizes, factors must be integer classes")
            bad = [
                k
                for k, s in enumerate(sizes)
                if (factors[:, k] < 0).any() or (factors[:, k] >= s).any()
            ]
            if bad:
                raise ValueError(f"factor {bad[0]} has classes outside [0, {sizes[bad[0]]})")
    if continuous:
        return discretize(factors, FACTOR_BINS)
    return np.stack([np.unique(c, return_inverse=True)[1].reshape(-1) for c in factors.T], 1)


def _split(n: int, num_train: int | None, num_test: int | None) -> tuple[int, int]:
    if num_train is None and num_test is None:
        num_train = max(1, round(2 * n / 3))
        num_test = n - num_train
    elif num_test is None:
        num_test = n - num_train
    elif num_train is None:
        num_train = n - num_test
    if num_train < 1 or num_test < 1 or num_train + num_test > n:
        raise ValueError(
            f"num_train {num_train} + num_test {num_test} must be >= 1 each and fit the {n} rows"
        )
    return num_train, num_test


def compute_from_codes(
    name: str,
    codes,
    factors,
    *,
    factor_sizes: Sequence[int] | None = None,
    continuous: bool = False,
    seed: int = 0,
    factor_names: Sequence[str] | None = None,
    **params,
) -> dict:
    """Metric ``name`` of codes ``(N, Z)`` against factors ``(N, K)`` (see the module docstring);
    the same keys as :func:`betavae.metrics.compute` returns."""
    if name in NEED_ENCODER:
        raise ValueError(
            f"{name} compares codes of images that share a factor, so it needs an encoder and a "
            "dataset: use betavae.metrics.compute(name, encode, data)"
        )
    if name not in FROM_CODES:
        raise ValueError(f"unknown metric {name!r}; from codes: {list(FROM_CODES)}")
    codes, values = _as_matrix(codes, "codes"), _as_matrix(factors, "factors")
    if len(codes) != len(values):
        raise ValueError(f"codes have {len(codes)} rows, factors {len(values)}")
    names = list(factor_names) if factor_names is not None else None
    if names is not None and len(names) != values.shape[1]:
        raise ValueError(f"{len(names)} factor_names for {values.shape[1]} factors")
    classes = _factor_classes(values, factor_sizes, continuous)
    keep = [
        k
        for k in range(values.shape[1])
        if len(np.unique(values[:, k])) > 1 and (factor_sizes is None or int(factor_sizes[k]) > 1)
    ]
    if not keep:
        raise ValueError("every factor is constant: nothing to score")
    classes, values = classes[:, keep], values[:, keep]
    names = [names[k] for k in keep] if names else [f"factor{k}" for k in keep]
    unknown = sorted(set(params) - {"num_train", "num_test", "num_bins", "classifier", "n_jobs"})
    if unknown or (name == "mig" and "num_test" in params):
        raise ValueError(f"{name} from codes takes no parameter {unknown or ['num_test']}")
    n_jobs = params.get("n_jobs", -1)
    if name == "mig":
        n = params.get("num_train", len(codes))
        if not 1 <= n <= len(codes):
            raise ValueError(f"num_train must be in [1, {len(codes)}]; got {n}")
        return mig.from_codes(codes[:n], classes[:n], names, params.get("num_bins", 20))
    n_train, n_test = _split(len(codes), params.get("num_train"), params.get("num_test"))
    train, test = slice(0, n_train), slice(n_train, n_train + n_test)
    if name == "dci":
        classifier = params.get("classifier", "gbt")
        if classifier not in dci.CLASSIFIERS:
            raise ValueError(f"classifier must be one of {dci.CLASSIFIERS}; got {classifier!r}")
        split = (codes[train], classes[train], codes[test], classes[test])
        return {**dci.from_codes(*split, classifier, seed, n_jobs), "factor_names": names}
    if name == "sap":
        target = values if continuous else classes
        split = (codes[train], target[train], codes[test], target[test])
        return {**sap.from_codes(*split, continuous, n_jobs), "factor_names": names}
    split = (codes[train], classes[train], codes[test], classes[test])
    return modularity_explicitness.from_codes(*split, names, params.get("num_bins", 20), seed)
