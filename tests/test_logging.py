"""--eval-every (in-training metrics in metrics.jsonl, without changing the training) and
--tensorboard (events written, purged on resume, exported from metrics.jsonl), read back."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from betavae import checkpoint, evaluate
from betavae.train import main

FAST = ["--data", "blobs", "--batch-size", "16", "--quiet", "--image-every", "1000"]


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_eval_every_logs_labelled_metrics_and_trains_the_same(tmp_path):
    base = [*FAST, "--steps", "30", "--log-every", "10", "--seed", "3"]
    assert main([*base, "--out", str(tmp_path / "plain")]) == 0
    assert main([*base, "--out", str(tmp_path / "eval"), "--eval-every", "20"]) == 0
    logged = records(tmp_path / "eval")
    assert [("eval" in r) for r in logged] == [False, True, False]
    ev = logged[1]["eval"]
    assert {"mig", "dci", "completeness", "informativeness"} <= ev.keys()
    assert 0 <= ev["mig"] <= 1 and "not comparable" in ev["label"]
    assert ev["counts"]["mig"]["num_train"] == 2000
    assert ev["counts"]["dci"]["convention"] == "variant: classifier=forest"
    # the evaluation draws nothing from the training's generators: same weights, same losses
    plain = checkpoint.load(tmp_path / "plain")["model"]
    with_eval = checkpoint.load(tmp_path / "eval")["model"]
    assert all(torch.equal(plain[k], with_eval[k]) for k in plain)
    assert [r["loss"] for r in records(tmp_path / "plain")] == [r["loss"] for r in logged]


def test_eval_every_is_checked_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "bad"
    assert (
        main([*FAST, "--steps", "4", "--log-every", "10", "--eval-every", "15", "--out", str(out)])
        == 2
    )
    assert "multiple of --log-every 10" in capsys.readouterr().err and not out.exists()
    from conftest import tiny_chairs

    chairs = tiny_chairs(tmp_path)
    argv = ["--preset", "chairs", "--data", str(chairs), "--steps", "2", "--quiet"]
    assert main([*argv, "--eval-every", "100", "--out", str(out)]) == 2
    assert "ground-truth factors" in capsys.readouterr().err and not out.exists()


def test_tensorboard_refused_without_the_package(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else real(name, *a),
    )
    out = tmp_path / "run"
    assert main([*FAST, "--steps", "2", "--tensorboard", "--out", str(out)]) == 2
    assert 'pip install ".[tensorboard]"' in capsys.readouterr().err and not out.exists()


def scalars(run_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(
        str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0}
    )
    events.Reload()
    if tag not in events.Tags()["scalars"] + events.Tags()["images"]:
        return []
    if tag in events.Tags()["images"]:
        return [(e.step, None) for e in events.Images(tag)]
    return [(e.step, e.value) for e in events.Scalars(tag)]


def test_tensorboard_events_and_purge_on_resume(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    run = tmp_path / "run"
    argv = [*FAST, "--log-every", "10", "--save-every", "20", "--tensorboard", "--eval-every", "20"]
    assert main([*argv, "--steps", "20", "--image-every", "20", "--out", str(run)]) == 0
    # what an interrupted continuation would have logged after the step-20 checkpoint
    stray = SummaryWriter(str(run / "tensorboard"))
    for step in (30, 40):
        stray.add_scalar("train/loss", -1.0, step)
    stray.close()
    assert main(["--resume", str(run), "--steps", "40", "--quiet", "--tensorboard"]) == 0
    loss = scalars(run, "train/loss")
    logged = {r["step"]: r for r in records(run)}
    assert [s for s, _ in loss] == [10, 20, 30, 40]  # each step once, the stray events hidden
    for step, value in loss:
        assert value == pytest.approx(logged[step]["loss"], rel=1e-6)
    assert [s for s, _ in scalars(run, "kl_per_latent/z9")] == [10, 20, 30, 40]
    assert [s for s, _ in scalars(run, "eval/mig")] == [20, 40]
    assert [s for s, _ in scalars(run, "reconstructions")] == [20, 40]
    assert [s for s, _ in scalars(run, "traversals")] == [20, 40]


def test_evaluate_exports_metrics_jsonl_to_tensorboard(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    assert main([*FAST, "--steps", "20", "--log-every", "5", "--out", str(run)]) == 0
    assert evaluate.main([str(run), "--tensorboard"]) == 0
    logged = records(run)
    exported = scalars(run, "train/recon")
    assert [s for s, _ in exported] == [r["step"] for r in logged]
    assert [v for _, v in exported] == pytest.approx([r["recon"] for r in logged], rel=1e-6)
    assert evaluate.main([str(run), "--tensorboard"]) == 0  # again: still each step once
    assert [s for s, _ in scalars(run, "train/recon")] == [r["step"] for r in logged]
    assert evaluate.main([str(tmp_path / "nothing"), "--tensorboard"]) == 2
    assert "no metrics.jsonl" in capsys.readouterr().err
