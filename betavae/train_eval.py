"""Metrics during training (``--eval-every N``): MIG and DCI at small, stated sample counts, so a
run's metrics.jsonl shows how disentanglement develops. Cheap on purpose and labelled as such in
every record: these are not the study-count numbers of ``python -m betavae.evaluate``.

The evaluation draws its images with its own numpy generator (the same images at every
evaluation of a run) and encodes posterior means without sampling, so it touches neither the
batch sampler nor the noise counters: a run with ``--eval-every`` trains exactly as one without.
"""

from __future__ import annotations

import torch
from torch import nn

from . import metrics
from .data import GroundTruthData
from .model_io import make_encoder

# Small counts (disentanglement_lib's study uses 10,000 / 5,000 and gradient-boosted trees).
IN_TRAINING = {
    "mig": dict(num_train=2000),
    "dci": dict(num_train=1000, num_test=500, classifier="forest", n_jobs=1),
}
LABEL = "in-training (small counts; not comparable with python -m betavae.evaluate)"


def eval_problem(data: GroundTruthData, vae: nn.Module) -> str | None:
    """Why ``--eval-every`` cannot run on this data/model, or None."""
    if not data.has_factors or not data.metric_factors:
        return f"--eval-every needs a dataset with ground-truth factors; {data.name!r} has none"
    if getattr(vae, "input_kind", "images") != "images":
        return "--eval-every needs an image encoder; the generator model has none"
    return None


def evaluate_now(vae: nn.Module, data: GroundTruthData, device: torch.device, seed: int) -> dict:
    """The in-training metrics of ``vae`` as a metrics.jsonl field: scores, counts, label."""
    was_training = vae.training
    vae.eval()
    try:
        encode = make_encoder(vae, device, data.images.max_value)
        out: dict = {"label": LABEL, "counts": {}}
        for name, params in IN_TRAINING.items():
            result = metrics.compute(name, encode, data, seed=seed, **params)
            for key in metrics.SCORE_KEYS[name]:
                out[key] = round(float(result[key]), 6)
            counts = {k: v for k, v in params.items() if k.startswith("num_")}
            out["counts"][name] = {**counts, "convention": metrics.convention(name, params)}
        return out
    finally:
        vae.train(was_training)
