"""``python -m betavae.train``: train a β-VAE on a ground-truth dataset (one readable loop).

    python -m betavae.train                       # the paper's dSprites recipe (preset dsprites)
    python -m betavae.train --preset quick        # ~10 min CPU demo
    python -m betavae.train --resume runs/quick-20261129-120000
    torchrun --nproc_per_node=2 -m betavae.train --preset quick   # DistributedDataParallel

A run directory holds config.json, metrics.jsonl (one JSON line every --log-every steps),
checkpoint.pt (atomic; every --save-every steps, at the end and on Ctrl-C/SIGTERM), summary.json and
images/ (reconstructions and latent traversals).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from . import checkpoint, distributed, ops, viz
from .amp import amp_problem, autocast
from .atomic import atomic_write_text
from .config import (
    TrainConfig,
    config_from,
    explicit_flags,
    model_fields_differ,
    resumed_config,
    same_model_fields,
    to_dict,
)
from .data import BatchSampler, GroundTruthData, get_dataset
from .models import build_model
from .objectives import BetaVAELoss, CapacityLoss, at_least_fp32
from .process_tuning import tune_cpu_process

# Flush denormals and keep freed memory in the heap: see process_tuning (measured there).
tune_cpu_process()


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
    module,
    loss_fn,
    optimizer,
    sampler: BatchSampler,
    batch_size: int,
    seed,
    offset,
    step: int,
    amp: bool = False,
):
    """One optimisation step on a fresh batch (uint8 targets for binary data, channels-last)."""
    images, idx = sampler.sample(batch_size)
    x = (images.float() if sampler.binary else images.float() / 255.0).contiguous(
        memory_format=torch.channels_last
    )
    target = images if sampler.binary else x
    inputs = sampler.classes(idx) if _input_kind(module) == "factors" else x
    with autocast(sampler.device, amp):
        logits, kl = module(inputs, seed, offset)
    terms = loss_fn(logits, target, kl, step)
    optimizer.zero_grad(set_to_none=True)
    terms.loss.backward()
    optimizer.step()
    return terms


def _input_kind(module: nn.Module) -> str:
    """``images`` or ``factors``: what the wrapped model's encoder takes (through DDP/compile)."""
    inner = getattr(module, "_orig_mod", module)
    inner = getattr(inner, "module", inner)
    return inner.vae.input_kind


def make_optimizer(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam with torch's fused kernel (one pass over all parameters instead of a loop of small
    ops per tensor; on the CPU it took 2.8 of a 41 ms step as a loop). Same update rule."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=device.type in ("cpu", "cuda"))


def make_model(config: TrainConfig, data: GroundTruthData) -> nn.Module:
    return build_model(
        config.model,
        data.channels,
        config.latent_dim,
        data.factor_names,
        data.factor_sizes,
        config.factor_dims,
    )


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: torch sees no CUDA device")
        if device.index is None:
            device = torch.device("cuda", distributed.local_rank())
        torch.cuda.set_device(device)
    return device


def load_data(config: TrainConfig) -> GroundTruthData:
    if config.data in ("dsprites", "color-dsprites"):
        return get_dataset(config.data, quiet=config.quiet)
    if config.data == "blobs":
        return get_dataset("blobs", width=config.blob_width)
    return get_dataset(config.data)


def make_loss(config: TrainConfig):
    if config.objective == "beta":
        return BetaVAELoss(config.beta, backend=config.backend)
    return CapacityLoss(config.gamma, config.c_max, config.c_steps, backend=config.backend)


def prepare_run_dir(config: TrainConfig, flags: dict) -> tuple[TrainConfig, Path, dict | None]:
    """(config, run directory, checkpoint state or None), validated before any training."""
    if config.resume:
        run_dir = Path(config.resume)
        state = checkpoint.load(run_dir)
        saved = state["config"]
        config_file = run_dir / "config.json"
        if config_file.exists() and not same_model_fields(
            json.loads(config_file.read_text()), saved
        ):
            raise ValueError(
                f"{run_dir}: checkpoint.pt and config.json disagree (another run's checkpoint?)"
            )
        conflicts = model_fields_differ(saved, flags)
        if conflicts:
            raise ValueError("cannot resume with a different config: " + ", ".join(conflicts))
        config = resumed_config(saved, flags, str(run_dir))
        if state["step"] >= config.steps:
            raise ValueError(
                f"{run_dir}: already at step {state['step']} of {config.steps}; "
                "pass a larger --steps to continue"
            )
        return config, run_dir, state
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(config.out or f"runs/{config.preset}-{stamp}")
    if (run_dir / checkpoint.CHECKPOINT_NAME).exists():
        raise ValueError(
            f"{run_dir} already holds a run; pass --resume {run_dir} to continue it "
            "or choose another --out"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"--out {run_dir}: directory is not writable ({exc})") from exc
    config.out = str(run_dir)
    return config, run_dir, None


def train(config: TrainConfig, flags: dict | None = None) -> Path:
    """Run (or resume) training; returns the run directory."""
    flags = flags or {}
    device = resolve_device(config.device)
    rank, world = distributed.init(device)
    main_process = distributed.is_main(rank)
    failure = None
    try:
        _check_amp(config.amp, device)  # before the run directory is made
        config, run_dir, state = (
            prepare_run_dir(config, flags)
            if main_process
            else (*_follower_setup(config, flags), None)
        )
        _check_amp(config.amp, device)  # as resumed (the checkpoint's config may ask for it)
    except ValueError as exc:
        failure = exc
    # Every rank learns whether any rank's set-up failed, so none is left waiting in the DDP
    # constructor for a rank that has gone.
    if distributed.broadcast_flag(failure is not None, device):
        distributed.cleanup()
        raise failure or ValueError("another process could not set up the run (see its error)")
    if state is None and config.resume:
        state = checkpoint.load(run_dir)
    data = load_data(config)
    ops_backend_check(config.backend, device)

    torch.manual_seed(config.seed)
    vae = make_model(config, data).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(vae, config.lr, device)
    sampler = BatchSampler(data, device, seed=config.seed + 7919 * rank)
    step, sums = 0, None
    if state is not None:
        vae.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        saved_world = len(state["sampler_states"])
        if saved_world != world:
            raise ValueError(
                f"{run_dir}: the checkpoint was written by {saved_world} process(es) and this run "
                f"has {world}; each process has its own batch stream and noise counters, so "
                f"resume with the same number (torchrun --nproc_per_node={saved_world})"
            )
        sampler.set_state(state["sampler_states"][rank])
        step, sums = state["step"], state.get("interval_sums")
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
    if main_process:
        (run_dir / "config.json").write_text(json.dumps(to_dict(config), indent=2) + "\n")
        if state is not None:
            _cut_metrics(run_dir, step)

    seed_t = torch.tensor(config.seed, dtype=torch.int64)
    z_per_step = config.batch_size * vae.latent_dim
    stop = {"signal": None}
    previous = _install_stop_handlers(stop)
    sums = sums or _zero_sums(vae.latent_dim)
    first_bad = torch.full((), -1, dtype=torch.int64, device=device)
    bar = tqdm(
        total=config.steps,
        initial=step,
        disable=config.quiet or not main_process or not sys.stderr.isatty(),
        dynamic_ncols=True,
        desc=config.preset,
    )
    interval_start, interval_steps = time.perf_counter(), 0
    exit_code = 0
    try:
        while step < config.steps:
            offset = torch.tensor((step * world + rank) * z_per_step, dtype=torch.int64)
            terms = training_step(
                module,
                loss_fn,
                optimizer,
                sampler,
                config.batch_size,
                seed_t,
                offset,
                step,
                config.amp,
            )
            first_bad = torch.where(
                (first_bad < 0) & ~torch.isfinite(terms.loss.detach()),
                torch.tensor(step, device=device),
                first_bad,
            )
            _accumulate(sums, terms)
            step += 1
            interval_steps += 1
            bar.update(1)
            # Under DDP every rank must leave the loop at the same step: decide together, at log
            # steps only (a signal may reach the ranks at different steps).
            if world > 1:
                stop_now = step % config.log_every == 0 and distributed.broadcast_flag(
                    stop["signal"] is not None, device
                )
            else:
                stop_now = stop["signal"] is not None
            # A stop saves the partial log sums in the checkpoint instead of logging them, so the
            # resumed run logs the same averages as an uninterrupted one.
            if step % config.log_every == 0 or step == config.steps:
                _check_finite(first_bad, world, device)
                elapsed = time.perf_counter() - interval_start
                record = _log_record(
                    sums,
                    step,
                    config,
                    optimizer,
                    world,
                    interval_steps * config.batch_size * world / elapsed,
                )
                if main_process:
                    _write_metrics(run_dir, record)
                    _show(bar, record, config)
                sums = _zero_sums(vae.latent_dim)
                interval_start, interval_steps = time.perf_counter(), 0
            if step % config.save_every == 0 or step == config.steps or stop_now:
                _check_finite(first_bad, world, device)
                _save(run_dir, vae, optimizer, sampler, step, config, sums, world, main_process)
            if main_process and (step % config.image_every == 0 or step == config.steps):
                _pictures(run_dir, vae, sampler, data, step)
            if stop_now:
                print(
                    f"stopped by {stop['signal']} at step {step}; checkpoint saved in {run_dir}",
                    file=sys.stderr,
                )
                exit_code = 128 + int(getattr(signal, stop["signal"]))
                break
    except KeyboardInterrupt:
        # A second Ctrl-C: the step in flight may be half applied, so nothing is saved.
        print(
            f"interrupted at step {step}; the last checkpoint in {run_dir} is kept as it was",
            file=sys.stderr,
        )
        exit_code = 130
    finally:
        bar.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    module = None  # the DDP wrapper (and its reducer) goes before the process group does
    ranks_agree = distributed.all_digests_equal(vae)
    if main_process:
        summary = {
            "step": step,
            "steps": config.steps,
            "world_size": world,
            "ranks_parameters_identical": ranks_agree,
            "exit_code": exit_code,
        }
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    distributed.cleanup()
    if exit_code:
        raise SystemExit(exit_code)
    return run_dir


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


class NonFiniteLoss(RuntimeError):
    pass


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


def _follower_setup(config: TrainConfig, flags: dict) -> tuple[TrainConfig, Path]:
    """Non-zero ranks use rank 0's run directory and write nothing."""
    if config.resume:
        config = resumed_config(
            checkpoint.load(Path(config.resume))["config"], flags, config.resume
        )
    return config, Path(config.out or "runs")


def _check_amp(amp: bool, device: torch.device) -> None:
    problem = amp_problem(device) if amp else None
    if problem is not None:
        raise ValueError(problem)


def ops_backend_check(backend: str, device: torch.device) -> None:
    """Fail before training when the chosen fused-op backend cannot run on ``device``."""
    ops.gaussian_sample_kl(
        torch.zeros(1, 1, device=device), torch.zeros(1, 1, device=device), 0, backend=backend
    )


def _zero_sums(latent_dim: int) -> dict:
    return {
        "n": 0,
        "loss": 0.0,
        "recon": 0.0,
        "kl": 0.0,
        "capacity": 0.0,
        "kl_per_latent": torch.zeros(latent_dim, dtype=torch.float64),
    }


def _accumulate(sums: dict, terms) -> None:
    sums["n"] += 1
    for key in ("loss", "recon", "kl"):
        sums[key] = sums[key] + getattr(terms, key).detach().double()
    sums["capacity"] += terms.capacity
    sums["kl_per_latent"] = (
        sums["kl_per_latent"].to(terms.kl_per_latent.device) + terms.kl_per_latent.detach().double()
    )


def _log_record(sums, step, config, optimizer, world, images_per_s) -> dict:
    n = max(sums["n"], 1)
    values = (
        torch.stack(
            [
                torch.as_tensor(sums[k], dtype=torch.float64).reshape(()).cpu()
                for k in ("loss", "recon", "kl")
            ]
        )
        / n
    )
    per_latent = sums["kl_per_latent"].cpu() / n
    if world > 1:
        import torch.distributed as dist

        packed = torch.cat([values, per_latent]).to(
            "cuda" if torch.cuda.is_available() and dist.get_backend() == "nccl" else "cpu"
        )
        dist.all_reduce(packed)
        packed = packed.cpu() / world
        values, per_latent = packed[:3], packed[3:]
    return {
        "step": step,
        "loss": float(values[0]),
        "recon": float(values[1]),
        "kl": float(values[2]),
        "capacity": sums["capacity"] / n,
        "kl_per_latent": [round(float(v), 6) for v in per_latent],
        "lr": optimizer.param_groups[0]["lr"],
        "images_per_s": round(images_per_s, 1),
    }


def _cut_metrics(run_dir: Path, step: int) -> None:
    """Drop the records after the checkpoint's step: a run killed after its last save logged
    steps that its resumption logs again (the log must hold each step once, in order)."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(line + "\n" for line in kept))


def _write_metrics(run_dir: Path, record: dict) -> None:
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")


def _show(bar, record: dict, config: TrainConfig) -> None:
    text = (
        f"step {record['step']}/{config.steps} loss {record['loss']:.2f} recon "
        f"{record['recon']:.2f} KL {record['kl']:.2f} C {record['capacity']:.2f} "
        f"{record['images_per_s']:.0f} img/s"
    )
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


def _save(run_dir, vae, optimizer, sampler, step, config, sums, world, main_process) -> None:
    """Write the checkpoint (rank 0), never one that holds a non-finite value."""
    device = next(vae.parameters()).device
    if distributed.broadcast_flag(not _all_finite(vae, optimizer), device):
        raise NonFiniteLoss(
            f"the parameters became non-finite by step {step}; stopping without overwriting "
            "the last good checkpoint (start a new run with a lower --lr)"
        )
    states = [sampler.get_state()]
    if world > 1:
        import torch.distributed as dist

        states = [None] * world
        dist.all_gather_object(states, sampler.get_state())
    if main_process:
        checkpoint.save(
            run_dir,
            {
                "model": vae.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "config": to_dict(config),
                "sampler_states": states,
                "interval_sums": {**sums, "kl_per_latent": sums["kl_per_latent"].cpu()},
            },
        )


def _pictures(run_dir: Path, vae: nn.Module, sampler: BatchSampler, data, step: int) -> None:
    vae.eval()
    idx = torch.arange(0, len(data), max(1, len(data) // 8))[:8]
    images = sampler.batch(idx, torch.float32).contiguous(memory_format=torch.channels_last)
    inputs = sampler.classes(idx) if vae.input_kind == "factors" else images
    grid = viz.to_uint8_grid(viz.reconstructions(vae, images, inputs), nrow=8)
    viz.save_png(grid, run_dir / "images" / f"reconstructions-{step:07d}.png")
    with torch.no_grad():
        mu, logvar = vae.encode(inputs)
        kl = (0.5 * (mu.square() + logvar.exp() - logvar - 1)).mean(0).tolist()
    viz.traversal_png(vae, inputs[:1], kl, run_dir / "images" / f"traversals-{step:07d}.png")
    vae.train()


def main(argv: list[str] | None = None) -> int:
    try:
        flags = explicit_flags(argv)
        config = config_from(flags)
        train(config, flags)
    except (ValueError, NonFiniteLoss) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
