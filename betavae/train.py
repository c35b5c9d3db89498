"""``python -m betavae.train``: train a β-VAE on a ground-truth dataset (one readable loop).

    python -m betavae.train                       # the paper's dSprites recipe (preset dsprites)
    python -m betavae.train --preset quick        # ~4 min CPU demo
    python -m betavae.train --resume runs/quick-20261129-120000
    torchrun --nproc_per_node=2 -m betavae.train --preset quick   # DistributedDataParallel

The run directory's files are described in betavae/rundir.py. Importing this module changes
nothing in the process: the CPU tuning of betavae/process_tuning.py is applied when training
starts.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from . import distributed, interval_log, ops, viz
from .amp import amp_problem, autocast
from .checkpoint import CheckpointError
from .config import TrainConfig, config_from, explicit_flags
from .data import BatchSampler, GroundTruthData
from .devices import resolve_device
from .factory import load_data, make_loss, make_model
from .gradient_probe import GradientProbe, probe_problem
from .model_io import per_latent_kl, unit_range
from .objectives import CapacityLoss, at_least_fp32
from .process_tuning import tune_cpu_process
from .rundir import (
    RunDir,
    RunDirError,
    check_same_dataset,
    dataset_fingerprint,
    open_for_resume,
    open_new,
    undo_start,
)
from .tensorboard_log import TensorBoardLog, tensorboard_problem
from .train_eval import eval_problem, evaluate_now

__all__ = [
    "NonFiniteLoss",
    "TrainingStep",
    "load_data",
    "main",
    "make_loss",
    "make_model",
    "make_optimizer",
    "train",
    "training_step",
]


class TrainingStep(nn.Module):
    """Encoder → fused sample + KL → decoder: the unit that DDP and torch.compile wrap. The
    encoder's input is the image batch (BurgessVAE) or its factor classes (FactorGenerator)."""

    def __init__(self, vae: nn.Module, backend: str) -> None:
        super().__init__()
        self.vae, self.backend = vae, backend

    def forward(self, inputs, seed, offset):
        mu, logvar = self.vae.encode(inputs)
        # Under --amp the encoder hands back bf16: the sample and the KL are taken in float32
        # (bf16's 8-bit mantissa would quantise both), and the decoder casts z back itself.
        mu, logvar = at_least_fp32(mu), at_least_fp32(logvar)
        z, kl = ops.gaussian_sample_kl(mu, logvar, seed, offset, backend=self.backend)
        return self.vae.decode(z), kl


def training_step(
    module: nn.Module,
    loss_fn,
    optimizer: torch.optim.Optimizer,
    sampler: BatchSampler,
    batch_size: int,
    seed: torch.Tensor,
    offset: torch.Tensor,
    step: int,
    amp: bool = False,
    probe: GradientProbe | None = None,
):
    """One optimisation step on a fresh batch (uint8 targets for binary data, channels-last).
    ``probe`` (``--probe-every``) looks at the loss's terms before the update, changing nothing."""
    images, idx = sampler.sample(batch_size)
    x = unit_range(images, sampler.max_value).contiguous(memory_format=torch.channels_last)
    target = images if sampler.binary else x
    inputs = sampler.classes(idx) if _input_kind(module) == "factors" else x
    with autocast(sampler.device, amp):
        logits, kl = module(inputs, seed, offset)
    terms = loss_fn(logits, target, kl, step)
    if probe is not None:
        probe.observe(terms, step, optimizer)
    optimizer.zero_grad(set_to_none=True)
    terms.loss.backward()
    optimizer.step()
    return terms


def make_optimizer(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam with torch's fused kernel (one pass over all parameters instead of a loop of small
    ops per tensor; on the CPU it took 2.8 of a 41 ms step as a loop). Same update rule."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=device.type in ("cpu", "cuda"))


class NonFiniteLoss(RuntimeError):
    pass


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


def train(config: TrainConfig, flags: dict | None = None) -> Path:
    """Run (or resume) training; returns the run directory."""
    tune_cpu_process()
    run = set_up(config, flags or {})
    try:
        return _loop(run)
    finally:
        if run.tensorboard is not None:
            run.tensorboard.close()
        run.run_dir.unlock()


def _loop(run: Run) -> Path:
    """Train from the run's step to its config's steps: step, log, save, draw, stop."""
    config, vae, rank, world = run.config, run.vae, run.rank, run.world
    step = run.state["step"] if run.state else 0
    sums = _resumed_sums(run.state, vae.latent_dim)
    seed = torch.tensor(config.seed, dtype=torch.int64)
    z_per_step = config.batch_size * vae.latent_dim
    stop = {"signal": None}
    previous = _install_stop_handlers(stop)
    first_bad = torch.full((), -1, dtype=torch.int64, device=run.device)
    bar = tqdm(
        total=config.steps,
        initial=step,
        disable=config.quiet or not run.main_process or not sys.stderr.isatty(),
        dynamic_ncols=True,
        desc=config.preset,
    )
    interval_start, interval_steps, exit_code = time.perf_counter(), 0, 0
    try:
        while step < config.steps:
            # 1. one optimisation step, noise counters disjoint across steps and processes
            offset = torch.tensor((step * world + rank) * z_per_step, dtype=torch.int64)
            terms = training_step(
                run.module,
                run.loss_fn,
                run.optimizer,
                run.sampler,
                config.batch_size,
                seed,
                offset,
                step,
                config.amp,
                run.probe,
            )
            first_bad = torch.where(
                (first_bad < 0) & ~torch.isfinite(terms.loss.detach()),
                torch.tensor(step, device=run.device),
                first_bad,
            )
            interval_log.accumulate(sums, terms)
            step += 1
            interval_steps += 1
            bar.update(1)
            # 2. a stop request: under DDP every rank leaves at the same step, decided together
            #    at log steps (a signal may reach the ranks at different steps)
            if world > 1:
                stop_now = step % config.log_every == 0 and distributed.broadcast_flag(
                    stop["signal"] is not None, run.device
                )
            else:
                stop_now = stop["signal"] is not None
            # 3. log (a stop between log steps keeps the partial sums in the checkpoint instead)
            if step % config.log_every == 0 or step == config.steps:
                _check_finite(first_bad, world, run.device)
                elapsed = time.perf_counter() - interval_start
                images_per_s = interval_steps * config.batch_size * world / elapsed
                lr = run.optimizer.param_groups[0]["lr"]
                record = interval_log.record(sums, step, config, lr, world, images_per_s)
                if run.probe is not None:
                    record["probe"] = run.probe.take()
                if run.main_process:
                    if config.eval_every and step % config.eval_every == 0:
                        record["eval"] = evaluate_now(vae, run.data, run.device, config.seed)
                    run.run_dir.append_metrics(record)
                    if run.tensorboard is not None:
                        run.tensorboard.record(record)
                    _show(bar, record, config)
                sums = interval_log.zero_sums(vae.latent_dim)
                interval_start, interval_steps = time.perf_counter(), 0
            # 4. save, draw, stop
            if step % config.save_every == 0 or step == config.steps or stop_now:
                _check_finite(first_bad, world, run.device)
                _save(run, step, sums)
            if run.main_process and (step % config.image_every == 0 or step == config.steps):
                _pictures(run, step)
            if stop_now:
                print(
                    f"stopped by {stop['signal']} at step {step}; checkpoint saved in "
                    f"{run.run_dir.path}",
                    file=sys.stderr,
                )
                exit_code = 128 + int(getattr(signal, stop["signal"]))
                break
    except KeyboardInterrupt:
        # A second Ctrl-C: the step in flight may be half applied, so nothing is saved.
        print(
            f"interrupted at step {step}; the last checkpoint in {run.run_dir.path} is kept as "
            "it was",
            file=sys.stderr,
        )
        exit_code = 130
    finally:
        bar.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        run.module = None  # the DDP wrapper (and its reducer) goes before the process group
    _finish(run, step, exit_code)
    if exit_code:
        raise SystemExit(exit_code)
    return run.run_dir.path


# -- set-up ---------------------------------------------------------------------------------------


def set_up(config: TrainConfig, flags: dict) -> Run:
    """Validate everything, then open (or create) the run directory and build the run. A failure
    of any rank ends every rank; a failed start leaves no directory or file behind."""
    device = resolve_device(config.device)
    rank, world = distributed.init(device)
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
        ops_backend_check(config.backend, device)
        problem = (
            (eval_problem(data, vae) if config.eval_every else None)
            or (tensorboard_problem() if config.tensorboard else None)
            or (probe_problem(vae) if config.probe_every else None)
        )
        if problem:
            raise ValueError(problem)
        if state is None and distributed.is_main(rank):
            created = open_new(run_dir)
    except (ValueError, OSError) as exc:
        failure = exc
    # Every rank learns whether any rank's set-up failed, so none is left waiting in the DDP
    # constructor for a rank that has gone.
    if distributed.broadcast_flag(failure is not None, device):
        distributed.cleanup()
        if run_dir is not None and distributed.is_main(rank):
            undo_start(run_dir, created)
        if isinstance(failure, OSError):
            raise ValueError(f"cannot set up the run: {failure}") from failure
        raise failure or ValueError("another process could not set up the run (see its error)")

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
    loss_fn = make_loss(config)
    if world > 1 and isinstance(loss_fn, CapacityLoss):
        # |KL − C| of the global batch's KL, not of each rank's: see objectives.CapacityLoss.
        loss_fn.kl_reduce = distributed.mean_over_ranks
    tensorboard = None
    if distributed.is_main(rank):
        run_dir.write_config(config)
        if config.tensorboard:  # a resumption hides the events logged after its checkpoint
            tensorboard = TensorBoardLog(run_dir.path, state["step"] + 1 if state else None)
    return Run(
        config,
        run_dir,
        state,
        data,
        vae,
        optimizer,
        sampler,
        module,
        loss_fn,
        device,
        rank,
        world,
        fingerprint,
        tensorboard,
        GradientProbe(vae, config.probe_every) if config.probe_every else None,
    )


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


def _resumed_sums(state: dict | None, latent_dim: int) -> dict:
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


# -- the loop's helpers ---------------------------------------------------------------------------


def _install_stop_handlers(stop: dict) -> dict:
    """SIGTERM and the first SIGINT (Ctrl-C) ask the loop to stop at the next step boundary, where
    the checkpoint is exact; a second SIGINT interrupts at once (KeyboardInterrupt, no save).
    Returns the previous handlers (none when not on the main thread, where signals cannot be
    handled)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def request(signum, frame):
        name = signal.Signals(signum).name
        if name == "SIGINT" and stop["signal"] == "SIGINT":
            raise KeyboardInterrupt
        stop["signal"] = stop["signal"] or name

    return {s: signal.signal(s, request) for s in (signal.SIGTERM, signal.SIGINT)}


def _check_finite(first_bad: torch.Tensor, world: int, device: torch.device) -> None:
    """Raise on every rank alike when any rank saw a non-finite loss (``first_bad`` >= 0)."""
    bad = int(first_bad)
    if world > 1 and distributed.broadcast_flag(bad >= 0, device) and bad < 0:
        raise NonFiniteLoss(
            "the loss became non-finite on another process; stopping without "
            "overwriting the last good checkpoint"
        )
    if bad >= 0:
        raise NonFiniteLoss(
            f"the loss became non-finite at step {bad}; stopping without "
            "overwriting the last good checkpoint (start a new run with a lower --lr)"
        )


def _show(bar, record: dict, config: TrainConfig) -> None:
    text = interval_log.line(record, config.steps)
    if bar.disable:
        if not config.quiet:
            print(text, flush=True)
    else:
        bar.set_postfix_str(text.split(" ", 2)[2])


def _all_finite(vae: nn.Module, optimizer) -> bool:
    """Every parameter and optimiser state tensor is finite (one host sync, at save steps only)."""
    tensors = list(vae.parameters()) + [
        value
        for per_param in optimizer.state.values()
        for value in per_param.values()
        if isinstance(value, torch.Tensor) and value.is_floating_point()
    ]
    return bool(torch.stack([t.detach().isfinite().all() for t in tensors]).all())


def _save(run: Run, step: int, sums: dict) -> None:
    """Write the checkpoint (rank 0), never one that holds a non-finite value."""
    if distributed.broadcast_flag(not _all_finite(run.vae, run.optimizer), run.device):
        raise NonFiniteLoss(
            f"the parameters became non-finite by step {step}; stopping without overwriting "
            "the last good checkpoint (start a new run with a lower --lr)"
        )
    states = [run.sampler.get_state()]
    if run.world > 1:
        import torch.distributed as dist

        states = [None] * run.world
        dist.all_gather_object(states, run.sampler.get_state())
    if run.main_process:
        run.run_dir.save_checkpoint(
            {
                "model": run.vae.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "step": step,
                "config": run.config.to_dict(),
                "sampler_states": states,
                "interval_sums": interval_log.for_checkpoint(sums),
                "dataset": run.fingerprint,
                "threads": torch.get_num_threads(),
            }
        )


def _pictures(run: Run, step: int) -> None:
    vae, data, sampler = run.vae, run.data, run.sampler
    images_dir = run.run_dir.path / "images"
    vae.eval()
    try:
        idx = torch.arange(0, len(data), max(1, len(data) // 8))[:8]
        images = sampler.batch(idx, torch.float32).contiguous(memory_format=torch.channels_last)
        inputs = sampler.classes(idx) if vae.input_kind == "factors" else images
        grid = viz.to_uint8_grid(viz.reconstructions(vae, images, inputs), nrow=8)
        pictures = {
            "reconstructions": images_dir / f"reconstructions-{step:07d}.png",
            "traversals": images_dir / f"traversals-{step:07d}.png",
        }
        viz.save_png(grid, pictures["reconstructions"])
        with torch.no_grad():
            mu, logvar = vae.encode(inputs)
            kl = per_latent_kl(mu, logvar).mean(0).tolist()
        viz.traversal_png(vae, inputs[:1], kl, pictures["traversals"])
        if run.tensorboard is not None:
            for tag, png in pictures.items():
                run.tensorboard.image(tag, png, step)
    except OSError as exc:
        raise RunDirError(f"{images_dir}: cannot write pictures ({exc.strerror or exc})") from exc
    finally:
        vae.train()


def _finish(run: Run, step: int, exit_code: int) -> None:
    """Compare the ranks' parameters, write summary.json (rank 0), release the directory."""
    ranks_agree = distributed.all_digests_equal(run.vae)
    try:
        if run.main_process:
            run.run_dir.write_summary(
                {
                    "step": step,
                    "steps": run.config.steps,
                    "world_size": run.world,
                    "ranks_parameters_identical": ranks_agree,
                    "exit_code": exit_code,
                }
            )
    finally:
        distributed.cleanup()


def _input_kind(module: nn.Module) -> str:
    """``images`` or ``factors``: what the wrapped model's encoder takes (through DDP/compile)."""
    inner = getattr(module, "_orig_mod", module)
    inner = getattr(inner, "module", inner)
    return inner.vae.input_kind


def main(argv: list[str] | None = None) -> int:
    try:
        flags = explicit_flags(argv)
        config = config_from(flags)
        train(config, flags)
    except (ValueError, NonFiniteLoss) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (MemoryError, torch.OutOfMemoryError) as exc:
        print(
            f"error: out of memory ({str(exc).splitlines()[0] if str(exc) else 'MemoryError'}); "
            "try a smaller --batch-size",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
