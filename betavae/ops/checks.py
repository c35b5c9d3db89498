"""Input validation for the public fused ops: every bad input gets a TypeError/ValueError that names
the argument, what was expected and what was given, before any kernel runs."""

from __future__ import annotations

import torch

from .backend_base import as_int64_bits

INT64_MIN, INT64_MAX, UINT64_END = -(2**63), 2**63 - 1, 2**64
TARGET_DTYPES = (
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.uint8,
    torch.bool,
)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def require_float_tensor(op: str, name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{op}: {name} must be a torch.Tensor; got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(
            f"{op}: {name} must have a floating-point dtype; got {_dtype_name(value.dtype)}"
        )
    return value


def require_same(op: str, name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.device != b.device:
        raise ValueError(
            f"{op}: {name_a} and {name_b} must be on the same device; got {a.device} and {b.device}"
        )
    if a.shape != b.shape:
        raise ValueError(
            f"{op}: {name_b} must have the shape of {name_a} {tuple(a.shape)}; got {tuple(b.shape)}"
        )


def require_batch(op: str, name: str, tensor: torch.Tensor) -> None:
    if tensor.dim() == 0:
        raise ValueError(f"{op}: {name} must have at least one dimension (the batch); got a scalar")
    if tensor.numel() == 0:
        raise ValueError(
            f"{op}: {name} is empty (shape {tuple(tensor.shape)}); need a non-empty batch"
        )


def check_gaussian_inputs(mu: object, logvar: object) -> tuple[torch.Tensor, torch.Tensor]:
    op = "gaussian_sample_kl"
    mu = require_float_tensor(op, "mu", mu)
    logvar = require_float_tensor(op, "logvar", logvar)
    require_same(op, "mu", mu, "logvar", logvar)
    if mu.dtype != logvar.dtype:
        raise TypeError(
            f"{op}: logvar must have the dtype of mu ({_dtype_name(mu.dtype)}); "
            f"got {_dtype_name(logvar.dtype)}"
        )
    require_batch(op, "mu", mu)
    return mu, logvar


def check_bernoulli_inputs(logits: object, target: object) -> tuple[torch.Tensor, torch.Tensor]:
    op = "bernoulli_nll"
    logits = require_float_tensor(op, "logits", logits)
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"{op}: target must be a torch.Tensor; got {type(target).__name__}")
    if target.dtype not in TARGET_DTYPES:
        raise TypeError(
            f"{op}: target must be float, uint8 or bool; got {_dtype_name(target.dtype)}"
        )
    require_same(op, "logits", logits, "target", target)
    require_batch(op, "logits", logits)
    if target.requires_grad:
        raise ValueError(
            f"{op}: target requires grad, but bernoulli_nll gives no gradient for target; "
            "pass target.detach()"
        )
    return logits, target


def rng_scalar(op: str, name: str, value: object, allow_negative: bool) -> torch.Tensor:
    """Seed/offset as an int64 scalar tensor (the form the custom ops take)."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.int64 and value.dim() == 0:  # the usual form: no conversion
            if not allow_negative and value.device.type == "cpu":
                if not torch.compiler.is_compiling() and int(value) < 0:
                    raise ValueError(f"{op}: {name} must be >= 0; got {int(value)}")
            return value
        if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(
                f"{op}: {name} must be an integer tensor; got {_dtype_name(value.dtype)}"
            )
        if value.numel() != 1:
            raise ValueError(f"{op}: {name} must hold one value; got shape {tuple(value.shape)}")
        tensor = value.reshape(()).to(torch.int64)
        if not allow_negative and tensor.device.type == "cpu" and not torch.compiler.is_compiling():
            if int(tensor) < 0:
                raise ValueError(f"{op}: {name} must be >= 0; got {int(tensor)}")
        return tensor
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{op}: {name} must be an int or an integer tensor; got {type(value).__name__}"
        )
    if not allow_negative and value < 0:
        raise ValueError(f"{op}: {name} must be >= 0; got {value}")
    if not INT64_MIN <= value < UINT64_END:
        raise ValueError(f"{op}: {name} must fit in 64 bits; got {value}")
    if value > INT64_MAX:
        return _unsigned_as_int64(value)
    return torch.tensor(value, dtype=torch.int64)


@torch.compiler.disable
def _unsigned_as_int64(value: int) -> torch.Tensor:
    """An unsigned 64-bit seed/offset of 2**63 or more as the int64 with the same bits. Kept out
    of torch.compile graphs (a graph break), since Inductor holds ints as int64 and cannot
    represent the constant 2**64 that a symbolic value would need."""
    return torch.tensor(as_int64_bits(value), dtype=torch.int64)


def check_shape(op: str, shape: object) -> tuple[int, ...]:
    if isinstance(shape, (int, torch.SymInt)):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{op}: shape must be a sequence of ints; got {type(shape).__name__}")
    dims = tuple(shape)
    if not all(isinstance(d, (int, torch.SymInt)) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"{op}: shape must be a sequence of ints; got {dims!r}")
    if any(d < 0 for d in dims):
        raise ValueError(f"{op}: shape must not have negative sizes; got {dims}")
    return dims
