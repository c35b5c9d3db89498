"""Each metric against an independent numpy computation written here from its published definition
(as disentanglement_lib implements it), on fixed small codes with known factors: no sampling in the
comparison, equal to 1e-6."""

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from betavae.metrics import beta_vae, dci, factor_vae, mig, modularity_explicitness, sap

SIZES = (3, 5, 8)


def fixed_codes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes (n, 5) of factor classes (n, 3): two clean latents, one that mixes two factors, one
    noisy copy and one pure noise latent."""
    rng = np.random.default_rng(seed)
    y = np.stack([rng.integers(0, s, n) for s in SIZES], axis=1)
    noise = rng.normal(size=(n, 5))
    x = np.stack(
        [
            y[:, 0] + 0.1 * noise[:, 0],
            0.5 * y[:, 1] + 0.3 * y[:, 2] + 0.2 * noise[:, 1],
            y[:, 2] + 0.05 * noise[:, 2],
            y[:, 2] + 2.0 * noise[:, 3],
            noise[:, 4],
        ],
        axis=1,
    )
    return x, y


TRAIN = fixed_codes(800, 0)
TEST = fixed_codes(400, 1)


def histogram_bins(x: np.ndarray, bins: int = 20) -> np.ndarray:
    """disentanglement_lib's discretiser: np.digitize against the histogram edges minus the last."""
    return np.stack([np.digitize(col, np.histogram(col, bins)[1][:-1]) for col in x.T], axis=1)


def discrete_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information (nats) of two discrete variables from their joint counts."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1.0)
    joint /= joint.sum()
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / outer[nz])).sum())


def mi_matrix(x, y):
    d = histogram_bins(x)
    return np.array([[discrete_mi(d[:, i], y[:, j]) for j in range(y.shape[1])] for i in range(5)])


def test_mig_matches_the_definition():
    x, y = TRAIN
    m = mi_matrix(x, y)
    h = np.array([discrete_mi(y[:, j], y[:, j]) for j in range(3)])
    ordered = np.sort(m, axis=0)[::-1]
    expected = np.mean((ordered[0] - ordered[1]) / h)
    assert mig.from_codes(x, y)["mig"] == pytest.approx(expected, abs=1e-6)


def test_beta_vae_matches_the_definition():
    rng = np.random.default_rng(3)
    pairs = [(rng.normal(size=(16, 4)), rng.normal(size=(16, 4)), k % 3) for k in range(90)]
    for first, second, k in pairs:  # the fixed factor's latent barely differs within a pair
        second[:, k] = first[:, k] + 0.01 * second[:, k]
    features = np.array([np.mean(np.abs(a - b), axis=0) for a, b, _ in pairs])
    labels = np.array([k for _, _, k in pairs])
    for a, b, _ in pairs[:3]:
        assert beta_vae.pair_feature(a, b) == pytest.approx(np.mean(np.abs(a - b), axis=0))
    model = LogisticRegression(random_state=0).fit(features[:60], labels[:60])
    expected = (
        np.mean(model.predict(features[:60]) == labels[:60]),
        np.mean(model.predict(features[60:]) == labels[60:]),
    )
    got = beta_vae.from_points(features[:60], labels[:60], features[60:], labels[60:])
    assert got == pytest.approx(expected, abs=1e-6)
    assert got[1] == 1.0


def test_factor_vae_matches_the_definition():
    x, y = TRAIN
    x = np.concatenate([x, 0.03 * x[:, :1]], axis=1)  # std below 0.05: pruned
    global_var = np.var(x, axis=0, ddof=1)
    active = np.sqrt(global_var) >= 0.05
    assert not active[-1] and active[:-1].all()
    got_active, scale = factor_vae.active_latents(x)
    assert (got_active == active).all()

    rng = np.random.default_rng(5)
    votes = {"train": np.zeros((6, 3), np.int64), "eval": np.zeros((6, 3), np.int64)}
    mine = {"train": np.zeros((6, 3), np.int64), "eval": np.zeros((6, 3), np.int64)}
    for split, count in (("train", 120), ("eval", 60)):
        for t in range(count):
            k = t % 3
            rows = np.flatnonzero(y[:, k] == y[rng.integers(len(y)), k])
            batch = x[rng.choice(rows, 32)]
            ratio = np.var(batch, axis=0, ddof=1)[active] / global_var[active]
            votes[split][np.flatnonzero(active)[np.argmin(ratio)], k] += 1
            mine[split][factor_vae.vote(batch, scale, got_active), k] += 1
    assert (votes["train"] == mine["train"]).all() and (votes["eval"] == mine["eval"]).all()
    majority = np.argmax(votes["train"], axis=1)
    expected = [votes[s][np.arange(6), majority].sum() / votes[s].sum() for s in ("train", "eval")]
    assert factor_vae.from_votes(mine["train"], mine["eval"]) == pytest.approx(expected, abs=1e-6)


def test_dci_matches_the_definition():
    (x, y), (xt, yt) = TRAIN, TEST
    importance = np.zeros((5, 3))
    accuracy = []
    for j in range(3):
        model = GradientBoostingClassifier(random_state=j).fit(x, y[:, j])
        importance[:, j] = np.abs(model.feature_importances_)
        accuracy.append(np.mean(model.predict(xt) == yt[:, j]))
    per_code = 1.0 - scipy_entropy(importance.T + 1e-11, base=3)
    per_factor = 1.0 - scipy_entropy(importance + 1e-11, base=5)
    d = np.sum(per_code * importance.sum(1) / importance.sum())
    c = np.sum(per_factor * importance.sum(0) / importance.sum())
    got = dci.from_codes(x, y, xt, yt, n_jobs=1)
    assert got["dci"] == pytest.approx(d, abs=1e-6)
    assert got["completeness"] == pytest.approx(c, abs=1e-6)
    assert got["informativeness"] == pytest.approx(np.mean(accuracy), abs=1e-6)
    assert np.allclose(got["importance"], importance, atol=1e-6)


@pytest.mark.parametrize("continuous", [False, True])
def test_sap_matches_the_definition(continuous):
    (x, y), (xt, yt) = TRAIN, TEST
    s = np.zeros((5, 3))
    for i in range(5):
        for j in range(3):
            if continuous:
                s[i, j] = np.corrcoef(x[:, i], y[:, j])[0, 1] ** 2
            else:
                svm = LinearSVC(C=0.01, class_weight="balanced").fit(x[:, i : i + 1], y[:, j])
                s[i, j] = np.mean(svm.predict(xt[:, i : i + 1]) == yt[:, j])
    ordered = np.sort(s, axis=0)
    expected = np.mean(ordered[-1] - ordered[-2])
    got = sap.from_codes(x, y, xt, yt, continuous_factors=continuous, n_jobs=1)
    assert got["sap"] == pytest.approx(expected, abs=1e-6)


def test_modularity_explicitness_match_the_definition():
    (x, y), (xt, yt) = TRAIN, TEST
    m2 = mi_matrix(x, y) ** 2
    top = m2.max(axis=1)
    per_latent = 1.0 - (m2.sum(axis=1) - top) / (top * (3 - 1))
    modularity = np.mean(per_latent)
    mean, std = x.mean(axis=0), x.std(axis=0)
    aucs = []
    for j in range(3):
        model = LogisticRegression(random_state=0).fit((x - mean) / std, y[:, j])
        proba = model.predict_proba((xt - mean) / std)
        truth = MultiLabelBinarizer().fit_transform(yt[:, j : j + 1])
        aucs.append(roc_auc_score(truth, proba))
    got = modularity_explicitness.from_codes(x, y, xt, yt)
    assert got["modularity"] == pytest.approx(modularity, abs=1e-6)
    assert got["explicitness"] == pytest.approx(np.mean(aucs), abs=1e-6)
