"""--probe-every: the gradient probe of the encoder's heads measures the two terms' gradients
correctly, logs nothing when off, and changes nothing in training when on."""

import json

import pytest
import torch

from betavae import checkpoint
from betavae.gradient_probe import GradientProbe, probe_problem
from betavae.models import BurgessVAE, FactorGenerator
from betavae.objectives import CapacityLoss
from betavae.ops import gaussian_sample_kl
from betavae.train import main

FAST = ["--data", "blobs", "--batch-size", "16", "--quiet", "--image-every", "1000"]


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_probe_off_logs_nothing_and_on_trains_bit_identically(tmp_path):
    base = [*FAST, "--steps", "30", "--log-every", "10", "--gamma", "100", "--seed", "5"]
    assert main([*base, "--out", str(tmp_path / "plain")]) == 0
    assert main([*base, "--out", str(tmp_path / "probed"), "--probe-every", "20"]) == 0
    plain, probed = records(tmp_path / "plain"), records(tmp_path / "probed")
    assert not any("probe" in r for r in plain)
    assert [r["loss"] for r in plain] == [r["loss"] for r in probed]
    a = checkpoint.load(tmp_path / "plain")
    b = checkpoint.load(tmp_path / "probed")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    # every record counts KL > C over its 10 steps; steps 20 holds the gradient measurement
    assert [r["probe"]["steps_counted"] for r in probed] == [10, 10, 10]
    assert all(0 <= r["probe"]["kl_above_c"] <= 10 for r in probed)
    assert "grad_recon_norm_mu" not in probed[0]["probe"]
    measured = probed[1]["probe"]
    for name in ("grad_recon_norm", "grad_regulariser_norm", "adam_root_v_rms", "recon_step_rms"):
        for head in ("mu", "logvar"):
            values = measured[f"{name}_{head}"]
            assert len(values) == 10 and all(v >= 0 for v in values)
    assert any(v > 0 for v in measured["grad_recon_norm_mu"])


def test_probe_gradients_are_the_terms_gradients():
    torch.manual_seed(0)
    vae = BurgessVAE(latent_dim=4)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)
    loss_fn = CapacityLoss(gamma=300.0, c_max=25.0, c_steps=100, backend="reference")
    x = (torch.rand(8, 1, 64, 64) > 0.7).to(torch.uint8)

    def terms_of(step):
        mu, logvar = vae.encode(x.float())
        z, kl = gaussian_sample_kl(mu, logvar, 0, step * 32, backend="reference")
        return loss_fn(vae.decode(z), x, kl, step)

    probe = GradientProbe(vae, every=2)
    for step in range(2):
        terms = terms_of(step)
        probe.observe(terms, step, optimizer)
        optimizer.zero_grad()
        terms.loss.backward()
        optimizer.step()
    out = probe.take()
    layer = vae.encoder.fc[-1]
    assert out["steps_counted"] == 2 and set(out) > {"grad_recon_norm_mu", "recon_step_rms_mu"}
    assert len(out["grad_recon_norm_logvar"]) == 4
    assert probe.take() == {"kl_above_c": 0, "steps_counted": 0}
    # a hand-made check of one measurement: gradient of each term on the layer's rows
    optimizer.zero_grad()
    terms = terms_of(1)
    before = [p.detach().clone() for p in vae.parameters()]
    probe.observe(terms, 1, optimizer)
    assert all(p.grad is None for p in layer.parameters())  # .grad untouched
    assert all(torch.equal(a, b) for a, b in zip(before, vae.parameters(), strict=True))
    terms.recon.backward(retain_graph=True)
    g = torch.cat([layer.weight.grad, layer.bias.grad[:, None]], 1)
    measured = probe.take()
    assert measured["grad_recon_norm_mu"] == pytest.approx(g[:4].norm(dim=1).tolist(), rel=1e-5)
    assert measured["grad_recon_norm_logvar"] == pytest.approx(g[4:].norm(dim=1).tolist(), rel=1e-5)
    optimizer.zero_grad()
    (terms.loss - terms.recon).backward()
    g = torch.cat([layer.weight.grad, layer.bias.grad[:, None]], 1)
    assert measured["grad_regulariser_norm_mu"] == pytest.approx(
        g[:4].norm(dim=1).tolist(), rel=1e-5
    )
    state = optimizer.state
    v = torch.cat([state[layer.weight]["exp_avg_sq"], state[layer.bias]["exp_avg_sq"][:, None]], 1)
    v_hat = v / (1 - 0.999 ** float(state[layer.bias]["step"]))  # Adam's bias correction
    step = g / (v_hat.sqrt() + 1e-8)
    assert measured["regulariser_step_rms_logvar"] == pytest.approx(
        step[4:].square().mean(1).sqrt().tolist(), rel=1e-4
    )


def test_probe_refused_where_it_cannot_measure(tmp_path, capsys):
    generator = FactorGenerator(["shape", "scale", "orientation", "x", "y"], [3, 6, 40, 32, 32])
    assert "burgess model" in probe_problem(generator)
    out = tmp_path / "bad"
    argv = [*FAST, "--steps", "4", "--log-every", "10", "--probe-every", "15", "--out", str(out)]
    assert main(argv) == 2
    assert "multiple of --log-every 10" in capsys.readouterr().err and not out.exists()
