"""The coloured-dSprites measures: which factor a latent holds when it does not take colour."""

from types import SimpleNamespace

import numpy as np

from betavae.reproduce.color_dsprites import best_factor, factor_one_hots, fitted_r_squared


def _factors(n: int = 600, seed: int = 0) -> SimpleNamespace:
    """A stand-in dataset with a constant factor and three varying ones."""
    rng = np.random.default_rng(seed)
    sizes = [1, 3, 6, 32]
    classes = np.stack([rng.integers(0, s, n) for s in sizes], axis=1)
    return SimpleNamespace(
        factor_names=["color", "shape", "scale", "posX"], factor_sizes=sizes, factor_classes=classes
    )


def test_one_hots_skip_a_constant_factor_and_drop_the_first_class():
    data = _factors()
    index = np.arange(50)
    one_hots = factor_one_hots(data, index)
    assert list(one_hots) == ["shape", "scale", "posX"]
    assert [v.shape for v in one_hots.values()] == [(50, 2), (50, 5), (50, 31)]
    scale = data.factor_classes[index, 2]
    assert (one_hots["scale"].sum(1) == (scale > 0)).all()  # class 0 is the all-zero row
    assert (one_hots["scale"].argmax(1)[scale > 0] + 1 == scale[scale > 0]).all()


def test_best_factor_names_the_factor_a_code_follows_even_when_not_monotone():
    data = _factors()
    index = np.arange(600)
    noise = np.random.default_rng(1).normal(0, 0.1, 600)
    scale = data.factor_classes[index, 2]
    code = np.sin(scale * 1.3) + noise  # a non-monotone code of scale: one-hot fits it anyway
    name, r2 = best_factor(factor_one_hots(data, index), code)
    assert name == "scale" and r2 > 0.9
    posx = data.factor_classes[index, 3].astype(float)
    name, r2 = best_factor(factor_one_hots(data, index), posx + noise)
    assert name == "posX" and r2 > 0.99


def test_fitted_r_squared_is_zero_for_a_constant_target_and_one_for_an_exact_fit():
    x = np.random.default_rng(2).normal(size=(40, 3))
    assert fitted_r_squared(x, np.full(40, 2.0)) == 0.0
    assert np.isclose(fitted_r_squared(x, x @ [1.0, -2.0, 0.5] + 3.0), 1.0)
