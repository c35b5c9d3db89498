"""The RNG contract (docs/design.md, "RNG"): known Philox answers, and every backend equal to the
reference (words and uniforms bit-exact, normals within 1e-6)."""

import pytest
import torch
from conftest import cpu_tensor_backends

from betavae import ops
from betavae.ops import backends, reference

KNOWN_WORDS = {
    (0, 0): "6627e8d5 e169c58d bc57ac4c 9b00dbd8",
    (0, 1): "f8e4cca4 5cb200db b1a574eb 097eff67",
    (42, 0): "9ceaf053 77f5493b 12bf50ad 5742b3d7",
    (42, 3): "bac70475 abaf0dab 961e5543 610e67f7",
    (123456789, 0): "23bdfdf2 526f577f d3f04ad4 21a5ec5d",
}
KNOWN_NORMALS_SEED42 = [0.660613358, -1.54271352, -0.590463579, -0.601625443]


def _hex(words: torch.Tensor) -> str:
    return " ".join(f"{int(w):08x}" for w in words)


@pytest.mark.parametrize("seed,offset", list(KNOWN_WORDS))
def test_reference_philox_known_answers(seed, offset):
    words = reference.philox4x32(seed, torch.tensor([offset]))[0]
    assert _hex(words) == KNOWN_WORDS[(seed, offset)]


@pytest.mark.parametrize("backend", cpu_tensor_backends())
@pytest.mark.parametrize("seed,offset", list(KNOWN_WORDS))
def test_backend_philox_known_answers(backend, seed, offset):
    words = backends.get(backend).philox_words(1, seed, offset, torch.device("cpu"))[0]
    assert _hex(words) == KNOWN_WORDS[(seed, offset)]


@pytest.mark.parametrize("backend", ["reference", *cpu_tensor_backends()])
def test_known_normals(backend):
    eps = ops.standard_normal((4,), 42, 0, backend=backend)
    assert eps.dtype == torch.float32
    torch.testing.assert_close(eps, torch.tensor(KNOWN_NORMALS_SEED42), rtol=0, atol=1e-6)


def test_cpu_equals_reference_on_a_million_counters():
    cpu = backends.get("cpu")
    n, seed, offset = 10**6, 2024, 77
    counters = torch.arange(n) + offset
    assert torch.equal(
        cpu.philox_words(n, seed, offset, torch.device("cpu")), reference.philox4x32(seed, counters)
    )
    assert torch.equal(
        cpu.uniform(n, seed, offset, torch.device("cpu")), reference.uniform((n,), seed, offset)
    )
    fused = ops.standard_normal((n,), seed, offset, backend="cpu")
    oracle = ops.standard_normal((n,), seed, offset, backend="reference")
    torch.testing.assert_close(fused, oracle, rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", cpu_tensor_backends())
@pytest.mark.parametrize(
    "seed,offset",
    [(1, 2**32 - 5), (-1, 0), (2**63 + 12345, 2**40), (0xDEADBEEF12345678, 3)],
    ids=["counter-carry", "negative-seed", "seed-above-2^63", "wide-seed"],
)
def test_64bit_seeds_and_counters(backend, seed, offset):
    """High key/counter words are used: crossing 2^32 and seeds >= 2^32 match the reference."""
    n = 4099
    impl = backends.get(backend)
    counters = torch.arange(n) + offset
    assert torch.equal(
        impl.philox_words(n, seed, offset, torch.device("cpu")),
        reference.philox4x32(seed, counters),
    )
    assert torch.equal(
        impl.uniform(n, seed, offset, torch.device("cpu")), reference.uniform((n,), seed, offset)
    )
    torch.testing.assert_close(
        ops.standard_normal((n,), seed, offset, backend=backend),
        ops.standard_normal((n,), seed, offset, backend="reference"),
        rtol=0,
        atol=1e-6,
    )


@pytest.mark.parametrize("backend", ["reference", *cpu_tensor_backends()])
def test_offset_selects_a_window_of_one_stream(backend):
    whole = ops.standard_normal((100,), 5, 0, backend=backend)
    window = ops.standard_normal((10, 4), 5, 30, backend=backend)
    assert torch.equal(window.flatten(), whole[30:70])


def test_uniforms_lie_in_unit_interval_and_normals_are_standard():
    u = reference.uniform((200_000,), 3)
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0
    eps = ops.standard_normal((200_000,), 3, backend="cpu")
    assert abs(float(eps.mean())) < 0.01
    assert abs(float(eps.std()) - 1.0) < 0.01
