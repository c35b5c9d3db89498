"""``python -m betavae.reproduce``: every experiment end to end on a tiny budget (report, figures,
numbers), resumption of unfinished runs, report assembly, and the bad-input paths."""

import json

import numpy as np
import pytest
from conftest import tiny_chairs

from betavae.reproduce import EXPERIMENTS, dsprites
from betavae.reproduce.__main__ import main
from betavae.reproduce.blobs import map_scores
from betavae.reproduce.escape import main as escape_main
from betavae.reproduce.runner import Run, execute, read_metrics, run_state


def _run(tmp_path, *args):
    return main([*args, "--budget", "smoke", "--out", str(tmp_path / "report")])


def _report(tmp_path) -> str:
    return (tmp_path / "report" / "report.md").read_text()


def _figures_exist(tmp_path, text: str) -> int:
    paths = [part.split(")")[0] for part in text.split("](")[1:]]
    for path in paths:
        assert (tmp_path / "report" / path).stat().st_size > 0, path
    return len(paths)


def test_blobs_end_to_end(tmp_path, capsys):
    assert _run(tmp_path, "blobs") == 0
    text = _report(tmp_path)
    assert "## Blobs (paper Fig. 2)" in text and "| beta150-seed0 | β = 150 | 4 |" in text
    assert "Schedule (`--budget smoke`): steps 4" in text and "blob σ (px)" in text
    assert _figures_exist(tmp_path, text) == 6  # 2 per run: β = 1, β = 150, β = 150 at σ = 6
    assert "tilt (°)" in text and "| beta150-sigma6-seed0 |" in text
    assert "beta1-seed0: starting" in capsys.readouterr().out
    assert _run(tmp_path, "blobs") == 0  # a second call trains nothing
    assert "beta1-seed0: done (4 steps)" in capsys.readouterr().out


def test_generator_end_to_end_keeps_snapshots(tmp_path):
    assert _run(tmp_path, "generator") == 0
    text = _report(tmp_path)
    assert "## Factor-conditioned generator" in text and "I(v; z)" in text and "KL − I" in text
    for factor in ("shape", "scale", "orientation", "posX", "posY"):
        assert f"| {factor} |" in text
    snapshots = tmp_path / "report" / "runs" / "generator" / "generator-seed0" / "snapshots"
    # the first steps at which C (0 -> 25 over 8 steps) reaches 3, 7 and 15 nats
    assert sorted(p.name for p in snapshots.iterdir()) == [
        "step-0000001",
        "step-0000003",
        "step-0000005",
    ]
    assert _figures_exist(tmp_path, text) == 2


def test_color_dsprites_end_to_end_and_from_records(tmp_path, capsys):
    """The section, and its records: each finished colour run is kept as one; a machine with
    only the records rebuilds the same section, and trains only a run whose record is missing."""
    import shutil

    assert _run(tmp_path, "color-dsprites") == 0
    text = _report(tmp_path)
    assert "## Coloured dSprites" in text and "Latents that take colour:" in text
    assert "U[0.5, 1]³" in text and "U[0, 1]³" in text and "R² MLP" in text
    assert "factor it holds most (R² alone)" in text
    # U[0.5, 1]³ and U[0, 1]³, each at the paper's recipe and at the map's setting, in that order
    assert _figures_exist(tmp_path, text) == 4
    runs = text.split("Run `")[1:]
    assert [run.split("`")[0] for run in runs] == [
        "capacity-seed0",
        "gamma100-lr0.001-seed0",
        "capacity-full-range-seed0",
        "gamma100-lr0.001-full-range-seed0",
    ]
    assert "γ 1000, lr 0.0005," in runs[0] and "γ 100, lr 0.001," in runs[1]
    models = tmp_path / "report" / "models" / "color-dsprites"
    names = [
        "capacity-full-range-seed0",
        "capacity-seed0",
        "gamma100-lr0.001-full-range-seed0",
        "gamma100-lr0.001-seed0",
    ]
    assert sorted(p.stem for p in models.glob("*.safetensors")) == names
    record = json.loads((models / "capacity-full-range-seed0.json").read_text())
    assert record["color_range"] == [0.0, 1.0] and len(record["whole_code"]) == 3
    shutil.rmtree(tmp_path / "report" / "runs")
    (models / "capacity-full-range-seed0.json").unlink()  # that run was never finished here
    capsys.readouterr()
    assert _run(tmp_path, "color-dsprites") == 0
    out = capsys.readouterr().out
    assert "capacity-seed0: recorded (4 steps), not trained again" in out
    assert "capacity-full-range-seed0: starting" in out
    assert _report(tmp_path).split("Run `")[1:] == runs  # the same numbers, from the records


def test_chairs_needs_its_file_and_runs_on_a_tiny_import(tmp_path, capsys):
    assert _run(tmp_path, "chairs") == 2
    assert "the chairs experiment needs --data PATH" in capsys.readouterr().err
    chairs = tiny_chairs(tmp_path, count=8)
    assert _run(tmp_path, "chairs", "--data", str(chairs)) == 0
    text = _report(tmp_path)
    assert "## 3D Chairs" in text and _figures_exist(tmp_path, text) == 1


def test_report_keeps_every_experiment_run_into_it(tmp_path):
    assert _run(tmp_path, "blobs") == 0
    assert _run(tmp_path, "color-dsprites") == 0
    text = _report(tmp_path)
    assert text.index("## Blobs") < text.index("## Coloured dSprites")
    assert _run(tmp_path, "blobs", "--analyse-only") == 0
    assert "## Coloured dSprites" in _report(tmp_path)


def test_unfinished_runs_resume(tmp_path, capsys):
    run = Run("r", dict(preset="blobs-beta", steps=6, log_every=1, save_every=2, batch_size=4))
    short = Run("r", dict(run.flags, steps=3))
    execute([short], tmp_path)
    assert run_state(tmp_path / "r") == (3, 3)
    execute([run], tmp_path)
    assert "r: resuming at step 3, 6 steps" in capsys.readouterr().out
    assert run_state(tmp_path / "r") == (6, 6)
    assert [r["step"] for r in read_metrics(tmp_path / "r")] == [1, 2, 3, 4, 5, 6]


def test_bad_input(tmp_path, capsys):
    assert _run(tmp_path, "blobs", "--analyse-only") == 2
    assert "--analyse-only: no finished run" in capsys.readouterr().err
    assert _run(tmp_path, "blobs", "--seeds", "0") == 2
    assert "--seeds must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["nonsense"])
    assert set(EXPERIMENTS) == {
        "blobs",
        "generator",
        "dsprites",
        "color-dsprites",
        "chairs",
        "capacity-map",
    }


def test_map_scores():
    x = np.linspace(-2, 2, 32)
    smooth = np.repeat(x[:, None], 32, axis=1)  # depends on x only, monotone
    assert map_scores(smooth) == pytest.approx(dict(axis="x", alignment=1.0, monotonicity=1.0))
    folded = np.repeat(np.abs(x)[None, :], 32, axis=0)  # y only, folded in the middle
    scores = map_scores(folded)
    assert scores["axis"] == "y" and scores["alignment"] == pytest.approx(1.0)
    assert scores["monotonicity"] < 0.2
    mixed = smooth + smooth.T  # x + y: half each
    assert map_scores(mixed)["alignment"] == pytest.approx(0.5)


def test_escape_check_runs_and_reports(tmp_path, capsys):
    code = escape_main(["--seeds", "1", "--steps", "4", "--out", str(tmp_path)])
    text = (tmp_path / "escape.md").read_text()
    assert "| seed0 |" in text and "step 4" in text
    assert code == 1  # 4 steps are far too few to leave the plateau: reported as NO
    assert "| NO |" in text


def test_dsprites_decision_rule():
    from betavae.reproduce.dsprites import decision_rule

    four = [5.0, 4.0, 3.0, 0.5, 0.05, 0.01]
    assert decision_rule(four, 0.1)[0]
    assert not decision_rule(four, 0.3)[0]  # shape decodable: no follow-up
    assert not decision_rule([*four[:4], 0.2], 0.1)[0]  # five active latents
    fires, why = decision_rule(four, 0.1)
    assert "4 active latents" in why and "shape MI/H 0.10" in why and "applies" in why


def test_dsprites_runs_of_different_sittings_meet_in_one_table(tmp_path, capsys, monkeypatch):
    """A finished run is kept as a record (model file + numbers) in OUT/models/dsprites/; a later
    sitting on a machine without the run directories trains only what is missing, and the
    section's table holds both sittings' runs. ``--follow-up`` then plans the decision rule's
    runs from capacity-seed0's record: that model trained again to twice its steps (measured
    also where the original ended, where the two agree) and the annealed setting (lr 1e-4);
    both are recorded and reported beside the original."""
    import shutil

    from betavae.model_format import read_model_file
    from betavae.reproduce import follow_up

    assert _run(tmp_path, "dsprites", "--seeds", "1", "--follow-up") == 0
    out = capsys.readouterr().out  # planned before capacity-seed0 had a record: nothing extra
    assert "no record of capacity-seed0" in out and "follow-up runs: none" in out
    models = tmp_path / "report" / "models" / "dsprites"
    names = ["beta16-seed0", "beta4-seed0", "capacity-seed0", "gamma100-lr0.001-seed0"]
    assert sorted(p.stem for p in models.glob("*.safetensors")) == names
    weights, config, step, dataset = read_model_file(models / "capacity-seed0.safetensors")
    assert step == 6 and config.objective == "capacity" and dataset["name"] == "dsprites"
    assert not any("optim" in key or key == "step" for key in weights)  # model state only
    record = json.loads((models / "capacity-seed0.json").read_text())
    assert record["budget"] == "smoke" and record["step"] == 6 and record["trained_by"] != ""
    assert record["run_dir"] == "runs/dsprites/capacity-seed0"  # relative to the report
    assert [m["step"] for m in record["information"]][-1] == 6
    shutil.rmtree(tmp_path / "report" / "runs")  # a new machine: only the records are left
    capsys.readouterr()
    assert _run(tmp_path, "dsprites", "--seeds", "1", "--analyse-only") == 0
    one_seed = _report(tmp_path)
    assert "| capacity | 1 |" in one_seed
    assert " ± " not in one_seed.split("| model |")[1].split("\n\n")[0]  # one run: no spread
    assert _run(tmp_path, "dsprites", "--seeds", "2") == 0
    out = capsys.readouterr().out
    assert "capacity-seed0: recorded (6 steps), not trained again" in out
    assert "capacity-seed1: starting" in out and "beta4-seed0: starting" not in out
    text = _report(tmp_path)
    assert "| capacity | 2 |" in text and "| beta16 | 2 |" in text and "| beta4 | 2 |" in text
    assert "| gamma100-lr0.001 | 2 |" in text  # the capacity objective at the map's setting
    assert "### Frontier: capacity against beta16" in text
    assert "Means over 2 capacity run(s), 2 beta16 run(s)" in text
    assert "### Frontier: gamma100-lr0.001 against beta4" in text
    assert "Means over 2 gamma100-lr0.001 run(s), 2 beta4 run(s)" in text
    assert "### `capacity-seed1`" in text  # every capacity seed: staged learning
    assert "### `gamma100-lr0.001-seed1` (capacity γ 100" in text
    assert "### `beta16-seed1`" not in text
    # the capacity model's follow-up rule, applied to the paper's recipe only
    assert text.count("Decision rule at step 6:") == 2
    for key in ("mig", "beta_vae", "factor_vae", "dci", "sap", "modularity", "explicitness"):
        assert f" {key} |" in text.split("| model |")[1].splitlines()[0] + " |", key
    assert " ± " in text and "recon, z sampled" in text and "mig (sampled z)" in text
    assert "MI/H ≥ 0.5 from step" in text and "½E[μ²]" in text
    result = json.loads(
        (tmp_path / "report/runs/dsprites/capacity-seed1/eval/eval.json").read_text()
    )
    assert result["convention"] == "disentanglement_lib" and result["samples"] == 60
    # per run shown: KL curves, 3 traversals (mid-grid and two random images), factor
    # responses, reconstructions; shown: every capacity seed and the baselines' seed 0
    assert _figures_exist(tmp_path, text) == 6 * 6

    fires, why = follow_up.rule_of_record(record)
    planned, said = dsprites.follow_ups(tmp_path / "report", "smoke")
    assert said == why and len(planned) == (2 if fires else 0)
    monkeypatch.setattr(follow_up, "decision_rule", lambda kl, shape: (False, "does not apply"))
    assert dsprites.follow_ups(tmp_path / "report", "smoke") == ([], "does not apply")
    monkeypatch.setattr(follow_up, "decision_rule", lambda kl, shape: (True, "applies (test)"))
    assert _run(tmp_path, "dsprites", "--seeds", "2", "--follow-up") == 0
    out = capsys.readouterr().out
    assert "capacity-continued-seed0: starting, 12 steps" in out
    assert "annealed-seed0: starting, 6 steps" in out and "beta4-seed1: done" in out
    _, config, step, _ = read_model_file(models / "capacity-continued-seed0.safetensors")
    assert (step, config.lr, config.c_steps, config.gamma) == (12, 5e-4, 6, 1000.0)
    _, config, step, _ = read_model_file(models / "annealed-seed0.safetensors")
    assert (step, config.lr, config.c_steps) == (6, 1e-4, 6)
    continued = json.loads((models / "capacity-continued-seed0.json").read_text())
    (at_end,) = [m for m in continued["information"] if m["step"] == 6]
    assert at_end["parts"]["kl"] == record["information"][-1]["parts"]["kl"]  # the same run
    text = _report(tmp_path)
    assert "| capacity | 2 |" in text and "| capacity-continued |" not in text
    section = text.split("### Decision-rule follow-up")[1]
    assert "| `capacity-seed0` | 6 | 0.0005 |" in section
    assert "| `capacity-continued-seed0` | 6 | 0.0005 |" in section
    assert "| `capacity-continued-seed0` | 12 | 0.0005 |" in section
    assert "| `annealed-seed0` | 6 | 0.0001 |" in section
    assert "original's by at most 0 nats" in section
    assert _figures_exist(tmp_path, text) == 6 * 6 + 2  # seed 0's, capacity seed 1, follow-ups
    shutil.rmtree(tmp_path / "report" / "runs")  # a new machine: the records carry it
    assert _run(tmp_path, "dsprites", "--seeds", "2", "--follow-up", "--analyse-only") == 0
    assert "### Decision-rule follow-up" in _report(tmp_path)
    assert _run(tmp_path, "blobs", "--follow-up") == 2
    assert "has no decision rule" in capsys.readouterr().err


def test_dsprites_trains_seed_by_seed():
    from betavae.reproduce.dsprites import runs

    plan = runs("smoke", 2)
    assert [r.name for r in plan] == [
        "capacity-seed0",
        "gamma100-lr0.001-seed0",  # the capacity objective at the map's setting
        "beta16-seed0",
        "beta4-seed0",
        "capacity-seed1",
        "gamma100-lr0.001-seed1",
        "beta16-seed1",
        "beta4-seed1",
    ]
    paper, best = plan[0].flags, plan[1].flags
    assert (best["gamma"], best["lr"]) == (100.0, 1e-3) and "gamma" not in paper
    assert {k: v for k, v in best.items() if k not in ("gamma", "lr")} == paper
    assert plan[1].snapshots == plan[0].snapshots


def test_records_keep_provenance_and_thin_the_log(tmp_path):
    from betavae.reproduce import records

    assert records.trained_by(tmp_path) == "unknown"
    records.note_sitting(tmp_path, 0, "abc1234")
    records.note_sitting(tmp_path, 100, "abc1234")  # the same code again: one entry
    records.note_sitting(tmp_path, 200, "def5678-dirty")
    assert records.trained_by(tmp_path) == "abc1234+def5678-dirty"
    log = [{"step": s} for s in range(1, 1001)]
    kept = records.thinned(log, 50)
    assert len(kept) == 50 and kept[0]["step"] == 1 and kept[-1]["step"] == 1000
    assert records.thinned(log[:10], 50) == log[:10]
    values = records.to_json({"a": np.arange(3), "b": (np.float32(1.5), [np.int64(2)])})
    assert values == {"a": [0, 1, 2], "b": [1.5, [2]]}
    assert json.dumps(values)


def test_records_of_a_budget_only_and_in_name_order(tmp_path):
    from betavae.reproduce import records

    assert records.of_budget(tmp_path, "dsprites", "paper") == []  # no folder yet
    for name, budget in [("b-seed0", "paper"), ("a-seed0", "paper"), ("c-seed0", "smoke")]:
        path = records.record_path(tmp_path, "dsprites", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"name": name, "budget": budget}))
    assert [r["name"] for r in records.of_budget(tmp_path, "dsprites", "paper")] == [
        "a-seed0",
        "b-seed0",
    ]
    assert records.of_budget(tmp_path, "color-dsprites", "paper") == []


def test_only_trains_the_named_runs_and_reports_every_finished_one(tmp_path, capsys):
    import shutil

    assert _run(tmp_path, "blobs", "--only", "nope-seed0") == 2
    err = capsys.readouterr().err
    assert "--only: nope-seed0 not in the plan of blobs" in err and "beta150-seed0" in err
    assert not (tmp_path / "report" / "runs").exists()  # refused before any training
    assert _run(tmp_path, "blobs", "--only", "beta150-seed0") == 0
    out = capsys.readouterr().out
    assert "beta150-seed0: starting" in out and "beta1-seed0" not in out
    runs = tmp_path / "report" / "runs" / "blobs"
    assert [p.name for p in runs.iterdir()] == ["beta150-seed0"]
    text = _report(tmp_path)
    assert "| beta150-seed0 | β = 150 | 4 |" in text
    assert "`beta1-seed0` (not started)" in text  # named as unfinished, with the continuing command
    assert "--amp" not in text.split("continues them")[0].split("Not finished")[1]
    amp_run = runs / "beta150-sigma6-seed0"  # started with --amp (its config says so), unfinished
    amp_run.mkdir()
    (amp_run / "config.json").write_text(json.dumps({"amp": True}))
    assert _run(tmp_path, "blobs", "--analyse-only") == 0
    unfinished = _report(tmp_path).split("Not finished")[1].split("continues them")[0]
    assert "--budget smoke --seeds 1" in unfinished and " --amp" in unfinished
    shutil.rmtree(amp_run)
    assert _run(tmp_path, "blobs", "--only", "beta1-seed0") == 0
    assert "beta150-seed0" not in capsys.readouterr().out  # neither trained nor mentioned again
    text = _report(tmp_path)
    assert "| beta150-seed0 | β = 150 | 4 |" in text and "| beta1-seed0 | β = 1 | 4 |" in text


def test_markdown_table_keeps_a_pipe_inside_a_cell():
    """A norm written |x| in a header or cell must not split the row into more cells."""
    from betavae.reproduce.analysis import markdown_table

    lines = markdown_table(["γ", "|∇recon|"], [[100, "|a|"], [1000, 0.5]])
    for line in lines[:1] + lines[2:4]:
        cells = [c for c in line.replace("\\|", "").split("|")][1:-1]
        assert len(cells) == 2, line
    assert lines[3] == "| 1000 | 0.500 |"
