"""Sample mixing: Mixup/CutMix/SRMix layers, mixed-sample loss, AdaptiveMix, MixGAN, AdaptiveMixGAN."""
import numpy as np
import pytest
import tensorflow as tf
import keras

import kgan
from kgan.layers import AdaptiveMix, CutMix, Mixup, SRMix
from kgan.layers.mixing import gaussian_kernel_1d
from kgan.losses import MixedSampleLoss, mixed_sample_loss, shrinkage_loss
from kgan.models import GAN, AdaptiveMixGAN, Batch, MixGAN
from conftest import tiny_mlp_gan_nets

LAYERS = [Mixup, CutMix, SRMix]


def _pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, shape).astype("float32"), rng.uniform(-1, 1, shape).astype("float32"))


# ----------------------------------------------------------------------------- layers
@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("shape", [(6, 12, 10, 3), (6, 9, 2), (6, 5)])
def test_lambda_is_the_fraction_of_real_content(cls, shape):
    ones, zeros = np.ones(shape, "float32"), np.zeros(shape, "float32")
    mixed, lam = cls(seed=3)(ones, zeros)
    mixed, lam = mixed.numpy(), lam.numpy()
    assert lam.shape == (shape[0],)
    # mixed = M * 1 + (1 - M) * 0 = M: the real mask itself
    assert mixed.min() >= 0.0 and mixed.max() <= 1.0
    np.testing.assert_allclose(mixed.reshape(shape[0], -1).mean(axis=1), lam, atol=1e-6)
    if cls is CutMix:  # a hard box: the real fraction is a pixel count
        assert set(np.unique(mixed)) <= {0.0, 1.0}
        np.testing.assert_allclose(lam, (mixed == 1.0).reshape(shape[0], -1).mean(axis=1), atol=0)
    # with arbitrary images the mask is the same and the mix is M x_r + (1 - M) x_f
    real, fake = _pair(shape)
    m2, lam2 = cls(seed=3)(real, fake)
    np.testing.assert_allclose(lam2.numpy(), lam, atol=1e-7)
    np.testing.assert_allclose(m2.numpy(), mixed * real + (1 - mixed) * fake, atol=1e-6)


def test_given_lambda_is_used_and_boxes_follow_lam0():
    shape = (3, 16, 16, 1)
    ones, zeros = np.ones(shape, "float32"), np.zeros(shape, "float32")
    lam0 = np.array([0.25, 0.5, 0.75], "float32")
    _, lam = Mixup()(ones, zeros, lam0=lam0)
    np.testing.assert_allclose(lam.numpy(), lam0, atol=1e-7)
    # a centred box of area (1 - lam0): not clipped, so lam == lam0 up to rounding of the sides
    _, lam = CutMix()(ones, zeros, lam0=lam0, center=np.full((3, 2), 0.5, "float32"))
    np.testing.assert_allclose(lam.numpy(), lam0, atol=0.03)


def test_srmix_edges_are_smooth_and_cutmix_edges_are_not():
    shape = (8, 28, 28, 1)
    ones, zeros = np.ones(shape, "float32"), np.zeros(shape, "float32")
    lam0 = np.full((8,), 0.5, "float32")
    center = np.random.default_rng(0).uniform(0.2, 0.8, (8, 2)).astype("float32")
    srmix = SRMix(sigma=0.1)
    m_s, lam_s = srmix(ones, zeros, lam0=lam0, center=center)
    m_c, _ = CutMix()(ones, zeros, lam0=lam0, center=center)

    def max_jump(m):
        m = m.numpy()[..., 0]
        return max(np.abs(np.diff(m, axis=1)).max(), np.abs(np.diff(m, axis=2)).max())

    bound = max(gaussian_kernel_1d(0.1 * 28, 28))  # the centre tap ~ 1 / (sqrt(2 pi) sigma)
    assert bound < 0.15
    assert 0.0 < max_jump(m_s) <= bound + 1e-6
    assert max_jump(m_c) == 1.0
    assert 0.0 <= m_s.numpy().min() and m_s.numpy().max() <= 1.0
    assert np.all((lam_s.numpy() > 0.3) & (lam_s.numpy() < 0.7))


@pytest.mark.parametrize("cls", LAYERS)
def test_gradients_flow_through_mixing(cls):
    real, fake = (tf.constant(a) for a in _pair((4, 8, 8, 2), seed=1))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        mixed, _ = cls(seed=2)(real, fake)
        total = tf.reduce_sum(mixed)
    g_real, g_fake = tape.gradient(total, real).numpy(), tape.gradient(total, fake).numpy()
    np.testing.assert_allclose(g_real + g_fake, 1.0, atol=1e-6)  # d/dx_r = M, d/dx_f = 1 - M
    assert g_real.sum() > 0 and g_fake.sum() > 0


def test_adaptive_mix_pairs_within_groups_and_lambda_is_per_batch():
    x = np.arange(16, dtype="float32")[:, None]
    layer = AdaptiveMix(group_size=4)
    keys = np.random.default_rng(0).uniform(size=16).astype("float32")
    perm = layer.permutation(keys).numpy()
    assert sorted(perm) == list(range(16))
    assert all(set(perm[i:i + 4]) == set(range(i, i + 4)) for i in range(0, 16, 4))
    np.testing.assert_array_equal(perm[:4], np.argsort(keys[:4]))
    mixed, lam, perm2 = layer(x, lam=0.3, keys=keys)
    np.testing.assert_allclose(mixed.numpy()[:, 0], 0.3 * x[:, 0] + 0.7 * x[perm2.numpy(), 0], atol=1e-5)
    # whole-batch permutation by default; the drawn lambda lies in [0, 1]
    _, lam, perm = AdaptiveMix(seed=1)(x)
    assert sorted(perm.numpy()) == list(range(16)) and 0.0 <= float(lam) <= 1.0 and lam.shape == ()


def test_beta_draws_by_inverse_cdf():
    from kgan.layers.mixing import beta_inverse_cdf

    u = tf.random.stateless_uniform([20000], seed=[1, 2])
    np.testing.assert_array_equal(beta_inverse_cdf(u, 1.0), u)  # Beta(1, 1) is uniform
    for a in (0.5, 2.0):
        x = beta_inverse_cdf(u, a).numpy()
        assert 0 <= x.min() and x.max() <= 1
        np.testing.assert_allclose(tf.math.betainc(a, a, x), u, atol=1e-3)  # float32 x near 0 / 1
        np.testing.assert_allclose([x.mean(), x.var()], [0.5, 1 / (4 * (2 * a + 1))], atol=0.01)


# ----------------------------------------------------------------------------- losses
@pytest.mark.parametrize("name", sorted(kgan.losses.LOSSES))
def test_mixed_loss_reduces_to_the_ordinary_loss_at_0_and_1(name):
    loss = kgan.losses.get(name)
    d = tf.constant(np.linspace(-3, 3, 7, dtype="float32")[:, None])
    ones, zeros = tf.ones([7]), tf.zeros([7])
    np.testing.assert_allclose(mixed_sample_loss(name, ones, d), tf.reduce_mean(loss.d_real(d)), rtol=1e-6)
    np.testing.assert_allclose(mixed_sample_loss(name, zeros, d), tf.reduce_mean(loss.d_fake(d)), rtol=1e-6)
    lam = tf.constant(np.linspace(0, 1, 7, dtype="float32"))
    expected = lam[:, None] * loss.d_real(d) + (1 - lam[:, None]) * loss.d_fake(d)
    np.testing.assert_allclose(MixedSampleLoss(name, weight=2.0)(lam, d), 2 * tf.reduce_mean(expected), rtol=1e-5)
    mask = tf.constant([1, 0, 1, 0, 1, 0, 1], tf.float32)
    np.testing.assert_allclose(mixed_sample_loss(name, lam, d, mask),
                               tf.reduce_sum(mask[:, None] * expected) / 7, rtol=1e-5, atol=1e-7)


def _affine_d(nonlinear=False, dim=4):
    keras.utils.set_random_seed(0)
    x = keras.Input((dim,))
    h = keras.layers.Dense(8, activation="tanh" if nonlinear else None)(x)
    return keras.Model(x, {"logit": keras.layers.Dense(1)(h), "features": h})


def test_shrinkage_is_zero_for_a_linear_discriminator():
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    layer = AdaptiveMix(seed=0)
    x_mix, lam, perm = layer(x, lam=0.3)
    for nonlinear, check in ((False, lambda v: np.abs(v).max() < 1e-5), (True, lambda v: v.mean() > 1e-3)):
        D = _affine_d(nonlinear)
        z_mix = layer.mix(D(x)["features"], lam, perm)
        shrink = shrinkage_loss(D(x_mix)["features"], z_mix).numpy()
        assert check(shrink), (nonlinear, shrink)
    # through the model, with the code's noise switched off
    G, _ = tiny_mlp_gan_nets(data_dim=4)
    gan = AdaptiveMixGAN(G, _affine_d(), noise_std=0.0)
    batch = Batch(tf.constant(x), None, None, None, 0)
    out = gan.pair_mix(batch.x, None, batch, 0)
    assert np.abs(out["shrink"].numpy()).max() < 1e-5


def _scaled_d(scale, dim=4):
    """A nonlinear D whose features are multiplied by ``scale`` (same weights for every scale)."""
    keras.utils.set_random_seed(0)
    x = keras.Input((dim,))
    h = keras.layers.Dense(8, activation="tanh")(x)
    f = keras.layers.Rescaling(scale)(h)
    return keras.Model(x, {"logit": keras.layers.Dense(1)(f), "features": f})


def test_relative_noise_is_a_fraction_of_the_feature_scale():
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    G, _ = tiny_mlp_gan_nets(data_dim=4)
    batch = Batch(tf.constant(x), None, None, None, 0)
    shrink = {}
    for scale_name in ("absolute", "relative"):
        for scale in (0.01, 1.0, 100.0):
            gan = AdaptiveMixGAN(G, _scaled_d(scale), noise_std=0.05, noise_scale=scale_name, seed=3)
            shrink[scale_name, scale] = float(tf.reduce_mean(gan.pair_mix(batch.x, None, batch, 0)["shrink"]))
    # 1 - cos is scale-free: with relative noise the term does not depend on the features' size
    np.testing.assert_allclose([shrink["relative", s] for s in (0.01, 100.0)], shrink["relative", 1.0], rtol=1e-4)
    # absolute noise swamps small features and vanishes against large ones
    assert shrink["absolute", 0.01] > 0.5 > shrink["absolute", 1.0] > shrink["absolute", 100.0]
    with pytest.raises(ValueError, match="noise_scale"):
        AdaptiveMixGAN(G, _scaled_d(1.0), noise_scale="rms")
    restored = AdaptiveMixGAN.from_config(AdaptiveMixGAN(G, _scaled_d(1.0), noise_scale="relative").get_config())
    assert restored.noise_scale == "relative"


# ----------------------------------------------------------------------------- models
def points(n=64, seed=0, dim=2):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")


def _compile(gan, **kw):
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3), **kw)
    return gan


@pytest.mark.parametrize("loss", sorted(kgan.losses.LOSSES))
def test_mixgan_trains_with_every_loss(loss):
    G, D = tiny_mlp_gan_nets()
    gan = _compile(MixGAN(G, D, method="mixup", mix_prob=1.0), loss=loss, run_eagerly=True)
    hist = gan.fit(points(16), batch_size=16, epochs=1, verbose=0)
    assert set(hist.history) == {"d_loss", "g_loss", "d_adv", "g_adv", "d_mix"}
    assert all(np.isfinite(v[-1]) for v in hist.history.values()) and hist.history["d_mix"][-1] != 0


def _one_step(cls, **kw):
    G, D = tiny_mlp_gan_nets(seed=0)
    gan = _compile(cls(G, D, seed=0, **kw), loss="hinge", run_eagerly=True)
    gan.fit(points(16), batch_size=16, epochs=1, verbose=0, shuffle=False)
    return gan.discriminator.get_weights()


def test_mixgan_adds_to_the_base_loss():
    base = _one_step(GAN)
    same = _one_step(MixGAN, method="cutmix", mix_weight=0.0)
    mixed = _one_step(MixGAN, method="cutmix", mix_prob=1.0)
    for a, b in zip(base, same):
        np.testing.assert_allclose(a, b, atol=1e-7)
    assert any(not np.allclose(a, b) for a, b in zip(base, mixed))


class CountingFlip(keras.layers.Layer):
    """A differentiable 'augmentation' (x -> -x) that counts its calls."""

    calls = 0

    def call(self, x, training=None):
        CountingFlip.calls += 1
        return -x if training else x


def test_composes_with_conditional_models_and_diffaugment():
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    y = np.arange(16, dtype="int32") % 2
    for cls, kw in ((MixGAN, {"method": "srmix", "mix_prob": 1.0}), (AdaptiveMixGAN, {"variant": "official"})):
        G, D = kgan.nets.build("dcgan", 8, 1, latent_dim=8, width=4, num_classes=2, d_heads=("projection",))
        gan = _compile(cls(G, D, num_classes=2, augment=kgan.layers.DiffAugment(), **kw), loss="hinge",
                       run_eagerly=True)
        hist = gan.fit(x, y, batch_size=16, epochs=1, verbose=0)
        assert all(np.isfinite(v[-1]) for v in hist.history.values()), (cls, hist.history)
    # augmentation is applied to every D input, and only once to AdaptiveMix pairs (before mixing)
    expected = {MixGAN: 3 + 1, AdaptiveMixGAN: 2 + 2 + 1}  # D step (+ mixing) + G step
    for cls, n_calls in expected.items():
        G, D = tiny_mlp_gan_nets()
        gan = _compile(cls(G, D, augment=CountingFlip()), run_eagerly=True)
        CountingFlip.calls = 0
        gan.fit(points(16), batch_size=16, epochs=1, verbose=0)
        assert CountingFlip.calls == n_calls, cls


@pytest.mark.parametrize("cls,kw", [(MixGAN, {"method": "srmix", "mix_prob": 0.7, "alpha": 0.5}),
                                    (AdaptiveMixGAN, {"variant": "official", "shrink_weight": 0.5})])
def test_save_load_round_trip(tmp_path, cls, kw):
    G, D = kgan.nets.build("mlp", hidden=(16,), latent_dim=8)
    gan = _compile(cls(G, D, ema_decay=0.9, **kw), loss="least_squares")
    data = points(32)
    gan.fit(data, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls and loaded.loss_fn.name == gan.loss_fn.name
    for key, value in kw.items():
        assert getattr(loaded, key) == value
    for a, b in zip(gan.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(gan.d_optimizer.variables, loaded.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(gan.generate(5), loaded.generate(5))
    # both continue identically
    h1 = gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False).history
    h2 = loaded.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False).history
    for k in h1:
        np.testing.assert_allclose(h1[k], h2[k], rtol=1e-5)


def _mirror_weights(strategy, cls, kw, x):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        G, D = kgan.nets.build("mlp", in_dim=x.shape[1], out_dim=x.shape[1], hidden=(16,), latent_dim=8)
        gan = _compile(cls(G, D, seed=0, ema_decay=0.9, **kw), loss="hinge")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(len(x), drop_remainder=True)
    gan.fit(ds, epochs=1, verbose=0)
    return [w.numpy() for w in gan.weights] + [v.numpy() for v in gan.d_optimizer.variables]


@pytest.mark.parametrize("cls,single_kw,mirrored_kw", [
    (MixGAN, {"method": "srmix", "mix_prob": 0.5}, None),
    # one replica sees 8 of the 16 samples: a single device permutes in groups of 8
    (AdaptiveMixGAN, {"group_size": 8}, {"group_size": None}),
    (AdaptiveMixGAN, {"variant": "official", "group_size": 8}, {"variant": "official", "group_size": 8}),
])
def test_mirrored_step_equals_single_device_step(cls, single_kw, mirrored_kw):
    cpus = tf.config.list_logical_devices("CPU")
    assert len(cpus) >= 2, "conftest.py must create 2 logical CPUs before TensorFlow starts"
    x = points(16, seed=5, dim=6)
    single = _mirror_weights(tf.distribute.OneDeviceStrategy("CPU:0"), cls, single_kw, x)
    mirrored = _mirror_weights(tf.distribute.MirroredStrategy([c.name for c in cpus[:2]]), cls,
                               mirrored_kw or single_kw, x)
    assert len(single) == len(mirrored)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_is_named():
    G, D = tiny_mlp_gan_nets()
    for p in (1.5, -0.1, "half"):
        with pytest.raises(ValueError, match="mix_prob"):
            MixGAN(G, D, mix_prob=p)
    for a in (0, -1.0, float("inf")):
        with pytest.raises(ValueError, match=r"alpha.*> 0"):
            MixGAN(G, D, alpha=a)
        with pytest.raises(ValueError, match="alpha"):
            AdaptiveMixGAN(G, D, alpha=a)
        with pytest.raises(ValueError, match="alpha"):
            Mixup(alpha=a)
    with pytest.raises(ValueError, match="method.*'mixup'.*received method='mixdown'"):
        MixGAN(G, D, method="mixdown")
    with pytest.raises(ValueError, match="sigma"):
        SRMix(sigma=0)
    with pytest.raises(ValueError, match="sigma"):
        MixGAN(G, D, method="mixup", sigma=-1)
    with pytest.raises(ValueError, match="variant"):
        AdaptiveMixGAN(G, D, variant="unofficial")
    # discriminators without a features output
    x = keras.Input((2,))
    for D_bad in (keras.Model(x, keras.layers.Dense(1)(x)), keras.Model(x, {"logit": keras.layers.Dense(1)(x)})):
        with pytest.raises(ValueError, match="'features' output"):
            AdaptiveMixGAN(G, D_bad)
    with pytest.raises(ValueError, match="no layer named head='head'"):
        AdaptiveMixGAN(G, D, variant="official")
    with pytest.raises(ValueError, match="mix_fakes=False"):
        AdaptiveMixGAN(*kgan.nets.build("mlp"), variant="official", mix_fakes=False)
    with pytest.raises(ValueError, match=r"same shape.*\(4, 8, 8, 3\).*\(4, 8, 8, 1\)"):
        CutMix()(np.zeros((4, 8, 8, 3), "float32"), np.zeros((4, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="group_size.*divide"):
        AdaptiveMix(group_size=3).permutation(np.zeros(8, "float32"))
