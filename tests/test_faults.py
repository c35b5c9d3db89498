"""Fault injection: SIGKILL, SIGINT and SIGTERM at random moments of a short run, then resume
(twice for a second fault). Parameters, optimiser state and every logged value must equal an
uninterrupted run's, bit for bit, and metrics.jsonl must hold each step exactly once."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

STEPS = 240
ARGS = [
    "--preset", "blobs-beta", "--batch-size", "8", "--log-every", "10", "--save-every", "25",
    "--image-every", "100000", "--quiet",
]  # fmt: skip


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(args):
    cmd = [sys.executable, "-m", "betavae.train", *args]
    return subprocess.Popen(cmd, env=_env(), stderr=subprocess.PIPE, text=True)


def _records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "images_per_s"} for line in lines]


def _interrupt(proc, run_dir, lines: int, signum) -> int:
    """Send ``signum`` once metrics.jsonl holds ``lines`` more lines than at the start."""
    metrics = run_dir / "metrics.jsonl"
    start = metrics.read_text().count("\n") if metrics.exists() else 0
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        if metrics.exists() and metrics.read_text().count("\n") >= start + lines:
            proc.send_signal(signum)
            break
        time.sleep(0.01)
    proc.communicate(timeout=120)
    return proc.returncode


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("faults") / "reference"
    proc = _start([*ARGS, "--steps", str(STEPS), "--out", str(run_dir)])
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return run_dir


EXIT_CODES = {signal.SIGKILL: -9, signal.SIGINT: 130, signal.SIGTERM: 143}


@pytest.mark.parametrize("signum", list(EXIT_CODES))
def test_faults_then_resume_equal_an_uninterrupted_run(signum, uninterrupted, tmp_path):
    rng = np.random.default_rng(int(signum))
    run_dir = tmp_path / "run"
    proc = _start([*ARGS, "--steps", str(STEPS), "--out", str(run_dir)])
    first = _interrupt(proc, run_dir, int(rng.integers(1, 8)), signum)
    proc = _start(["--resume", str(run_dir), "--steps", str(STEPS), "--quiet"])
    second = _interrupt(proc, run_dir, int(rng.integers(1, 8)), signum)
    assert first == EXIT_CODES[signum], first
    assert second in (EXIT_CODES[signum], 0), second  # 0: it finished before the signal
    if second != 0:
        proc = _start(["--resume", str(run_dir), "--steps", str(STEPS), "--quiet"])
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    steps = [r["step"] for r in _records(run_dir)]
    assert steps == list(range(10, STEPS + 1, 10)), steps
    assert _records(run_dir) == _records(uninterrupted)
    a = torch.load(uninterrupted / "checkpoint.pt", weights_only=False)
    b = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert b["step"] == STEPS
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    for key, state in a["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.equal(
                torch.as_tensor(value), torch.as_tensor(b["optimizer"]["state"][key][name])
            )
    assert torch.equal(a["sampler_states"][0], b["sampler_states"][0])
