"""`python -m betavae.train --config FILE`: TOML or JSON fields (a run's config.json, a model
file's recorded config) over the preset, explicit flags over the file; bad keys refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from betavae.config import config_from
from betavae.config_file import explicit_flags

MODEL_FILE = (
    Path(__file__).parent.parent / "docs/reproduction/models/dsprites/beta4-seed0.safetensors"
)


def merged(argv: list[str]):
    return config_from(explicit_flags(argv))


def test_toml_overrides_the_preset_and_flags_override_the_file(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text('preset = "quick"\nlr = 3e-4\nsteps = 700\ncolor_range = [0.2, 0.9]\n')
    config = merged(["--config", str(file)])
    assert (config.preset, config.lr, config.steps) == ("quick", 3e-4, 700)
    assert config.c_steps == 4000  # from the preset, not in the file
    assert config.color_range == (0.2, 0.9)
    config = merged(["--config", str(file), "--steps", "5", "--preset", "dsprites"])
    assert (config.preset, config.steps, config.lr) == ("dsprites", 5, 3e-4)
    assert config.c_steps == 100_000


def test_json_and_a_run_config_json(tmp_path):
    from betavae.train import main

    run = tmp_path / "first"
    argv = ["--data", "blobs", "--objective", "beta", "--beta", "2.5", "--steps", "2"]
    assert main([*argv, "--batch-size", "4", "--quiet", "--out", str(run)]) == 0
    again = tmp_path / "again"
    assert main(["--config", str(run / "config.json"), "--steps", "3", "--out", str(again)]) == 0
    first = json.loads((run / "config.json").read_text())
    second = json.loads((again / "config.json").read_text())
    assert second["steps"] == 3 and second["out"] == str(again)  # flags win; out is not taken
    assert {k: v for k, v in second.items() if k not in ("steps", "out")} == {
        k: v for k, v in first.items() if k not in ("steps", "out")
    }


def test_a_model_files_recorded_recipe(tmp_path):
    config = merged(["--config", str(MODEL_FILE), "--steps", "10"])
    assert (config.objective, config.beta, config.steps) == ("beta", 4.0, 10)
    assert config.resume == "" and config.out == ""  # a recipe, not the recorded run directory


@pytest.mark.parametrize(
    "text,message",
    [
        ("lr = 1e-3\nlearning_rate = 1e-3\n", "unknown --config {f} field(s) ['learning_rate']"),
        ('steps = "many"\n', "--config {f} field 'steps' must be int; got 'many'"),
        ("amp = 1\n", "--config {f} field 'amp' must be bool"),
        ("lr = [", "--config {f}: cannot read it (not valid TOML"),
    ],
)
def test_bad_files_are_refused_naming_the_key(text, message, tmp_path, capsys):
    from betavae.train import main

    file = tmp_path / "bad.toml"
    file.write_text(text)
    assert main(["--config", str(file), "--out", str(tmp_path / "run")]) == 2
    assert message.format(f=file) in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_refused_with_resume_and_when_missing(tmp_path, capsys):
    from betavae.train import main

    file = tmp_path / "c.json"
    file.write_text("[1, 2]")
    assert main(["--config", str(file)]) == 2
    assert "must hold an object of fields; got a list" in capsys.readouterr().err
    file.write_text("{}")
    assert main(["--config", str(file), "--resume", str(tmp_path)]) == 2
    assert "drop --config" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: no such file" in capsys.readouterr().err


def test_evaluate_options_from_a_file(tmp_path, capsys):
    from betavae import evaluate
    from betavae.train import main

    run = tmp_path / "run"
    argv = ["--data", "blobs", "--steps", "2", "--batch-size", "4", "--quiet"]
    assert main([*argv, "--out", str(run)]) == 0
    file = tmp_path / "eval.toml"
    file.write_text('metrics = ["mig"]\nsamples = 40\nparam = ["mig.sampled=true"]\nseed = 3\n')
    assert evaluate.main([str(run), "--config", str(file), "--samples", "60"]) == 0
    result = json.loads((run / "eval" / "eval.json").read_text())
    assert (result["samples"], result["seed"]) == (60, 3)  # the flag over the file
    assert "mig" in result and "dci" not in result and result["mig"]["params"]["sampled"]
    file.write_text("samples = 40\nmetric = ['mig']\n")
    assert evaluate.main([str(run), "--config", str(file)]) == 2
    assert f"--config {file}: unknown key(s) ['metric']" in capsys.readouterr().err
    file.write_text("samples = '40'\n")
    assert evaluate.main([str(run), "--config", str(file)]) == 2
    assert "'samples' must be int; got '40'" in capsys.readouterr().err


def test_a_flag_turns_off_what_the_file_turned_on(tmp_path):
    file = tmp_path / "c.json"
    file.write_text(json.dumps({"amp": True, "quiet": True}))
    config = merged(["--config", str(file), "--no-amp"])
    assert (config.amp, config.quiet) == (False, True)
