"""compute_from_codes: the metrics on (code, factor) arrays agree with compute on the same codes,
handle continuous and constant factors, and refuse bad input with clear messages."""

import numpy as np
import pytest
from conftest import synthetic_grid, synthetic_index

from betavae.metrics import FROM_CODES, compute, compute_from_codes
from betavae.metrics.common import sample_codes, train_test_codes

SIZES = [1, 4, 6, 10]
SMALL = {
    "mig": dict(num_train=1500),
    "dci": dict(num_train=600, num_test=300, classifier="forest"),
    "sap": dict(num_train=600, num_test=300),
    "modularity_explicitness": dict(num_train=600, num_test=300),
}


@pytest.fixture(scope="module")
def data():
    return synthetic_grid(SIZES)


def encode_noisy(data):
    mixing = np.random.default_rng(3).normal(size=(3, 5))

    def encode(images):
        idx = synthetic_index(images)
        factors = data.factor_values[idx][:, 1:]
        wiggle = np.sin(idx[:, None] * np.arange(1, 6))  # deterministic per image
        return factors @ mixing + 0.3 * wiggle

    return encode


@pytest.mark.parametrize("name", FROM_CODES)
def test_agrees_with_compute_on_the_same_codes(data, name):
    encode, params, seed = encode_noisy(data), SMALL[name], 4
    expected = compute(name, encode, data, seed=seed, **params)
    if name == "mig":
        codes, classes = sample_codes(
            encode, data, params["num_train"], np.random.default_rng(seed)
        )
    else:
        x_tr, y_tr, x_te, y_te, _ = train_test_codes(
            encode, data, params["num_train"], params["num_test"], seed
        )
        codes, classes = np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])
        classes = np.concatenate([np.zeros((len(codes), 1)), classes], 1)  # the constant factor
    got = compute_from_codes(
        name,
        codes,
        classes,
        factor_sizes=SIZES,
        seed=seed,
        factor_names=data.factor_names,
        **params,
    )
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, abs=1e-12), key
        else:
            assert got[key] == value, key


def test_default_split_and_factor_values_as_classes():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 2, (900, 2)) * 0.25 + 1.0  # values, not class indices
    codes = np.concatenate([factors, rng.normal(size=(900, 1))], 1)
    perfect = compute_from_codes("sap", codes, factors)
    matrix = np.array(perfect["score_matrix"])  # each latent predicts its own factor exactly
    assert matrix[0, 0] == matrix[1, 1] == 1.0 and matrix[2].max() < 0.6
    assert perfect["factor_names"] == ["factor0", "factor1"]
    assert compute_from_codes("mig", codes, factors)["mig"] > 0.9
    shuffled = compute_from_codes("mig", rng.normal(size=(900, 3)), factors)["mig"]
    assert shuffled < 0.1


def test_continuous_factors():
    rng = np.random.default_rng(1)
    factors = rng.uniform(size=(1200, 2))
    codes = np.stack([factors[:, 1] * 3, rng.normal(size=1200), -factors[:, 0]], 1)
    sap = compute_from_codes("sap", codes, factors, continuous=True)
    np.testing.assert_allclose(np.array(sap["score_matrix"])[[2, 0], [0, 1]], 1.0, atol=1e-9)
    assert sap["sap"] > 0.95
    assert compute_from_codes("mig", codes, factors, continuous=True)["mig"] > 0.9
    dci = compute_from_codes("dci", codes, factors, continuous=True, classifier="forest")
    assert dci["dci"] > 0.8


def test_constant_factors_are_skipped():
    rng = np.random.default_rng(2)
    factors = np.stack([np.zeros(600), rng.integers(0, 3, 600)], 1)
    result = compute_from_codes("mig", factors[:, 1:] + 0.0, factors, factor_names=["c", "v"])
    assert result["factor_names"] == ["v"]


def test_bad_input_is_refused():
    codes, factors = np.zeros((10, 2)), np.zeros((10, 1))
    factors[:5] = 1
    with pytest.raises(ValueError, match="needs an encoder"):
        compute_from_codes("beta_vae", codes, factors)
    with pytest.raises(ValueError, match="unknown metric"):
        compute_from_codes("nope", codes, factors)
    with pytest.raises(ValueError, match="codes have 9 rows, factors 10"):
        compute_from_codes("mig", codes[:9], factors)
    with pytest.raises(ValueError, match="NaN"):
        compute_from_codes("mig", np.full((10, 2), np.nan), factors)
    with pytest.raises(ValueError, match="every factor is constant"):
        compute_from_codes("mig", codes, np.zeros((10, 1)))
    with pytest.raises(ValueError, match="outside"):
        compute_from_codes("mig", codes, factors * 3, factor_sizes=[2])
    with pytest.raises(ValueError, match="must be integer classes"):
        compute_from_codes("mig", codes, factors * 0.5, factor_sizes=[2])
    with pytest.raises(ValueError, match="fit the 10 rows"):
        compute_from_codes("dci", codes, factors, num_train=8, num_test=5)
    with pytest.raises(ValueError, match="takes no parameter"):
        compute_from_codes("sap", codes, factors, sampled=True)


def test_more_bad_input_is_refused():
    codes, factors = np.zeros((10, 2)), np.repeat([[0.0], [1.0]], 5, axis=0)
    with pytest.raises(ValueError, match="factor_sizes has 2 entries for 1 factors"):
        compute_from_codes("mig", codes, factors, factor_sizes=[2, 2])
    with pytest.raises(ValueError, match="2 factor_names for 1 factors"):
        compute_from_codes("mig", codes, factors, factor_names=["a", "b"])
    with pytest.raises(ValueError, match=r"num_train must be in \[10, 10\]"):
        compute_from_codes("mig", codes, factors, num_train=11)
    with pytest.raises(ValueError, match="takes no parameter"):
        compute_from_codes("mig", codes, factors, num_test=3)
    with pytest.raises(ValueError, match="classifier must be one of"):
        compute_from_codes("dci", codes, factors, classifier="svm")
    with pytest.raises(ValueError, match=r"codes must be an \(N, C\) array"):
        compute_from_codes("mig", np.zeros((0, 2)), factors)
