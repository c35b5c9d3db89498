"""The information instruments (betavae/reproduce/information.py) on inputs whose answer is
known in closed form."""

import numpy as np
import pytest

from betavae.reproduce import information


def test_channel_information_limits():
    far = np.arange(8, dtype=float)[:, None] * 100.0  # 8 classes, no overlap: I = ln 8
    info, se = information.channel_information(far, np.ones_like(far), samples=2000)
    assert info == pytest.approx(np.log(8), abs=1e-6) and se < 1e-6
    same = np.zeros((8, 2))  # every class the same Gaussian: I = 0
    info, _ = information.channel_information(same, np.ones_like(same), samples=2000)
    assert info == pytest.approx(0.0, abs=1e-9)
    # two classes at ±1 with σ = 1: between 0 and ln 2, within a few standard errors of the
    # value H(z) − H(z|v) integrated numerically (0.3368 nats)
    pair = np.array([[-1.0], [1.0]])
    info, se = information.channel_information(pair, np.ones_like(pair), samples=20000)
    assert abs(info - _two_class_information()) < 4 * se + 1e-3


def _two_class_information() -> float:
    from scipy.integrate import quad
    from scipy.stats import norm

    def mixture(z):
        return 0.5 * (norm.pdf(z, -1) + norm.pdf(z, 1))

    entropy = quad(lambda z: -mixture(z) * np.log(mixture(z)), -12, 12)[0]
    return entropy - 0.5 * np.log(2 * np.pi * np.e)


def test_kl_parts_add_up_to_the_kl():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=(500, 3)), np.exp(rng.normal(size=(500, 3)) * 0.3)
    parts = information.kl_parts(mu, sigma)
    kl = (0.5 * (mu**2 + sigma**2 - 2 * np.log(sigma) - 1)).mean(0)
    np.testing.assert_allclose(parts["kl"], kl)
    np.testing.assert_allclose(parts["kl_mean_part"] + parts["kl_variance_part"], kl)
    assert (parts["kl_variance_part"] >= 0).all()


def test_tilt_and_normalised_mi_and_onsets():
    xs, ys = np.meshgrid(np.arange(32.0), np.arange(32.0), indexing="ij")
    assert information.tilt_degrees(xs) == pytest.approx(0.0, abs=1e-6)
    assert information.tilt_degrees(xs + ys) == pytest.approx(45.0)
    angle = np.radians(26.0)
    assert information.tilt_degrees(np.cos(angle) * xs + np.sin(angle) * ys) == pytest.approx(26)
    classes = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.int64)
    codes = np.stack([xs.ravel(), np.zeros(1024)], 1)
    nmi = information.normalised_mi(codes, classes, [32, 32])
    assert nmi[0, 0] > 0.8 and nmi[0, 1] < 0.05 and np.all(nmi[1] == 0)
    assert information.own_latents(nmi) == {0: 0}
    captured, owned = information.onsets([10, 20], [np.zeros((2, 2)), nmi])
    assert captured == [20, None] and owned == [20, None]


def test_r_squared_sees_a_nonlinear_code():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(900, 2))
    scores = information.r_squared(x, np.square(x[:, 0]))
    assert scores["mlp"] > 0.9 and scores["linear"] < 0.2
