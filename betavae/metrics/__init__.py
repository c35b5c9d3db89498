"""Disentanglement metrics, one file each, behind one entry point:

    compute(name, encode, data, *, seed, **params) -> dict

``encode`` maps a uint8 image batch ``(N, C, H, W)`` to ``(N, Z)`` codes (posterior means), or to
``(means, log-variances)`` (MIG's ``sampled`` option uses the log-variances); it may also be a
:class:`CodeTable` of precomputed codes. ``data`` is a :class:`betavae.data.GroundTruthData`.

Names and score keys: ``mig``; ``beta_vae``; ``factor_vae``; ``dci`` (also ``completeness``,
``informativeness``); ``sap``; ``modularity_explicitness`` (``modularity``, ``explicitness``).

For codes a user computed elsewhere, ``compute_from_codes(name, codes, factors)`` scores the
metrics that need only (code, factor) pairs (MIG, DCI, SAP, modularity/explicitness).
Defaults follow google-research/disentanglement_lib's definitions and the sample counts of its
study (Locatello et al. 2019), the source of nearly every published number; other estimators are
named options of each metric (see each file). Deterministic for a seed; memory bounded by the
encoding batch size.
"""

from __future__ import annotations

import inspect

from . import beta_vae, dci, factor_vae, mig, modularity_explicitness, sap
from .common import CodeTable
from .from_codes import FROM_CODES, compute_from_codes

CONVENTION = "disentanglement_lib"  # the conventions the defaults follow
METRICS = {
    module.NAME: module for module in (mig, beta_vae, factor_vae, dci, sap, modularity_explicitness)
}
METRIC_NAMES = tuple(METRICS)
SCORE_KEYS = {
    "mig": ("mig",),
    "beta_vae": ("beta_vae",),
    "factor_vae": ("factor_vae",),
    "dci": ("dci", "completeness", "informativeness"),
    "sap": ("sap",),
    "modularity_explicitness": ("modularity", "explicitness"),
}
_INTERNAL = {"encode", "data", "seed", "encode_batch", "n_jobs"}


def _check_name(name: str) -> None:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; choose from {list(METRIC_NAMES)}")


def parameters(name: str, **overrides) -> dict:
    """The parameters a metric runs with: its defaults (disentanglement_lib's study) updated by
    ``overrides``; an unknown parameter is a ValueError naming the accepted ones."""
    _check_name(name)
    signature = inspect.signature(METRICS[name].compute).parameters
    accepted = {k: p.default for k, p in signature.items() if k not in _INTERNAL}
    unknown = sorted(set(overrides) - set(accepted) - _INTERNAL)
    if unknown:
        raise ValueError(f"metric {name!r} has no parameter {unknown}; it takes {sorted(accepted)}")
    return {**accepted, **{k: v for k, v in overrides.items() if k in accepted}}


def estimator_changes(name: str, params: dict) -> dict:
    """The estimator choices of ``params`` that differ from disentanglement_lib's (sample counts,
    the integer parameters, do not count)."""
    defaults = parameters(name)
    return {
        k: v
        for k, v in params.items()
        if k in defaults and (isinstance(v, bool) or not isinstance(v, int)) and v != defaults[k]
    }


def convention(name: str, params: dict) -> str:
    """``disentanglement_lib``, or ``variant: k=v, ...`` naming the estimator options changed."""
    changes = estimator_changes(name, params)
    if not changes:
        return CONVENTION
    return "variant: " + ", ".join(f"{k}={v}" for k, v in changes.items())


MAX_COUNT = 10_000_000  # a sample count above this would run for hours


def check_parameters(name: str, params: dict) -> None:
    """ValueError naming the first bad value: counts must be in [1, MAX_COUNT], choices among
    the metric's ``CHOICES``. Checked up front, so a bad value fails before any encoding."""
    choices = getattr(METRICS[name], "CHOICES", {})
    for key, value in params.items():
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError(f"{key} must be >= 1; got {value}")
            if value > MAX_COUNT:
                raise ValueError(f"{key} must be <= {MAX_COUNT:,}; got {value:,}")
        if key in choices and value not in choices[key]:
            raise ValueError(f"{key} must be one of {list(choices[key])}; got {value!r}")


def compute(name: str, encode, data, *, seed: int = 0, **params) -> dict:
    _check_name(name)
    check_parameters(name, parameters(name, **params))
    return METRICS[name].compute(encode, data, seed=seed, **params)


__all__ = [
    "CONVENTION",
    "CodeTable",
    "FROM_CODES",
    "METRIC_NAMES",
    "SCORE_KEYS",
    "check_parameters",
    "compute",
    "compute_from_codes",
    "convention",
    "estimator_changes",
    "parameters",
]
