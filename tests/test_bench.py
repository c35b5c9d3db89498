"""The benchmark tools run end to end and write well-formed tables (no assertion on timings)."""

import subprocess
import sys

import pytest
import torch


def _table_rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def test_ops_quick_writes_a_markdown_table(tmp_path):
    out = tmp_path / "ops.md"
    done = subprocess.run(
        [sys.executable, "-m", "betavae.bench", "ops", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = _table_rows(out.read_text())
    header, body = rows[0], rows[2:]
    assert header[:5] == ["op", "shape", "target", "pass", "impl"]
    assert "vs compiled ref" in header and "of copy BW" in header
    assert "vs user eager" in header and "vs user compiled" in header
    assert all(len(r) == len(header) for r in body)
    impls = {r[4] for r in body}
    assert {"user", "reference", "cpu"} <= impls
    assert not impls & {"cuda", "triton"}, "only backends that take CPU tensors (no interpreter)"
    assert {(r[0], r[3]) for r in body} >= {
        ("bernoulli_nll", "fwd+bwd"),
        ("gaussian_sample_kl", "fwd+bwd"),
    }
    user_eager = header.index("vs user eager")
    for r in body:
        assert float(r[5]) > 0 and r[user_eager].endswith("x")
        if r[4] == "user":
            assert r[user_eager] == "1.00x"


def test_data_bench_table():
    from betavae.bench.data import run

    text, markdown = run("cpu", datasets=("blobs",), batch_size=8)
    rows = _table_rows(markdown)
    assert rows[0][:3] == ["dataset", "dtype", "batch"]
    assert [(r[0], r[1]) for r in rows[2:]] == [("blobs", "uint8"), ("blobs", "float32")]
    assert all(float(r[3]) > 0 for r in rows[2:])


def test_help():
    done = subprocess.run(
        [sys.executable, "-m", "betavae.bench", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "ops" in done.stdout and "train" in done.stdout


@pytest.mark.slow
def test_train_bench_without_compile(tmp_path):
    out = tmp_path / "train.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "betavae.bench",
            "train",
            "--data",
            "blobs",
            "--steps",
            "2",
            "--no-compile",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    main_table, concurrent = text.split("Concurrent trainings")
    rows = _table_rows(main_table)
    assert rows[0][:4] == ["loop", "loss backend", "precision", "torch.compile"]
    body = [(r[0], r[2], r[3]) for r in rows[2:]]
    from betavae.amp import amp_problem
    from betavae.bench.train import FUSED, MODULES, PLAIN, REFERENCE
    from betavae.process_tuning import threads_per_run

    amp = amp_problem(torch.device("cpu")) is None
    precision = "bf16 autocast" if amp else "float32"
    expected = [(PLAIN, "float32", "no"), (FUSED, "float32", "no")]
    if amp:
        expected.insert(1, (PLAIN, "bf16 autocast", "no"))
        expected.insert(3, (FUSED, "bf16 autocast", "no"))
    expected += [(MODULES, precision, "no"), (REFERENCE, "float32", "no")]
    assert body == expected
    assert rows[2][5] == "1.00x"  # the plain loop is the yardstick
    assert all(float(r[4]) > 0 and r[5].endswith("x") for r in rows[2:])
    assert "the decoder's bias outside oneDNN's transposed convolution: " in main_table
    runs = _table_rows(concurrent)
    assert runs[0] == [
        "trainings at once",
        "threads each",
        "aggregate images/s",
        "vs one at a time",
    ]
    assert [r[:2] for r in runs[2:]] == [
        ["1", str(threads_per_run(1))],
        ["2", str(threads_per_run(2))],
    ]
    assert runs[2][3] == "1.00x" and float(runs[3][2]) > 0 and runs[3][3].endswith("x")
