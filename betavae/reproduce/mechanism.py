"""The mechanism part of the capacity-map experiment: the gradient probe's numbers
(betavae.gradient_probe) of a small-γ and a large-γ run side by side, and the test of one
candidate cause of the two-latent lock-in.

Candidate: under Adam, the capacity term's gradient γ·sign(KL − C)·∂KL/∂θ dominates the
second-moment estimate v of the encoder's output layer, so the reconstruction gradient that would
open a new latent is divided by a large √v. It predicts, on the rows of the latents that are
still closed, at large γ: (a) the regulariser's share of the squared gradient,
|∇reg|² / (|∇reg|² + |∇recon|²), above one half, and (b) the reconstruction term's Adam-scaled
step |∇recon / (√v + ε)| well below (under half) its value at small γ. Either failing refutes it.
"""

from __future__ import annotations

import numpy as np

from .analysis import ACTIVE_KL, markdown_table

COMMAND = (
    "python -m betavae.reproduce capacity-map --budget paper --amp --only "
    "probe-gamma100-lr0.0005-seed0 probe-gamma1000-lr0.0005-seed0 --out docs/reproduction"
)
HEADS = (("mu", "μ"), ("logvar", "log σ²"))


def measured_records(log: list[dict]) -> list[dict]:
    """The log records that hold a probe measurement (Adam's state included)."""
    return [r for r in log if "recon_step_rms_mu" in r.get("probe", {})]


def window_means(log: list[dict], head: str) -> dict[str, dict[str, float]]:
    """Per latent group (open: batch KL > 0.1 nats in that record; closed: the rest), the means
    over the log's probe records of the gradient norms and Adam-scaled steps on ``head``."""
    groups: dict[str, dict[str, list[float]]] = {"open": {}, "closed": {}}
    for r in measured_records(log):
        p, kl = r["probe"], np.asarray(r["kl_per_latent"])
        for group, mask in (("open", kl > ACTIVE_KL), ("closed", kl <= ACTIVE_KL)):
            for name in ("grad_recon_norm", "grad_regulariser_norm", "recon_step_rms"):
                values = np.asarray(p[f"{name}_{head}"])[mask]
                groups[group].setdefault(name, []).extend(values.tolist())
            recon = np.asarray(p[f"grad_recon_norm_{head}"])[mask]
            reg = np.asarray(p[f"grad_regulariser_norm_{head}"])[mask]
            total = np.square(recon) + np.square(reg)
            share = np.divide(np.square(reg), total, out=np.zeros_like(total), where=total > 0)
            groups[group].setdefault("regulariser_share", []).extend(share.tolist())
    return {
        g: {k: float(np.mean(v)) if v else float("nan") for k, v in values.items()}
        for g, values in groups.items()
    }


def kl_above_c(log: list[dict]) -> float:
    """The fraction of training steps whose batch KL exceeded C, over the whole log."""
    above = sum(r["probe"]["kl_above_c"] for r in log if "probe" in r)
    counted = sum(r["probe"]["steps_counted"] for r in log if "probe" in r)
    return above / counted if counted else float("nan")


def candidate_verdict(small: dict, large: dict) -> str:
    """The candidate's two predictions on the closed latents' μ rows, small γ vs large γ."""
    share = large["mu"]["closed"].get("regulariser_share", float("nan"))
    step_small = small["mu"]["closed"].get("recon_step_rms", float("nan"))
    step_large = large["mu"]["closed"].get("recon_step_rms", float("nan"))
    if not all(np.isfinite([share, step_small, step_large])):
        return "not tested (a probe run has no measurement on closed latents)"
    a, b = share > 0.5, step_large < 0.5 * step_small
    facts = (
        f"(a) the regulariser's share of the squared gradient on closed μ rows at large γ is "
        f"{share:.3f}; (b) the recon term's Adam-scaled step there is {step_large:.3g} against "
        f"{step_small:.3g} at small γ"
    )
    if a and b:
        return f"supported: {facts}"
    failed = " and ".join(x for x, ok in (("(a)", a), ("(b)", b)) if not ok)
    return f"refuted ({failed} fails): {facts}"


def section_lines(probes: list[dict]) -> list[str]:
    lines = ["### 3. The mechanism: gradient probe of the encoder's heads", ""]
    probes = sorted(probes, key=lambda r: r["gamma"])
    if len(probes) < 2:
        return lines + [f"Not run yet (`{COMMAND}`).", ""]
    lines += [
        __doc__.split("\n\n", 1)[1].strip().replace("\n", " "),
        "",
        "Measured with `--probe-every` (every log record) on "
        + ", ".join(f"`{r['name']}` ({r['step']:,} steps)" for r in probes)
        + ": per head and latent group (open: batch KL > 0.1 nats at that record), the mean over "
        "the probed steps of |∇recon| and |∇reg| on each output row (weights and bias), the "
        "regulariser's share of their squares, and the recon term's Adam-scaled step "
        "RMS(∇recon / (√v + ε)).",
        "",
    ]
    rows, by_gamma = [], {}
    for r in probes:
        by_gamma[r["gamma"]] = {head: window_means(r["log"], head) for head, _ in HEADS}
        for head, label in HEADS:
            for group in ("open", "closed"):
                m = by_gamma[r["gamma"]][head][group]
                rows.append(
                    [
                        f"{r['gamma']:g}",
                        label,
                        group,
                        m.get("grad_recon_norm", float("nan")),
                        m.get("grad_regulariser_norm", float("nan")),
                        m.get("regulariser_share", float("nan")),
                        m.get("recon_step_rms", float("nan")),
                    ]
                )
    lines += markdown_table(
        ["γ", "head", "latents", "|∇recon|", "|∇reg|", "reg share", "recon Adam step"], rows
    )
    lines += [
        "Fraction of steps with batch KL > C: "
        + ", ".join(f"γ {r['gamma']:g}: {kl_above_c(r['log']):.3f}" for r in probes)
        + ".",
        "",
        "Candidate (Adam's √v dominated by the capacity term): "
        + candidate_verdict(by_gamma[probes[0]["gamma"]], by_gamma[probes[-1]["gamma"]])
        + ".",
        "",
    ]
    return lines
