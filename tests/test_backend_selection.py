"""Which backend runs where: a GPU the CUDA build has no code for is refused with the reason and
`auto` falls back (Triton, then reference); a Triton older than the kernels need is reported as
unavailable instead of giving other noise."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from betavae.ops import backends, cuda_archs
from betavae.ops.backend_base import Backend
from betavae.ops.triton_backend import TritonBackend, triton_version_problem

CUDA13_DEFAULT = "75-real,80-real,86-real,89-real,90-real,100-real,120-real,120-virtual"
OLD_DEFAULT = "80;90"  # the list before: machine code and PTX of 8.0 and 9.0 only


@pytest.mark.parametrize(
    "capability, covered",
    [
        ((7, 0), False),  # V100: CUDA 13 cannot build for it
        ((7, 5), True),  # T4
        ((8, 0), True),
        ((8, 6), True),
        ((8, 7), True),  # 8.0 machine code runs on 8.7
        ((8, 9), True),
        ((9, 0), True),
        ((10, 0), True),
        ((10, 3), True),
        ((12, 0), True),
        ((12, 1), True),
        ((13, 0), True),  # newer than the list: JIT from the 12.0 PTX
    ],
)
def test_default_cuda13_list_covers(capability, covered):
    assert cuda_archs.covers(CUDA13_DEFAULT, capability) is covered


def test_real_code_is_per_major_and_ptx_is_forward():
    assert cuda_archs.covers("80-real,90-real", (8, 6))
    assert not cuda_archs.covers("80-real,90-real", (10, 0))  # no PTX: Blackwell fails
    assert not cuda_archs.covers("80-real,90-real", (7, 5))
    assert cuda_archs.covers(OLD_DEFAULT, (10, 0))  # plain "90" carries PTX
    assert not cuda_archs.covers(OLD_DEFAULT, (7, 5))
    assert cuda_archs.covers("90a-real", (9, 0))
    assert not cuda_archs.covers("90a-real", (10, 0))  # arch-specific: that GPU only
    assert not cuda_archs.covers("90a-virtual", (10, 0))
    assert cuda_archs.covers("75-virtual", (12, 0))
    assert not cuda_archs.covers("", (8, 0))


def test_cmake_keywords_are_not_judged():
    for keyword in ("all", "all-major", "native"):
        assert cuda_archs.parse(keyword) is None
        assert cuda_archs.covers(keyword, (5, 0))


def test_missing_code_reason_says_what_and_how():
    reason = cuda_archs.missing_code_reason("80-real,90-real", (12, 0), "NVIDIA RTX 5090")
    assert "no CUDA code for NVIDIA RTX 5090" in reason
    assert "compute capability 12.0" in reason
    assert "80-real,90-real" in reason
    assert "CMAKE_CUDA_ARCHITECTURES=120" in reason
    assert cuda_archs.missing_code_reason(CUDA13_DEFAULT, (9, 0), "H200") is None


class _FakeGpuBackend(Backend):
    """Stands in for a native GPU backend on this CPU-only machine."""

    dtypes = (torch.float32,)

    def __init__(self, name: str, problem: str | None = None) -> None:
        self.name, self.problem = name, problem

    def unavailable_reason(self):
        return None

    def supports_device(self, device):
        return device.type == "cuda"

    def device_problem(self, device):
        return self.problem


@pytest.fixture
def fake_gpu_backends(monkeypatch):
    def install(cuda_problem: str | None, triton: bool = True):
        instances = {"cuda": _FakeGpuBackend("cuda", cuda_problem)}
        instances["triton"] = _FakeGpuBackend("triton", None if triton else "no code")
        monkeypatch.setattr(backends, "_instances", instances)

    return install


def test_auto_skips_cuda_on_a_gpu_without_code(fake_gpu_backends):
    gpu = torch.device("cuda", 0)
    fake_gpu_backends(cuda_problem=None)
    assert backends.resolve("auto", gpu, torch.float32, "op") == "cuda"
    fake_gpu_backends(cuda_problem="betavae._C has no CUDA code for X")
    assert backends.resolve("auto", gpu, torch.float32, "op") == "triton"
    fake_gpu_backends(cuda_problem="no code", triton=False)
    assert backends.resolve("auto", gpu, torch.float32, "op") == "reference"


def test_explicit_cuda_on_a_gpu_without_code_says_why(fake_gpu_backends):
    fake_gpu_backends(cuda_problem="betavae._C has no CUDA code for Tesla V100")
    with pytest.raises(ValueError, match="cannot run on cuda:0: betavae._C has no CUDA code"):
        backends.resolve("cuda", torch.device("cuda", 0), torch.float32, "gaussian_sample_kl")


@pytest.mark.parametrize(
    "version, ok",
    [("3.0.0", False), ("3.3.1", False), ("3.4.0", True), ("3.9.0", True), ("4.0.0+git1", True)],
)
def test_triton_floor(version, ok):
    problem = triton_version_problem(version)
    assert (problem is None) is ok
    if not ok:
        assert f"Triton {version} is too old" in problem and "triton>=3.4" in problem


def test_old_triton_is_unavailable_with_the_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", types.SimpleNamespace(__version__="3.2.0"))
    backend = TritonBackend()
    assert "Triton 3.2.0 is too old" in backend.unavailable_reason()
    monkeypatch.setattr(backends, "_instances", {**backends._instances, "triton": backend})
    assert "triton" not in backends.available_backends()
    with pytest.raises(ValueError, match="Triton 3.2.0 is too old"):
        backends.resolve("triton", torch.device("cpu"), torch.float32, "op")
