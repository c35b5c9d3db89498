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
