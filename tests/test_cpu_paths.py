"""The CPU kernels' instruction-set paths (csrc/cpu/dispatch.cpp): the best one is chosen by
default, BETAVAE_CPU_ISA forces another, every path agrees with the reference, the AVX2 and
AVX-512 paths (both with FMA) give the same bits, a path this CPU lacks or an unknown name is
refused with a clear message, and, under qemu's emulated CPUs without
AVX-512 (Haswell) or without AVX (Nehalem), the build runs its AVX2 / scalar path and agrees with
the reference (the build used to die there with SIGILL)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import betavae
from betavae.ops import native

CHECK = Path(__file__).resolve().parents[1] / "scripts" / "cpu_path_check.py"
needs_native = pytest.mark.skipif(native.load() is None, reason="betavae._C is not built")


def _run(args: list[str], isa: str | None = None, prefix: tuple[str, ...] = (), timeout=300):
    env = dict(os.environ)
    env.pop("BETAVAE_CPU_ISA", None)
    # the betavae this test imported (the source tree or the installed one), not the script's dir
    package_root = str(Path(betavae.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    if isa is not None:
        env["BETAVAE_CPU_ISA"] = isa
    return subprocess.run(
        [*prefix, sys.executable, str(CHECK), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@needs_native
def test_default_path_is_the_best_this_cpu_runs():
    module = native.require()
    assert module.cpu_isas(), "no CPU path at all"
    if "BETAVAE_CPU_ISA" not in os.environ:
        assert module.cpu_isa() == module.cpu_isas()[0]
    assert module.cpu_isas()[-1] in ("scalar", "generic")  # the baseline is always there


# The paths compiled with FMA contraction (CMakeLists.txt): they must agree bit for bit. The
# baseline path rounds a*b+c twice, so it agrees with them to the last bit or so; like every path,
# it is checked against the reference by the script.
FMA_PATHS = ("avx512", "avx2")


@needs_native
def test_every_path_matches_the_reference_and_fma_paths_agree_bit_for_bit(tmp_path):
    dumps = {}
    for isa in ["auto", *native.require().cpu_isas()]:
        dump = tmp_path / f"{isa}.pt"
        done = _run(["--dump", str(dump)], isa=isa, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr  # every op vs the reference
        dumps[isa] = torch.load(dump)
        assert isa == "auto" or dumps[isa]["isa"] == isa
    default = dumps.pop("auto")
    fma = {isa: dump for isa, dump in dumps.items() if isa in FMA_PATHS}
    for isa, dump in fma.items():
        want = fma[next(iter(fma))]["outputs"]
        assert dump["outputs"].keys() == want.keys()
        for key, tensor in want.items():
            assert torch.equal(dump["outputs"][key], tensor), f"{isa} differs in {key}"
    for isa, dump in dumps.items():  # every path, baseline included: within float32 rounding
        for key, want in default["outputs"].items():
            got = dump["outputs"][key]
            scale = want.double().abs().clamp_min(1.0)
            worst = float(((got.double() - want.double()).abs() / scale).max())
            assert worst < 1e-5, f"{isa} path differs from {default['isa']} in {key} by {worst}"


@needs_native
def test_unknown_path_name_is_refused_with_the_choices():
    done = _run([], isa="avx9")
    assert done.returncode != 0
    assert "BETAVAE_CPU_ISA=avx9 is not a CPU path of this build" in done.stderr
    assert "scalar" in done.stderr or "generic" in done.stderr


@needs_native
def test_cpu_feature_query_names_the_known_features():
    module = native.require()
    assert isinstance(module.cpu_has("avx2"), bool)
    if os.uname().machine in ("x86_64", "AMD64"):
        assert module.cpu_has("avx512") == ("avx512" in module.cpu_isas())
        assert module.cpu_has("avx2") == ("avx2" in module.cpu_isas())
        with pytest.raises(ValueError, match="cpu_has: unknown feature 'sse9'; known: avx512_bf16"):
            module.cpu_has("sse9")


def _qemu() -> str | None:
    path = shutil.which("qemu-x86_64")
    if path is None and os.environ.get("BETAVAE_EXPECT_QEMU") == "1":
        pytest.fail("BETAVAE_EXPECT_QEMU=1 (set by .ci/run) but qemu-x86_64 is not installed")
    return path


needs_x86 = pytest.mark.skipif(
    os.uname().machine not in ("x86_64", "AMD64"), reason="the x86-64 paths only"
)


@needs_native
@needs_x86
@pytest.mark.slow
@pytest.mark.parametrize("cpu, isa", [("Haswell", "avx2"), ("Nehalem", "scalar")])
def test_emulated_cpu_runs_its_path_and_matches_the_reference(cpu, isa):
    qemu = _qemu()
    if qemu is None:
        pytest.skip("qemu-x86_64 is not installed (Debian: qemu-user)")
    # NumPy 2.4's wheels use AVX at import; the pre-AVX Nehalem runs the check without numpy
    extra = ["--no-numpy"] if cpu == "Nehalem" else []
    done = _run(["--expect-isa", isa, *extra], prefix=(qemu, "-cpu", cpu), timeout=600)
    assert done.returncode == 0, f"rc {done.returncode}\n{done.stdout}\n{done.stderr[-2000:]}"
    assert f"cpu path: {isa}" in done.stdout


@needs_native
@needs_x86
@pytest.mark.slow
def test_forcing_a_path_the_cpu_lacks_is_refused_not_a_crash():
    qemu = _qemu()
    if qemu is None:
        pytest.skip("qemu-x86_64 is not installed (Debian: qemu-user)")
    done = _run([], isa="avx512", prefix=(qemu, "-cpu", "Haswell"), timeout=600)
    assert done.returncode == 1, f"rc {done.returncode} (4 = SIGILL)\n{done.stderr[-2000:]}"
    assert "BETAVAE_CPU_ISA=avx512: this CPU lacks the instructions of that path" in done.stderr
    assert "avx2, scalar" in done.stderr
