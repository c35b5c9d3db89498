"""--amp on the CPU: bf16 autocast of the model where the CPU has native bf16, the fused ops and
every loss term in float32, and a clear refusal (before any file is written) where it has none."""

from __future__ import annotations

import json

import pytest
import torch

from betavae import amp
from betavae.data import BatchSampler, get_dataset
from betavae.models import BurgessVAE
from betavae.objectives import CapacityLoss
from betavae.train import TrainingStep, main, make_optimizer, training_step

NATIVE_BF16 = bool(amp.cpu_bf16_features())
needs_bf16 = pytest.mark.skipif(not NATIVE_BF16, reason="this CPU has no native bf16")


def test_cpu_without_native_bf16_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(amp, "cpu_bf16_features", lambda: [])
    reason = amp.amp_problem(torch.device("cpu"))
    assert "--amp on the CPU needs native bf16 instructions" in reason
    assert "train without --amp" in reason
    assert amp.amp_problem(torch.device("cuda")) is None


def test_trainer_refuses_amp_without_bf16_and_writes_nothing(monkeypatch, tmp_path, capsys):
    import betavae.train_setup as train_setup  # where the trainer checks --amp

    monkeypatch.setattr(train_setup, "amp_problem", lambda device: "no bf16 here (test)")
    out = tmp_path / "run"
    argv = ["--data", "blobs", "--steps", "2", "--quiet", "--amp", "--out", str(out)]
    assert main(argv) == 2
    assert "no bf16 here (test)" in capsys.readouterr().err
    assert not out.exists()


def test_feature_list_matches_the_cpu_flags():
    flags = amp._proc_cpuinfo_flags()
    if not flags:
        pytest.skip("no /proc/cpuinfo")
    want = {"avx512_bf16", "amx_bf16", "bf16"} & flags
    assert bool(amp.cpu_bf16_features()) == bool(want)


@needs_bf16
def test_amp_step_runs_the_model_in_bf16_and_the_loss_in_fp32():
    data = get_dataset("blobs")
    torch.manual_seed(0)
    vae = BurgessVAE(data.channels).to(memory_format=torch.channels_last)
    seen = {}

    def hook(module, inputs, output):
        seen["conv"] = output.dtype

    vae.encoder.convs[0].register_forward_hook(hook)
    module = TrainingStep(vae, "auto")
    calls = {}
    original = module.forward

    def spy(inputs, seed, offset):
        logits, kl = original(inputs, seed, offset)
        calls["logits"], calls["kl"] = logits.dtype, kl.dtype
        return logits, kl

    module.forward = spy
    optimizer = make_optimizer(vae, 1e-4, torch.device("cpu"))
    sampler = BatchSampler(data, "cpu", seed=0)
    loss_fn = CapacityLoss(1000.0, 25.0, 100)
    before = [p.detach().clone() for p in vae.parameters()]
    seed = torch.tensor(0)
    terms = training_step(module, loss_fn, optimizer, sampler, 16, seed, torch.tensor(0), 0, True)
    assert seen["conv"] == torch.bfloat16  # the model ran under autocast
    assert calls["kl"] == torch.float32  # the fused sample + KL in fp32
    assert calls["logits"] == torch.bfloat16
    for value in (terms.loss, terms.recon, terms.kl, terms.kl_per_latent):
        assert value.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in vae.parameters())  # fp32 master weights
    assert any(not torch.equal(a, b) for a, b in zip(before, vae.parameters()))


@needs_bf16
def test_amp_training_run_and_resume(tmp_path):
    out = tmp_path / "amp"
    argv = ["--data", "blobs", "--batch-size", "16", "--quiet", "--image-every", "1000"]
    assert main([*argv, "--steps", "20", "--log-every", "10", "--amp", "--out", str(out)]) == 0
    assert main(["--resume", str(out), "--steps", "30", "--quiet"]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30]
    assert all(r["recon"] == r["recon"] and r["recon"] > 0 for r in records)  # finite
    assert json.loads((out / "config.json").read_text())["amp"] is True
