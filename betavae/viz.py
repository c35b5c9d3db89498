"""Pictures of a trained model: image grids, reconstructions beside inputs, and latent traversals
(one row per latent, ordered by KL and annotated with it), as PNG or animated GIF."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw


def to_uint8_grid(images: torch.Tensor, nrow: int, pad: int = 2) -> np.ndarray:
    """``(N, C, H, W)`` floats in [0, 1] → an ``(rows·(H+pad), nrow·(W+pad), 3)`` uint8 array."""
    images = images.detach().float().clamp(0, 1).cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    n, _, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.full((3, rows * (h + pad) + pad, nrow * (w + pad) + pad), 0.5)
    for k in range(n):
        r, c = divmod(k, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[:, top : top + h, left : left + w] = images[k]
    return (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def save_png(array: np.ndarray, path: Path, scale: int = 2) -> Path:
    img = Image.fromarray(array)
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@torch.no_grad()
def reconstructions(
    model, images: torch.Tensor, inputs: torch.Tensor | None = None
) -> torch.Tensor:
    """Images (row 1) above the decoded posterior means (row 2), floats in [0, 1]. ``inputs``:
    what the encoder takes when it is not the images (the generator's factor classes)."""
    mu, _ = model.encode(images if inputs is None else inputs)
    recon = torch.sigmoid(model.decode(mu))
    return torch.cat([images, recon])


@torch.no_grad()
def traversal_frames(
    model,
    image: torch.Tensor,
    order: Sequence[int],
    steps: int = 9,
    span: float = 2.5,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> torch.Tensor:
    """``(len(order), steps, C, H, W)``: latent ``order[r]`` swept over [-span, span] (or over
    ``ranges[j]``, e.g. its 1st-99th percentile of μ over the data) around the posterior mean of
    ``image`` (1, C, H, W) (or the encoder's input of one example), the other latents held at
    their means."""
    mu, _ = model.encode(image)
    rows = []
    for j in order:
        low, high = (-span, span) if ranges is None else ranges[j]
        values = torch.linspace(float(low), float(high), steps, device=mu.device)
        z = mu.repeat(steps, 1)
        z[:, j] = values
        rows.append(torch.sigmoid(model.decode(z)))
    return torch.stack(rows)


def _annotate(grid: np.ndarray, labels: Sequence[str], row_height: int, margin: int = 56):
    canvas = Image.new("RGB", (grid.shape[1] + margin, grid.shape[0]), (255, 255, 255))
    canvas.paste(Image.fromarray(grid), (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for r, label in enumerate(labels):
        draw.text((2, r * row_height + row_height // 2 - 5), label, fill=(0, 0, 0))
    return canvas


def traversal_png(
    model,
    image,
    kl_per_latent: Sequence[float],
    path: Path,
    steps: int = 9,
    span: float = 2.5,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> Path:
    """Traversal grid, rows ordered by decreasing KL and labelled ``z3 KL 4.21``."""
    order = list(np.argsort(-np.asarray(kl_per_latent)))
    frames = traversal_frames(model, image, order, steps, span, ranges)
    n, s = frames.shape[:2]
    grid = to_uint8_grid(frames.reshape(n * s, *frames.shape[2:]), nrow=s)
    row_height = grid.shape[0] // n
    labels = [f"z{j} KL {kl_per_latent[j]:.2f}" for j in order]
    canvas = _annotate(grid, labels, row_height)
    canvas = canvas.resize((canvas.width * 2, canvas.height * 2), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def traversal_gif(
    model, image, kl_per_latent: Sequence[float], path: Path, steps: int = 16, span: float = 2.5
) -> Path:
    """Animated traversal: every latent swept at once, one tile per latent (ordered by KL)."""
    order = list(np.argsort(-np.asarray(kl_per_latent)))
    frames = traversal_frames(model, image, order, steps, span)  # (Z, steps, C, H, W)
    sweep = list(range(steps)) + list(range(steps - 2, 0, -1))  # there and back
    pictures = [Image.fromarray(to_uint8_grid(frames[:, t], nrow=len(order))) for t in sweep]
    pictures = [p.resize((p.width * 2, p.height * 2), Image.NEAREST) for p in pictures]
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=80, loop=0)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def kl_curves_png(records: list[dict], path: Path) -> Path:
    """Per-latent KL against training step from a run's metrics records (``RunDir.read_metrics``;
    the paper's Fig. 3 view), with the total KL and the capacity target C overlaid."""
    if not records:
        raise ValueError("no metrics recorded")
    steps = [r["step"] for r in records]
    per_latent = np.array([r["kl_per_latent"] for r in records])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for j in np.argsort(-per_latent[-1]):
        ax.plot(steps, per_latent[:, j], label=f"z{j}", linewidth=1.2)
    ax.plot(steps, [r["kl"] for r in records], color="black", linewidth=1.5, label="total KL")
    if any(r.get("capacity", 0) for r in records):
        ax.plot(steps, [r["capacity"] for r in records], "k--", linewidth=1, label="C")
    ax.set_xlabel("step")
    ax.set_ylabel("KL (nats)")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def mi_heatmap_png(
    mi: np.ndarray,
    factor_names: Sequence[str],
    path: Path,
    latent_labels: Sequence[str] | None = None,
) -> Path:
    """Factor × latent mutual-information heat map (nats)."""
    mi = np.asarray(mi)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1 + 0.55 * mi.shape[0], 1 + 0.45 * mi.shape[1]))
    image = ax.imshow(mi.T, cmap="viridis", aspect="auto")
    ax.set_yticks(range(len(factor_names)), factor_names)
    labels = latent_labels or [f"z{j}" for j in range(mi.shape[0])]
    ax.set_xticks(range(mi.shape[0]), labels, rotation=90)
    for (j, k), value in np.ndenumerate(mi):
        ax.text(
            j,
            k,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=6,
            color="white" if value < mi.max() / 2 else "black",
        )
    fig.colorbar(image, ax=ax, label="mutual information (nats)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
