"""Tests of kgan.metrics against independent references (pure numpy/scipy parts)."""
import math

import numpy as np
import pytest

import kgan.metrics as M


# ---------------------------------------------------------------- 2D mode coverage
def _ring_means():
    a = 2 * np.pi * np.arange(8) / 8
    return np.stack([np.cos(a), np.sin(a)], 1)


def _grid_means():
    g = np.array([-4.0, -2, 0, 2, 4])
    return np.array([[a, b] for a in g for b in g])


def _sample_at(means, sigma, idx, rng):
    return means[idx] + sigma * rng.normal(size=(len(idx), 2)).clip(-2.5, 2.5) / np.sqrt(2)


@pytest.mark.parametrize("name,means,sigma", [("ring8", _ring_means(), 0.01), ("grid25", _grid_means(), 0.05)])
def test_mode_coverage_constructed(name, means, sigma):
    rng = np.random.default_rng(0)
    k = len(means)
    # all modes, uniformly
    x = _sample_at(means, sigma, np.repeat(np.arange(k), 100), rng)
    r = M.mode_coverage(x, name)
    assert r == {"modes": k, "num_modes": k, "hq_fraction": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    # one mode
    r = M.mode_coverage(_sample_at(means, sigma, np.zeros(500, int), rng), name)
    assert r["modes"] == 1 and r["hq_fraction"] == 1.0
    assert r["reverse_kl"] == pytest.approx(math.log(k))
    # half of the modes (every other), uniform over them: KL = log 2
    half = np.arange(0, k, 2)[: k // 2]
    r = M.mode_coverage(_sample_at(means, sigma, np.repeat(half, 50), rng), name)
    assert r["modes"] == k // 2
    assert r["reverse_kl"] == pytest.approx(math.log(k / (k // 2)))
    # low-quality samples (10 sigma away) are not HQ and capture nothing
    far = means[[0]] + np.array([[10 * sigma, 0.0]])
    x = np.concatenate([_sample_at(means, sigma, np.array([1, 1, 1]), rng), far])
    r = M.mode_coverage(x, name)
    assert r["modes"] == 1 and r["hq_fraction"] == pytest.approx(0.75)


def test_mode_coverage_threshold_and_no_hq():
    x = np.array([[1.0 + 0.029, 0.0], [1.0 + 0.031, 0.0]])  # 2.9 and 3.1 sigma from mode 0
    r = M.mode_coverage(x, "ring8")
    assert r["modes"] == 1 and r["hq_fraction"] == 0.5
    r = M.mode_coverage(np.array([[0.0, 0.0]]), "ring8")  # centre of the ring: nowhere
    assert r["modes"] == 0 and r["hq_fraction"] == 0.0 and r["reverse_kl"] == float("inf")


def test_mode_coverage_bad_input():
    with pytest.raises(ValueError, match="samples"):
        M.mode_coverage(np.zeros((4, 3)), "ring8")
    with pytest.raises(ValueError, match="NaN"):
        M.mode_coverage(np.array([[np.nan, 0.0]]), "ring8")
    with pytest.raises(ValueError, match="dataset"):
        M.mode_coverage(np.zeros((4, 2)))


def test_kl_to_uniform_zero_counts():
    assert M.kl_to_uniform([5, 0, 0, 0]) == pytest.approx(math.log(4))
    assert M.kl_to_uniform([1, 1, 0, 0]) == pytest.approx(math.log(2))
    assert M.kl_to_uniform([0, 0]) == float("inf")


# ---------------------------------------------------------------- Fréchet distance
def _fid_scipy(a, b):
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("d,n", [(16, 300), (64, 1000), (96, 1000)])
def test_fid_matches_scipy_sqrtm(d, n):
    rng = np.random.default_rng(d)
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3 + 0.1
    b = rng.normal(size=(n + 17, d)) @ rng.normal(size=(d, d)) * 0.3
    ref = _fid_scipy(a, b)
    got = M.frechet_distance(a, b)
    assert abs(got - ref) / ref < 1e-6
    # float32 input is promoted to float64
    got32 = M.frechet_distance(a.astype(np.float32), b.astype(np.float32))
    assert abs(got32 - _fid_scipy(a.astype(np.float32).astype(np.float64),
                                  b.astype(np.float32).astype(np.float64))) / ref < 1e-6


@pytest.mark.parametrize("n_a,n_b", [(800, 900), (60, 800), (800, 70), (60, 90)])
def test_fast_fd_matches_scipy_full_rank_and_rank_deficient(n_a, n_b):
    """The Cholesky route (and its eigh fallback for singular covariances) agrees with
    pytorch-fid's scipy.linalg.sqrtm formula to 1e-6 relative, 128-d features:
    both covariances full rank, one of them singular (N < D), both singular."""
    from kgan.metrics.distance import covariance, trace_sqrt_product

    d = 128
    rng = np.random.default_rng(n_a + n_b)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    a = rng.normal(size=(n_a, d)) @ mix
    b = rng.normal(size=(n_b, d)) @ mix * 1.1 + 0.05
    ref = _fid_scipy(a, b)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the singular-covariance warning
        got = M.frechet_distance(a, b)
    assert abs(got - ref) / ref < 1e-6
    (_, sa), (_, sb) = covariance(a), covariance(b)
    np.testing.assert_allclose(sa, np.cov(a, rowvar=False), rtol=1e-10, atol=1e-12)
    eigh = trace_sqrt_product(sa, sb, method="eigh")
    assert trace_sqrt_product(sa, sb) == pytest.approx(eigh, rel=1e-6)
    if n_a > d:  # sigma_a positive definite: the Cholesky route itself
        assert trace_sqrt_product(sa, sb, method="cholesky") == pytest.approx(eigh, rel=1e-6)
    else:
        with pytest.raises(ValueError, match="positive definite"):
            trace_sqrt_product(sa, sb, method="cholesky")
    with pytest.raises(ValueError, match="method"):
        trace_sqrt_product(sa, sb, method="sqrtm")
    if min(n_a, n_b) <= d:  # the exact N x N route of a singular covariance, from the features
        from kgan.metrics.distance import trace_sqrt_product_lowrank

        small, other = (a, sb) if n_a <= n_b else (b, sa)
        assert trace_sqrt_product_lowrank(small, other) == pytest.approx(eigh, rel=1e-6)
        big = b if small is a else a
        assert M.frechet_distance_to_stats(small, big.mean(0), other) == pytest.approx(ref, rel=1e-6)


def test_fid_closed_form_gaussians():
    rng = np.random.default_rng(1)
    d = 6
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a_eig, b_eig = rng.uniform(0.2, 3.0, d), rng.uniform(0.2, 3.0, d)
    s1, s2 = q @ np.diag(a_eig) @ q.T, q @ np.diag(b_eig) @ q.T  # commuting covariances
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    closed = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a_eig) - np.sqrt(b_eig)) ** 2)
    assert M.frechet_distance_from_stats(m1, s1, m2, s2) == pytest.approx(closed, rel=1e-10)
    # non-commuting 2x2 case: W2^2 = tr S1 + tr S2 - 2 sqrt(tr S1 S2 + 2 sqrt(det S1 S2))
    s1 = np.array([[2.0, 0.5], [0.5, 1.0]])
    s2 = np.array([[1.0, -0.3], [-0.3, 0.5]])
    tr_sqrt = np.sqrt(np.trace(s1 @ s2) + 2 * np.sqrt(np.linalg.det(s1 @ s2)))
    closed = 1.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert M.frechet_distance_from_stats([1.0, 0.0], s1, [0.0, 0.0], s2) == pytest.approx(closed, rel=1e-10)
    # sampled features approach the population value
    n = 200_000
    xa = rng.multivariate_normal([1.0, 0.0], s1, size=n)
    xb = rng.multivariate_normal([0.0, 0.0], s2, size=n)
    assert M.frechet_distance(xa, xb) == pytest.approx(closed, abs=0.02)
    assert M.frechet_distance(xa, xa) == pytest.approx(0.0, abs=1e-9)


def test_fid_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same feature width"):
        M.frechet_distance(rng.normal(size=(50, 4)), rng.normal(size=(50, 5)))
    bad = rng.normal(size=(50, 4))
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        M.frechet_distance(bad, rng.normal(size=(50, 4)))
    with pytest.raises(ValueError, match="2-D"):
        M.frechet_distance(rng.normal(size=(50,)), rng.normal(size=(50,)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        M.frechet_distance(rng.normal(size=(1, 4)), rng.normal(size=(50, 4)))
    with pytest.warns(UserWarning, match="singular"):
        v = M.frechet_distance(rng.normal(size=(10, 32)), rng.normal(size=(10, 32)))
    assert np.isfinite(v) and v > 0


# ---------------------------------------------------------------- KID
def _mmd2_direct(x, y):
    d = x.shape[1]
    k = lambda u, v: (float(np.dot(u, v)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n))
    return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * sxy / (m * n)


def test_kid_matches_direct_computation():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 8))
    b = rng.normal(size=(40, 8)) + 0.5
    mean, std = M.kid(a, b, subsets=3, subset_size=40)  # whole sets: subsets are permutations
    assert mean == pytest.approx(_mmd2_direct(a, b), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-10)
    # subsets: mean of the direct value over the same random subsets
    rs = np.random.default_rng(5)
    vals = []
    for _ in range(4):
        ia, ib = rs.choice(40, 15, replace=False), rs.choice(40, 15, replace=False)
        vals.append(_mmd2_direct(a[ia], b[ib]))
    mean, std = M.kid(a, b, subsets=4, subset_size=15, seed=5)
    assert mean == pytest.approx(np.mean(vals), rel=1e-10)
    assert std == pytest.approx(np.std(vals), rel=1e-8)


def test_kid_same_vs_shifted():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    same, same_std = M.kid(a, b, subsets=20, subset_size=500)
    assert abs(same) < 3 * same_std + 1e-3  # unbiased: centred on 0
    shifted, _ = M.kid(a, b + 1.0, subsets=20, subset_size=500)
    assert shifted > 100 * abs(same)
    with pytest.raises(ValueError, match="subset_size"):
        M.kid(a[:100], b, subset_size=1000)


# ---------------------------------------------------------------- precision/recall, density/coverage
def _prdc_brute(real, fake, k):
    from scipy.spatial.distance import cdist

    drr, dff, drf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    rr = np.sort(drr, axis=1)[:, k]
    rf = np.sort(dff, axis=1)[:, k]
    inside = drf < rr[:, None]  # (N, M)
    return {
        "precision": inside.any(axis=0).mean(),
        "recall": (drf < rf[None, :]).any(axis=1).mean(),
        "density": inside.sum() / (k * len(fake)),
        "coverage": (drf.min(axis=1) < rr).mean(),
    }


@pytest.mark.parametrize("k", [1, 3, 5])
def test_prdc_matches_brute_force_and_chunking(k):
    rng = np.random.default_rng(k)
    real = rng.normal(size=(230, 10))
    fake = rng.normal(size=(170, 10)) * 1.3 + 0.4
    ref = _prdc_brute(real, fake, k)
    pr = M.precision_recall(real, fake, k=k)
    dc = M.density_coverage(real, fake, k=k)
    for key in ("precision", "recall"):
        assert pr[key] == pytest.approx(ref[key], abs=1e-12)
    for key in ("density", "coverage"):
        assert dc[key] == pytest.approx(ref[key], abs=1e-12)
    for chunk in (1, 7, 64, 10_000):
        assert M.precision_recall(real, fake, k=k, chunk_size=chunk) == pr
        assert M.density_coverage(real, fake, k=k, chunk_size=chunk) == dc
    assert M.prdc(real, fake, k_pr=k, k_dc=k) == {**pr, **dc}
    assert M.prdc(real, fake, k_pr=k, k_dc=5) == {**pr, **M.density_coverage(real, fake, k=5)}


def test_prdc_identical_gaussians():
    # Naeem et al. 2020: 1000-d N(0,I) vs N(0,I), k=5, 10k samples: P .477 R .471 D 1.056 C .974
    # (our benchmark reproduces that size: docs/metrics_speed.md). Here 3k samples: measured
    # over 8 seeds P .533 +- .013, R .539 +- .014 (k-NN balls are larger with fewer samples,
    # so P and R sit above the 10k values), D .99 +- .05, C .968 +- .004. Tolerances are about
    # 4 std; density and coverage are also checked against their known expectations:
    # E[D] = 1 and E[C] = 1 - prod_{t=1..k} (N - t) / (2N - t) for identical distributions.
    rng = np.random.default_rng(0)
    n, d, k = 3000, 1000, 5
    r = M.prdc(rng.normal(size=(n, d)), rng.normal(size=(n, d)), k_pr=k, k_dc=k)
    assert 0.47 < r["precision"] < 0.60 and 0.47 < r["recall"] < 0.60
    assert abs(r["precision"] - r["recall"]) < 0.06
    assert r["density"] == pytest.approx(1.0, abs=0.2)
    expected_c = 1 - np.prod([(n - t) / (2 * n - t) for t in range(1, k + 1)])
    assert r["coverage"] == pytest.approx(expected_c, abs=0.02)


def test_prdc_collapse_detected():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(500, 8))
    fake = np.repeat(real[:1], 500, axis=0) + 1e-3 * rng.normal(size=(500, 8))
    pr, dc = M.precision_recall(real, fake), M.density_coverage(real, fake)
    assert pr["precision"] == 1.0 and pr["recall"] < 0.01
    assert dc["coverage"] < 0.02


def test_prdc_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="smaller than the number of samples"):
        M.precision_recall(rng.normal(size=(3, 2)), rng.normal(size=(10, 2)), k=3)
    with pytest.raises(ValueError, match="fake"):
        M.precision_recall(rng.normal(size=(10, 2)), rng.normal(size=(3, 2)), k=3)
    with pytest.raises(ValueError, match="same feature width"):
        M.density_coverage(rng.normal(size=(10, 2)), rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        M.density_coverage(np.full((10, 2), np.nan), rng.normal(size=(10, 2)))
    with pytest.raises(ValueError, match="k"):
        M.density_coverage(rng.normal(size=(10, 2)), rng.normal(size=(10, 2)), k=0)


# ---------------------------------------------------------------- IS, MODE score, mode counts, I-Variance
def _one_hot(labels, k):
    return np.eye(k)[labels]


def test_inception_score_constructed():
    k = 10
    labels = np.tile(np.arange(k), 100)  # every split holds every class equally
    assert M.inception_score(_one_hot(labels, k), splits=10) == pytest.approx((k, 0.0))
    assert M.inception_score(np.full((1000, k), 1.0 / k))[0] == pytest.approx(1.0)
    assert M.inception_score(_one_hot(np.tile(np.arange(5), 200), k))[0] == pytest.approx(5.0)
    assert M.inception_score(_one_hot(np.zeros(1000, int), k))[0] == pytest.approx(1.0)
    # two classes, soft predictions (p, 1-p) and (1-p, p) in equal numbers:
    # IS = exp(KL((p,1-p) || (.5,.5))) = exp(log 2 + p log p + (1-p) log(1-p))
    p = 0.8
    probs = np.array([[p, 1 - p], [1 - p, p]] * 50)
    expected = math.exp(math.log(2) + p * math.log(p) + (1 - p) * math.log(1 - p))
    assert M.inception_score(probs, splits=1)[0] == pytest.approx(expected)
    with pytest.raises(ValueError, match="sum to 1"):
        M.inception_score(np.ones((10, 3)), splits=1)
    with pytest.raises(ValueError, match="splits"):
        M.inception_score(np.full((5, 2), 0.5), splits=10)


def test_mode_score_constructed():
    k = 10
    train_labels = np.tile(np.arange(k), 50)
    all_classes = _one_hot(np.tile(np.arange(k), 30), k)
    assert M.mode_score(all_classes, train_labels) == pytest.approx(k)
    assert M.mode_score(all_classes, np.full(k, 1.0 / k)) == pytest.approx(k)
    assert M.mode_score(all_classes, all_classes) == pytest.approx(k)
    # collapse to one class: IS 1, KL(p(y) || uniform) = log K -> 1 / K
    collapsed = _one_hot(np.zeros(300, int), k)
    assert M.mode_score(collapsed, train_labels) == pytest.approx(1.0 / k)
    # half the classes: IS K/2, KL = log 2 -> K / 4
    half = _one_hot(np.tile(np.arange(5), 60), k)
    assert M.mode_score(half, train_labels) == pytest.approx(k / 4)
    # the formula as printed by Che et al. is the IS on one split whatever p* is: it cannot see the marginal
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(k, 0.3), size=400)
    is1 = M.inception_score(probs, splits=1)[0]
    skewed = rng.dirichlet(np.ones(k))
    for p_star in (np.full(k, 1.0 / k), skewed):
        assert M.mode_score(probs, p_star, form="che") == pytest.approx(is1)
    assert M.mode_score(half, train_labels, form="che") == pytest.approx(k / 2)
    # Xu et al.'s form: a skewed class histogram scores below its IS, a balanced one the same
    skew = _one_hot(np.repeat(np.arange(k), np.arange(1, k + 1) * 10), k)
    assert M.mode_score(skew, train_labels) < M.inception_score(skew, splits=1)[0] - 0.5
    assert M.mode_score(all_classes, train_labels) == pytest.approx(M.inception_score(all_classes, splits=1)[0])
    # a non-uniform p*: a generated marginal equal to p* is not penalised
    p_star = np.array([0.5, 0.25, 0.25])
    gen = _one_hot(np.array([0, 0, 1, 2]), 3)
    assert M.mode_score(gen, p_star) == pytest.approx(M.inception_score(gen, splits=1)[0])
    assert M.mode_score(gen, np.full(3, 1 / 3)) < M.mode_score(gen, p_star)
    with pytest.raises(ValueError, match="form"):
        M.mode_score(gen, p_star, form="paper")
    with pytest.raises(ValueError, match="reference"):
        M.mode_score(all_classes, np.array([0, 1, 12]))


def test_mode_counts_constructed():
    assert M.mode_counts(np.arange(1000)) == {"modes": 1000, "num_modes": 1000, "kl": pytest.approx(0.0, abs=1e-12)}
    r = M.mode_counts(np.full(26000, 421))
    assert r["modes"] == 1 and r["kl"] == pytest.approx(math.log(1000))
    r = M.mode_counts(np.repeat(np.arange(0, 1000, 2), 52))
    assert r["modes"] == 500 and r["kl"] == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="labels_pred"):
        M.mode_counts(np.array([0, 1000]))
    with pytest.raises(TypeError, match="integer"):
        M.mode_counts(np.array([0.5, 1.0]))


def test_i_variance():
    k = 10
    probs = _one_hot(np.tile(np.arange(k), 20), k)
    assert M.i_variance(probs) == pytest.approx(math.sqrt(1 - 1 / k))
    assert M.i_variance(_one_hot(np.zeros(50, int), k)) == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    t = rng.normal(size=(100, 3))
    assert M.i_variance(t) == pytest.approx(math.sqrt(np.sum(np.var(t, axis=0))))


# ---------------------------------------------------------------- real data: Fashion-MNIST domain classifier
@pytest.fixture(scope="session")
def kgan_cache(tmp_path_factory):
    """One classifier cache for the whole session (the same directory as in test_evaluate.py)."""
    import os

    path = tmp_path_factory.getbasetemp() / "kgan_cache"
    old = os.environ.get("KGAN_CACHE")
    os.environ["KGAN_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KGAN_CACHE", None)
    else:
        os.environ["KGAN_CACHE"] = old


def test_fashion_mnist_fid_halves_vs_collapsed(kgan_cache):
    """Trains (once per session) the Fashion-MNIST classifier: the slow test of this file."""
    import json

    import kgan.data

    clf = M.DomainClassifier.for_dataset("fashion_mnist", verbose=0)
    meta = json.loads((kgan_cache / "classifiers" / "fashion_mnist.v1.json").read_text())
    assert meta["test_accuracy"] >= 0.90
    x, y = kgan.data.load_arrays("fashion_mnist", "test")
    assert clf.accuracy(x, y) == pytest.approx(meta["test_accuracy"])
    f, p = clf.features_and_probs(x)
    perm = np.random.default_rng(0).permutation(len(x))
    a, b = perm[:5000], perm[5000:]
    fid_halves = M.frechet_distance(f[a], f[b])
    one_class = np.random.default_rng(1).choice(np.flatnonzero(y[b] == 0), 5000)
    fid_one_class = M.frechet_distance(f[a], f[b][one_class])
    fid_one_image = M.frechet_distance(f[a], np.repeat(f[b][:1], 5000, 0))
    # measured: halves 0.78, one class 338, one image 540 (features' total variance ~316)
    assert fid_halves < 0.01 * fid_one_class < fid_one_image
    # the same picture from the other metrics in this space
    hist = np.bincount(np.argmax(p[b][one_class], 1), minlength=10)
    assert hist.max() > 0.8 * 5000  # mostly one predicted class (the rest: T-shirt/shirt confusion)
    assert M.inception_score(p[b])[0] > 7 > 2 > M.inception_score(p[b][one_class])[0]
    assert M.mode_score(p[b], y[a]) > 7 > 2 > M.mode_score(p[b][one_class], y[a])
    pr_same = M.precision_recall(f[a][:2000], f[b][:2000])
    pr_one = M.precision_recall(f[a][:2000], f[b][one_class][:2000])
    assert pr_same["recall"] > 0.75 and pr_one["recall"] < 0.3
