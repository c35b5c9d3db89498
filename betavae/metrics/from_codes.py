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
it. Integer factors stay integers (a float cast would merge large class ids). At least
``MIN_ROWS`` rows are used for each estimate, and every scored factor must vary within them:
fewer, or a factor constant there, give a number that measures nothing, so they are refused.
BetaVAE and FactorVAE intervene on factors and need an encoder: use ``compute``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from . import dci, mig, modularity_explicitness, sap
from .common import discretize

FROM_CODES = ("mig", "dci", "sap", "modularity_explicitness")
NEED_ENCODER = ("beta_vae", "factor_vae")
FACTOR_BINS = 20  # equal-width bins of a continuous factor (MIG, DCI, modularity/explicitness)
MIN_ROWS = 10  # rows a metric is estimated from (training and test rows each): fewer is noise


def _as_matrix(array, what: str, keep_integers: bool = False) -> np.ndarray:
    """``(N, D)`` float64 (integers kept as int64 with ``keep_integers``: a float64 cast would
    merge large class ids), finite, with at least one row and one column."""
    out = np.asarray(array)
    if keep_integers and out.dtype.kind in "biu":
        out = out.astype(np.uint64 if out.dtype.kind == "u" else np.int64)
    else:
        try:
            out = out.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be numbers; got dtype {out.dtype}") from None
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or len(out) == 0 or out.shape[1] == 0:
        raise ValueError(
            f"{what} must be an (N, {what[0].upper()}) array with N, {what[0].upper()} >= 1; "
            f"got shape {out.shape}"
        )
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise ValueError(f"{what} hold NaN or infinite values")
    return out


def _count(params: dict, key: str, default: int | None, low: int) -> int | None:
    """Integer parameter ``key`` (>= ``low``); a float, bool or string is refused."""
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{key} must be an integer; got {value!r} ({type(value).__name__})")
    if value < low:
        raise ValueError(f"{key} must be >= {low}; got {value}")
    return int(value)


def _check_varies(classes: np.ndarray, rows: slice, names: list[str], which: str) -> None:
    """Each scored factor must take two classes or more in ``rows``: else its score is undefined
    (MIG 0, explicitness NaN), not a measurement."""
    part = classes[rows]
    for k, name in enumerate(names):
        if len(np.unique(part[:, k])) < 2:
            raise ValueError(
                f"factor {name!r} takes one value in the {len(part)} {which} rows: nothing to "
                "score there (give more rows, or shuffle them)"
            )


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
    if num_train < MIN_ROWS or num_test < MIN_ROWS or num_train + num_test > n:
        raise ValueError(
            f"num_train {num_train} + num_test {num_test} must be >= {MIN_ROWS} each and fit "
            f"the {n} rows"
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
    codes = _as_matrix(codes, "codes")
    values = _as_matrix(factors, "factors", keep_integers=not continuous)
    if len(codes) != len(values):
        raise ValueError(f"codes have {len(codes)} rows, factors {len(values)}")
    if len(codes) < MIN_ROWS:
        raise ValueError(f"codes have {len(codes)} rows; a metric needs at least {MIN_ROWS}")
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
    classifier = params.get("classifier", "gbt")
    if classifier not in dci.CLASSIFIERS:
        raise ValueError(f"classifier must be one of {dci.CLASSIFIERS}; got {classifier!r}")
    n_jobs = params.get("n_jobs", -1)
    num_bins = _count(params, "num_bins", 20, 2)
    if name == "mig":
        n = _count(params, "num_train", len(codes), 1)
        if not MIN_ROWS <= n <= len(codes):
            raise ValueError(f"num_train must be in [{MIN_ROWS}, {len(codes)}]; got {n}")
        _check_varies(classes, slice(0, n), names, "first")
        return mig.from_codes(codes[:n], classes[:n], names, num_bins)
    n_train, n_test = _split(
        len(codes), _count(params, "num_train", None, 1), _count(params, "num_test", None, 1)
    )
    train, test = slice(0, n_train), slice(n_train, n_train + n_test)
    _check_varies(classes, train, names, "training")
    _check_varies(classes, test, names, "test")
    if name == "dci":
        split = (codes[train], classes[train], codes[test], classes[test])
        return {**dci.from_codes(*split, classifier, seed, n_jobs), "factor_names": names}
    if name == "sap":
        target = values if continuous else classes
        split = (codes[train], target[train], codes[test], target[test])
        return {**sap.from_codes(*split, continuous, n_jobs), "factor_names": names}
    split = (codes[train], classes[train], codes[test], classes[test])
    return modularity_explicitness.from_codes(*split, names, num_bins, seed)
