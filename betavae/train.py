"""``python -m betavae.train``: train a β-VAE on a ground-truth dataset (one readable loop).

    python -m betavae.train                       # the paper's dSprites recipe (preset dsprites)
    python -m betavae.train --preset quick        # a few minutes' CPU demo
    python -m betavae.train --resume runs/dsprites-20261129-120000
    torchrun --nproc_per_node=2 -m betavae.train --preset quick   # DistributedDataParallel

Read top to bottom: :func:`train` sets the run up (betavae.train_setup), :func:`_loop` takes steps
(betavae.step) and logs, saves, draws and stops (betavae.train_outputs). The run directory's files
are described in betavae/rundir.py. Importing this module changes nothing in the process: the CPU
tuning of betavae/process_tuning.py is applied when training starts.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from . import distributed, interval_log
from .config import TrainConfig, config_from
from .config_file import explicit_flags
from .factory import load_data, make_loss, make_model
from .process_tuning import tune_cpu_process
from .step import TrainingStep, make_optimizer, training_step
from .train_eval import evaluate_now
from .train_outputs import NonFiniteLoss, check_finite, finish, save_checkpoint, save_pictures
from .train_setup import Run, resumed_sums, set_up

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


@dataclass
class Progress:
    """Where the loop is: the step, the log interval's sums and clock, the first step whose loss
    was non-finite (-1: none; a device tensor, so checking it costs no sync per step)."""

    step: int
    sums: dict
    seed: torch.Tensor
    first_bad: torch.Tensor
    interval_start: float = field(default_factory=time.perf_counter)
    interval_steps: int = 0


def _loop(run: Run) -> Path:
    """Train from the run's step to its config's steps: step, log, save, draw, stop."""
    config = run.config
    progress = Progress(
        step=run.state["step"] if run.state else 0,
        sums=resumed_sums(run.state, run.vae.latent_dim),
        seed=torch.tensor(config.seed, dtype=torch.int64),
        first_bad=torch.full((), -1, dtype=torch.int64, device=run.device),
    )
    stop = {"signal": None}
    previous = _install_stop_handlers(stop)
    bar = tqdm(
        total=config.steps,
        initial=progress.step,
        disable=config.quiet or not run.main_process or not sys.stderr.isatty(),
        dynamic_ncols=True,
        desc=config.preset,
    )
    exit_code = 0
    try:
        while progress.step < config.steps:
            _take_step(run, progress)
            bar.update(1)
            step, stop_now = progress.step, _stop_requested(run, progress.step, stop)
            if step % config.log_every == 0 or step == config.steps:
                _log(run, progress, bar)
            if step % config.save_every == 0 or step == config.steps or stop_now:
                check_finite(progress.first_bad, run.world, run.device)
                save_checkpoint(run, step, progress.sums)
            if run.main_process and (step % config.image_every == 0 or step == config.steps):
                save_pictures(run, step)
            if stop_now:
                exit_code = _stopped(run, stop["signal"], step)
                break
    except KeyboardInterrupt:  # a second Ctrl-C: the step in flight may be half applied
        print(
            f"interrupted at step {progress.step}; the last checkpoint in {run.run_dir.path} is "
            "kept as it was",
            file=sys.stderr,
        )
        exit_code = 130
    finally:
        bar.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        run.module = None  # the DDP wrapper (and its reducer) goes before the process group
    finish(run, progress.step, exit_code)
    if exit_code:
        raise SystemExit(exit_code)
    return run.run_dir.path


def _take_step(run: Run, progress: Progress) -> None:
    """One optimisation step, its noise counters disjoint across steps and processes."""
    config = run.config
    z_per_step = config.batch_size * run.vae.latent_dim
    offset = torch.tensor((progress.step * run.world + run.rank) * z_per_step, dtype=torch.int64)
    terms = training_step(
        run.module,
        run.loss_fn,
        run.optimizer,
        run.sampler,
        config.batch_size,
        progress.seed,
        offset,
        progress.step,
        config.amp,
        run.probe,
    )
    progress.first_bad = torch.where(
        (progress.first_bad < 0) & ~torch.isfinite(terms.loss.detach()),
        torch.tensor(progress.step, device=run.device),
        progress.first_bad,
    )
    interval_log.accumulate(progress.sums, terms)
    progress.step += 1
    progress.interval_steps += 1


def _stop_requested(run: Run, step: int, stop: dict) -> bool:
    """A stop request: under DDP every rank leaves at the same step, decided together at log
    steps (a signal may reach the ranks at different steps)."""
    if run.world > 1:
        return step % run.config.log_every == 0 and distributed.broadcast_flag(
            stop["signal"] is not None, run.device
        )
    return stop["signal"] is not None


def _log(run: Run, progress: Progress, bar) -> None:
    """The interval's metrics.jsonl record (with the probe's and in-training evaluation's numbers
    when asked for); a stop between log steps keeps the partial sums in the checkpoint instead."""
    config = run.config
    check_finite(progress.first_bad, run.world, run.device)
    elapsed = time.perf_counter() - progress.interval_start
    images_per_s = progress.interval_steps * config.batch_size * run.world / elapsed
    lr = run.optimizer.param_groups[0]["lr"]
    record = interval_log.record(progress.sums, progress.step, config, lr, run.world, images_per_s)
    if run.probe is not None:
        record["probe"] = run.probe.take()
    if run.main_process:
        if config.eval_every and progress.step % config.eval_every == 0:
            record["eval"] = evaluate_now(run.vae, run.data, run.device, config.seed)
        run.run_dir.append_metrics(record)
        if run.tensorboard is not None:
            run.tensorboard.record(record)
        _show(bar, record, config)
    progress.sums = interval_log.zero_sums(run.vae.latent_dim)
    progress.interval_start, progress.interval_steps = time.perf_counter(), 0


def _stopped(run: Run, signal_name: str, step: int) -> int:
    print(
        f"stopped by {signal_name} at step {step}; checkpoint saved in {run.run_dir.path}",
        file=sys.stderr,
    )
    return 128 + int(getattr(signal, signal_name))


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


def _show(bar, record: dict, config: TrainConfig) -> None:
    text = interval_log.line(record, config.steps)
    if bar.disable:
        if not config.quiet:
            print(text, flush=True)
    else:
        bar.set_postfix_str(text.split(" ", 2)[2])


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
