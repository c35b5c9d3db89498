"""DDP with 2 gloo processes: the capacity term of the global batch (matches one process on the
same batch), a signal to one rank stops every rank with an exact checkpoint, and a set-up failure
on rank 0 ends every rank instead of leaving them waiting."""

import json
import os
import signal
import subprocess
import sys
import time

import torch

FAST = ["--preset", "blobs-beta", "--batch-size", "8", "--image-every", "100000", "--quiet"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _torchrun(port: int, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
        f"--master_port={port}", *args,
    ]  # fmt: skip


def test_two_processes_match_one_on_the_same_global_batch(tmp_path):
    worker = os.path.join(os.path.dirname(__file__), "ddp_capacity_worker.py")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = [sys.executable, worker, str(tmp_path / "one")]
    done = subprocess.run(single, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    cmd = _torchrun(29531, worker, str(tmp_path / "two"))
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    one = torch.load(tmp_path / "one" / "rank0.pt")
    for rank in (0, 1):
        two = torch.load(tmp_path / "two" / f"rank{rank}.pt")
        for key in one:
            torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-6, msg=key)


def test_sigint_to_one_rank_stops_every_rank_with_an_exact_checkpoint(tmp_path):
    out = tmp_path / "ddp"
    args = [*FAST, "--steps", "100000", "--log-every", "5", "--out", str(out), "--device", "cpu"]
    proc = subprocess.Popen(
        _torchrun(29532, "-m", "betavae.train", *args),
        env=_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = out / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (
        metrics.exists() and metrics.read_text().count("\n") >= 2
    ):
        time.sleep(0.1)
    workers = subprocess.run(
        ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
    ).stdout.split()
    assert len(workers) == 2, workers
    os.kill(int(workers[1]), signal.SIGINT)  # one rank only
    _, err = proc.communicate(timeout=120)  # no rank may hang
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert 10 <= state["step"] < 100000 and state["step"] % 5 == 0, err[-2000:]
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == list(range(5, state["step"] + 1, 5))


def test_a_bad_out_on_rank_0_ends_every_rank(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = [*FAST, "--steps", "4", "--out", str(blocker / "sub"), "--device", "cpu"]
    done = subprocess.run(
        _torchrun(29533, "-m", "betavae.train", *args),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "is not writable" in done.stderr
