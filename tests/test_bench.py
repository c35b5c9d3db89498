"""The benchmark tools run end to end and write well-formed tables (no assertion on timings)."""

import subprocess
import sys

import pytest


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
    assert all(len(r) == len(header) for r in body)
    impls = {r[4] for r in body}
    assert {"reference", "cpu"} <= impls
    assert not impls & {"cuda", "triton"}, "only backends that take CPU tensors (no interpreter)"
    assert {(r[0], r[3]) for r in body} >= {
        ("bernoulli_nll", "fwd+bwd"),
        ("gaussian_sample_kl", "fwd+bwd"),
    }
    for r in body:
        assert float(r[5]) > 0 and r[9].endswith("x")


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
    rows = _table_rows(out.read_text())
    assert [r[0] for r in rows[2:]] == ["plain PyTorch loop", "fused loss", "reference loss"]
