"""What the training loop writes and checks besides the step: the checkpoint (never one with a
non-finite value), the pictures, summary.json, and the non-finite-loss stop."""

from __future__ import annotations

import torch
from torch import nn

from . import distributed, interval_log, viz
from .model_io import per_latent_kl
from .rundir import RunDirError
from .train_setup import Run


class NonFiniteLoss(RuntimeError):
    pass


def check_finite(first_bad: torch.Tensor, world: int, device: torch.device) -> None:
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


def _all_finite(vae: nn.Module, optimizer) -> bool:
    """Every parameter and optimiser state tensor is finite (one host sync, at save steps only)."""
    tensors = list(vae.parameters()) + [
        value
        for per_param in optimizer.state.values()
        for value in per_param.values()
        if isinstance(value, torch.Tensor) and value.is_floating_point()
    ]
    return bool(torch.stack([t.detach().isfinite().all() for t in tensors]).all())


def save_checkpoint(run: Run, step: int, sums: dict) -> None:
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


def save_pictures(run: Run, step: int) -> None:
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


def finish(run: Run, step: int, exit_code: int) -> None:
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
