"""Bad flags get one clear line naming the flag, before anything is written (adversarial review
of #20: each case printed a traceback or a misleading message before)."""

from __future__ import annotations

import pytest
import torch

from betavae.evaluate import main as evaluate_main
from betavae.rundir import RunDir
from betavae.train import main

FAST = ["--data", "blobs", "--batch-size", "8", "--quiet", "--image-every", "1000"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--gamma", "inf"], "--gamma must be a finite number; got inf"),
        (["--lr", "inf"], "--lr must be a finite number; got inf"),
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--seed", str(2**70)], "--seed must be in [0, 2**63)"),
        (["--seed", "-1"], "--seed must be in [0, 2**63)"),
        (["--batch-size", "100000000"], "--batch-size must be <= 16,384"),
        (["--latent-dim", "100000000"], "--latent-dim must be <= 1,024"),
        (["--device", "bogus"], "--device 'bogus': expected auto, cpu, cuda or cuda:N"),
        (["--device", "meta"], "betavae trains on cpu or cuda devices"),
    ],
)
def test_bad_training_flags(tmp_path, capsys, flags, message):
    out = tmp_path / "run"
    assert main([*FAST, "--steps", "2", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main([*FAST, "--steps", "4", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--seed", "-1"], "--seed must be in [0, 2**32); got -1"),
        (["--device", "bogus"], "--device 'bogus'"),
        (["--samples", "10000000000"], "--samples must be <= 1,000,000"),
        (["--param", "mig.num_train=-1"], "--param / --samples for mig: num_train must be >= 1"),
        (["--param", "dci.classifier=svm"], "--param / --samples for dci: classifier must be"),
    ],
)
def test_bad_evaluation_flags_leave_no_eval_directory(run_dir, capsys, flags, message):
    assert evaluate_main([str(run_dir), "--metrics", "mig", "dci", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (run_dir / "eval").exists()


def test_resume_under_another_thread_count_warns(run_dir, capsys, monkeypatch):
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    state["threads"] = torch.get_num_threads() + 3
    torch.save(state, run_dir / "checkpoint.pt")
    assert main(["--resume", str(run_dir), "--steps", "6"]) == 0
    err = capsys.readouterr().err
    assert f"trained with {torch.get_num_threads() + 3} CPU thread(s)" in err
    assert RunDir(run_dir).load_checkpoint()["threads"] == torch.get_num_threads()
