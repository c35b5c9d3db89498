"""What every experiment's analysis needs from a finished run directory (config.json,
metrics.jsonl, checkpoint.pt): the trained model, its posterior over a set of images, and the
report's figure helpers. Reads run directories only, so a report can be rebuilt without training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import metrics, viz
from ..data import GroundTruthData
from ..evaluate import ACTIVE_KL, factor_assignment
from ..model_io import images_at, model_inputs, posterior  # noqa: F401 (the experiments' helpers)

# Every score the metrics report, as (metric name, score key): the columns of the tables.
SCORES = [(name, key) for name in metrics.METRIC_NAMES for key in metrics.SCORE_KEYS[name]]


@torch.no_grad()
def reconstruction_nll(model, data: GroundTruthData, index: np.ndarray, batch: int = 512) -> float:
    """Mean Bernoulli NLL (nats per image, summed over pixels) of decoding the posterior means."""
    total = 0.0
    for start in range(0, len(index), batch):
        idx = index[start : start + batch]
        target = images_at(data, idx)
        mu, _ = model.encode(model_inputs(model, data, idx))
        logits = model.decode(mu)
        nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        total += float(nll.flatten(1).sum(1).double().sum())
    return total / len(index)


def traversal_figure(
    model,
    data: GroundTruthData,
    kl: np.ndarray,
    path: Path,
    index: int = 0,
    ranges: np.ndarray | None = None,
):
    """Traversals around example ``index``, rows ordered by KL (labelled with it); each latent
    over ``ranges[j]`` when given (see :func:`percentile_ranges`), else over [-2.5, 2.5]."""
    inputs = model_inputs(model, data, np.array([index]))
    return viz.traversal_png(model, inputs, kl.tolist(), path, ranges=ranges)


def percentile_ranges(mu: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """``(Z, 2)``: each latent's 1st and 99th percentile of the posterior mean over the data, the
    range a traversal stays on the data manifold in."""
    return np.stack([np.percentile(mu, low, axis=0), np.percentile(mu, high, axis=0)], axis=1)


def traversal_examples(data: GroundTruthData) -> list[int]:
    """Three starting images for traversals: the middle of the factor grid (a mid-sized,
    mid-rotated, centred sprite), and two random ones."""
    if not data.has_factors:
        return [len(data) // 2, len(data) // 3, len(data) // 5]
    middle = [[s // 2 for s in data.factor_sizes]]
    rng = np.random.default_rng(7)
    others = data.index_of(data.sample_factors(2, rng))
    return [int(data.index_of(middle)[0]), *(int(i) for i in others)]


def factor_response_figure(
    mu: np.ndarray, classes: np.ndarray, names: list[str], kl: np.ndarray, path: Path
) -> Path:
    """Mean posterior mean of each active latent against each factor's class (averaged over the
    other factors): the analogue for dSprites of the blob experiment's heat maps."""
    active = [j for j in np.argsort(-kl) if kl[j] >= ACTIVE_KL] or [int(np.argmax(kl))]
    varying = [k for k in range(classes.shape[1]) if classes[:, k].max() > 0]
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(varying), figsize=(2.6 * len(varying), 2.6), squeeze=False, sharey=True
    )
    for col, k in enumerate(varying):
        ax = axes[0, col]
        size = int(classes[:, k].max()) + 1
        for j in active:
            means = [mu[classes[:, k] == v, j].mean() for v in range(size)]
            ax.plot(range(size), means, marker=".", linewidth=1, label=f"z{j}")
        ax.set_xlabel(names[k])
    axes[0, 0].set_ylabel("mean μ_j")
    axes[0, -1].legend(fontsize=6)
    return save_figure(fig, path)


@torch.no_grad()
def sampled_reconstruction_nll(
    model, data: GroundTruthData, index: np.ndarray, seed: int = 0, batch: int = 512
) -> float:
    """Mean Bernoulli NLL (nats per image) of decoding one z ~ q(z|x) per image: the ELBO's
    reconstruction term, against :func:`reconstruction_nll`'s decoded posterior means."""
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for start in range(0, len(index), batch):
        idx = index[start : start + batch]
        target = images_at(data, idx)
        mu, logvar = model.encode(model_inputs(model, data, idx))
        z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=generator)
        nll = torch.nn.functional.binary_cross_entropy_with_logits(
            model.decode(z), target, reduction="none"
        )
        total += float(nll.flatten(1).sum(1).double().sum())
    return total / len(index)


@torch.no_grad()
def reconstruction_rows(model, data: GroundTruthData, index: np.ndarray) -> torch.Tensor:
    """Decoded posterior means of the images at ``index`` as floats in [0, 1]."""
    mu, _ = model.encode(model_inputs(model, data, index))
    return torch.sigmoid(model.decode(mu))


def reconstruction_figure(model, data: GroundTruthData, path: Path, n: int = 10) -> Path:
    """``n`` random images (top row) above their decoded posterior means (bottom row)."""
    index = np.sort(np.random.default_rng(0).integers(0, len(data), n))
    rows = torch.cat([images_at(data, index), reconstruction_rows(model, data, index)])
    return viz.save_png(viz.to_uint8_grid(rows, nrow=n), path)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    pyplot().close(fig)
    return path


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """A markdown table (floats to 3 decimals); a ``|`` inside a cell (a norm such as
    ``|∇recon|``) is escaped, so it does not split the row."""

    def cell(value):
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def latent_factors(result: dict) -> list[str]:
    """Per latent, the factor it carries most (MI normalised by the factor's entropy; posterior
    means, 20 bins), or ``inactive`` below 0.1 nats: evaluate's factor assignment of an
    eval.json ``result``."""
    mig = result["mig"]
    rows = factor_assignment(
        np.array(mig["mutual_information"]),
        np.array(mig["factor_entropy"]),
        mig["factor_names"],
        np.asarray(result["kl_per_latent"]),
    )
    return [name for _, _, name, _ in rows]


def kl_figure(log: list[dict], labels, path: Path, title: str) -> Path:
    """Per-latent KL over a training log (with C where the log has it), labelled by factor."""
    plt = pyplot()
    steps = [r["step"] for r in log]
    per_latent = np.array([r["kl_per_latent"] for r in log])
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for j in np.argsort(-per_latent[-1]):
        style = "-" if labels[j] != "inactive" else ":"
        ax.plot(steps, per_latent[:, j], style, linewidth=1.3, label=f"z{j} ({labels[j]})")
    if any(r.get("capacity") for r in log):
        ax.plot(steps, [r["capacity"] for r in log], "k--", linewidth=1, label="C")
    ax.set_xlabel("step")
    ax.set_ylabel("KL (nats)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)
