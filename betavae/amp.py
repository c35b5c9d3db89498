"""Mixed precision (``--amp``): the model's convolutions and linear layers in bfloat16 under
``torch.autocast``, the fused loss ops and every loss term in float32 (see objectives.py).

On CUDA every GPU that torch runs bf16 on will do. On the CPU, bf16 pays only with native bf16
instructions (AVX512_BF16 or AMX-BF16 on x86, BF16 on Arm): without them oneDNN emulates bf16 and
the step gets slower than float32, so ``--amp`` is refused there with that reason.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from .ops import native

AMP_DTYPE = torch.bfloat16


def cpu_bf16_features() -> list[str]:
    """The native bf16 features of this CPU (empty when it has none)."""
    module = native.load()
    if module is not None and platform.machine().lower() in ("x86_64", "amd64"):
        return [name for name in ("avx512_bf16", "amx_bf16") if module.cpu_has(name)]
    return sorted(_proc_cpuinfo_flags() & {"avx512_bf16", "amx_bf16", "bf16"})


def _proc_cpuinfo_flags() -> set[str]:
    """Feature flags from /proc/cpuinfo (Linux; x86 "flags", Arm "Features"), else empty."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def amp_problem(device: torch.device) -> str | None:
    """None when ``--amp`` can run on ``device``, else why not (a sentence for the user)."""
    if device.type == "cuda":
        return None
    if device.type == "cpu":
        if cpu_bf16_features():
            return None
        return (
            "--amp on the CPU needs native bf16 instructions (AVX512_BF16 or AMX-BF16 on x86, "
            "BF16 on Arm); this CPU has none, and emulated bf16 is slower than float32: train "
            "without --amp"
        )
    return f"--amp is not supported on device type {device.type!r}"


def autocast(device: torch.device, enabled: bool):
    """The autocast context of the model's forward pass (a no-op when not ``enabled``)."""
    return torch.autocast(device.type, AMP_DTYPE, enabled=enabled)
