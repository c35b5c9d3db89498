"""``python -m betavae.reproduce … --jobs N`` (runs trained in processes of their own, with their
share of the cores), ``--list-commands`` (one resumable command per run, for a scheduler) and
``--train-only``; a stop by signal reaches every run in flight, each saves its checkpoint."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from betavae.reproduce.__main__ import main
from betavae.reproduce.parallel import Sitting, threads_per_run
from betavae.reproduce.runner import Run, read_metrics, run_state

ROOT = Path(__file__).resolve().parents[1]
BLOBS = ["beta1-seed0", "beta150-seed0", "beta150-sigma6-seed0"]


def _reproduce(tmp_path, *args):
    return main(["blobs", "--budget", "smoke", "--out", str(tmp_path / "report"), *args])


def _checkpoint_threads(run_dir: Path) -> int:
    import torch

    return torch.load(run_dir / "checkpoint.pt", weights_only=False)["threads"]


def test_threads_per_run_shares_the_cores():
    assert threads_per_run(1, cores=2) == 2
    assert threads_per_run(2, cores=2) == 1
    assert threads_per_run(3, cores=2) == 1  # never none
    assert threads_per_run(2, cores=16) == 8


def test_jobs_trains_every_run_in_its_own_process_and_reports(tmp_path, capsys):
    assert _reproduce(tmp_path, "--jobs", "2") == 0
    out = capsys.readouterr().out
    threads = threads_per_run(2)
    for name in BLOBS:
        assert f"{name}: in its own process, {threads} thread(s)" in out
        run_dir = tmp_path / "report" / "runs" / "blobs" / name
        assert run_state(run_dir) == (4, 4)
        assert _checkpoint_threads(run_dir) == threads  # recorded: a resume with more warns
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| beta150-seed0 | β = 150 | 4 |" in text and "Not finished" not in text
    # the same plan trained here, one run after another, with the same thread count: same runs
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert _reproduce(tmp_path / "serial") == 0
    finally:
        torch.set_num_threads(previous)
    for name in BLOBS:
        jobs = read_metrics(tmp_path / "report" / "runs" / "blobs" / name)
        serial = read_metrics(tmp_path / "serial" / "report" / "runs" / "blobs" / name)
        assert [r["loss"] for r in jobs] == [r["loss"] for r in serial]


def test_list_commands_are_self_contained_and_meet_in_one_report(tmp_path, capsys):
    assert _reproduce(tmp_path, "--list-commands") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(BLOBS)
    assert not (tmp_path / "report").exists()  # listing writes nothing
    report = str((tmp_path / "report").resolve())
    for line, name in zip(lines, BLOBS, strict=True):
        words = shlex.split(line)
        assert words[:4] == ["python", "-m", "betavae.reproduce", "blobs"]
        assert words[-3:] == ["--only", name, "--train-only"]
        assert words[words.index("--out") + 1] == report
    # each line runs anywhere (here: from another directory), trains its run, writes no report
    for line in lines:
        words = [sys.executable, *shlex.split(line)[1:]]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert not (tmp_path / "report" / "report.md").exists()
    for name in BLOBS:
        assert run_state(tmp_path / "report" / "runs" / "blobs" / name) == (4, 4)
    assert _reproduce(tmp_path, "--analyse-only") == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| beta1-seed0 | β = 1 | 4 |" in text and "Not finished" not in text
    capsys.readouterr()
    # with --jobs, each line sets the threads of one of N runs sharing a machine
    assert _reproduce(tmp_path, "--list-commands", "--jobs", "2", "--only", "beta1-seed0") == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(f"OMP_NUM_THREADS={threads_per_run(2)} python -m betavae.reproduce")


def test_run_command_repeats_what_decides_the_plan(tmp_path):
    data = tmp_path / "chairs.h5"
    sitting = Sitting("chairs", "paper", 3, Path("rel/out"), Path("rel/runs"), str(data), True)
    words = sitting.run_command(Run("chair-seed2"))
    joined = " ".join(words)
    assert f"--out {Path('rel/out').resolve()}" in joined
    assert f"--runs {Path('rel/runs').resolve()}" in joined and f"--data {data}" in joined
    assert "--seeds 3" in joined and "--amp" in words and "--follow-up" not in words


def test_bad_requests_are_refused_before_anything_is_written(tmp_path, capsys):
    assert _reproduce(tmp_path, "--jobs", "0") == 2
    assert "--jobs must be >= 1; got 0" in capsys.readouterr().err
    assert _reproduce(tmp_path, "--train-only", "--analyse-only") == 2
    assert "--train-only and --analyse-only exclude each other" in capsys.readouterr().err
    assert _reproduce(tmp_path, "--list-commands", "--analyse-only") == 2
    assert "--list-commands and --analyse-only exclude each other" in capsys.readouterr().err
    assert _reproduce(tmp_path, "--list-commands", "--only", "nope") == 2
    assert "--only: nope not in the plan" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


def test_a_failed_run_is_named_and_the_others_still_train(tmp_path, capsys):
    broken = tmp_path / "report" / "runs" / "blobs" / "beta150-seed0"
    broken.mkdir(parents=True)
    (broken / "checkpoint.pt").write_bytes(b"not a checkpoint")
    (broken / "config.json").write_text(json.dumps({"preset": "blobs-beta"}))
    assert _reproduce(tmp_path, "--jobs", "2") == 2
    captured = capsys.readouterr()
    assert "beta150-seed0: its process ended with exit code" in captured.out
    assert "the process of beta150-seed0 failed" in captured.err
    for name in ("beta1-seed0", "beta150-sigma6-seed0"):
        assert run_state(tmp_path / "report" / "runs" / "blobs" / name) == (4, 4)
    assert (broken / "checkpoint.pt").read_bytes() == b"not a checkpoint"  # left as it was


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_stops_every_run_in_flight_with_its_checkpoint(tmp_path, signum):
    out = tmp_path / "report"
    command = [sys.executable, "-m", "betavae.reproduce", "blobs", "--budget", "cpu"]
    command += ["--out", str(out), "--jobs", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    children: list[int] = []
    try:
        runs = [out / "runs" / "blobs" / name for name in BLOBS[:2]]
        deadline = time.monotonic() + 300
        while not all((r / "metrics.jsonl").exists() for r in runs):  # both in flight and logging
            assert parent.poll() is None and time.monotonic() < deadline, parent.communicate()
            time.sleep(0.2)
        children += _children_of(parent.pid)
        assert len(children) == 2
        parent.send_signal(signum)
        stdout, stderr = parent.communicate(timeout=120)  # the children hold its pipes to the end
        # SIGKILL cannot be passed on: Linux sends the children SIGTERM when their parent dies
        seen = "SIGTERM" if signum == signal.SIGKILL else signal.Signals(signum).name
        if signum == signal.SIGKILL:
            assert parent.returncode == -signal.SIGKILL
        else:
            assert parent.returncode == 128 + signum, stderr
            assert f"stopped by {seen}: the runs in flight saved" in stdout
        assert stderr.count(f"stopped by {seen} at step") == 2, stderr
    finally:  # a failed check leaves no training behind
        parent.kill()
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)  # each child leads a session of its own
            except ProcessLookupError:
                pass
    for run in runs:
        step, planned = run_state(run)
        assert 0 < step < planned == 4000  # saved where it stopped, to be continued
        assert [r["step"] for r in read_metrics(run)][-1] <= step
    assert not (out / "runs" / "blobs" / BLOBS[2]).exists()  # not started after the signal
    assert not (out / "report.md").exists()
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_list_commands_leaves_out_recorded_runs(tmp_path, capsys, monkeypatch):
    import dataclasses

    from betavae.reproduce import EXPERIMENTS

    blobs = dataclasses.replace(
        EXPERIMENTS["blobs"], recorded=lambda run, out, budget: run.name == "beta1-seed0"
    )
    monkeypatch.setitem(EXPERIMENTS, "blobs", blobs)
    assert _reproduce(tmp_path, "--list-commands") == 0
    captured = capsys.readouterr()
    listed = [shlex.split(line)[-2] for line in captured.out.strip().splitlines()]
    assert listed == BLOBS[1:]
    assert "beta1-seed0: recorded, not listed" in captured.err


class _ChildThatStopsOnASecondCtrlC:
    """A stand-in for a training child: the first SIGINT is noted (a real run would save at the
    next step), the second ends it at once with 130, as ``betavae.train`` does."""

    SCRIPT = (
        "import signal, sys, time\n"
        "seen = []\n"
        "def on_int(signum, frame):\n"
        "    seen.append(signum)\n"
        "    if len(seen) > 1:\n"
        "        sys.exit(130)\n"
        "signal.signal(signal.SIGINT, on_int)\n"
        "deadline = time.monotonic() + 60\n"
        "while time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "sys.exit(3)\n"
    )

    def run_command(self, run, python="python"):
        return [python, "-c", self.SCRIPT]


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_a_second_ctrl_c_is_not_reported_as_saved():
    import threading

    runs = [Run(f"fake{i}", {}, ()) for i in range(2)]
    lines: list[str] = []

    def interrupt_twice():
        deadline = time.monotonic() + 30
        while len(_children_of(os.getpid())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the children's handlers are installed
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    from betavae.reproduce.parallel import train_concurrently

    threading.Thread(target=interrupt_twice, daemon=True).start()
    with pytest.raises(SystemExit) as stopped:
        train_concurrently(_ChildThatStopsOnASecondCtrlC(), runs, jobs=2, log=lines.append)
    assert stopped.value.code == 128 + signal.SIGINT
    assert lines[-1].startswith("interrupted twice"), lines
    assert not any("saved their checkpoints" in line for line in lines), lines
