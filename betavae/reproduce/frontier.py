"""The paper's frontier claim on dSprites, checked from the runs' records: the capacity model
reconstructs better than a β-VAE that disentangles by pressure (a large β) while its
disentanglement is at least as good. Compared as means over each model's seeds, every
reconstruction measure (lower is better) and every score (higher is better) named, so a verdict
says which comparisons carry it and which break it."""

from __future__ import annotations

import numpy as np

from .analysis import SCORES

RECONSTRUCTIONS = (("recon", "recon, μ decoded"), ("recon_sampled", "recon, z sampled"))


def measures(record: dict) -> dict[str, tuple[float, bool]]:
    """A record's measures by name: (value, whether lower is better)."""
    out = {name: (float(record[key]), True) for key, name in RECONSTRUCTIONS}
    out.update({key: (float(record["eval"][metric][key]), False) for metric, key in SCORES})
    return out


def compare(capacity: list[dict], baseline: list[dict]) -> list[dict]:
    """One row per measure: ``name``, the two models' means over their runs, and whether the
    capacity model is at least as good (recon: lower or equal; scores: higher or equal)."""
    ours = [measures(r) for r in capacity]
    theirs = [measures(r) for r in baseline]
    rows = []
    for name, (_, lower_better) in ours[0].items():
        a = float(np.mean([m[name][0] for m in ours]))
        b = float(np.mean([m[name][0] for m in theirs]))
        holds = a <= b if lower_better else a >= b
        rows.append(dict(name=name, capacity=a, baseline=b, holds=holds))
    return rows


def verdict(rows: list[dict]) -> str:
    """ "holds" when every comparison goes the capacity model's way, else which ones do not."""
    failed = [r["name"] for r in rows if not r["holds"]]
    if not failed:
        return "holds: better or equal reconstruction and every score at least as good"
    return f"does not hold on {len(failed)} of {len(rows)} measures ({'; '.join(failed)})"


def section_lines(found: list[dict], baseline_kind: str) -> list[str]:
    """The frontier table of ``capacity`` against ``baseline_kind`` from the records ``found``;
    a line saying what is missing when either model has no record."""
    capacity = [r for r in found if r["kind"] == "capacity"]
    baseline = [r for r in found if r["kind"] == baseline_kind]
    title = f"### Frontier: capacity against {baseline_kind}"
    if not capacity or not baseline:
        absent = [k for k, r in (("capacity", capacity), (baseline_kind, baseline)) if not r]
        return [title, "", f"Not tested: no finished run of {' and '.join(absent)}.", ""]
    rows = compare(capacity, baseline)
    table = ["| measure | capacity | " + baseline_kind + " | capacity at least as good |"]
    table += ["|---|---|---|---|"]
    table += [
        f"| {r['name']} | {r['capacity']:.3f} | {r['baseline']:.3f} | "
        f"{'yes' if r['holds'] else 'no'} |"
        for r in rows
    ]
    seeds = f"{len(capacity)} capacity run(s), {len(baseline)} {baseline_kind} run(s)"
    return [
        title,
        "",
        f"Means over {seeds}; reconstructions lower is better, scores higher is better. "
        f"The claim (better reconstruction, disentanglement at least as good) "
        f"{verdict(rows)}.",
        "",
        *table,
        "",
    ]
