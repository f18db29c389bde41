import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.losses import LOSSES

D = tf.constant([[-3.0], [-0.5], [0.0], [0.7], [2.5]])


def np_softplus(x):
    return np.log1p(np.exp(x))


EXPECTED = {
    "non_saturating": (lambda d: np_softplus(-d), lambda d: np_softplus(d), lambda d: np_softplus(-d)),
    "minimax": (lambda d: np_softplus(-d), lambda d: np_softplus(d), lambda d: -np_softplus(d)),
    "hinge": (lambda d: np.maximum(0, 1 - d), lambda d: np.maximum(0, 1 + d), lambda d: -d),
    "wasserstein": (lambda d: -d, lambda d: d, lambda d: -d),
    "least_squares": (lambda d: 0.5 * (d - 1) ** 2, lambda d: 0.5 * d ** 2, lambda d: 0.5 * (d - 1) ** 2),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_terms_match_formulas(name):
    loss = kgan.losses.get(name)
    d = D.numpy()
    for fn, ref in zip((loss.d_real, loss.d_fake, loss.g), EXPECTED[name]):
        np.testing.assert_allclose(fn(D).numpy(), ref(d), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_mixed_call_reduces_to_real_and_fake_terms(name):
    loss = kgan.losses.get(name)
    lam = tf.constant([0.0, 1.0, 0.25, 0.5, 1.0])
    per_sample = loss.call(lam, D).numpy().ravel()
    expected = lam.numpy() * loss.d_real(D).numpy().ravel() + (1 - lam.numpy()) * loss.d_fake(D).numpy().ravel()
    np.testing.assert_allclose(per_sample, expected, rtol=1e-6)
    # lambda = 1 is the real term, lambda = 0 the fake term, and __call__ averages.
    np.testing.assert_allclose(loss(tf.ones(5), D).numpy(), loss.d_real(D).numpy().mean(), rtol=1e-6)
    np.testing.assert_allclose(loss(tf.zeros(5), D).numpy(), loss.d_fake(D).numpy().mean(), rtol=1e-6)


def test_unknown_loss_names_choices():
    with pytest.raises(ValueError, match=r"loss.*hinge.*received loss='hing'"):
        kgan.losses.get("hing")
    with pytest.raises(TypeError, match="loss"):
        kgan.losses.get(3)


def test_gradient_penalty_and_r1_on_a_linear_critic():
    w = tf.constant([[3.0], [4.0]])  # ||grad|| = 5 everywhere
    fn = lambda x: tf.matmul(x, w)
    x = tf.random.normal([6, 2])
    np.testing.assert_allclose(kgan.losses.r1_penalty(fn, x).numpy(), np.full(6, 25.0), rtol=1e-5)
    gp = kgan.losses.gradient_penalty(fn, x, tf.zeros_like(x), tf.random.uniform([6]))
    np.testing.assert_allclose(gp.numpy(), np.full(6, 16.0), rtol=1e-4)
