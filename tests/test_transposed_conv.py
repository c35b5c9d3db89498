"""The decoder's CPU transposed convolutions add their bias after the convolution
(betavae.models.transposed_conv, a speed fix): the same function, gradients and parameters as
``nn.ConvTranspose2d``, in float64 to rounding, in float32 and under bf16 autocast within their
precision, and a short training follows the module-call decoder's losses."""

import json

import pytest
import torch

from betavae.bench.user_code import ModuleCallDecoder, users_model
from betavae.models import BurgessVAE, transposed_conv


def _layer(out_channels: int = 32, dtype=torch.float64) -> torch.nn.ConvTranspose2d:
    torch.manual_seed(0)
    return torch.nn.ConvTranspose2d(32, out_channels, 4, 2, 1).to(dtype)


def _grads(fn, layer, x):
    x = x.detach().requires_grad_()
    out = fn(x)
    out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out))
    grads = [x.grad, layer.weight.grad, layer.bias.grad]
    layer.zero_grad(set_to_none=True)
    return out.detach(), grads


@pytest.mark.parametrize("out_channels", [32, 1])
def test_same_function_and_gradients_in_float64(out_channels):
    layer = _layer(out_channels)
    x = torch.randn(3, 32, 8, 8, dtype=torch.float64)
    ours, our_grads = _grads(lambda v: transposed_conv(layer, v), layer, x)
    theirs, their_grads = _grads(layer, layer, x)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    for a, b in zip(our_grads, their_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradcheck():
    layer = _layer(4)
    x = torch.randn(2, 32, 3, 3, dtype=torch.float64, requires_grad=True)
    weight = layer.weight.detach().clone().requires_grad_()
    bias = layer.bias.detach().clone().requires_grad_()

    def fn(x, weight, bias):
        return transposed_conv(_holding(weight, bias), x)

    assert torch.autograd.gradcheck(fn, (x, weight, bias))


def _holding(weight, bias):
    """A transposed convolution whose weight and bias are these tensors (for gradcheck)."""
    layer = torch.nn.ConvTranspose2d(weight.shape[0], weight.shape[1], 4, 2, 1)
    del layer.weight, layer.bias
    layer.weight, layer.bias = weight, bias
    return layer


def test_float32_and_bf16_autocast_within_their_precision():
    layer = _layer(32, torch.float32).to(memory_format=torch.channels_last)
    x = torch.randn(8, 32, 8, 8).contiguous(memory_format=torch.channels_last)
    ours, our_grads = _grads(lambda v: transposed_conv(layer, v), layer, x)
    theirs, their_grads = _grads(layer, layer, x)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    for a, b in zip(our_grads, their_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert ours.is_contiguous(memory_format=torch.channels_last)  # the layout flows on
    with torch.autocast("cpu", torch.bfloat16):
        ours, our_grads = _grads(lambda v: transposed_conv(layer, v), layer, x)
        theirs, their_grads = _grads(layer, layer, x)
    assert ours.dtype == theirs.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), theirs.float(), rtol=2e-2, atol=2e-2)
    for a, b in zip(our_grads, their_grads, strict=True):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a.float(), b.float(), rtol=2e-2, atol=5e-2 * b.abs().max())


def test_decoder_keeps_its_parameters_and_matches_the_module_calls():
    torch.manual_seed(0)
    vae = BurgessVAE(1).double()
    keys = [k for k in vae.state_dict() if k.startswith("decoder.deconvs")]
    assert keys == [f"decoder.deconvs.{i}.{p}" for i in range(4) for p in ("weight", "bias")]
    torch.manual_seed(0)
    users = users_model(1).double()  # the weights BurgessVAE draws under the same seed
    torch.testing.assert_close(users.state_dict(), vae.state_dict(), rtol=0, atol=0)
    assert isinstance(users.decoder, ModuleCallDecoder)
    z = torch.randn(5, 10, dtype=torch.float64)
    torch.testing.assert_close(vae.decode(z), users.decode(z), rtol=1e-12, atol=1e-12)


def test_short_training_follows_the_module_call_decoder(monkeypatch, tmp_path):
    """Same seed, data and step; only the decoder's bias path differs: the losses agree to float32
    rounding over a short run (docs/benchmarks.md has the 2,000-step comparison)."""
    from betavae.config import config_from
    from betavae.train import train

    def losses(tmp):
        config = config_from(
            dict(
                preset="dsprites",
                steps=20,
                log_every=1,
                out=str(tmp),
                quiet=True,
                save_every=20,
                image_every=10**9,
            )
        )
        train(config, {})
        lines = (tmp / "metrics.jsonl").read_text().splitlines()
        return torch.tensor([json.loads(line)["loss"] for line in lines])

    ours = losses(tmp_path / "ours")
    monkeypatch.setattr("betavae.models.Decoder.forward", ModuleCallDecoder.forward)
    theirs = losses(tmp_path / "theirs")
    assert len(ours) == 20
    torch.testing.assert_close(ours, theirs, rtol=1e-3, atol=1e-2)
