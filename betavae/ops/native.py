"""Access to the compiled module ``betavae._C``: loading, version check and tensor-to-pointer glue.

The native module takes raw data pointers, sizes and dtype codes (it does not link libtorch);
this file is the only place that turns tensors into those arguments.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import torch

NATIVE_API_VERSION = 3  # must equal csrc/common.h kNativeApiVersion

# Keep in sync with csrc/common.h (enum DType).
DTYPE_CODES = {
    torch.float32: 0,
    torch.float64: 1,
    torch.float16: 2,
    torch.bfloat16: 3,
    torch.uint8: 4,
    torch.bool: 4,
}

_module: ModuleType | None = None
_error: str | None = None


def load() -> ModuleType | None:
    """Return ``betavae._C`` or None when it is not built (the reason is in :func:`load_error`)."""
    global _module, _error
    if _module is None and _error is None:
        try:
            module = importlib.import_module("betavae._C")
        except ImportError as exc:
            _error = f"betavae._C is not built ({exc}); install the package with `pip install .`"
        else:
            version = getattr(module, "API_VERSION", None)
            if version != NATIVE_API_VERSION:
                _error = (
                    f"betavae._C at {module.__file__} has native API version {version}, but this "
                    f"source expects {NATIVE_API_VERSION}; rebuild it with `pip install .`"
                )
            else:
                _module = module
    return _module


def load_error() -> str | None:
    """Why :func:`load` returned None, or None when the module loaded."""
    load()
    return _error


def require() -> ModuleType:
    """The native module, or a RuntimeError that says why it is unavailable."""
    module = load()
    if module is None:
        raise RuntimeError(_error)
    return module


def with_cuda() -> bool:
    """Whether the native module was compiled with the CUDA kernels."""
    module = load()
    return bool(module is not None and module.WITH_CUDA)


def ptr(tensor: torch.Tensor | None) -> int:
    """Data pointer of a contiguous tensor, 0 for None (an absent optional input)."""
    return 0 if tensor is None else tensor.data_ptr()


def dtype_code(tensor: torch.Tensor) -> int:
    return DTYPE_CODES[tensor.dtype]


def as_u64(value: int) -> int:
    """Reinterpret a signed 64-bit seed/offset as the unsigned word the kernels take."""
    return value & 0xFFFFFFFFFFFFFFFF
