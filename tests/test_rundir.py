"""The run directory (betavae/rundir.py) and its checkpoints: nothing in a file can run code, the
files round-trip, resume cuts the log back, damaged or foreign directories are refused with the
file named, two trainings never share a directory, and a failed start leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from betavae import checkpoint, rundir
from betavae.evaluate import main as evaluate_main
from betavae.rundir import RunDir, RunDirError
from betavae.train import main
from betavae.trained import load_trained

FAST = ["--data", "blobs", "--batch-size", "8", "--quiet", "--image-every", "1000"]


def _train(tmp_path, name="run", *extra) -> RunDir:
    assert main([*FAST, "--out", str(tmp_path / name), *extra]) == 0
    return RunDir(tmp_path / name)


class _Marker:
    """Unpickling this runs ``open(path, 'w')``: proof that loading executed code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> RunDir:
    return _train(tmp_path_factory.mktemp("trained"), "run", "--steps", "6", "--log-every", "2")


def _malicious_copy(trained: RunDir, tmp_path, marker) -> RunDir:
    run = RunDir(tmp_path / "evil")
    run.path.mkdir()
    for name in ("config.json", "metrics.jsonl"):
        (run.path / name).write_bytes((trained.path / name).read_bytes())
    state = torch.load(trained.checkpoint_path, weights_only=True)
    state["model"]["payload"] = _Marker(marker)
    torch.save(state, run.checkpoint_path)
    return run


def test_a_malicious_checkpoint_runs_nothing_on_resume_evaluate_or_load(trained, tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = _malicious_copy(trained, tmp_path, marker)
    assert main(["--resume", str(evil.path), "--steps", "9"]) == 2
    err = capsys.readouterr().err
    assert "refused to load" in err and "a reference to 'io.open'" in err and str(evil.path) in err
    assert evaluate_main([str(evil.path), "--metrics", "mig", "--samples", "20"]) == 2
    assert "refused to load" in capsys.readouterr().err
    with pytest.raises(checkpoint.CheckpointError, match="nothing from it was run"):
        load_trained(evil.path)
    assert not marker.exists()
    assert not (evil.path / "eval").exists()


def test_checkpoints_of_the_previous_version_still_load(trained, tmp_path):
    state = torch.load(trained.checkpoint_path, weights_only=True)
    for key in ("dataset", "threads"):
        del state[key]
    state["version"] = 1
    old = tmp_path / "old"
    old.mkdir()
    torch.save(state, old / "checkpoint.pt")
    assert checkpoint.load(old)["step"] == 6
    assert main(["--resume", str(old), "--steps", "8"]) == 0
    assert checkpoint.load(old)["version"] == checkpoint.CHECKPOINT_VERSION


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: {**s, "version": 99}, "version 99 is not supported"),
        (lambda s: {k: v for k, v in s.items() if k != "optimizer"}, "lacks ['optimizer']"),
        (lambda s: [1, 2], "holds a list"),
        (lambda s: {**s, "config": "x"}, "wrong type"),
    ],
)
def test_damaged_checkpoints_are_refused_naming_the_file(trained, tmp_path, change, message):
    state = torch.load(trained.checkpoint_path, weights_only=True)
    folder = tmp_path / "bad"
    folder.mkdir()
    torch.save(change(state), folder / "checkpoint.pt")
    with pytest.raises(checkpoint.CheckpointError, match="checkpoint.pt") as info:
        checkpoint.load(folder)
    assert message in str(info.value)
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(checkpoint.CheckpointError, match="cannot read"):
        checkpoint.load(folder)


def test_load_run_and_model_files_round_trip(trained, tmp_path):
    config, model, data, step = load_trained(trained.path)
    assert (config.data, step, model.training) == ("blobs", 6, False)
    state = trained.load_checkpoint()
    assert all(torch.equal(model.state_dict()[k], state["model"][k]) for k in state["model"])
    assert state["dataset"] == rundir.dataset_fingerprint(data)

    from betavae.model_format import ModelFileError, save_model_file

    path = save_model_file(tmp_path / "m.safetensors", model, config, step, state["dataset"])
    again = load_trained(path)
    assert again.step == 6 and again.config == config
    x = data.images[torch.arange(4)].float()
    torch.testing.assert_close(again.model.encode(x)[0], model.encode(x)[0], rtol=0, atol=0)
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(ModelFileError, match="junk.safetensors"):
        load_trained(tmp_path / "junk.safetensors")


def test_metrics_log_round_trip_cut_back_and_torn_tail(tmp_path):
    run = RunDir(tmp_path)
    for step in (2, 4, 6):
        run.append_metrics({"step": step, "loss": float(step)})
    assert [r["step"] for r in run.read_metrics()] == [2, 4, 6]
    with open(run.metrics_path, "a") as f:
        f.write('{"step": 8, "lo')  # torn by a crash
    assert [r["step"] for r in run.read_metrics()] == [2, 4, 6]
    note = run.cut_metrics(4)
    assert "torn last line" in note and "1 record(s) after step 4" in note
    assert run.metrics_path.read_text().count("\n") == 2
    assert run.cut_metrics(4) is None
    for bad, message in [("[1, 2]", "integer 'step'"), ('{"loss": 1}', "integer 'step'")]:
        run.metrics_path.write_text(f'{{"step": 2}}\n{bad}\n{{"step": 6}}\n')
        with pytest.raises(RunDirError, match="metrics.jsonl, line 2: not a record"):
            run.read_metrics()
        assert message
    run.metrics_path.write_text('{"step": 2}\n{"st\n{"step": 6}\n')
    with pytest.raises(RunDirError, match="line 2: not valid JSON"):
        run.read_metrics()


def test_resume_drops_a_torn_metrics_line_and_continues_exactly(tmp_path, capsys):
    full = _train(tmp_path, "full", "--steps", "8", "--log-every", "2")
    half = _train(tmp_path, "half", "--steps", "4", "--log-every", "2")
    with open(half.metrics_path, "a") as f:
        f.write('{"step": 6, "loss"')
    assert main(["--resume", str(half.path), "--steps", "8"]) == 0
    assert "torn last line" in capsys.readouterr().err
    strip = [{k: v for k, v in r.items() if k != "images_per_s"} for r in full.read_metrics()]
    again = [{k: v for k, v in r.items() if k != "images_per_s"} for r in half.read_metrics()]
    assert again == strip


def test_an_invalid_config_json_does_not_block_resume(trained, tmp_path, capsys):
    run = RunDir(tmp_path / "copy")
    run.path.mkdir()
    run.checkpoint_path.write_bytes(trained.checkpoint_path.read_bytes())
    for text in ("", "[1, 2]", "{broken"):
        run.config_path.write_text(text)
        assert main(["--resume", str(run.path), "--steps", "7"]) == 0
        assert "using the checkpoint's config" in capsys.readouterr().err
        assert run.read_config()["steps"] == 7
        state = torch.load(run.checkpoint_path, weights_only=True)
        state["step"] = 6
        torch.save(state, run.checkpoint_path)
    run.config_path.write_text("[1]")
    with pytest.raises(RunDirError, match="holds a JSON list"):
        run.read_config()


def test_stale_temporary_files_are_removed_at_resume(trained, tmp_path, capsys):
    run = RunDir(tmp_path / "copy")
    run.path.mkdir()
    run.checkpoint_path.write_bytes(trained.checkpoint_path.read_bytes())
    stale = run.path / ".checkpoint.pt.12345.tmp.pt"
    stale.write_bytes(b"half a checkpoint")
    assert main(["--resume", str(run.path), "--steps", "7"]) == 0
    assert not stale.exists()
    assert "left by a process killed while saving" in capsys.readouterr().err


def test_resume_on_other_data_is_refused(tmp_path, capsys):
    from betavae.data import export, get_dataset

    data_file = tmp_path / "data.h5"
    export(get_dataset("blobs"), data_file)
    args = ["--batch-size", "8", "--quiet", "--image-every", "1000", "--steps", "2"]
    assert main(["--data", str(data_file), "--out", str(tmp_path / "run"), *args]) == 0
    saved = RunDir(tmp_path / "run").read_config()["data"]
    assert saved == str(data_file.resolve())
    export(get_dataset("blobs", width=5.0), data_file)  # another dataset under the same name
    assert main(["--resume", str(tmp_path / "run"), "--steps", "4"]) == 2
    err = capsys.readouterr().err
    assert "the dataset differs from the one this run trained on (sha256" in err


def test_resume_with_another_out_is_refused(trained, tmp_path, capsys):
    assert main(["--resume", str(trained.path), "--out", str(tmp_path / "b"), "--steps", "9"]) == 2
    assert "contradicts" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_two_trainings_cannot_share_a_run_directory(tmp_path):
    out = tmp_path / "shared"
    cmd = [sys.executable, "-m", "betavae.train", *FAST, "--steps", "100000", "--out", str(out)]
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (out / "metrics.jsonl").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert (out / "metrics.jsonl").exists()
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert f"in use by another training (process {first.pid})" in second.stderr
        resumed = subprocess.run(
            [sys.executable, "-m", "betavae.train", "--resume", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert resumed.returncode == 2
        assert "no checkpoint.pt" in resumed.stderr or "in use" in resumed.stderr
    finally:
        first.terminate()
        first.wait(timeout=60)
    steps = [r["step"] for r in RunDir(out).read_metrics()]
    assert steps == sorted(set(steps))


def test_failed_starts_leave_nothing_behind(tmp_path, capsys):
    for extra in (["--backend", "cuda"], ["--data", str(tmp_path / "missing.h5")]):
        out = tmp_path / "never"
        assert main([*FAST, "--out", str(out), "--steps", "2", *extra]) == 2
        assert not out.exists(), extra
    capsys.readouterr()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_a_read_only_run_directory_fails_with_one_line(trained, tmp_path, capsys):
    run = RunDir(tmp_path / "ro")
    run.path.mkdir()
    run.checkpoint_path.write_bytes(trained.checkpoint_path.read_bytes())
    run.path.chmod(0o500)
    try:
        assert main(["--resume", str(run.path), "--steps", "9"]) == 2
        assert "error:" in capsys.readouterr().err
    finally:
        run.path.chmod(0o700)


def test_a_full_disk_during_a_save_keeps_the_old_checkpoint(trained, tmp_path, monkeypatch):
    run = RunDir(tmp_path / "full")
    run.path.mkdir()
    run.checkpoint_path.write_bytes(trained.checkpoint_path.read_bytes())
    before = run.checkpoint_path.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    with pytest.raises(checkpoint.CheckpointError, match="No space left on device"):
        run.save_checkpoint(run.load_checkpoint())
    assert run.checkpoint_path.read_bytes() == before
    assert not list(run.path.glob(".checkpoint.pt.*"))


def test_a_full_disk_while_logging_is_one_line(tmp_path, monkeypatch, capsys):
    real = RunDir.append_metrics

    def full(self, record):
        if record["step"] >= 4:
            raise RunDirError(f"{self.metrics_path}: cannot write (No space left on device)")
        real(self, record)

    monkeypatch.setattr(RunDir, "append_metrics", full)
    assert main([*FAST, "--out", str(tmp_path / "r"), "--steps", "6", "--log-every", "2"]) == 2
    assert "metrics.jsonl: cannot write (No space left on device)" in capsys.readouterr().err


def test_the_summary_and_config_are_valid_json(trained):
    assert json.loads((trained.path / "summary.json").read_text())["step"] == 6
    assert trained.read_config()["steps"] == 6
    assert trained.read_config()["out"] == str(trained.path)


def test_a_config_json_without_fields_added_later_still_resumes(trained, tmp_path):
    run = RunDir(tmp_path / "old")
    run.path.mkdir()
    run.checkpoint_path.write_bytes(trained.checkpoint_path.read_bytes())
    old = {k: v for k, v in trained.read_config().items() if k != "color_range"}
    run.config_path.write_text(json.dumps(old))
    state = torch.load(run.checkpoint_path, weights_only=True)
    del state["config"]["color_range"]
    torch.save(state, run.checkpoint_path)
    assert main(["--resume", str(run.path), "--steps", "7"]) == 0


def test_a_model_file_exports_and_evaluates(trained, tmp_path, capsys):
    from betavae.model_file import main as export_main

    path = tmp_path / "blobs-model.safetensors"
    assert export_main([str(trained.path), str(path), "--commit", "abc123"]) == 0
    assert export_main([str(trained.path), str(tmp_path / "x.pt")]) == 2
    assert "must end in .safetensors" in capsys.readouterr().err
    assert evaluate_main([str(path), "--metrics", "mig", "--samples", "40"]) == 0
    result = json.loads((tmp_path / "blobs-model" / "eval" / "eval.json").read_text())
    assert result["step"] == 6 and "mig" in result
