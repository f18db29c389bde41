"""AdaptiveMixClassifier (plain / Mixup / AdaptiveMix / official-code training) and the OOD scores and metrics."""
import json

import numpy as np
import pytest
import keras
from sklearn.datasets import load_digits

from kgan.metrics import energy_score, feature_distance_score, msp_score, ood_metrics
from kgan.models import AdaptiveMixClassifier
from kgan.models.classifier import mixup_cross_entropy, small_cnn


def vector_backbone(dim=6, features=5, nonlinear=True, scale=1.0, seed=0):
    """``x (dim,) -> features`` with no BatchNorm (training and inference passes agree)."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((dim,))
    init = keras.initializers.RandomNormal(stddev=scale)
    f = keras.layers.Dense(features, activation="tanh" if nonlinear else None, kernel_initializer=init,
                           bias_initializer=init, name="f")(x)
    return keras.Model(x, f)


def batch(n=16, dim=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype("float32"), rng.integers(0, classes, n).astype("int32")


def np_ce(logits, y):
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y]


def np_shrink(f_mix, target):
    cos = (f_mix * target).sum(1) / (np.linalg.norm(f_mix, axis=1) * np.linalg.norm(target, axis=1))
    return float(np.mean(1.0 - cos))


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.images / 8.0 - 1.0).astype("float32")[..., None], d.target.astype("int32")


# ----------------------------------------------------------------------------- the shrinkage term
def test_shrink_is_zero_for_an_affine_backbone_and_positive_for_a_nonlinear_one():
    x, y = batch()
    logs = {}
    for nonlinear in (False, True):
        # seed 2 draws lam = 0.45 at step 0 (near lam = 0 or 1 a mix is one sample and the term vanishes)
        clf = AdaptiveMixClassifier(vector_backbone(nonlinear=nonlinear, scale=2.0), 3, noise_std=0.0, seed=2)
        assert 0.2 < float(clf.mix_draws(len(x))[0]) < 0.8
        clf.compile(keras.optimizers.SGD(0.0))
        logs[nonlinear] = clf.train_on_batch(x, y, return_dict=True)
    # affine f: f(lam x + (1 - lam) x') = lam f(x) + (1 - lam) f(x'), so cos = 1
    assert abs(logs[False]["shrink"]) < 1e-6
    assert logs[True]["shrink"] > 1e-2
    assert logs[True]["loss"] == pytest.approx(logs[True]["ce"] + logs[True]["shrink"], rel=1e-6)


@pytest.mark.parametrize("noise_scale", ["absolute", "relative"])
def test_logged_shrink_and_ce_match_numpy(noise_scale):
    x, y = batch(n=12)
    noise_std, weight = 0.3, 0.7
    backbone = vector_backbone(scale=1.5)
    clf = AdaptiveMixClassifier(backbone, 3, noise_std=noise_std, noise_scale=noise_scale, shrink_weight=weight,
                                alpha=0.5, seed=7)  # seed 7: lam = 0.54 at step 0, a real mix
    clf.compile(keras.optimizers.Adam(1e-2))
    lam, perm, eps = (np.asarray(v) for v in clf.mix_draws(len(x)))  # the draws of step 0
    lam2, perm2, _ = (np.asarray(v) for v in clf.mix_draws(len(x)))
    assert lam == lam2 and np.array_equal(perm, perm2)  # stateless: same step, same draws
    assert 0 < lam < 1 and sorted(perm) == list(range(len(x))) and not np.array_equal(perm, np.arange(len(x)))
    f = np.asarray(backbone(x))
    logits = np.asarray(clf(x))
    f_mix = np.asarray(backbone(lam * x + (1 - lam) * x[perm]))
    z_mix = lam * f + (1 - lam) * f[perm]
    noise = noise_std * eps
    if noise_scale == "relative":
        noise = noise * np.sqrt(np.mean(z_mix ** 2, axis=1, keepdims=True))
    expected = np_shrink(f_mix, z_mix + noise)
    # the check can tell a wrong pairing or a wrong weight apart
    inverse = np.argsort(perm)
    assert abs(expected - np_shrink(np.asarray(backbone(lam * x + (1 - lam) * x[inverse])), z_mix + noise)) > 1e-3
    assert abs(expected - np_shrink(f_mix, (1 - lam) * f + lam * f[perm] + noise)) > 1e-3
    logs = clf.train_on_batch(x, y, return_dict=True)
    assert logs["shrink"] == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert logs["ce"] == pytest.approx(np_ce(logits, y).mean(), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["ce"] + weight * expected, rel=1e-5)
    assert logs["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))
    assert int(clf.step_counter.numpy()) == 1
    assert np.asarray(clf.mix_draws(len(x))[0]) != lam  # the next step draws anew


# ----------------------------------------------------------------------------- mixup
def test_mixup_loss_uses_interpolated_labels():
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0], [1.0, -1.0, 0.0]], "float32")
    y = np.array([0, 1, 2, 1], "int32")
    perm = np.array([2, 0, 3, 1], "int32")
    lam = 0.3
    expected = np.mean(lam * np_ce(logits, y) + (1 - lam) * np_ce(logits, y[perm]))
    got = float(mixup_cross_entropy(y, logits, lam, perm))
    assert got == pytest.approx(expected, rel=1e-6)
    assert abs(got - np_ce(logits, y).mean()) > 0.1  # not the plain CE


def test_mixup_step_trains_on_the_mixed_batch_only():
    x, y = batch(n=12)
    clf = AdaptiveMixClassifier(vector_backbone(), 3, mode="mixup", alpha=0.4, seed=2)
    clf.compile(keras.optimizers.Adam(1e-2))
    lam, perm, _ = (np.asarray(v) for v in clf.mix_draws(len(x)))
    logits_mix = np.asarray(clf(lam * x + (1 - lam) * x[perm]))
    expected = np.mean(lam * np_ce(logits_mix, y) + (1 - lam) * np_ce(logits_mix, y[perm]))
    logs = clf.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "ce"}
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)


# ----------------------------------------------------------------------------- official mode
def np_official_terms(clf, backbone, x, y, lam, perm, eps, noise_std):
    """The official code's loss terms in numpy: mixed-score CE and the MSE shrinkage."""
    unit = lambda f: f / np.linalg.norm(f, axis=1, keepdims=True)  # noqa: E731
    W = np.asarray(clf.head.kernel)
    e, e_mix = unit(np.asarray(backbone(x))), unit(np.asarray(backbone(lam * x + (1 - lam) * x[perm])))
    z_mix = lam * e + (1 - lam) * unit(np.asarray(backbone(x[perm])))
    s = np.abs(z_mix @ W) + np.abs(e_mix @ W)
    ce = float(np.mean(lam * np_ce(s, y) + (1 - lam) * np_ce(s, y[perm])))
    mse = float(np.mean((e_mix - (z_mix + noise_std * eps)) ** 2))
    return ce, mse, e_mix, z_mix


def test_official_loss_matches_numpy():
    x, y = batch(n=12)
    noise_std, weight = 0.2, 0.6
    backbone = vector_backbone(scale=1.5)
    clf = AdaptiveMixClassifier(backbone, 3, mode="official", noise_std=noise_std, shrink_weight=weight,
                                alpha=0.5, seed=4)
    clf.compile(keras.optimizers.Adam(1e-2))
    lam, perm, eps = (np.asarray(v) for v in clf.mix_draws(len(x)))
    ce, mse, e_mix, z_mix = np_official_terms(clf, backbone, x, y, lam, perm, eps, noise_std)
    # the check tells the official loss apart from kgan's reading (cosine shrinkage) and a swapped lam
    assert abs(mse - np_shrink(e_mix, z_mix + noise_std * eps)) > 1e-3
    assert abs(ce - np_official_terms(clf, backbone, x, y, 1 - lam, perm, eps, noise_std)[0]) > 1e-3
    # test-time logits: |W e(x)|
    e = np.asarray(backbone(x))
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict(x, verbose=0), np.abs(e @ np.asarray(clf.head.kernel)), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(clf.features(x), axis=1), 1.0, atol=1e-6)
    logs = clf.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "ce", "shrink"}  # no clean-batch forward pass
    assert logs["ce"] == pytest.approx(ce, rel=1e-5)
    assert logs["shrink"] == pytest.approx(mse, rel=1e-5)
    assert logs["loss"] == pytest.approx(ce + weight * mse, rel=1e-5)


def test_official_head_is_frozen_orthogonal_and_bias_free():
    x, y = batch(n=16, classes=3)
    clf = AdaptiveMixClassifier(vector_backbone(features=5), 3, mode="official")
    W = np.asarray(clf.head.kernel)
    assert clf.head.bias is None and not clf.head.trainable
    np.testing.assert_allclose(W.T @ W, np.eye(3), atol=1e-5)  # orthonormal columns (rows of the code's W)
    assert all(v is not clf.head.kernel for v in clf.trainable_variables)
    assert len(clf.trainable_variables) == 2  # the backbone's Dense kernel and bias
    clf.compile(keras.optimizers.Adam(1e-1))
    before = [np.asarray(v).copy() for v in clf.backbone.trainable_variables]
    clf.fit(x, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_array_equal(np.asarray(clf.head.kernel), W)
    assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(before, clf.backbone.trainable_variables))
    plain = AdaptiveMixClassifier(vector_backbone(features=5), 3, mode="adaptivemix")
    assert plain.head.trainable and plain.head.bias is not None


# ----------------------------------------------------------------------------- training on digits
@pytest.mark.parametrize("mode", ["plain", "mixup", "adaptivemix", "official"])
def test_each_mode_learns_digits(mode, digits):
    x, y = digits
    keras.utils.set_random_seed(0)
    clf = AdaptiveMixClassifier(small_cnn((8, 8, 1), width=8), 10, mode=mode)
    clf.compile(keras.optimizers.Adam(3e-3))
    hist = clf.fit(x[:1024], y[:1024], batch_size=64, epochs=2, verbose=0).history
    expected = {"plain": {"loss", "ce", "accuracy"}, "mixup": {"loss", "ce"},
                "adaptivemix": {"loss", "ce", "accuracy", "shrink"}, "official": {"loss", "ce", "shrink"}}[mode]
    assert set(hist) == expected
    assert all(np.isfinite(v[-1]) for v in hist.values())
    if "accuracy" in hist:  # clean training accuracy, logged
        assert hist["accuracy"][-1] > 0.4
    assert clf.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.5  # chance is 0.1
    assert clf.features(x[:3]).shape == (3, 16)


# ----------------------------------------------------------------------------- save / load
def test_keras_round_trip(tmp_path, digits):
    x, y = digits
    keras.utils.set_random_seed(1)
    clf = AdaptiveMixClassifier(small_cnn((8, 8, 1), width=4), 10, feature_layer="relu3", alpha=0.5,
                                noise_scale="relative", shrink_weight=0.5, seed=3)
    assert clf.feature_dim == 2 * 2 * 8  # a feature map, flattened
    clf.compile(keras.optimizers.Adam(1e-3))
    clf.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    path = str(tmp_path / "clf.keras")
    clf.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, AdaptiveMixClassifier)
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(clf.get_config(), sort_keys=True)
    np.testing.assert_allclose(loaded.predict(x[:40], verbose=0), clf.predict(x[:40], verbose=0), atol=1e-6)
    np.testing.assert_allclose(loaded.features(x[:5]), clf.features(x[:5]), atol=1e-6)
    assert int(loaded.step_counter.numpy()) == 2 and int(loaded.optimizer.iterations.numpy()) == 2
    assert loaded.evaluate(x[:64], y[:64], verbose=0, return_dict=True)["accuracy"] == pytest.approx(
        clf.evaluate(x[:64], y[:64], verbose=0, return_dict=True)["accuracy"])


def test_official_round_trip_keeps_the_head_frozen(tmp_path, digits):
    x, y = digits
    keras.utils.set_random_seed(2)
    clf = AdaptiveMixClassifier(small_cnn((8, 8, 1), width=4), 10, mode="official", seed=1)
    clf.compile(keras.optimizers.Adam(1e-3))
    clf.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    path = str(tmp_path / "official.keras")
    clf.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.mode == "official" and not loaded.head.trainable and loaded.head.bias is None
    np.testing.assert_array_equal(np.asarray(loaded.head.kernel), np.asarray(clf.head.kernel))
    assert [v.path for v in loaded.trainable_variables] == [v.path for v in clf.trainable_variables]
    np.testing.assert_allclose(loaded.predict(x[:40], verbose=0), clf.predict(x[:40], verbose=0), atol=1e-6)
    W = np.asarray(loaded.head.kernel)
    loaded.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)  # resumes with the head still frozen
    np.testing.assert_array_equal(np.asarray(loaded.head.kernel), W)
    assert int(loaded.step_counter.numpy()) == 4


# ----------------------------------------------------------------------------- OOD metrics
def auroc_by_pairs(s_in, s_out):
    return np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a in s_in for b in s_out])


def test_ood_metrics_on_a_hand_case():
    s_in, s_out = [2, 3, 4, 5], [0, 1, 2.5, 3.5]
    m = ood_metrics(s_in, s_out)
    assert m["auroc"] == pytest.approx(auroc_by_pairs(s_in, s_out)) == pytest.approx(13 / 16)
    # ranks (descending) of the in-samples 1, 2, 4, 6: AP = (1/1 + 2/2 + 3/4 + 4/6) / 4
    assert m["aupr_in"] == pytest.approx((1 + 1 + 3 / 4 + 4 / 6) / 4)
    # OOD as positives, lowest score first: ranks 1, 2, 4, 6 again
    assert m["aupr_out"] == pytest.approx((1 + 1 + 3 / 4 + 4 / 6) / 4)
    # TPR >= 0.95 needs all 4 in-samples (threshold 2): OOD scores 2.5 and 3.5 pass -> 2/4
    assert m["fpr_at_95_tpr"] == pytest.approx(0.5)
    # ties count 1/2
    s_in, s_out = [1, 2, 2], [2, 0]
    assert ood_metrics(s_in, s_out)["auroc"] == pytest.approx(auroc_by_pairs(s_in, s_out)) == pytest.approx(4 / 6)


def test_ood_metrics_separated_and_identical():
    m = ood_metrics([5, 6, 7], [0, 1, 2, 3])
    assert m == {"auroc": 1.0, "aupr_in": 1.0, "aupr_out": 1.0, "fpr_at_95_tpr": 0.0}
    flipped = ood_metrics([0, 1, 2], [5, 6, 7])
    assert flipped["auroc"] == 0.0 and flipped["fpr_at_95_tpr"] == 1.0
    draws = np.random.default_rng(0).normal(size=40000)
    m = ood_metrics(draws[:20000], draws[20000:])
    assert abs(m["auroc"] - 0.5) < 0.015
    assert abs(m["fpr_at_95_tpr"] - 0.95) < 0.015
    assert abs(m["aupr_in"] - 0.5) < 0.015 and abs(m["aupr_out"] - 0.5) < 0.015


def test_msp_and_energy_on_hand_logits():
    logits = np.array([[0.0, np.log(3.0)], [1000.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(msp_score(logits), [0.75, 1.0, 0.5])
    np.testing.assert_allclose(energy_score(logits), [np.log(4.0), 1000.0, 2.0 + np.log(2.0)])
    np.testing.assert_allclose(energy_score(logits, temperature=2.0)[0], 2.0 * np.log(1.0 + np.sqrt(3.0)))


def test_feature_distance_score_uses_the_closest_class_mean():
    offsets = np.array([[1, 0], [-1, 0], [0, 2], [0, -2]], float)  # shared covariance diag(0.5, 2)
    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    train = np.concatenate([means[0] + offsets, means[1] + offsets])
    labels = np.array([3] * 4 + [7] * 4)
    test = np.array([[1.0, 1.0], [9.0, 0.0], [4.0, 6.0]])
    scores, nearest = feature_distance_score(train, labels, test, return_class=True)
    maha = lambda v: v[0] ** 2 / 0.5 + v[1] ** 2 / 2.0
    np.testing.assert_allclose(scores, [-maha([1, 1]), -maha([-1, 0]), -maha([4, 6])])
    np.testing.assert_array_equal(nearest, [3, 7, 3])
    np.testing.assert_allclose(feature_distance_score(train, labels, test), scores)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "cutmix"}, "mode"),
    ({"alpha": 0.0}, "alpha"),
    ({"alpha": -1}, "alpha"),
    ({"num_classes": 1}, "num_classes"),
    ({"feature_layer": "nope"}, "feature_layer='nope'"),
    ({"noise_scale": "rms"}, "noise_scale"),
    ({"noise_std": -0.1}, "noise_std"),
])
def test_bad_arguments(kwargs, match):
    args = {"num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        AdaptiveMixClassifier(vector_backbone(), **args)


def test_bad_backbone_compile_and_labels():
    with pytest.raises(TypeError, match="backbone"):
        AdaptiveMixClassifier(keras.layers.Dense(3), 3)
    x_in = keras.Input((4,))
    two_outputs = keras.Model(x_in, {"logit": keras.layers.Dense(1)(x_in), "features": x_in})
    with pytest.raises(ValueError, match="feature_layer"):
        AdaptiveMixClassifier(two_outputs, 3)
    clf = AdaptiveMixClassifier(vector_backbone(), 3)
    with pytest.raises(ValueError, match="loss"):
        clf.compile(keras.optimizers.Adam(), loss="mse")
    clf.compile(keras.optimizers.Adam())
    x, y = batch()
    with pytest.raises(ValueError, match="integer class ids"):
        clf.train_on_batch(x, y.astype("float32"))
    with pytest.raises(ValueError, match="one-hot"):
        clf.train_on_batch(x, np.eye(3, dtype="int32")[y])
    with pytest.raises(ValueError, match="labels"):
        clf.train_on_batch(x)


def test_bad_ood_inputs():
    with pytest.raises(ValueError, match="scores_in"):
        ood_metrics([], [1.0])
    with pytest.raises(ValueError, match="scores_out"):
        ood_metrics([1.0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="NaN"):
        ood_metrics([1.0, np.nan], [0.0])
    with pytest.raises(ValueError, match="logits"):
        msp_score([1.0, 2.0])
    with pytest.raises(ValueError, match="temperature"):
        energy_score([[1.0, 2.0]], temperature=0)
    train = np.zeros((4, 2))
    with pytest.raises(ValueError, match="train_labels"):
        feature_distance_score(train, [0.0, 1.0, 0.0, 1.0], train)
    with pytest.raises(ValueError, match="train_labels"):
        feature_distance_score(train, [0, 1], train)
    with pytest.raises(ValueError, match="feature width"):
        feature_distance_score(train, [0, 1, 0, 1], np.zeros((2, 3)))


def test_recalibrate_batchnorm_sets_the_mean_of_the_batch_statistics(digits):
    x, y = digits
    keras.utils.set_random_seed(2)
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(3, 3, name="conv")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    out = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(h))
    clf = AdaptiveMixClassifier(keras.Model(inp, out), 10, mode="plain")
    clf.compile(keras.optimizers.Adam(1e-2))
    clf.fit(x[:256], y[:256], batch_size=32, epochs=2, verbose=0)
    bn = clf.backbone.get_layer("bn")
    weights = [w.numpy().copy() for w in clf.trainable_weights]
    assert clf.recalibrate_batchnorm(x[:200], batch_size=64) == 1  # 3 whole batches; the last 8 images dropped
    pre = clf.backbone.get_layer("conv")(x[:192]).numpy().reshape(3, 64, -1, 3)  # (batch, image, position, channel)
    means = pre.reshape(3, -1, 3).mean(axis=1)
    variances = pre.reshape(3, -1, 3).var(axis=1)
    np.testing.assert_allclose(bn.moving_mean.numpy(), means.mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), variances.mean(axis=0), rtol=1e-4, atol=1e-5)
    assert bn.momentum == 0.99  # restored
    for w, before in zip(clf.trainable_weights, weights):
        np.testing.assert_array_equal(w.numpy(), before)
    with pytest.raises(ValueError, match="at least one batch"):
        clf.recalibrate_batchnorm(x[:10], batch_size=64)
