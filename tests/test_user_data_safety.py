"""Nothing a user owns is overwritten: a new run takes only a missing or empty directory (or
what a betavae start that never saved left), a refused resume leaves metrics.jsonl as it was,
a damaged checkpoint is refused before the log is touched, and an evaluation never writes into
another evaluation's directory nor leaves a stale figure beside new numbers."""

import json

import pytest

from betavae import checkpoint
from betavae.evaluate import main as evaluate_main
from betavae.model_file import main as export_main
from betavae.train import main

FAST = ["--data", "blobs", "--batch-size", "16", "--quiet", "--image-every", "1000"]


def snapshot(folder):
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "files",
    [
        {"config.json": '{"learning_rate": 0.1}\n', "metrics.jsonl": "my numbers\n"},
        {"notes.txt": "mine"},
        {"images/figure.png": "not a png", "metrics.jsonl": '{"step": 1}\n'},
    ],
    ids=["foreign-config", "any-file", "folder"],
)
def test_new_run_refuses_a_directory_that_holds_user_files(tmp_path, capsys, files):
    out = tmp_path / "mine"
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    before = snapshot(out)
    assert main([*FAST, "--steps", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not empty and not a betavae run directory" in err and err.count("\n") == 1
    assert next(iter(sorted(files))).split("/")[0] in err  # names what is there
    assert snapshot(out) == before


def test_new_run_takes_an_empty_directory_or_a_start_that_never_saved(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*FAST, "--steps", "2", "--out", str(empty)]) == 0
    # what a start killed before its first checkpoint leaves: its config.json and log
    started = tmp_path / "started"
    started.mkdir()
    config = json.loads((empty / "config.json").read_text())
    (started / "config.json").write_text(json.dumps(config))
    (started / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n')
    assert main([*FAST, "--steps", "2", "--out", str(started)]) == 0
    assert checkpoint.load(started)["step"] == 2


def _run_with_a_later_log_record(tmp_path):
    run = tmp_path / "run"
    assert main([*FAST, "--steps", "10", "--log-every", "5", "--out", str(run)]) == 0
    log = run / "metrics.jsonl"
    # a record logged after the checkpoint, as a kill between a log and a save leaves
    log.write_text(log.read_text() + json.dumps({"step": 15, "loss": 1.0}) + "\n")
    return run, log.read_bytes()


def test_refused_resume_leaves_the_log_as_it_was(tmp_path, capsys):
    run, before = _run_with_a_later_log_record(tmp_path)
    resume = ["--resume", str(run), "--steps", "20", "--quiet"]
    for bad in (["--device", "cuda:7"], ["--backend", "no-such"], ["--eval-every", "3"]):
        assert main([*resume, *bad]) == 2
        assert capsys.readouterr().err.startswith("error:")
        assert (run / "metrics.jsonl").read_bytes() == before
    assert main(resume) == 0  # a resume that starts cuts the log back, then logs on
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 15, 20]


@pytest.mark.parametrize(
    "damage",
    [{"step": -5}, {"step": 2.5}, {"sampler_states": []}, {"model": {}}, {"threads": 0}],
    ids=["negative-step", "float-step", "no-sampler", "no-model", "zero-threads"],
)
def test_damaged_checkpoint_refused_before_the_log_is_touched(tmp_path, capsys, damage):
    run, before = _run_with_a_later_log_record(tmp_path)
    state = checkpoint.load(run)
    checkpoint.save(run, {**state, **damage})
    assert main(["--resume", str(run), "--steps", "20", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert ("damaged checkpoint" in err or "wrong type" in err) and str(run) in err
    assert err.count("\n") == 1
    assert (run / "metrics.jsonl").read_bytes() == before


def test_evaluation_never_writes_into_another_evaluation(tmp_path, capsys):
    run = tmp_path / "base"
    assert main([*FAST, "--steps", "4", "--out", str(run)]) == 0
    assert evaluate_main([str(run), "--metrics", "mig", "--samples", "100"]) == 0
    (run / "eval" / "stale-figure.png").write_bytes(b"old")
    before = json.loads((run / "eval" / "eval.json").read_text())
    # the model file named after its run: its evaluation would land in the run's eval/
    model = tmp_path / "base.safetensors"
    assert export_main([str(run), str(model)]) == 0
    capsys.readouterr()
    assert evaluate_main([str(model), "--metrics", "mig", "--samples", "100"]) == 2
    assert "belongs to the run directory" in capsys.readouterr().err
    assert json.loads((run / "eval" / "eval.json").read_text()) == before
    # evaluating again replaces the whole evaluation: no stale figure beside new numbers
    assert evaluate_main([str(run), "--metrics", "mig", "--samples", "100"]) == 0
    assert not (run / "eval" / "stale-figure.png").exists()
    assert (run / "eval" / "eval.json").exists() and (run / "eval" / "traversals.png").exists()
    assert not [p for p in run.iterdir() if p.name.startswith(".eval")]


def _trained(tmp_path, name="run", *extra):
    run = tmp_path / name
    assert main([*FAST, "--steps", "4", "--log-every", "2", "--out", str(run), *extra]) == 0
    return run


def test_resume_checks_runtime_flags_against_the_checkpoints_config(tmp_path):
    """--eval-every must divide the run's own --log-every, not the preset's default."""
    run = tmp_path / "run"
    assert main([*FAST, "--steps", "50", "--log-every", "25", "--out", str(run)]) == 0
    assert main(["--resume", str(run), "--steps", "100", "--eval-every", "25", "--quiet"]) == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [25, 50, 75, 100]


def test_weights_that_overflow_the_loss_are_refused_by_name(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*FAST, "--steps", "2", "--gamma", "1e308", "--out", str(out)]) == 2
    assert "--gamma must be <= 1,000,000" in capsys.readouterr().err and not out.exists()


def test_non_finite_checkpoint_is_called_damaged(tmp_path, capsys):
    run = _trained(tmp_path)
    state = checkpoint.load(run)
    key = next(iter(state["model"]))
    state["model"][key] = state["model"][key] * float("nan")
    checkpoint.save(run, state)
    assert main(["--resume", str(run), "--steps", "8", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "damaged checkpoint" in err and key in err and "lower --lr" not in err


def _model_file(tmp_path):
    run = _trained(tmp_path)
    model = tmp_path / "shared.safetensors"
    assert export_main([str(run), str(model)]) == 0
    return model


def _rewrite(model, path, *, weights=None, metadata=None):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(model), framework="pt") as f:
        meta = {**f.metadata(), **(metadata or {})}
    tensors = {**load_file(str(model)), **(weights or {})}
    save_file(tensors, str(path), metadata=meta)
    return path


def test_model_files_are_validated_as_the_command_line_is(tmp_path, capsys):
    import torch

    from betavae.model_format import ModelFileError, read_model_file

    model = _model_file(tmp_path)
    config = read_model_file(model)[1].to_dict()
    weights = read_model_file(model)[0]
    name = next(k for k, v in weights.items() if v.is_floating_point())
    cases = {
        "nan-lr": dict(metadata={"config": json.dumps({**config, "lr": float("nan")})}),
        "zero-batch": dict(metadata={"config": json.dumps({**config, "batch_size": 0})}),
        "bad-colour": dict(metadata={"config": json.dumps({**config, "color_range": [2, 3]})}),
        "negative-step": dict(metadata={"step": "-3"}),
        "dataset-list": dict(metadata={"dataset": "[1, 2]"}),
        "nan-weight": dict(weights={name: weights[name] * float("nan")}),
        "float64-weight": dict(weights={name: weights[name].double()}),
    }
    for label, change in cases.items():
        bad = _rewrite(model, tmp_path / f"{label}.safetensors", **change)
        with pytest.raises(ModelFileError, match=str(bad.name)):
            read_model_file(bad)
        assert evaluate_main([str(bad), "--metrics", "mig", "--samples", "100"]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert torch.equal(read_model_file(model)[0][name], weights[name])  # the good one still loads


def test_model_files_get_the_users_umask(tmp_path):
    import os

    model = _model_file(tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    assert model.stat().st_mode & 0o777 == 0o666 & ~mask


def test_full_disk_while_saving_is_one_line_and_keeps_the_old_files(tmp_path, monkeypatch, capsys):
    import torch

    run = _trained(tmp_path)
    before = (run / "checkpoint.pt").read_bytes()

    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc] : file write failed\nmore")

    monkeypatch.setattr(torch, "save", full)
    assert main(["--resume", str(run), "--steps", "6", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the checkpoint (" in err and err.count("\n") == 1
    assert (run / "checkpoint.pt").read_bytes() == before
    monkeypatch.undo()

    from safetensors import SafetensorError

    import betavae.model_format as model_format

    def full_export(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(No space left on device)")

    monkeypatch.setattr("safetensors.torch.save_file", full_export)
    target = tmp_path / "out.safetensors"
    assert export_main([str(run), str(target)]) == 2
    assert "cannot write the model file" in capsys.readouterr().err and not target.exists()
    assert model_format.SUFFIX == ".safetensors"


def test_damaged_log_is_refused_before_the_evaluation(tmp_path, capsys):
    run = _trained(tmp_path)
    log = run / "metrics.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    for bad in ({"kl_per_latent": "many"}, {"kl": 1e400}, {"capacity": [1]}):
        damaged = [{**records[0], **bad}] + records[1:]
        log.write_text("".join(json.dumps(r) + "\n" for r in damaged))
        assert evaluate_main([str(run), "--metrics", "mig", "--samples", "100"]) == 2
        err = capsys.readouterr().err
        assert "damaged log" in err and err.count("\n") == 1
        assert not (run / "eval").exists()
