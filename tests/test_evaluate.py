"""``python -m betavae.evaluate``: metrics, report and pictures from a run directory; a dataset
without factors gets pictures and a note; bad run directories and metric names get clear errors."""

import json

import pytest
import torch
from conftest import tiny_chairs
from PIL import Image

from betavae.evaluate import main as evaluate_main
from betavae.evaluate import metric_parameters
from betavae.metrics import METRIC_NAMES, SCORE_KEYS
from betavae.train import main as train_main


@pytest.fixture(scope="module")
def blob_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("eval") / "blobs"
    assert (
        train_main(
            [
                "--preset",
                "blobs-beta",
                "--steps",
                "6",
                "--batch-size",
                "16",
                "--log-every",
                "2",
                "--quiet",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    return run


def test_evaluate_writes_metrics_report_and_pictures(blob_run, capsys):
    assert evaluate_main([str(blob_run), "--samples", "200", "--device", "cpu"]) == 0
    out = blob_run / "eval"
    result = json.loads((out / "eval.json").read_text())
    for name in METRIC_NAMES:
        for key in SCORE_KEYS[name]:
            assert 0.0 <= result[name][key] <= 1.0, (name, key)
        assert result[name]["convention"] == "disentanglement_lib"
        assert result[name]["params"]["num_train"] == 200
    assert result["convention"] == "disentanglement_lib"
    assert result["beta_vae"]["params"] == {
        "batch_size": 64,
        "num_train": 200,
        "num_eval": 100,
        "standardize": False,
    }
    assert result["factor_vae"]["params"]["num_variance_estimate"] == 200
    assert result["factor_vae"]["params"]["prune_on"] == "std"
    assert result["dci"]["params"]["classifier"] == "gbt"
    assert {"completeness", "informativeness"} <= set(result["dci"])
    assert {"modularity", "explicitness"} <= set(result["modularity_explicitness"])
    assert result["step"] == 6 and len(result["kl_per_latent"]) == 10
    report = (out / "report.md").read_text()
    assert "| latent | KL (nats) | captures |" in report and "| mig |" in report
    assert "| sap |" in report and "modularity " in report and "disentanglement_lib" in report
    for picture in (
        "traversals.png",
        "traversals.gif",
        "reconstructions.png",
        "kl_curves.png",
        "mutual_information.png",
    ):
        assert (out / picture).stat().st_size > 0, picture
    with Image.open(out / "traversals.gif") as gif:
        assert gif.n_frames > 10


def test_evaluate_is_deterministic(blob_run):
    assert evaluate_main([str(blob_run), "--metrics", "mig", "beta_vae", "--samples", "300"]) == 0
    first = json.loads((blob_run / "eval" / "eval.json").read_text())
    assert evaluate_main([str(blob_run), "--metrics", "mig", "beta_vae", "--samples", "300"]) == 0
    assert json.loads((blob_run / "eval" / "eval.json").read_text()) == first


def test_dataset_without_factors_gets_pictures_and_a_note(tmp_path, capsys):
    chairs = tiny_chairs(tmp_path)
    run = tmp_path / "chairs-run"
    assert (
        train_main(
            [
                "--preset",
                "chairs",
                "--data",
                str(chairs),
                "--steps",
                "2",
                "--batch-size",
                "4",
                "--quiet",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    assert evaluate_main([str(run), "--samples", "50"]) == 0
    result = json.loads((run / "eval" / "eval.json").read_text())
    assert "no ground-truth factors" in result["note"]
    assert not set(METRIC_NAMES) & set(result)
    assert (run / "eval" / "traversals.png").exists()
    assert "no disentanglement metric" in (run / "eval" / "report.md").read_text()


def test_bad_run_directories_and_metric_names(tmp_path, blob_run, capsys):
    assert evaluate_main([str(tmp_path)]) == 2
    assert "no checkpoint.pt" in capsys.readouterr().err
    old = tmp_path / "old"
    old.mkdir()
    torch.save({"version": 99, "model": {}}, old / "checkpoint.pt")
    assert evaluate_main([str(old)]) == 2
    assert "checkpoint version 99 is not supported" in capsys.readouterr().err
    assert evaluate_main([str(blob_run), "--metrics", "irs"]) == 2
    assert "unknown metric(s) ['irs']" in capsys.readouterr().err
    for param, message in [
        ("mig.sampled", "expected METRIC.PARAM=VALUE"),
        ("nope.x=1", "expected METRIC.PARAM=VALUE"),
        ("mig.bins=3", "metric 'mig' takes"),
        ("mig.sampled=maybe", "'maybe' is not a bool"),
        ("dci.num_train=many", "'many' is not a int"),
    ]:
        assert evaluate_main([str(blob_run), "--metrics", "mig", "--param", param]) == 2
        assert message in capsys.readouterr().err, param
    assert evaluate_main([str(blob_run), "--samples", "3"]) == 2
    assert "--samples must be >= 10" in capsys.readouterr().err
    generator = tmp_path / "generator"
    args = ["--preset", "generator", "--steps", "1", "--batch-size", "4", "--quiet"]
    assert train_main([*args, "--out", str(generator)]) == 0
    assert evaluate_main([str(generator)]) == 2
    assert "a 'generator' run has no image encoder" in capsys.readouterr().err


def test_variants_are_named_in_eval_json_and_report(blob_run):
    args = [str(blob_run), "--metrics", "mig", "factor_vae", "--samples", "200"]
    args += ["--param", "mig.sampled=true", "--param", "factor_vae.prune_on=variance"]
    assert evaluate_main(args) == 0
    result = json.loads((blob_run / "eval" / "eval.json").read_text())
    assert result["mig"]["convention"] == "variant: sampled=True"
    assert result["mig"]["params"]["sampled"] is True
    assert result["factor_vae"]["convention"] == "variant: prune_on=variance"
    assert "variant: sampled=True" in (blob_run / "eval" / "report.md").read_text()


def test_default_sample_counts_are_the_study_ones():
    params = metric_parameters(list(METRIC_NAMES), None, [])
    assert params["mig"]["num_train"] == 10_000
    assert (params["beta_vae"]["num_train"], params["beta_vae"]["num_eval"]) == (10_000, 5_000)
    assert params["factor_vae"]["num_variance_estimate"] == 10_000
    for name in ("dci", "sap", "modularity_explicitness"):
        assert (params[name]["num_train"], params[name]["num_test"]) == (10_000, 5_000)
