"""Summarises the CPU --amp parity runs of scripts/amp_parity.sh into a markdown table: for each
preset, float32 vs --amp over the seeds — final reconstruction and KL, the sorted KL-per-latent
profile, active latents, and the metrics of `python -m betavae.evaluate` — with mean ± standard
deviation over seeds and whether the difference is within seed-to-seed noise.

    python scripts/amp_parity_report.py runs/amp-parity bench/results/amp-cpu.md
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from betavae.evaluate import ACTIVE_KL

METRICS = ("mig", "beta_vae", "factor_vae", "sap")


def _last_record(run: Path) -> dict:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return json.loads(lines[-1])


def _run_numbers(run: Path) -> dict[str, float | list[float]]:
    record = _last_record(run)
    kl = sorted(record["kl_per_latent"], reverse=True)
    numbers: dict = {
        "step": record["step"],
        "recon": record["recon"],
        "kl": record["kl"],
        "active latents": sum(v > ACTIVE_KL for v in kl),
        "kl profile": kl,
    }
    eval_file = run / "eval" / "eval.json"
    if eval_file.exists():
        scores = json.loads(eval_file.read_text())
        for name in METRICS:
            if name in scores:
                numbers[name] = scores[name][name]
    return numbers


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _verdict(a: list[float], b: list[float]) -> str:
    """Within noise when |mean difference| <= 2 standard errors of that difference."""
    (ma, sa), (mb, sb) = _mean_sd(a), _mean_sd(b)
    se = ((sa**2) / len(a) + (sb**2) / len(b)) ** 0.5
    if se == 0:
        return "equal" if ma == mb else "differs (no spread)"
    return "within noise" if abs(ma - mb) <= 2 * se else f"outside ({abs(ma - mb) / se:.1f} SE)"


def report(runs_dir: Path) -> str:
    sections = []
    for preset in ("quick", "paper"):
        per = {p: [] for p in ("fp32", "amp")}
        for precision in per:
            for run in sorted(runs_dir.glob(f"{preset}-{precision}-s*")):
                per[precision].append((run.name, _run_numbers(run)))
        if not per["fp32"] or not per["amp"]:
            continue
        rows = ["| quantity | float32 | --amp (bf16) | difference |", "|---|---|---|---|"]
        keys = ["recon", "kl", "active latents"] + [m for m in METRICS if m in per["fp32"][0][1]]
        for key in keys:
            a = [n[key] for _, n in per["fp32"]]
            b = [n[key] for _, n in per["amp"]]
            (ma, sa), (mb, sb) = _mean_sd(a), _mean_sd(b)
            rows.append(f"| {key} | {ma:.4g} ± {sa:.2g} | {mb:.4g} ± {sb:.2g} | {_verdict(a, b)} |")
        width = len(per["fp32"][0][1]["kl profile"])
        for rank in range(width):
            a = [n["kl profile"][rank] for _, n in per["fp32"]]
            b = [n["kl profile"][rank] for _, n in per["amp"]]
            (ma, sa), (mb, sb) = _mean_sd(a), _mean_sd(b)
            rows.append(
                f"| KL of latent #{rank + 1} (sorted) | {ma:.3f} ± {sa:.2g} | "
                f"{mb:.3f} ± {sb:.2g} | {_verdict(a, b)} |"
            )
        seeds = ", ".join(name for name, _ in per["fp32"] + per["amp"])
        step = per["fp32"][0][1]["step"]
        sections.append(
            f"## `{preset}` preset at step {step} ({len(per['fp32'])} seeds each)\n\n"
            + "\n".join(rows)
            + f"\n\nRuns: {seeds}. Mean ± standard deviation over seeds; recon and KL are the "
            "last logged interval's batch means (nats). 'Within noise': the difference of the "
            "means is at most 2 standard errors."
        )
    return "\n\n".join(sections)


def main(argv: list[str]) -> int:
    runs_dir = Path(argv[0])
    text = report(runs_dir)
    if len(argv) > 1:
        Path(argv[1]).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
