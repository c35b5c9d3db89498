"""torchrun support: process-group set-up (gloo on CPU, NCCL on GPU) and small helpers, so the
trainer runs unchanged on one process or many."""

from __future__ import annotations

import hashlib
import os
import time

import torch
import torch.distributed as dist


def init(device: torch.device) -> tuple[int, int]:
    """(rank, world size); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main(rank: int) -> bool:
    return rank == 0


def parameter_digest(model: torch.nn.Module) -> str:
    """SHA-256 of all parameters' bytes (ranks of a DDP run must agree)."""
    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(p.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def all_digests_equal(model: torch.nn.Module) -> bool:
    if not dist.is_initialized():
        return True
    digests: list[str | None] = [None] * dist.get_world_size()
    dist.all_gather_object(digests, parameter_digest(model))
    return len(set(digests)) == 1


class _MeanOverRanks(torch.autograd.Function):
    """Forward: the mean over ranks. Backward: the mean over ranks of the incoming gradients.
    Every rank's loss holds the same global mean, so the sum over ranks of d loss_q / d value_r
    is W·g/W = g on each rank; DDP's averaging of parameter gradients then yields exactly the
    gradient of the one-process loss on the global batch (tested)."""

    @staticmethod
    def forward(ctx, value: torch.Tensor) -> torch.Tensor:
        total = value.detach().clone()
        dist.all_reduce(total)
        return total / dist.get_world_size()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        total = grad.detach().clone().contiguous()
        dist.all_reduce(total)
        return total / dist.get_world_size()


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of ``value`` over all ranks, differentiable (see ``_MeanOverRanks``)."""
    if not dist.is_initialized():
        return value
    return _MeanOverRanks.apply(value)


def broadcast_flag(flag: bool, device: torch.device) -> bool:
    """True on every rank when any rank set ``flag`` (e.g. a stop request)."""
    if not dist.is_initialized():
        return flag
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def cleanup() -> None:
    """Tear the process group down after every rank is done with it.

    A gloo worker thread destroys each finished work object and needs the GIL to release the
    Python tensors it held; if the main thread drops the last reference to the process group at
    that moment it joins that worker while holding the GIL, and the process hangs at exit (seen
    once in a few runs, after the final all_gather_object). The barrier lets every rank finish its
    collectives and the short sleep releases the GIL for the workers' clean-up first."""
    if dist.is_initialized():
        dist.barrier()
        time.sleep(0.05)
        dist.destroy_process_group()
