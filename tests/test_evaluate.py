"""``python -m betavae.evaluate``: metrics, report and pictures from a run directory; a dataset
without factors gets pictures and a note; bad run directories and metric names get clear errors."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from betavae.data.chairs import import_chairs
from betavae.evaluate import main as evaluate_main
from betavae.metrics import METRIC_NAMES
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
        assert 0.0 <= result[name][name] <= 1.0
    assert {"completeness", "informativeness"} <= set(result["dci"])
    assert result["step"] == 6 and len(result["kl_per_latent"]) == 10
    report = (out / "report.md").read_text()
    assert "| latent | KL (nats) | captures |" in report and "| mig |" in report
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
    folder = tmp_path / "renders"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(6):
        Image.fromarray(rng.integers(0, 256, (80, 80), dtype=np.uint8)).save(folder / f"{k}.png")
    chairs = import_chairs(folder, tmp_path / "chairs.h5", quiet=True)
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
    assert evaluate_main([str(blob_run), "--metrics", "sap"]) == 2
    assert "unknown metric(s) ['sap']" in capsys.readouterr().err
    assert evaluate_main([str(blob_run), "--samples", "3"]) == 2
    assert "--samples must be >= 10" in capsys.readouterr().err
