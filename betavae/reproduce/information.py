"""Instruments that measure information, not KL, for every experiment's analysis.

KL(q(z|x) ‖ p(z)) bounds what a latent can carry but is not what it carries: a latent can pay KL
for a shrunken σ or a mean that wiggles without telling factors apart. These functions split the
KL into its parts, measure how much of each factor the posterior means hold (normalised mutual
information and held-out decoding), and for the factor-conditioned generator, whose channels each
see one factor, estimate each channel's exact information I(v; z) by Monte Carlo.
"""

from __future__ import annotations

import numpy as np

from ..metrics.common import discretize, mutual_information

HALF_ENTROPY = 0.5  # a factor "is captured" once MI / H(factor) reaches this


def kl_parts(mu: np.ndarray, sigma: np.ndarray) -> dict[str, np.ndarray]:
    """Per latent (columns of ``(N, Z)`` arrays): the KL's mean part ½E[μ²] and variance part
    ½E[σ² − ln σ² − 1] (their sum is the KL), the std of μ over the data and the mean σ."""
    var = np.square(sigma)
    mean_part = 0.5 * np.mean(np.square(mu), axis=0)
    var_part = 0.5 * np.mean(var - np.log(var) - 1.0, axis=0)
    return {
        "kl": mean_part + var_part,
        "kl_mean_part": mean_part,
        "kl_variance_part": var_part,
        "mu_std": mu.std(axis=0),
        "sigma_mean": sigma.mean(axis=0),
    }


def factor_entropies(classes: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Empirical entropy (nats) of each factor's classes in the sample."""
    out = []
    for k, size in enumerate(sizes):
        p = np.bincount(classes[:, k], minlength=size) / len(classes)
        p = p[p > 0]
        out.append(float(-(p * np.log(p)).sum()))
    return np.array(out)


def normalised_mi(
    mu: np.ndarray, classes: np.ndarray, sizes: list[int], bins: int = 20
) -> np.ndarray:
    """``(Z, K)`` MI(μ_j; v_k) / H(v_k) from posterior means binned into ``bins`` equal-width bins
    (MIG's estimator); 0 for constant factors."""
    mi = mutual_information(discretize(mu, bins), classes)  # (Z, K)
    h = factor_entropies(classes, sizes)
    return np.where(h[None, :] > 0, mi / np.where(h > 0, h, 1.0)[None, :], 0.0)


def factor_decoding(mu: np.ndarray, classes: np.ndarray, sizes: list[int], seed: int = 0):
    """Per factor, held-out accuracy of a logistic regression from the whole μ vector (2/3 train,
    1/3 test) and the chance level 1/size; NaN for constant factors."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(mu))
    cut = 2 * len(mu) // 3
    train, test = order[:cut], order[cut:]
    scaler = StandardScaler().fit(mu[train])
    x_train, x_test = scaler.transform(mu[train]), scaler.transform(mu[test])
    accuracy = []
    for k, size in enumerate(sizes):
        y = classes[:, k]
        if size < 2 or len(np.unique(y[train])) < 2:
            accuracy.append(float("nan"))
            continue
        fit = LogisticRegression(max_iter=500).fit(x_train, y[train])
        accuracy.append(float((fit.predict(x_test) == y[test]).mean()))
    return np.array(accuracy), np.array([1.0 / s if s > 1 else float("nan") for s in sizes])


def channel_information(
    mu: np.ndarray, sigma: np.ndarray, samples: int = 4000, seed: int = 0
) -> tuple[float, float]:
    """I(v; z) in nats for a channel z | v ~ N(mu[v], diag sigma[v]²) with v uniform over the
    ``V`` rows of ``mu``/``sigma`` (``(V, D)``): E[ln q(z|v) − ln (1/V) Σ_v' q(z|v')] by Monte
    Carlo over ``samples`` draws of (v, z). Returns (estimate, its standard error). Bounded by
    ln V, reached when the classes' Gaussians do not overlap."""
    rng = np.random.default_rng(seed)
    v = rng.integers(0, len(mu), samples)
    z = mu[v] + sigma[v] * rng.standard_normal((samples, mu.shape[1]))
    # log q(z_n | v') for every draw n and class v': (samples, V)
    diff = (z[:, None, :] - mu[None, :, :]) / sigma[None, :, :]
    log_q = -0.5 * np.square(diff).sum(-1) - np.log(sigma).sum(-1)[None, :]
    log_mix = _logsumexp(log_q, axis=1) - np.log(len(mu))
    terms = log_q[np.arange(samples), v] - log_mix
    return float(terms.mean()), float(terms.std(ddof=1) / np.sqrt(samples))


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def own_latents(nmi: np.ndarray, threshold: float = HALF_ENTROPY) -> dict[int, int]:
    """Factor index → a latent of its own: a latent with MI/H ≥ ``threshold`` for that factor and
    below it for every other factor (the best such latent)."""
    owned = {}
    for k in range(nmi.shape[1]):
        candidates = [
            j
            for j in range(nmi.shape[0])
            if nmi[j, k] >= threshold and (np.delete(nmi[j], k) < threshold).all()
        ]
        if candidates:
            owned[k] = max(candidates, key=lambda j: nmi[j, k])
    return owned


def onsets(steps: list[int], per_step: list[np.ndarray], threshold: float = HALF_ENTROPY):
    """From MI/H matrices ``(Z, K)`` measured at ``steps`` (snapshots): per factor, the first
    step at which some latent reaches ``threshold`` and the first at which the factor has a
    latent of its own; None where never."""
    k_count = per_step[0].shape[1]
    captured, owned = [None] * k_count, [None] * k_count
    for step, nmi in zip(steps, per_step):
        own = own_latents(nmi, threshold)
        for k in range(k_count):
            if captured[k] is None and nmi[:, k].max() >= threshold:
                captured[k] = step
            if owned[k] is None and k in own:
                owned[k] = step
    return captured, owned


def tilt_degrees(mu_map: np.ndarray) -> float:
    """Angle (degrees, 0..45) between a latent's linear trend over a 2-D grid ``(X, Y)`` of
    posterior means and the nearer grid axis: 0 when it follows x or y alone, 45 on the
    diagonal. From the least-squares plane μ ≈ a·x + b·y + c."""
    xs, ys = np.meshgrid(np.arange(mu_map.shape[0]), np.arange(mu_map.shape[1]), indexing="ij")
    design = np.column_stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    (a, b, _), *_ = np.linalg.lstsq(design, mu_map.ravel(), rcond=None)
    return float(np.degrees(np.arctan2(min(abs(a), abs(b)), max(abs(a), abs(b)))))


def r_squared(features: np.ndarray, target: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Held-out R² of ``target`` (N,) from ``features`` (N, D): a linear fit and a small
    nonlinear regressor (an MLP of one hidden layer of 64), 2/3 train, 1/3 test."""
    from sklearn.linear_model import LinearRegression
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    order = np.random.default_rng(seed).permutation(len(target))
    cut = 2 * len(target) // 3
    train, test = order[:cut], order[cut:]
    scaler = StandardScaler().fit(features[train])
    x_train, x_test = scaler.transform(features[train]), scaler.transform(features[test])
    out = {}
    for name, model in (
        ("linear", LinearRegression()),
        ("mlp", MLPRegressor(hidden_layer_sizes=(64,), max_iter=400, random_state=seed)),
    ):
        model.fit(x_train, target[train])
        residual = target[test] - model.predict(x_test)
        total = target[test] - target[test].mean()
        out[name] = float(1.0 - np.square(residual).sum() / max(np.square(total).sum(), 1e-12))
    return out
