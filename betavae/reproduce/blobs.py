"""Paper Fig. 2: a VAE (β = 1) and a β-VAE (β = 150) on images of one Gaussian blob whose x and y
take the 32×32 dSprites position grid. Paper: β = 150 uses exactly two latents (KL ≈ 0.9 nats
each, the rest at 0 with σ = 1), each a smooth map of one axis; β = 1 spreads x/y over ~4 latents
with fragmented maps.

Blob size decides whether that regime exists. At β = 150 a nat of KL must buy 150 nats of
reconstruction; with σ = 3 px blobs the whole reconstruction gain of knowing the position exactly
is ~148 nats (mean image 241 vs entropy floor 92), so collapsing both latents is optimal.
``capacity_table`` computes, per blob width, the reconstruction of the best decoder given a
Gaussian channel of I nats per axis, which shows where two ~1-nat latents pay off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import get_dataset
from ..trained import load_trained
from . import information
from .analysis import (
    ACTIVE_KL,
    markdown_table,
    posterior,
    pyplot,
    save_figure,
    traversal_figure,
)
from .runner import Run

TITLE = "Blobs (paper Fig. 2): β = 1 against β = 150"
BLOB_WIDTH = 12.0  # pixels (std); see capacity_table and the report for why not 3
ROBUSTNESS_WIDTH = 6.0  # a second width for β = 150 (seed 0), where capacity_table predicts less
SCHEDULES = {
    "paper": dict(steps=20_000, log_every=100, save_every=2000, image_every=5000),
    "cpu": dict(steps=4_000, log_every=50, save_every=500, image_every=5000),
    "smoke": dict(steps=4, log_every=2, save_every=2, image_every=4, batch_size=8),
}


def runs(budget: str, seeds: int, data_path: str | None = None) -> list[Run]:
    out = []
    for seed in range(seeds):
        for preset, beta in (("blobs-vae", 1), ("blobs-beta", 150)):
            flags = dict(preset=preset, seed=seed, blob_width=BLOB_WIDTH, **SCHEDULES[budget])
            out.append(Run(f"beta{beta}-seed{seed}", flags))
    flags = dict(preset="blobs-beta", seed=0, blob_width=ROBUSTNESS_WIDTH, **SCHEDULES[budget])
    out.append(Run(f"beta150-sigma{ROBUSTNESS_WIDTH:g}-seed0", flags))
    return out


def _bce(target: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(target * np.log(p) + (1 - target) * np.log(1 - p)).sum(-1)


def capacity_table(widths=(3.0, 6.0, 9.0, 12.0), infos=(0.3, 0.6, 0.9, 1.5), draws: int = 4):
    """Rows (width, mean-image recon, entropy floor, [net gain at β = 150 for each I]): the gain in
    reconstruction of the Bayes decoder given a Gaussian channel of I nats per axis (x and y each
    observed with noise of SNR e^{2I} − 1), minus the KL price 150·2I. Positive = worth it."""
    rows = []
    grid = np.linspace(-1, 1, 32) * np.sqrt(3)  # unit-variance position code
    rng = np.random.default_rng(0)
    for width in widths:
        data = get_dataset("blobs", width=width)
        images = data.images[np.arange(len(data))].numpy().astype(np.float64) / 255.0
        images = images.reshape(32, 32, -1)  # (x, y, pixels)
        flat = images.reshape(1024, -1)
        mean_recon = float(_bce(flat, flat.mean(0)).mean())
        floor = float(_bce(flat, flat).mean())
        net = []
        for info in infos:
            noise = 1.0 / np.sqrt(np.exp(2 * info) - 1)
            total = 0.0
            for _ in range(draws):
                weights = []
                for _axis in range(2):
                    seen = grid[:, None] + noise * rng.standard_normal((32, 1))
                    w = np.exp(-0.5 * ((seen - grid[None, :]) / noise) ** 2)
                    weights.append(w / w.sum(1, keepdims=True))
                decoded = np.einsum("ia,jb,abp->ijp", weights[0], weights[1], images, optimize=True)
                total += float(_bce(images, decoded).mean())
            net.append(mean_recon - total / draws - 150 * 2 * info)
        rows.append((width, mean_recon, floor, net))
    return rows, infos


def map_scores(mu_map: np.ndarray) -> dict:
    """How one latent's posterior-mean map over the (x, y) grid looks, from a two-way split of its
    variance into an x main effect, a y main effect and the rest:

    - ``alignment``: the larger main effect's share of the map's variance (1: the latent depends on
      one axis only; 0.5: equally on both, or on neither),
    - ``monotonicity``: |Spearman ρ| between that axis' coordinate and the map averaged over the
      other axis (1: a monotone function of the axis; low: folded or fragmented).
    """
    centred = mu_map - mu_map.mean()
    total = float((centred**2).mean())
    if total == 0:
        return dict(axis="-", alignment=0.0, monotonicity=0.0)
    x_profile, y_profile = centred.mean(axis=1), centred.mean(axis=0)
    shares = {"x": float((x_profile**2).mean()) / total, "y": float((y_profile**2).mean()) / total}
    axis = max(shares, key=shares.get)
    profile = x_profile if axis == "x" else y_profile
    ranks = np.argsort(np.argsort(profile))
    rho = np.corrcoef(ranks, np.arange(len(profile)))[0, 1]
    return dict(axis=axis, alignment=shares[axis], monotonicity=float(abs(rho)))


def _heat_maps(mu_maps, kl, sigma, title, path: Path) -> Path:
    plt = pyplot()
    z = len(kl)
    fig, axes = plt.subplots(2, (z + 1) // 2, figsize=(2.1 * ((z + 1) // 2), 4.6))
    for j, ax in enumerate(np.ravel(axes)):
        if j >= z:
            ax.axis("off")
            continue
        image = ax.imshow(mu_maps[j].T, origin="lower", cmap="RdBu_r", vmin=-3, vmax=3)
        ax.set_title(f"z{j} KL {kl[j]:.2f}\nσ {sigma[j]:.2f}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes, shrink=0.7, label="posterior mean μ")
    fig.suptitle(title + "  (x →, y ↑)", fontsize=9)
    return save_figure(fig, path)


def analyse(run_dirs: list[Path], figures: Path, report_dir: Path, budget: str) -> list[str]:
    lines, summary, details = [], [], []
    for run_dir in run_dirs:
        row, latents, pictures = _run_lines(run_dir, figures, report_dir)
        summary.append(row)
        details += latents
        lines += pictures
    header = ["run", "objective", "steps", "active latents (KL > 0.1)", "their KL", "total KL"]
    lines = [f"## {TITLE}", "", *markdown_table(header, summary), *lines]
    lines += [
        "Per active latent: `½E[μ²]` = the KL's mean part (what spreads the codes apart; the "
        "rest is σ shrunk below 1); `alignment` = share of the μ-map's variance explained by "
        "one axis alone (1 = depends on x only or y only); `tilt` = angle in degrees between "
        "the map's linear trend and the nearer axis (0 = axis-aligned, 45 = diagonal); "
        "`monotonicity` = |Spearman ρ| of the map, averaged over the other axis, with that "
        "axis (1 = smooth monotone code); `MI/H x / y` = normalised mutual information of the "
        "posterior mean with each position factor (20 bins).",
        "",
    ]
    header = ["run", "latent", "KL", "½E[μ²]", "mean σ", "axis", "alignment", "tilt (°)"]
    lines += markdown_table(header + ["monotonicity", "MI/H x / y"], details)
    rows, infos = capacity_table(draws=1 if budget == "smoke" else 4)
    lines += [
        f"Why blobs of σ = {BLOB_WIDTH:g} px: the net value at β = 150 (reconstruction gain of the "
        "Bayes decoder minus 150·KL) of a Gaussian channel of I nats per axis, by blob width. "
        "Where every entry is negative, the β = 150 optimum is two collapsed latents.",
        "",
    ]
    lines += markdown_table(
        ["blob σ (px)", "mean-image recon", "entropy floor"] + [f"I = {i:g}" for i in infos],
        [[f"{w:g}", m, f] + [f"{v:+.0f}" for v in net] for w, m, f, net in rows],
    )
    return lines


def _run_lines(run_dir: Path, figures: Path, report_dir: Path) -> tuple[list, list, list[str]]:
    """One run's summary row, its active latents' rows and its pictures' lines."""
    config, model, data, step = load_trained(run_dir)
    index = np.arange(len(data))
    mu, sigma, kl_each = posterior(model, data, index)
    kl, mean_sigma = kl_each.mean(0), sigma.mean(0)
    grid = data.factor_classes  # (posX, posY) classes, full grid
    mu_maps = np.zeros((mu.shape[1], 32, 32))
    mu_maps[:, grid[:, 0], grid[:, 1]] = mu.T
    name = run_dir.name
    heat = _heat_maps(
        mu_maps, kl, mean_sigma, f"{name}: μ_j over the position grid", figures / f"{name}.png"
    )
    trav = traversal_figure(
        model, data, kl, figures / f"{name}-traversals.png", index=len(data) // 2 + 16
    )
    active = [j for j in np.argsort(-kl) if kl[j] > ACTIVE_KL]
    their_kl = ", ".join(f"{kl[j]:.2f}" for j in active) or "-"
    row = [name, f"β = {config.beta:g}", step, len(active), their_kl, f"{kl.sum():.2f}"]
    nmi = information.normalised_mi(mu, grid, data.factor_sizes)
    parts = information.kl_parts(mu, sigma)
    details = []
    for j in active:
        scores = map_scores(mu_maps[j])
        details.append(
            [
                name,
                f"z{j}",
                f"{kl[j]:.2f}",
                f"{parts['kl_mean_part'][j]:.2f}",
                f"{mean_sigma[j]:.2f}",
                scores["axis"],
                scores["alignment"],
                f"{information.tilt_degrees(mu_maps[j]):.1f}",
                scores["monotonicity"],
                f"{nmi[j, 0]:.2f} / {nmi[j, 1]:.2f}",
            ]
        )
    pictures = [
        f"![{name} heat maps]({heat.relative_to(report_dir)})",
        f"![{name} traversals]({trav.relative_to(report_dir)})",
        "",
    ]
    return row, details, pictures
