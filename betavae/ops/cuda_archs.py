"""Whether the CUDA kernels of this build have code a given GPU can run.

The build records its architecture list (``betavae._C.CUDA_ARCHS``, CMake's spelling:
``"75-real,80-real,...,120-virtual"``). Machine code (``NN-real``) for compute capability X.y runs
on X.z with z >= y; arch-specific code (``90a-real``) only on exactly that GPU; PTX
(``NN-virtual``) is JIT-compiled by the driver for any GPU of that capability or newer. A GPU that
none of them covers would fail at its first launch with "no kernel image is available", so the
cuda backend refuses it beforehand with the reason, and ``backend="auto"`` moves on to Triton.
"""

from __future__ import annotations

import re

_ENTRY = re.compile(r"^(\d+)(\d)([af]?)(?:-(real|virtual))?$")


def parse(archs: str) -> list[tuple[int, int, str, str]] | None:
    """[(major, minor, variant, kind)] with kind "real" or "virtual", or None when the list is not
    a plain list of numbers (CMake's "all", "native", ...: nothing can be said beforehand)."""
    entries = []
    for item in filter(None, (part.strip() for part in archs.replace(";", ",").split(","))):
        match = _ENTRY.match(item)
        if match is None:
            return None
        major, minor, variant, kind = match.groups()
        kinds = (kind,) if kind else ("real", "virtual")  # plain "80": SASS and PTX
        entries += [(int(major), int(minor), variant, k) for k in kinds]
    return entries


def covers(archs: str, capability: tuple[int, int]) -> bool:
    """Whether code built for ``archs`` runs on a GPU of compute ``capability``."""
    entries = parse(archs)
    if entries is None:
        return True
    for major, minor, variant, kind in entries:
        if kind == "virtual" and not variant and (major, minor) <= capability:
            return True
        if kind == "real":
            if variant and (major, minor) == capability:
                return True
            if not variant and major == capability[0] and minor <= capability[1]:
                return True
    return False


def missing_code_reason(archs: str, capability: tuple[int, int], gpu: str) -> str | None:
    """None when ``archs`` covers the GPU, else a sentence that says what to do."""
    if covers(archs, capability):
        return None
    major, minor = capability
    return (
        f"betavae._C has no CUDA code for {gpu} (compute capability {major}.{minor}; built for "
        f"{archs or 'nothing'}); rebuild with "
        f"`pip install . -C cmake.define.CMAKE_CUDA_ARCHITECTURES={major}{minor}` "
        "(CUDA 13 no longer compiles for capability 7.0 and older: use CUDA 12 there)"
    )
