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


def test_mode_coverage_matches_kgan_data():
    data = pytest.importorskip("kgan.data")
    if not hasattr(data, "mode_means"):
        pytest.skip("kgan.data.mode_means not written yet")
    from kgan.metrics.modes import _FALLBACK_MODES, _resolve_modes

    for name in ("ring8", "grid25"):
        m, s = _resolve_modes(name, None, None)
        fm, fs = _FALLBACK_MODES[name]
        order = np.lexsort(m.T), np.lexsort(fm.T)
        np.testing.assert_allclose(m[order[0]], fm[order[1]], atol=1e-6)
        assert s == pytest.approx(fs)


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
