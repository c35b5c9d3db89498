"""The cross-check of the capacity-map experiment: this project's run at the published run's
settings (γ 100, lr 1e-3) set beside that run's log (betavae.reproduce.published), epoch by epoch:
how many latents are open (mean KL > 0.1 nats), their KL, the reconstruction term."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..objectives import capacity_at
from . import published
from .analysis import ACTIVE_KL, markdown_table, pyplot, save_figure

COMMAND = "python -m betavae.reproduce capacity-map --budget paper --amp --out docs/reproduction"


def epoch_means(log: list[dict], epoch: int) -> tuple[float, np.ndarray] | None:
    """(mean recon, mean KL per latent) of the log records inside the published run's epoch
    ``epoch`` (steps in (e·S, (e+1)·S], S = 11,520), or None when the log does not cover it."""
    size = published.STEPS_PER_EPOCH
    inside = [r for r in log if epoch * size < r["step"] <= (epoch + 1) * size]
    if not inside or log[-1]["step"] < (epoch + 1) * size:
        return None
    recon = float(np.mean([r["recon"] for r in inside]))
    return recon, np.mean([r["kl_per_latent"] for r in inside], axis=0)


def compare(log: list[dict]) -> list[dict]:
    """Per published epoch that the log covers: both runs' open latents, KLs and recon."""
    rows = []
    for epoch, (their_recon, their_kl) in sorted(published.EPOCHS.items()):
        ours = epoch_means(log, epoch)
        if ours is None:
            continue
        middle = int((epoch + 0.5) * published.STEPS_PER_EPOCH)
        theirs = np.asarray(their_kl)
        rows.append(
            dict(
                epoch=epoch,
                capacity=capacity_at(middle, published.C_MAX, published.C_STEPS),
                their_open=int((theirs > ACTIVE_KL).sum()),
                their_kl=np.sort(theirs)[::-1],
                their_recon=their_recon,
                our_open=int((ours[1] > ACTIVE_KL).sum()),
                our_kl=np.sort(ours[1])[::-1],
                our_recon=ours[0],
            )
        )
    return rows


def verdict(rows: list[dict]) -> str:
    """'agree' when both runs have the same number of open latents in every compared epoch."""
    if not rows:
        return "not tested (no epoch of the published log is covered yet)"
    differ = [r for r in rows if r["our_open"] != r["their_open"]]
    if not differ:
        return (
            f"the two implementations agree at these settings on the number of open latents in "
            f"all {len(rows)} compared epochs"
        )
    return (
        f"the two implementations disagree at these settings: the number of open latents differs "
        f"in {len(differ)} of {len(rows)} compared epochs ("
        + "; ".join(f"epoch {r['epoch']}: {r['our_open']} here, {r['their_open']}" for r in differ)
        + ")"
    )


def _kls(values: np.ndarray) -> str:
    return " / ".join(f"{v:.2f}" for v in values if v > ACTIVE_KL) or "-"


def section_lines(record: dict | None, figures: Path, report_dir: Path) -> list[str]:
    lines = ["### 1. Cross-check against a published run (γ 100, lr 1e-3)", ""]
    if record is None:
        return lines + [f"Not run yet (`{COMMAND}` trains it first).", ""]
    rows = compare(record["log"])
    size = published.STEPS_PER_EPOCH
    table = [
        [
            r["epoch"],
            f"{r['epoch'] * size:,}–{(r['epoch'] + 1) * size:,}",
            f"{r['capacity']:.1f}",
            r["their_open"],
            _kls(r["their_kl"]),
            r["their_recon"],
            r["our_open"],
            _kls(r["our_kl"]),
            r["our_recon"],
        ]
        for r in rows
    ]
    figure = trajectory_figure(record["log"], figures / "capacity-map-cross-check.png")
    lines += [
        f"Published: {published.SOURCE}. Here: `{record['name']}` (the dSprites preset with "
        f"`--gamma 100 --lr 1e-3`, {record['step']:,} steps, trained by `{record['trained_by']}`, "
        "on this project's procedural dSprites, not the official file). Per epoch of the "
        f"published run ({published.STEPS_PER_EPOCH:,} steps), the mean over the training "
        f"batches of each latent's KL and of the reconstruction term; 'open' = mean KL > "
        f"{ACTIVE_KL} nats; C at the epoch's middle.",
        "",
    ]
    lines += markdown_table(
        [
            "epoch",
            "steps",
            "C",
            "published: open",
            "published: KL of open latents",
            "published: recon",
            "here: open",
            "here: KL of open latents",
            "here: recon",
        ],
        table,
    )
    lines += [f"Verdict: {verdict(rows)}.", "", f"![cross-check]({figure.relative_to(report_dir)})"]
    lines += [""] + end_lines(record)
    return lines


def end_lines(record: dict) -> list[str]:
    """Which factor each open latent of the cross-check run holds, at the map's step and at
    the end (MI/H of the posterior means)."""
    out = []
    for key, label in (("cell", "at the map's step"), ("end", "at the end")):
        c = record.get(key)
        if c is None:
            continue
        kl, nmi, names = np.asarray(c["kl_per_latent"]), np.asarray(c["nmi"]), c["factor_names"]
        held = [
            f"z{j} {kl[j]:.2f} nats: {names[int(np.argmax(nmi[j]))]} ({nmi[j].max():.2f})"
            for j in np.argsort(-kl)
            if kl[j] > ACTIVE_KL
        ]
        out.append(
            f"Open latents {label} (step {c['step']:,}, C {c['capacity']:.1f}; recon "
            f"{c['recon']:.1f} nats from μ): " + "; ".join(held) + "."
        )
    return [*out, ""] if out else []


def trajectory_figure(log: list[dict], path: Path) -> Path:
    """Per-latent KL of this run (lines) and the published per-epoch means (dots at epoch
    middles), both against steps."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4))
    steps = [r["step"] for r in log]
    ours = np.array([r["kl_per_latent"] for r in log])
    for j in np.argsort(-ours[-1])[:4]:
        ax.plot(steps, ours[:, j], linewidth=1.2, label=f"here z{j}")
    size = published.STEPS_PER_EPOCH
    epochs = [e for e in sorted(published.EPOCHS) if (e + 1) * size <= max(steps[-1], size)]
    theirs = np.array([published.EPOCHS[e][1] for e in epochs])
    middles = [(e + 0.5) * size for e in epochs]
    for j in np.argsort(-theirs[-1])[:4]:
        ax.plot(middles, theirs[:, j], "o--", markersize=3, linewidth=0.8, label=f"published z{j}")
    ax.plot(steps, [r["capacity"] for r in log], "k:", linewidth=1, label="C")
    ax.set_xlabel("step")
    ax.set_ylabel("KL (nats)")
    ax.set_title("γ 100, lr 1e-3: this project vs disentangling-vae's betaB_dsprites", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)
