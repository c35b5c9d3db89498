"""Why the capacity objective keeps two latents on dSprites: a cross-check against a published
run of another implementation (γ 100, lr 1e-3: betavae.reproduce.published), a map of γ × learning
rate at the paper's C slope, and a gradient probe of the mechanism (``--probe-every``).

Runs (``python -m betavae.reproduce capacity-map --budget paper``):

- ``gamma100-lr0.001-seed0``: the published run's settings, 150,000 steps, snapshots at C = 2.5,
  5, 7.5 nats, at the map's step and at the end of the ramp. Its snapshot at the map's step is
  also the map's cell (γ 100, lr 1e-3, seed 0): training up to there is the same run.
- ``gammaG-lrL-seedS``: the map, γ ∈ {100, 300, 1000} × lr ∈ {5e-4, 1e-3}, 40,000 steps each
  (C = 10 nats at the end), snapshots at C = 2.5, 5, 7.5.
- ``probe-gammaG-lr0.0005-seed0``: γ 100 and 1000 with the gradient probe on, 20,000 steps.

Each finished run keeps a record (``models/capacity-map/NAME.json``: config, measured numbers,
thinned log); only the cross-check run also keeps its model file (the report uses it). The
section is built from the records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import TrainConfig
from ..objectives import capacity_at, step_at_capacity
from ..rundir import RunDir
from ..trained import load_trained
from . import cross_check, information, mechanism, records
from .analysis import (
    ACTIVE_KL,
    markdown_table,
    posterior,
    pyplot,
    reconstruction_nll,
    save_figure,
)
from .runner import Run, run_state

EXPERIMENT = "capacity-map"
TITLE = "Why two latents: a peer cross-check, the γ/lr map and the gradient probe"
GAMMAS = (100.0, 300.0, 1000.0)
LRS = (5e-4, 1e-3)
CROSS_CHECK = (100.0, 1e-3)  # the published run's (γ, lr)
PROBE_GAMMAS = (100.0, 1000.0)
PROBE_LR = 5e-4
CARRIES_FACTOR = 0.2  # MI/H of a latent's mean with some factor: the latent carries that factor
SCHEDULES = {  # steps: a map run's; C rises at the paper's slope (paper) or a 10x steeper one
    "paper": dict(
        steps=40_000, cross_steps=150_000, probe_steps=20_000, c_steps=100_000, log_every=200
    ),
    "cpu": dict(steps=4_000, cross_steps=15_000, probe_steps=2_000, c_steps=10_000, log_every=50),
    "smoke": dict(steps=6, cross_steps=8, probe_steps=4, c_steps=24, log_every=2, batch_size=8),
}
SNAPSHOT_CAPACITIES = (2.5, 5.0, 7.5)  # nats: where the cross-check compares the two runs
MEASURE_SAMPLES = {"paper": 10_000, "cpu": 10_000, "smoke": 300}


def run_name(gamma: float, lr: float, seed: int, prefix: str = "") -> str:
    return f"{prefix}gamma{gamma:g}-lr{lr:g}-seed{seed}"


def _flags(budget: str, gamma: float, lr: float, seed: int, steps: int) -> dict:
    schedule = SCHEDULES[budget]
    extra = {k: schedule[k] for k in ("batch_size",) if k in schedule}
    return dict(
        preset="dsprites",
        gamma=gamma,
        lr=lr,
        seed=seed,
        steps=steps,
        c_steps=schedule["c_steps"],
        log_every=schedule["log_every"],
        save_every=max(1, min(5000, steps // 4)),
        image_every=10**9,
        **extra,
    )


def _capacity_steps(budget: str, limit: int) -> list[int]:
    c_steps = SCHEDULES[budget]["c_steps"]
    steps = [step_at_capacity(c, TrainConfig.c_max, c_steps) for c in SNAPSHOT_CAPACITIES]
    return [s for s in steps if 0 < s < limit]


def runs(budget: str, seeds: int, data_path: str | None = None) -> list[Run]:
    """The cross-check run first (the longest), then the map seed by seed, then the probes."""
    schedule = SCHEDULES[budget]
    map_steps, cross_steps = schedule["steps"], schedule["cross_steps"]
    map_snapshots = tuple(_capacity_steps(budget, map_steps))
    cross_snapshots = tuple(
        sorted({*_capacity_steps(budget, cross_steps), map_steps, schedule["c_steps"]} - {0})
    )
    cross_snapshots = tuple(s for s in cross_snapshots if s < cross_steps)
    gamma, lr = CROSS_CHECK
    out = [Run(run_name(gamma, lr, 0), _flags(budget, gamma, lr, 0, cross_steps), cross_snapshots)]
    for seed in range(seeds):
        for gamma, lr in map_order():
            if seed == 0 and (gamma, lr) == CROSS_CHECK:
                continue  # the cross-check run's snapshot at the map's step is this cell
            flags = _flags(budget, gamma, lr, seed, map_steps)
            out.append(Run(run_name(gamma, lr, seed), flags, map_snapshots))
    for gamma in PROBE_GAMMAS:
        flags = _flags(budget, gamma, PROBE_LR, 0, schedule["probe_steps"])
        flags["probe_every"] = schedule["log_every"]
        out.append(Run(run_name(gamma, PROBE_LR, 0, "probe-"), flags))
    return out


def map_order() -> list[tuple[float, float]]:
    """The map's cells in training order: the cells furthest from the paper's recipe and from
    each other first, so a sitting that ends early still spans the map."""
    return [
        (100.0, 5e-4),
        (1000.0, 1e-3),
        (300.0, 5e-4),
        (300.0, 1e-3),
        (1000.0, 5e-4),
        CROSS_CHECK,
    ]


def _kind(name: str) -> str:
    if name.startswith("probe-"):
        return "probe"
    return "cross-check" if name == run_name(*CROSS_CHECK, 0) else "map"


def recorded(run: Run, out: Path, budget: str) -> bool:
    return records.is_recorded(
        out,
        EXPERIMENT,
        run.name,
        budget,
        run.config(out).steps,
        weights=_kind(run.name) == "cross-check",
    )


def keep_record(run_dir: Path, out: Path, budget: str) -> Path:
    """Measure a finished run once and keep its record (and, for the cross-check, its model)."""
    step = run_state(run_dir)[0]
    return records.keep(
        run_dir,
        out,
        EXPERIMENT,
        budget,
        step,
        lambda: measure(run_dir, budget),
        weights=_kind(run_dir.name) == "cross-check",
    )


def measure(run_dir: Path, budget: str) -> dict:
    """A run's numbers: for map runs the cell at the end; for the cross-check the cell at its
    snapshot at the map's step and the same measurements at the end; probes: the config only
    (their numbers are in the log)."""
    run_dir = Path(run_dir)
    kind = _kind(run_dir.name)
    config = TrainConfig.from_dict(RunDir(run_dir).read_config())
    out = dict(kind=kind, config=config.to_dict(), seed=config.seed, gamma=config.gamma)
    out["lr"] = config.lr
    if kind == "probe":
        return out
    log = RunDir(run_dir).read_metrics()
    samples = MEASURE_SAMPLES[budget]
    if kind == "cross-check":
        map_step = SCHEDULES[budget]["steps"]
        at_map = RunDir(run_dir).snapshot_dir(map_step)
        out["cell"] = cell(at_map, [r for r in log if r["step"] <= map_step], samples)
        # as every record with a model file: the mean KL per latent over 5,000 images (seed 0),
        # which tests/test_reference_models.py recomputes from the committed model
        _, model, data, _ = load_trained(run_dir)
        index = np.random.default_rng(0).integers(0, len(data), 5000)
        out["kl_per_latent"] = posterior(model, data, index)[2].mean(0)
    out["end"] = cell(run_dir, log, samples)
    return out


def cell(where: Path, log: list[dict], samples: int) -> dict:
    """What the map reports of one model (a run or snapshot directory) and its log up to there:
    open latents (KL > 0.1 nats over ``samples`` images), the latents that carry a factor
    (MI/H ≥ 0.2), when each latent opened in the log and C then, which factor each holds, recon,
    and the KL split into ½E[μ²] and the σ part."""
    config, model, data, step = load_trained(where)
    index = np.random.default_rng(0).integers(0, len(data), samples)
    mu, sigma, kl = posterior(model, data, index)
    nmi = information.normalised_mi(mu, data.factor_classes[index], data.factor_sizes)
    parts = information.kl_parts(mu, sigma)
    opened = opening_steps(log)
    return dict(
        step=step,
        capacity=capacity_at(step, config.c_max, config.c_steps),
        kl_per_latent=kl.mean(0),
        kl_mean_part=parts["kl_mean_part"],
        kl_variance_part=parts["kl_variance_part"],
        nmi=nmi,
        factor_names=list(data.factor_names),
        opened_at=opened,
        opened_capacity=[
            None if s is None else capacity_at(s, config.c_max, config.c_steps) for s in opened
        ],
        recon=reconstruction_nll(model, data, index[: min(samples, 5000)]),
    )


def opening_steps(log: list[dict], threshold: float = ACTIVE_KL) -> list[int | None]:
    """Per latent, the first logged step from which its batch KL stays above ``threshold`` for
    two records in a row (one noisy batch does not open a latent), or None."""
    if not log:
        return []
    per_latent = np.array([r["kl_per_latent"] for r in log])
    above = per_latent > threshold
    out: list[int | None] = []
    for j in range(per_latent.shape[1]):
        both = above[:-1, j] & above[1:, j] if len(log) > 1 else above[:, j]
        first = np.flatnonzero(both)
        out.append(int(log[first[0]]["step"]) if len(first) else None)
    return out


def summary(c: dict) -> dict:
    """The map's row of a cell: counts, the third latent to open (step, C, factor), KL parts."""
    kl = np.asarray(c["kl_per_latent"])
    nmi = np.asarray(c["nmi"])
    open_ = [j for j in np.argsort(-kl) if kl[j] > ACTIVE_KL]
    carrying = [j for j in open_ if nmi[j].max() >= CARRIES_FACTOR]
    order = sorted(
        (s, j) for j, s in enumerate(c["opened_at"]) if s is not None and kl[j] > ACTIVE_KL
    )
    third = order[2][1] if len(order) >= 3 else None
    names = c["factor_names"]
    return dict(
        open=len(open_),
        carrying=len(carrying),
        third_step=None if third is None else order[2][0],
        third_capacity=None if third is None else c["opened_capacity"][third],
        third_factor=None
        if third is None
        else f"{names[int(np.argmax(nmi[third]))]} ({nmi[third].max():.2f})",
        factors=sorted({names[int(np.argmax(nmi[j]))] for j in carrying}),
        recon=float(c["recon"]),
        kl=float(kl.sum()),
        kl_mean_part=float(np.sum(c["kl_mean_part"])),
        kl_variance_part=float(np.sum(c["kl_variance_part"])),
    )


def map_cells(found: list[dict]) -> list[dict]:
    """Every map cell of the records (map runs' ends, the cross-check's map-step snapshot)."""
    cells = []
    for r in found:
        c = r.get("cell") if r["kind"] == "cross-check" else r.get("end")
        if r["kind"] in ("map", "cross-check") and c is not None:
            cells.append(dict(name=r["name"], gamma=r["gamma"], lr=r["lr"], seed=r["seed"], **c))
    return sorted(cells, key=lambda c: (c["gamma"], c["lr"], c["seed"]))


def map_lines(cells: list[dict], figures: Path, report_dir: Path) -> list[str]:
    if not cells:
        return ["The map: no map run finished yet.", ""]
    step, capacity = cells[0]["step"], cells[0]["capacity"]
    rows = []
    for c in cells:
        s = summary(c)
        third = (
            "none"
            if s["third_step"] is None
            else f"step {s['third_step']:,} (C {s['third_capacity']:.1f}): {s['third_factor']}"
        )
        rows.append(
            [
                f"{c['gamma']:g}",
                f"{c['lr']:g}",
                c["seed"],
                s["open"],
                s["carrying"],
                ", ".join(s["factors"]) or "-",
                third,
                s["recon"],
                s["kl"],
                s["kl_mean_part"],
                s["kl_variance_part"],
            ]
        )
    figure = map_figure(cells, figures / "capacity-map.png")
    lines = [
        f"### 2. The γ × lr map at step {step:,} (C = {capacity:.1f} nats)",
        "",
        f"Each cell measured over {MEASURE_SAMPLES_NOTE}: latents with KL > {ACTIVE_KL} nats "
        f"(open), latents whose posterior mean holds MI/H ≥ {CARRIES_FACTOR} of some factor "
        "(carrying) and those factors, the third latent to open in the training log (batch KL > "
        "0.1 nats two log records in a row) with C then and the factor it holds at this step "
        "(MI/H), recon (Bernoulli NLL of decoding μ, nats), KL and its parts ½E[μ²] (spread of "
        "the means) and ½E[σ² − ln σ² − 1] (σ shrunk below 1).",
        "",
    ]
    header = ["γ", "lr", "seed", "open", "carrying", "factors", "third latent opens"]
    header += ["recon", "KL", "½E[μ²]", "σ part"]
    lines += markdown_table(header, rows)
    lines += [f"![map]({figure.relative_to(report_dir)})", ""]
    lines += regime_lines(cells)
    return lines


MEASURE_SAMPLES_NOTE = "10,000 random images (recon over 5,000)"


def regime_lines(cells: list[dict]) -> list[str]:
    """Which settings open a third latent (and for which factor) and which lock in two."""
    by_setting: dict[tuple[float, float], list[dict]] = {}
    for c in cells:
        by_setting.setdefault((c["gamma"], c["lr"]), []).append(summary(c))
    opens, locks = [], []
    for (gamma, lr), rows in sorted(by_setting.items()):
        label = f"γ {gamma:g}, lr {lr:g} ({len(rows)} seed{'s' if len(rows) > 1 else ''})"
        if all(r["carrying"] >= 3 for r in rows):
            factors = sorted({f for r in rows for f in r["factors"]})
            opens.append(f"{label}: {', '.join(factors)}")
        elif all(r["open"] <= 2 for r in rows):
            locks.append(label)
        else:
            opens.append(
                f"{label}: mixed, "
                + "; ".join(f"{r['open']} open / {r['carrying']} carrying" for r in rows)
            )
    return [
        "Settings with three or more latents carrying a factor at this step: "
        + ("; ".join(opens) if opens else "none")
        + ".",
        "",
        "Settings that keep at most two open latents: "
        + ("; ".join(locks) if locks else "none")
        + ".",
        "",
    ]


def map_figure(cells: list[dict], path: Path) -> Path:
    """γ × lr grid coloured by the mean number of factor-carrying latents over seeds."""
    plt = pyplot()
    grid = np.full((len(LRS), len(GAMMAS)), np.nan)
    text = [["" for _ in GAMMAS] for _ in LRS]
    for i, lr in enumerate(LRS):
        for k, gamma in enumerate(GAMMAS):
            here = [summary(c) for c in cells if c["gamma"] == gamma and c["lr"] == lr]
            if here:
                grid[i, k] = np.mean([s["carrying"] for s in here])
                text[i][k] = "\n".join(f"{s['open']} open / {s['carrying']} carry" for s in here)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=5, origin="lower")
    for i in range(len(LRS)):
        for k in range(len(GAMMAS)):
            ax.text(k, i, text[i][k] or "not run", ha="center", va="center", fontsize=7, color="w")
    ax.set_xticks(range(len(GAMMAS)), [f"{g:g}" for g in GAMMAS])
    ax.set_yticks(range(len(LRS)), [f"{lr:g}" for lr in LRS])
    ax.set_xlabel("γ")
    ax.set_ylabel("Adam lr")
    ax.set_title(f"latents carrying a factor at step {cells[0]['step']:,}", fontsize=9)
    fig.colorbar(image, ax=ax, label="mean over seeds")
    return save_figure(fig, path)


def analyse(run_dirs: list[Path], figures: Path, report_dir: Path, budget: str) -> list[str]:
    """The section from every record of ``budget`` (this sitting's finished runs first)."""
    for run_dir in run_dirs:
        keep_record(run_dir, report_dir, budget)
    found = records.of_budget(report_dir, EXPERIMENT, budget)
    lines = [f"## {TITLE}", ""]
    cross = [r for r in found if r["kind"] == "cross-check"]
    lines += cross_check.section_lines(cross[0] if cross else None, figures, report_dir)
    lines += map_lines(map_cells(found), figures, report_dir)
    lines += mechanism.section_lines([r for r in found if r["kind"] == "probe"])
    return lines
