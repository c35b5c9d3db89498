"""The reference models committed under docs/reproduction/models/: each loads without running
code (a safetensors model file), says which commit trained it, is the model its record measured
(the posterior KL recomputed here matches the record), and evaluates from this checkout."""

import json
from pathlib import Path

import numpy as np
import pytest

from betavae.model_format import read_model_file
from betavae.reproduce.analysis import posterior
from betavae.trained import load_trained

MODELS = Path(__file__).resolve().parent.parent / "docs" / "reproduction" / "models"
FILES = sorted(MODELS.glob("*/*.safetensors"))


def test_reference_models_are_committed():
    assert FILES, f"no reference model under {MODELS}"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_a_reference_model_is_the_one_its_record_measured(path):
    weights, config, step, dataset = read_model_file(path)
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["step"] == step == config.steps and record["budget"] == "paper"
    assert record["trained_by"] not in ("", "unknown") and dataset is not None
    config_, model, data, step_ = load_trained(path)
    assert step_ == step and data.name == dataset["name"] == config_.data
    if path.parent.name == "generator":
        from betavae.reproduce.generator import measure_channels

        kl = [c["kl"] for c in measure_channels(model, data, samples=100)]
        np.testing.assert_allclose(kl, [c["kl"] for c in record["channels"]], rtol=1e-3)
    else:
        index = np.random.default_rng(0).integers(0, len(data), 5000)
        _, _, kl = posterior(model, data, index)
        np.testing.assert_allclose(kl.mean(0), record["kl_per_latent"], rtol=1e-3, atol=1e-4)
        assert record["log"][-1]["step"] == step


def test_a_dsprites_reference_model_evaluates(tmp_path, capsys):
    """``python -m betavae.evaluate MODEL.safetensors`` on a committed model (a copy, so the
    evaluation's files land in tmp_path), with few samples."""
    import shutil

    from betavae.evaluate import main

    found = [p for p in FILES if p.parent.name == "dsprites"]
    if not found:
        pytest.skip("no dSprites reference model committed")
    copy = tmp_path / found[0].name
    shutil.copy(found[0], copy)
    assert main([str(copy), "--metrics", "mig", "--samples", "2000"]) == 0
    result = json.loads((tmp_path / copy.stem / "eval" / "eval.json").read_text())
    assert result["step"] == 150_000 and 0.0 <= result["mig"]["mig"] <= 1.0
