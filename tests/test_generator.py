"""The factor-conditioned generator (paper Fig. 3): shapes and dtypes, per-factor KL equal to the
closed form, gradient into every channel, the factor encodings, and the sampler's factor classes."""

import numpy as np
import pytest
import torch

from betavae import ops
from betavae.data import BatchSampler, GroundTruthData, ImageStore
from betavae.data.base import grid_classes
from betavae.models import FactorGenerator, build_model, factor_kind
from betavae.objectives import CapacityLoss

NAMES = ["color", "shape", "scale", "orientation", "posX", "posY"]
SIZES = [1, 3, 6, 40, 32, 32]  # dSprites


def classes(n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.stack([rng.integers(0, s, n) for s in SIZES], axis=1))


def test_shapes_dtypes_and_factor_grouping():
    torch.manual_seed(0)
    model = FactorGenerator(NAMES, SIZES, channels=1, dims_per_factor=2)
    assert model.factor_names == ["shape", "scale", "orientation", "posX", "posY"]
    assert model.kinds == ["categorical", "ordinal", "circular", "ordinal", "ordinal"]
    assert model.latent_dim == 10 and model.input_kind == "factors"
    mu, logvar = model.encode(classes(7))
    assert mu.shape == logvar.shape == (7, 10) and mu.dtype == torch.float32
    logits = model.decode(mu)
    assert logits.shape == (7, 1, 64, 64) and logits.dtype == torch.float32
    assert model.factor_kl(torch.arange(10.0)).tolist() == [1.0, 5.0, 9.0, 13.0, 17.0]
    three = FactorGenerator(NAMES, SIZES, channels=3, dims_per_factor=1)
    assert three.latent_dim == 5 and three.decode(torch.zeros(2, 5)).shape == (2, 3, 64, 64)


def test_channels_depend_only_on_their_own_factor():
    torch.manual_seed(0)
    model = FactorGenerator(NAMES, SIZES)
    base = classes(5)
    mu, _ = model.encode(base)
    changed = base.clone()
    changed[:, 4] = (changed[:, 4] + 7) % 32  # posX only
    mu2, _ = model.encode(changed)
    moved = (mu2 - mu).abs().reshape(5, 5, 2).sum((0, 2)) > 0
    assert moved.tolist() == [False, False, False, True, False]


def test_factor_encodings():
    model = FactorGenerator(NAMES, SIZES)
    c = torch.zeros(3, 6, dtype=torch.int64)
    c[:, 1] = torch.tensor([0, 1, 2])
    c[:, 3] = torch.tensor([0, 39, 10])
    c[:, 4] = torch.tensor([0, 31, 16])
    assert model.features(c, 0).tolist() == torch.eye(3).tolist()  # shape: one-hot
    angle = model.features(c, 2)
    assert torch.allclose(angle[0], angle[1], atol=1e-6)  # orientation 0 and 39: the same pose
    theta = torch.tensor(2 * np.pi * 10 / 39)
    assert torch.allclose(angle[2], torch.stack([theta.cos(), theta.sin()]), atol=1e-6)
    position = model.features(c, 3)[:, 0]
    assert position[0] == -1 and position[1] == 1 and abs(position[2] - 1 / 31) < 1e-6
    assert factor_kind("Orientation") == "circular" and factor_kind("posY") == "ordinal"


def test_per_factor_kl_is_the_closed_form():
    torch.manual_seed(1)
    model = FactorGenerator(NAMES, SIZES, dims_per_factor=3)
    mu, logvar = model.encode(classes(16))
    _, kl = ops.gaussian_sample_kl(mu.double(), logvar.double(), seed=0)
    per_factor = model.factor_kl(kl.mean(0))
    for f in range(5):
        m, lv = mu[:, 3 * f : 3 * f + 3].double(), logvar[:, 3 * f : 3 * f + 3].double()
        closed = (0.5 * (m**2 + lv.exp() - lv - 1)).sum(1).mean()
        assert per_factor[f].item() == pytest.approx(closed.item(), rel=1e-12, abs=1e-12)


def test_every_channel_and_the_decoder_get_gradient():
    torch.manual_seed(2)
    model = FactorGenerator(NAMES, SIZES)
    batch = classes(32, seed=3)
    target = (torch.rand(32, 1, 64, 64) > 0.5).to(torch.uint8)
    mu, logvar = model.encode(batch)
    z, kl = ops.gaussian_sample_kl(mu, logvar, seed=0)
    terms = CapacityLoss(gamma=100.0, c_max=25.0, c_steps=10)(model.decode(z), target, kl, step=5)
    terms.loss.backward()
    for f, net in enumerate(model.encoders):
        grad = sum(p.grad.abs().sum() for p in net.parameters())
        assert grad > 0, f"channel {f} got no gradient"
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters()) > 0


def test_bad_input():
    model = FactorGenerator(NAMES, SIZES)
    with pytest.raises(ValueError, match=r"classes must have shape \(B, 6\)"):
        model.encode(torch.zeros(4, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match="at least one factor with more than one class"):
        FactorGenerator(["a"], [1])
    with pytest.raises(ValueError, match="needs a dataset with ground-truth factors"):
        build_model("generator", 1, factor_names=[], factor_sizes=[])
    with pytest.raises(ValueError, match="unknown model 'mlp'"):
        build_model("mlp", 1)


@pytest.mark.parametrize("full_grid", [True, False])
def test_sampler_gives_the_factor_classes_of_its_indices(full_grid):
    sizes = [2, 3, 4]
    grid = grid_classes(sizes)
    order = np.arange(len(grid)) if full_grid else np.random.default_rng(0).permutation(len(grid))
    store = ImageStore((len(grid), 1, 2, 2), raw=torch.zeros(len(grid), 1, 2, 2, dtype=torch.uint8))
    data = GroundTruthData(
        "toy", store, ["a", "b", "c"], sizes, grid[order], grid[order].astype(float), full_grid
    )
    sampler = BatchSampler(data, "cpu", seed=0)
    idx = torch.tensor([0, 5, 23, 7, 7])
    assert sampler.classes(idx).tolist() == data.factor_classes[idx.numpy()].tolist()
