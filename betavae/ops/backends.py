"""Backend registry: which implementations exist, which are usable here, and what "auto" picks."""

from __future__ import annotations

import torch

from .backend_base import Backend

BACKEND_NAMES = ("reference", "cpu", "cuda", "triton")

# What backend="auto" tries, per device type, fastest first (by `python -m betavae.bench ops`).
AUTO_ORDER = {
    "cpu": ("cpu", "reference"),
    "cuda": ("cuda", "triton", "reference"),
}

_instances: dict[str, Backend] = {}


def get(name: str) -> Backend:
    """The native backend object called ``name`` (not "reference", which is plain torch)."""
    if name not in _instances:
        if name == "cpu":
            from .cpu_backend import CpuBackend

            _instances[name] = CpuBackend()
        elif name == "cuda":
            from .cuda_backend import CudaBackend

            _instances[name] = CudaBackend()
        elif name == "triton":
            from .triton_backend import TritonBackend

            _instances[name] = TritonBackend()
        else:
            raise ValueError(f"backend must be one of {BACKEND_NAMES}; got {name!r}")
    return _instances[name]


def unavailable_reason(name: str) -> str | None:
    """None when backend ``name`` is built and usable on this machine, else why not."""
    if name == "reference":
        return None
    return get(name).unavailable_reason()


def available_backends() -> list[str]:
    """Backends usable on this machine, e.g. ``["reference", "cpu"]`` on a CPU-only build."""
    return [name for name in BACKEND_NAMES if unavailable_reason(name) is None]


def _usable(name: str, device: torch.device, dtype: torch.dtype) -> bool:
    if name == "reference":
        return True
    if unavailable_reason(name) is not None:
        return False
    backend = get(name)
    return (
        backend.supports_device(device)
        and dtype in backend.dtypes
        and backend.device_problem(device) is None
    )


def resolve(backend: str, device: torch.device, dtype: torch.dtype, op: str) -> str:
    """Turn the user's ``backend`` argument into a concrete backend name, or raise a clear error."""
    if not isinstance(backend, str):
        raise TypeError(f"{op}: backend must be a string; got {type(backend).__name__}")
    if backend == "auto":
        for candidate in AUTO_ORDER.get(device.type, ("reference",)):
            if _usable(candidate, device, dtype):
                return candidate
        return "reference"
    if backend not in BACKEND_NAMES:
        raise ValueError(f"{op}: backend must be 'auto' or one of {BACKEND_NAMES}; got {backend!r}")
    if backend == "reference":
        return backend
    reason = unavailable_reason(backend)
    if reason is not None:
        raise ValueError(
            f"{op}: backend {backend!r} is not available here ({reason}); "
            f"available: {available_backends()}"
        )
    impl = get(backend)
    if not impl.supports_device(device):
        fits = [
            name
            for name in available_backends()
            if name == "reference" or get(name).supports_device(device)
        ]
        raise ValueError(
            f"{op}: backend {backend!r} cannot take tensors on device {device}; "
            f"backends for that device: {fits}"
        )
    problem = impl.device_problem(device)
    if problem is not None:
        raise ValueError(f"{op}: backend {backend!r} cannot run on {device}: {problem}")
    if dtype not in impl.dtypes:
        names = ", ".join(str(d).replace("torch.", "") for d in impl.dtypes)
        given = str(dtype).replace("torch.", "")
        raise TypeError(f"{op}: backend {backend!r} supports dtypes {names}; got {given}")
    return backend
