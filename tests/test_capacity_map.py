"""The capacity-map experiment: its plan (names, schedules, snapshots), the cross-check against
the published log, the map's summaries, the mechanism's verdict, and one smoke run end to end
(records without weights for map runs, a model file for the cross-check)."""

import json
from pathlib import Path

import numpy as np

from betavae.reproduce import capacity_map, cross_check, mechanism, published
from betavae.reproduce.__main__ import main


def test_plan_at_the_paper_budget():
    plan = capacity_map.runs("paper", 2)
    names = [r.name for r in plan]
    assert names[0] == "gamma100-lr0.001-seed0" and len(names) == 1 + 5 + 6 + 2
    cross = plan[0]
    assert cross.flags["steps"] == 150_000 and cross.flags["c_steps"] == 100_000
    assert cross.flags["gamma"] == 100 and cross.flags["lr"] == 1e-3
    # C = 2.5, 5, 7.5 nats, the map's step (C = 10) and the end of the ramp
    assert cross.snapshots == (10_000, 20_000, 30_000, 40_000, 100_000)
    cells = {(r.flags["gamma"], r.flags["lr"], r.flags["seed"]) for r in plan[1:-2]}
    assert len(cells) == 11 and (100.0, 1e-3, 0) not in cells and (100.0, 1e-3, 1) in cells
    assert all(
        r.flags["steps"] == 40_000 and r.snapshots == (10_000, 20_000, 30_000) for r in plan[1:-2]
    )
    probes = plan[-2:]
    assert [r.flags["gamma"] for r in probes] == [100.0, 1000.0]
    assert all(r.flags["probe_every"] == r.flags["log_every"] == 200 for r in probes)
    assert all(r.config(Path("x")).probe_every == 200 for r in probes)


def _log(steps, per_latent, recon=100.0, capacity=None):
    return [
        dict(step=s, recon=recon, kl_per_latent=list(k), capacity=capacity or 0.0)
        for s, k in zip(steps, per_latent, strict=True)
    ]


def test_opening_steps_needs_two_records_in_a_row():
    log = _log([100, 200, 300, 400], [[0.5, 0.0], [0.5, 0.2], [0.5, 0.0], [0.5, 0.2]])
    assert capacity_map.opening_steps(log) == [100, None]
    log = _log([100, 200, 300], [[0.0, 0.2], [0.0, 0.3], [0.0, 0.3]])
    assert capacity_map.opening_steps(log) == [None, 100]


def test_cross_check_agrees_only_when_the_open_counts_match():
    size = published.STEPS_PER_EPOCH
    steps = list(range(500, 3 * size + 501, 500))
    # three open latents in every epoch, as the published run has from epoch 1 on
    three = _log(steps, [[2.0, 2.0, 1.0] + [0.0] * 7 for _ in steps])
    rows = cross_check.compare(three)
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert [r["their_open"] for r in rows] == [2, 3, 3]
    assert [r["our_open"] for r in rows] == [3, 3, 3]
    assert cross_check.verdict(rows).startswith("the two implementations disagree")
    assert "epoch 0: 3 here, 2" in cross_check.verdict(rows)
    matching = [r for r in rows if r["epoch"] > 0]
    assert cross_check.verdict(matching).startswith("the two implementations agree")
    assert rows[1]["their_recon"] == published.EPOCHS[1][0]
    assert cross_check.verdict([]).startswith("not tested")
    # an epoch the log does not reach to its end is not compared
    assert [r["epoch"] for r in cross_check.compare(three[:-1])] == [0, 1]


def _probe_log(share_large: bool, step_size: float):
    reg = 10.0 if share_large else 0.1
    probe = {"kl_above_c": 3, "steps_counted": 10}
    for head in ("mu", "logvar"):
        probe[f"grad_recon_norm_{head}"] = [1.0] * 4
        probe[f"grad_regulariser_norm_{head}"] = [reg] * 4
        probe[f"recon_step_rms_{head}"] = [step_size] * 4
    return [dict(step=10, kl_per_latent=[1.0, 1.0, 0.0, 0.0], probe=probe)]


def test_mechanism_verdict_supports_or_refutes_on_the_numbers():
    def means(log):
        return {h: mechanism.window_means(log, h) for h in ("mu", "logvar")}

    small = means(_probe_log(False, 1.0))
    assert small["mu"]["closed"]["regulariser_share"] < 0.01
    assert mechanism.candidate_verdict(small, means(_probe_log(True, 0.1))).startswith("supported")
    refuted = mechanism.candidate_verdict(small, means(_probe_log(False, 0.1)))
    assert refuted.startswith("refuted ((a) fails)")
    assert mechanism.candidate_verdict(small, means(_probe_log(True, 0.9))).startswith(
        "refuted ((b) fails)"
    )
    assert mechanism.kl_above_c(_probe_log(True, 1.0)) == 0.3


def test_summary_names_the_third_latent_and_its_factor():
    nmi = np.zeros((4, 2))
    nmi[0, 0] = nmi[1, 1] = 0.5
    nmi[2, 1] = 0.3
    cell = dict(
        kl_per_latent=[3.0, 3.0, 1.0, 0.01],
        nmi=nmi,
        factor_names=["posX", "scale"],
        opened_at=[200, 100, 900, None],
        opened_capacity=[0.05, 0.02, 0.2, None],
        recon=50.0,
        kl_mean_part=[1.0, 1.0, 0.5, 0.0],
        kl_variance_part=[2.0, 2.0, 0.5, 0.01],
    )
    s = capacity_map.summary(cell)
    assert (s["open"], s["carrying"], s["third_step"]) == (3, 3, 900)
    assert s["third_factor"] == "scale (0.30)" and s["factors"] == ["posX", "scale"]
    lines = capacity_map.regime_lines([dict(cell, gamma=100.0, lr=5e-4)])
    assert "γ 100, lr 0.0005 (1 seed): posX, scale" in lines[0]


def test_smoke_end_to_end_keeps_records(tmp_path, capsys):
    out = tmp_path / "report"
    args = ["capacity-map", "--budget", "smoke", "--seeds", "1", "--out", str(out)]
    assert main(args) == 0
    models = out / "models" / "capacity-map"
    assert (models / "gamma100-lr0.001-seed0.safetensors").is_file()
    assert not (models / "gamma300-lr0.0005-seed0.safetensors").exists()  # map: no weights
    record = json.loads((models / "gamma300-lr0.0005-seed0.json").read_text())
    assert record["config"]["gamma"] == 300 and record["step"] == 6 and record["log"]
    cross = json.loads((models / "gamma100-lr0.001-seed0.json").read_text())
    assert cross["cell"]["step"] == 6 and cross["end"]["step"] == 8
    assert len(cross["kl_per_latent"]) == 10  # as tests/test_reference_models.py checks
    assert not (models / "probe-gamma1000-lr0.0005-seed0.safetensors").exists()
    probe = json.loads((models / "probe-gamma1000-lr0.0005-seed0.json").read_text())
    assert all("probe" in r for r in probe["log"])
    text = (out / "report.md").read_text()
    assert "### 2. The γ × lr map at step 6" in text and "Candidate (Adam" in text
    assert (out / "figures" / "capacity-map.png").is_file()
    # a second call trains nothing and rebuilds the section from the records
    capsys.readouterr()
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "starting" not in said and "gamma300-lr0.0005-seed0: done" in said
