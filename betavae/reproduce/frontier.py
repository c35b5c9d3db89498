"""The paper's frontier claim on dSprites, checked from the runs' records: the capacity model
reconstructs better than a β-VAE that disentangles by pressure (a large β) while its
disentanglement is at least as good. Compared as means over each model's seeds, every
reconstruction measure (lower is better) and every score (higher is better) named, so a verdict
says which comparisons carry it and which break it. With more than one run per model the table
also says whether the comparison holds run by run (the capacity model's worst run at least as
good as the baseline's best), so a mean difference smaller than the seed spread shows as such."""

from __future__ import annotations

import numpy as np

from .analysis import SCORES

RECONSTRUCTIONS = (("recon", "recon, μ decoded"), ("recon_sampled", "recon, z sampled"))


def measures(record: dict) -> dict[str, tuple[float, bool]]:
    """A record's measures by name: (value, whether lower is better)."""
    out = {name: (float(record[key]), True) for key, name in RECONSTRUCTIONS}
    out.update({key: (float(record["eval"][metric][key]), False) for metric, key in SCORES})
    return out


def _at_least_as_good(ours: float, theirs: float, lower_better: bool) -> bool:
    return ours <= theirs if lower_better else ours >= theirs


def compare(capacity: list[dict], baseline: list[dict]) -> list[dict]:
    """One row per measure: ``name``, the two models' means over their runs (``capacity``,
    ``baseline``) and per-run values (``capacity_runs``, ``baseline_runs``), whether the capacity
    model is at least as good on the means (``holds``; recon: lower or equal, scores: higher or
    equal) and whether it is for every pair of runs (``every_run``)."""
    ours = [measures(r) for r in capacity]
    theirs = [measures(r) for r in baseline]
    rows = []
    for name, (_, lower_better) in ours[0].items():
        a_runs = [m[name][0] for m in ours]
        b_runs = [m[name][0] for m in theirs]
        a, b = float(np.mean(a_runs)), float(np.mean(b_runs))
        every_run = all(_at_least_as_good(x, y, lower_better) for x in a_runs for y in b_runs)
        rows.append(
            dict(
                name=name,
                capacity=a,
                baseline=b,
                capacity_runs=a_runs,
                baseline_runs=b_runs,
                holds=_at_least_as_good(a, b, lower_better),
                every_run=every_run,
            )
        )
    return rows


def verdict(rows: list[dict]) -> str:
    """ "holds" when every comparison goes the capacity model's way, else which ones do not."""
    failed = [r["name"] for r in rows if not r["holds"]]
    if not failed:
        return "holds: better or equal reconstruction and every score at least as good"
    return f"does not hold on {len(failed)} of {len(rows)} measures ({'; '.join(failed)})"


def _cell(mean: float, runs: list[float]) -> str:
    """A model's mean, followed by its runs' values when there is more than one."""
    if len(runs) < 2:
        return f"{mean:.3f}"
    return f"{mean:.3f} ({', '.join(f'{v:.3f}' for v in runs)})"


def section_lines(
    found: list[dict], baseline_kind: str, capacity_kind: str = "capacity"
) -> list[str]:
    """The frontier table of ``capacity_kind`` (the paper's recipe, ``capacity``, or another
    setting of the capacity objective) against ``baseline_kind`` from the records ``found``; a
    line saying what is missing when either model has no record."""
    capacity = [r for r in found if r["kind"] == capacity_kind]
    baseline = [r for r in found if r["kind"] == baseline_kind]
    title = f"### Frontier: {capacity_kind} against {baseline_kind}"
    if not capacity or not baseline:
        absent = [k for k, r in ((capacity_kind, capacity), (baseline_kind, baseline)) if not r]
        return [title, "", f"Not tested: no finished run of {' and '.join(absent)}.", ""]
    rows = compare(capacity, baseline)
    yes = {True: "yes", False: "no"}
    table = [
        f"| measure | {capacity_kind} | {baseline_kind} | {capacity_kind} at least as good "
        "| in every run |"
    ]
    table += ["|---|---|---|---|---|"]
    table += [
        f"| {r['name']} | {_cell(r['capacity'], r['capacity_runs'])} | "
        f"{_cell(r['baseline'], r['baseline_runs'])} | {yes[r['holds']]} | {yes[r['every_run']]} |"
        for r in rows
    ]
    seeds = f"{len(capacity)} {capacity_kind} run(s), {len(baseline)} {baseline_kind} run(s)"
    run_by_run = sum(r["every_run"] for r in rows)
    return [
        title,
        "",
        f"Means over {seeds} (with more than one run, each run's value in brackets); "
        "reconstructions lower is better, scores higher is better. The claim (better "
        f"reconstruction, disentanglement at least as good) {verdict(rows)}. "
        f"Run by run (every {capacity_kind} run at least as good as every {baseline_kind} run) "
        f"it holds on {run_by_run} of {len(rows)} measures.",
        "",
        *table,
        "",
    ]
