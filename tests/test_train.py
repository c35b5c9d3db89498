"""Model, objectives and the trainer: architecture, loss scaling, run directory, exact resume,
non-finite stop, bad input, SIGTERM, and DistributedDataParallel on 2 CPU processes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import torch.nn.functional as F

from betavae import train as train_module
from betavae import train_setup
from betavae.checkpoint import load as load_checkpoint
from betavae.config import config_from
from betavae.config_file import explicit_flags
from betavae.models import BurgessVAE
from betavae.objectives import BetaVAELoss, CapacityLoss, capacity_at, step_at_capacity
from betavae.train import NonFiniteLoss, main, train

FAST = ["--data", "blobs", "--batch-size", "16", "--quiet", "--image-every", "1000"]


def run_args(tmp_path, name, *extra):
    return [*FAST, "--out", str(tmp_path / name), *extra]


def test_burgess_architecture():
    vae = BurgessVAE(channels=1, latent_dim=10)
    assert sum(p.numel() for p in vae.parameters()) == 502_005
    mu, logvar = vae(torch.rand(3, 1, 64, 64))
    assert mu.shape == logvar.shape == (3, 10)
    assert vae.decode(mu).shape == (3, 1, 64, 64)
    assert BurgessVAE(channels=3).decode(torch.zeros(2, 10)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="latent_dim"):
        BurgessVAE(latent_dim=0)


def _plain_terms(logits, target, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, target.float(), reduction="sum") / len(
        logits
    )
    kl = (0.5 * (mu.square() + logvar.exp() - logvar - 1)).sum(1).mean()
    return recon, kl


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_objectives_match_plain_pytorch(backend):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 1, 64, 64, generator=gen)
    target = (torch.rand(8, 1, 64, 64, generator=gen) > 0.5).to(torch.uint8)
    mu, logvar = torch.randn(8, 10, generator=gen), torch.randn(8, 10, generator=gen)
    kl_elements = 0.5 * (mu.square() + logvar.exp() - logvar - 1)
    recon, kl = _plain_terms(logits, target, mu, logvar)

    h = BetaVAELoss(4.0, backend=backend)(logits, target, kl_elements, step=123)
    torch.testing.assert_close(h.recon, recon)
    torch.testing.assert_close(h.kl, kl)
    torch.testing.assert_close(h.loss, recon + 4.0 * kl)
    torch.testing.assert_close(h.kl_per_latent, kl_elements.mean(0))
    assert h.recon > 1000, "recon must be summed over pixels, not averaged"

    b = CapacityLoss(1000.0, 25.0, 100_000, backend=backend)
    for step, c in [(0, 0.0), (40_000, 10.0), (100_000, 25.0), (250_000, 25.0)]:
        terms = b(logits, target, kl_elements, step=step)
        assert terms.capacity == pytest.approx(c)
        torch.testing.assert_close(terms.loss, recon + 1000.0 * (kl - c).abs())
    assert capacity_at(5, 3.0, 0) == 3.0
    for c_max, c_steps in [(25.0, 100_000), (25.0, 8), (12.0, 4000), (3.0, 7)]:
        for target in (0.0, 0.1, 3.0, 7.0, c_max):
            if target > c_max:
                continue
            step = step_at_capacity(target, c_max, c_steps)
            assert capacity_at(step, c_max, c_steps) >= target
            assert step == 0 or capacity_at(step - 1, c_max, c_steps) < target
    assert step_at_capacity(25.0, 25.0, 100_000) == 100_000
    with pytest.raises(ValueError, match="outside the schedule"):
        step_at_capacity(26.0, 25.0, 100)
    for bad in (dict(gamma=-1.0, c_max=1.0, c_steps=1), dict(gamma=1.0, c_max=-1.0, c_steps=1)):
        with pytest.raises(ValueError, match="must be >= 0"):
            CapacityLoss(**bad)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        BetaVAELoss(-2.0)


def test_presets_and_flags():
    default = config_from(explicit_flags([]))
    assert (
        default.preset,
        default.objective,
        default.gamma,
        default.c_max,
        default.c_steps,
        default.lr,
        default.batch_size,
    ) == ("dsprites", "capacity", 1000.0, 25.0, 100_000, 5e-4, 64)
    beta = config_from(explicit_flags(["--preset", "blobs-beta"]))
    assert (beta.objective, beta.beta, beta.data) == ("beta", 150.0, "blobs")
    assert config_from(explicit_flags(["--preset", "blobs-vae"])).beta == 1.0
    assert config_from(explicit_flags(["--preset", "dsprites-beta", "--beta", "8"])).beta == 8.0


def _records(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "images_per_s"} for line in lines]


def test_run_directory_and_exact_resume(tmp_path):
    assert (
        main(run_args(tmp_path, "full", "--steps", "12", "--log-every", "2", "--save-every", "4"))
        == 0
    )
    full = tmp_path / "full"
    assert {"config.json", "metrics.jsonl", "checkpoint.pt", "summary.json"} <= {
        p.name for p in full.iterdir()
    }
    assert sorted(p.name for p in (full / "images").iterdir()) == [
        "reconstructions-0000012.png",
        "traversals-0000012.png",
    ]
    records = _records(full)
    assert [r["step"] for r in records] == [2, 4, 6, 8, 10, 12]
    assert set(records[0]) >= {"step", "loss", "recon", "kl", "capacity", "kl_per_latent", "lr"}
    assert len(records[0]["kl_per_latent"]) == 10

    assert (
        main(run_args(tmp_path, "half", "--steps", "6", "--log-every", "2", "--save-every", "4"))
        == 0
    )
    assert main(["--resume", str(tmp_path / "half"), "--steps", "12", "--quiet"]) == 0
    assert _records(tmp_path / "half") == records
    a = load_checkpoint(full)["model"]
    b = load_checkpoint(tmp_path / "half")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = train_setup.make_loss

    def poisoned(config, kl_reduce=None):
        loss_fn = real(config, kl_reduce)

        def call(logits, target, kl, step):
            terms = loss_fn(logits, target, kl, step)
            if step >= 5:
                terms.loss = terms.loss * float("nan")
            return terms

        return call

    monkeypatch.setattr(train_setup, "make_loss", poisoned)
    config = config_from(
        explicit_flags(
            run_args(tmp_path, "nan", "--steps", "10", "--save-every", "4", "--log-every", "1")
        )
    )
    with pytest.raises(NonFiniteLoss, match="non-finite at step 5"):
        train(config)
    state = load_checkpoint(tmp_path / "nan")
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_non_finite_parameters_are_never_checkpointed(tmp_path, monkeypatch):
    """A finite loss whose optimizer step made the parameters non-finite right before a save."""
    real = train_module.training_step

    def poisoning(module, *args):
        terms = real(module, *args)
        if args[6] == 3:  # the step index: the update before the save at step 4
            next(module.parameters()).data.view(-1)[0] = float("inf")
        return terms

    monkeypatch.setattr(train_module, "training_step", poisoning)
    args = run_args(tmp_path, "inf", "--steps", "10", "--save-every", "4", "--log-every", "5")
    with pytest.raises(NonFiniteLoss, match="parameters became non-finite by step 4"):
        train(config_from(explicit_flags(args)))
    assert not (tmp_path / "inf" / "checkpoint.pt").exists()


def test_resume_after_a_kill_logs_each_step_once(tmp_path):
    """Killed after its last checkpoint, a run logged steps its resumption logs again."""
    args = ["--log-every", "2", "--save-every", "100"]
    assert main(run_args(tmp_path, "full", "--steps", "12", *args)) == 0
    assert main(run_args(tmp_path, "run", "--steps", "4", *args)) == 0
    saved = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    assert main(["--resume", str(tmp_path / "run"), "--steps", "9", "--quiet"]) == 0
    (tmp_path / "run" / "checkpoint.pt").write_bytes(saved)  # as if killed at 9, saved at 4
    assert [r["step"] for r in _records(tmp_path / "run")] == [2, 4, 6, 8, 9]
    assert main(["--resume", str(tmp_path / "run"), "--steps", "12", "--quiet"]) == 0
    assert _records(tmp_path / "run") == _records(tmp_path / "full")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["--gamma", "-1"], "--gamma must be >= 0"),
        (["--beta", "-0.5"], "--beta must be >= 0"),
        (["--c-max", "-3"], "--c-max must be >= 0"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
        (["--data", "/nonexistent/file.h5", "--steps", "1"], "file.h5: no such file"),
        (["--preset", "chairs"], "needs --data PATH"),
        (["--objective", "vq"], "objective must be"),
        (["--lr", "0"], "--lr must be > 0"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--c-steps", "-5"], "--c-steps must be >= 0"),
    ],
)
def test_bad_input_fails_before_training(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bad" / "checkpoint.pt").exists()


def test_unknown_flag_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-such-flag"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for flag in ("--preset", "--c-max", "--resume", "--compile", "--backend", "--save-every"):
        assert flag in out


def test_unwritable_output_and_conflicting_resume(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(run_args(tmp_path, "file/sub", "--steps", "1")) == 2
    assert "is not writable" in capsys.readouterr().err
    assert main(run_args(tmp_path, "run", "--steps", "2")) == 0
    assert main(run_args(tmp_path, "run", "--steps", "2")) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["--resume", str(tmp_path / "run"), "--steps", "4", "--beta", "9"]) == 2
    assert "cannot resume with a different config: --beta=9.0" in capsys.readouterr().err
    config_file = tmp_path / "run" / "config.json"
    # A resumption that died before its first checkpoint left config.json with its own runtime
    # fields: that must not lock the run out.
    saved_text = config_file.read_text()
    config_file.write_text(saved_text.replace('"steps": 2', '"steps": 9'))
    assert main(["--resume", str(tmp_path / "run"), "--steps", "3", "--quiet"]) == 0
    config_file.write_text(config_file.read_text().replace('"seed": 0', '"seed": 5'))
    assert main(["--resume", str(tmp_path / "run"), "--steps", "4"]) == 2
    assert "disagree" in capsys.readouterr().err
    assert main(["--resume", str(tmp_path / "nothing")]) == 2
    assert "no checkpoint.pt" in capsys.readouterr().err


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_sigterm_saves_a_checkpoint(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "betavae.train",
        *run_args(tmp_path, "term", "--steps", "100000", "--log-every", "1"),
    ]
    proc = subprocess.Popen(cmd, env=_env(), stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "term" / "metrics.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (
        metrics.exists() and metrics.read_text().count("\n") >= 3
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err  # 128 + SIGTERM
    assert "stopped by SIGTERM" in err
    state = load_checkpoint(tmp_path / "term")
    assert 3 <= state["step"] < 100000


def test_plain_log_lines_when_not_a_terminal(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "betavae.train",
        "--data",
        "blobs",
        "--batch-size",
        "8",
        "--steps",
        "4",
        "--log-every",
        "2",
        "--out",
        str(tmp_path / "plain"),
    ]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "step 2/4 loss" in done.stdout and "step 4/4 loss" in done.stdout


def test_torchrun_two_cpu_processes(tmp_path):
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29517",
        "-m",
        "betavae.train",
        *FAST,
        "--steps",
        "6",
        "--log-every",
        "2",
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["ranks_parameters_identical"] is True
    assert [r["step"] for r in _records(out)] == [2, 4, 6]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"]  # one run directory


def test_loss_terms_hold_capacity_and_batch_kl():
    kl = torch.full((4, 10), 0.1)
    logits, target = torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    terms = CapacityLoss(10.0, 5.0, c_steps=10, backend="cpu")(logits, target, kl, step=4)
    assert terms.capacity == pytest.approx(2.0)
    assert torch.allclose(terms.kl, torch.tensor(1.0)) and terms.kl_per_latent.shape == (10,)
    assert torch.allclose(terms.loss, terms.recon + 10.0 * (terms.kl - 2.0).abs())
    with pytest.raises(TypeError, match="c_steps"):
        CapacityLoss(1.0, 1.0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without GPU")
def test_cuda_device_without_a_gpu(tmp_path, capsys):
    assert main(run_args(tmp_path, "gpu", "--device", "cuda", "--steps", "1")) == 2
    assert "--device cuda: torch sees no CUDA device" in capsys.readouterr().err


def test_loss_terms_are_fp32_under_bf16():
    """Under autocast the KL arrives in bf16 (spacing 0.125 nats at 25): the capacity term must be
    reduced in fp32, or γ·|KL − C| moves in steps of 125 and its gradient vanishes near C."""
    loss = CapacityLoss(gamma=1000.0, c_max=25.0, c_steps=100)
    kl_fp32 = torch.full((64, 10), 2.51, requires_grad=True)  # batch KL ~25.1 against C = 25
    kl = kl_fp32.to(torch.bfloat16)
    logits = torch.zeros(64, 1, 4, 4, dtype=torch.bfloat16)
    target = torch.zeros(64, 1, 4, 4, dtype=torch.uint8)
    terms = loss(logits, target, kl, step=100)
    assert terms.loss.dtype == terms.kl.dtype == terms.recon.dtype == torch.float32
    assert terms.kl_per_latent.dtype == torch.float32
    terms.loss.backward()
    assert kl_fp32.grad.abs().sum() > 0
    assert terms.kl.item() == pytest.approx(float(kl.float().sum(1).mean()), abs=1e-4)


def test_resume_with_another_world_size_is_refused(tmp_path, capsys):
    assert main(run_args(tmp_path, "run", "--steps", "2")) == 0
    path = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(path, weights_only=False)
    state["sampler_states"] = state["sampler_states"] * 2  # as written by 2 processes
    torch.save(state, path)
    assert main(["--resume", str(tmp_path / "run"), "--steps", "4"]) == 2
    err = capsys.readouterr().err
    assert "written by 2 process(es) and this run has 1" in err
    assert "torchrun --nproc_per_node=2" in err


def test_sampler_state_is_device_independent():
    """Batch indices come from a CPU generator on every device, so a checkpoint's sampler state
    resumes on another device."""
    from betavae.data import BatchSampler, get_dataset

    sampler = BatchSampler(get_dataset("blobs"), "cpu", seed=3)
    assert sampler.generator.device.type == "cpu"
    state = sampler.get_state()
    first = sampler.indices(5)
    sampler.set_state(state)
    assert torch.equal(sampler.indices(5), first)
    with pytest.raises(ValueError, match="does not fit a CPU generator"):
        sampler.set_state(torch.zeros(16, dtype=torch.uint8))  # a CUDA generator's size


def test_the_trainer_flushes_denormals_once_training_starts():
    """Denormals slowed CPU training 4x once the model was confident (betavae/process_tuning.py);
    the flushing starts with a training, not with an import (checked in a fresh process)."""
    code = (
        "import torch, betavae.train as t\n"
        "tiny = lambda: (torch.tensor([1e-39], dtype=torch.float32) * 1.0).item()\n"
        "before = tiny()\n"
        "t.set_up = lambda *a: (_ for _ in ()).throw(ValueError('stop after tuning'))\n"
        "try:\n    t.train(t.config_from({'data': 'blobs'}))\nexcept ValueError:\n    pass\n"
        "print(before > 0, tiny() == 0.0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]
    assert train_module.train is train
