"""Setting a training up: validate everything, open (or create) the run directory, build the
data, model, optimiser, sampler, loss (with its DDP reduction) and the optional instruments. A
failed start leaves nothing behind."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

import torch
from torch import nn

from . import distributed, interval_log, ops
from .amp import amp_problem
from .checkpoint import CheckpointError
from .config import TrainConfig
from .data import BatchSampler, GroundTruthData
from .devices import resolve_device
from .factory import load_data, make_loss, make_model
from .gradient_probe import GradientProbe, probe_problem
from .rundir import (
    RunDir,
    check_same_dataset,
    dataset_fingerprint,
    open_for_resume,
    open_new,
    undo_start,
)
from .step import TrainingStep, make_optimizer
from .tensorboard_log import TensorBoardLog, tensorboard_problem
from .train_eval import eval_problem


@dataclass
class Run:
    """Everything one training session works with, built by :func:`set_up`."""

    config: TrainConfig
    run_dir: RunDir
    state: dict | None  # the checkpoint resumed from, or None
    data: GroundTruthData
    vae: nn.Module
    optimizer: torch.optim.Optimizer
    sampler: BatchSampler
    module: nn.Module  # the TrainingStep, wrapped by DDP and torch.compile when asked
    loss_fn: object
    device: torch.device
    rank: int
    world: int
    fingerprint: dict  # of the dataset, saved in every checkpoint
    tensorboard: TensorBoardLog | None = None  # rank 0 with --tensorboard
    probe: GradientProbe | None = None  # --probe-every

    @property
    def main_process(self) -> bool:
        return distributed.is_main(self.rank)


def set_up(config: TrainConfig, flags: dict) -> Run:
    """Validate everything, then open (or create) the run directory and build the run. A failure
    of any rank ends every rank; a failed start leaves no directory or file behind."""
    device = resolve_device(config.device)
    rank, world = distributed.init(device)
    opened = _open(config, flags, device, rank)
    config, run_dir, state, data, vae = (
        opened.config,
        opened.run_dir,
        opened.state,
        opened.data,
        opened.vae,
    )
    vae = vae.to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(vae, config.lr, device)
    sampler = BatchSampler(data, device, seed=config.seed + 7919 * rank)
    if state is not None:
        _restore(state, vae, optimizer, sampler, rank, world, run_dir)
    module: nn.Module = TrainingStep(vae, config.backend)
    if world > 1:
        module = nn.parallel.DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.compile:
        module = torch.compile(module)
    # under DDP, |KL − C| of the global batch's KL, not of each rank's (objectives.CapacityLoss)
    loss_fn = make_loss(config, kl_reduce=distributed.mean_over_ranks if world > 1 else None)
    tensorboard = None
    if distributed.is_main(rank):
        if state is not None:  # every check has passed: now the log may lose its later records
            note = run_dir.cut_metrics(state["step"])
            if note:
                print(note, file=sys.stderr)
        run_dir.write_config(config)
        if config.tensorboard:  # a resumption hides the events logged after its checkpoint
            tensorboard = TensorBoardLog(run_dir.path, state["step"] + 1 if state else None)
    probe = GradientProbe(vae, config.probe_every) if config.probe_every else None
    return Run(
        config, run_dir, state, data, vae, optimizer, sampler, module, loss_fn, device, rank,
        world, opened.fingerprint, tensorboard, probe,
    )  # fmt: skip


@dataclass
class _Opened:
    config: TrainConfig  # as resumed, when resuming
    run_dir: RunDir
    state: dict | None  # the checkpoint resumed from
    data: GroundTruthData
    vae: nn.Module  # on the CPU
    fingerprint: dict  # of the data, hashed once (a checkpoint holds it)


def _open(config: TrainConfig, flags: dict, device: torch.device, rank: int) -> _Opened:
    """Every check that can fail, then the run directory opened (new or resumed). Every rank
    learns whether any rank failed, so none waits in the DDP constructor for one that has gone;
    a failure undoes the start and raises ValueError."""
    run_dir, created, state, failure = None, False, None, None
    try:
        _check_amp(config.amp, device)
        if config.resume:
            run_dir = RunDir(config.resume)
            config, state = open_for_resume(run_dir, flags, lock=distributed.is_main(rank))
            _check_amp(config.amp, device)  # as resumed (the checkpoint's config may ask for it)
        else:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            config.out = config.out or f"runs/{config.preset}-{stamp}"
            run_dir = RunDir(config.out)
        data = load_data(config)
        fingerprint = dataset_fingerprint(data)
        if state is not None:
            check_same_dataset(state.get("dataset"), fingerprint, run_dir.checkpoint_path)
        torch.manual_seed(config.seed)
        vae = make_model(config, data)
        _check_instruments(config, data, vae, device)
        if state is None and distributed.is_main(rank):
            created = open_new(run_dir)
    except (ValueError, OSError) as exc:
        failure = exc
    if distributed.broadcast_flag(failure is not None, device):
        distributed.cleanup()
        if run_dir is not None and distributed.is_main(rank):
            undo_start(run_dir, created)
        if isinstance(failure, OSError):
            raise ValueError(f"cannot set up the run: {failure}") from failure
        raise failure or ValueError("another process could not set up the run (see its error)")
    return _Opened(config, run_dir, state, data, vae, fingerprint)


def _check_instruments(config: TrainConfig, data, vae: nn.Module, device: torch.device) -> None:
    """The fused-op backend runs on ``device``; the optional instruments fit this model."""
    ops_backend_check(config.backend, device)
    problem = (
        (eval_problem(data, vae) if config.eval_every else None)
        or (tensorboard_problem() if config.tensorboard else None)
        or (probe_problem(vae) if config.probe_every else None)
    )
    if problem:
        raise ValueError(problem)


def _restore(state, vae, optimizer, sampler, rank: int, world: int, run_dir: RunDir) -> None:
    """Load the checkpoint's model, optimiser and this rank's sampler state."""
    saved_world = len(state["sampler_states"])
    if saved_world != world:
        raise ValueError(
            f"{run_dir.path}: the checkpoint was written by {saved_world} process(es) and this "
            f"run has {world}; each process has its own batch stream and noise counters, so "
            f"resume with the same number (torchrun --nproc_per_node={saved_world})"
        )
    try:
        vae.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"{run_dir.checkpoint_path}: the saved model or optimiser does not fit ({exc})"
        ) from exc
    sampler.set_state(state["sampler_states"][rank])


def resumed_sums(state: dict | None, latent_dim: int) -> dict:
    sums = state.get("interval_sums") if state else None
    return sums or interval_log.zero_sums(latent_dim)


def _check_amp(amp: bool, device: torch.device) -> None:
    problem = amp_problem(device) if amp else None
    if problem is not None:
        raise ValueError(problem)


def ops_backend_check(backend: str, device: torch.device) -> None:
    """Fail before training when the chosen fused-op backend cannot run on ``device``."""
    ops.gaussian_sample_kl(
        torch.zeros(1, 1, device=device), torch.zeros(1, 1, device=device), 0, backend=backend
    )
