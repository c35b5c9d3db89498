"""Disentanglement metrics, one file each, behind one entry point:

    compute(name, encode, data, *, seed, **params) -> dict

``encode`` maps a uint8 image batch ``(N, C, H, W)`` to ``(N, Z)`` codes (posterior means), or to
``(means, log-variances)`` so that MIG can use samples of q(z|x) as its definition asks; ``data``
is a :class:`betavae.data.GroundTruthData`. Names: ``mig``, ``beta_vae``, ``factor_vae``, ``dci``.
The returned dict holds the score under the metric's name (``dci`` also ``completeness`` and
``informativeness``). Deterministic for a seed; memory bounded by the encoding batch size.
"""

from __future__ import annotations

from . import beta_vae, dci, factor_vae, mig

METRICS = {module.NAME: module for module in (mig, beta_vae, factor_vae, dci)}
METRIC_NAMES = tuple(METRICS)


def compute(name: str, encode, data, *, seed: int = 0, **params) -> dict:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; choose from {list(METRIC_NAMES)}")
    return METRICS[name].compute(encode, data, seed=seed, **params)


__all__ = ["METRIC_NAMES", "compute"]
