"""Conditional GANs: D2D-CE (both variants, mask, margins), classifier CE, ACGAN / ProjGAN /
ReACGAN training, gradient-norm logging, save/load, bad input, MirroredStrategy equivalence."""
import math

import numpy as np
import pytest
import tensorflow as tf
import keras

import kgan
from kgan.losses import D2DCE, ClassifierCrossEntropy
from kgan.models import ACGAN, ProjGAN, ReACGAN

K = 3  # classes in the model tests


@pytest.fixture(autouse=True, scope="module")
def _fast_graphs():
    """Grappler's rewrites cost ~1/3 of these tests' time (all tracing, tiny nets): off here."""
    old = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    yield
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": old.get("disable_meta_optimizer", False)})
HEADS = {ACGAN: "classifier", ProjGAN: "projection", ReACGAN: "hypersphere"}


# --------------------------------------------------------------------------- reference
def d2dce_by_hand(f, v, y, m_p=0.98, m_n=None, t=0.5, variant="exact"):
    """Literal loops over the formula in docs/conditional.md / StudioGAN's code."""
    m_n = 1.0 - m_p if m_n is None else m_n
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    out = []
    for i in range(len(f)):
        pos = max(0.0, (m_p - float(f[i] @ v[i])) / t)
        sims = {j: (float(f[i] @ f[j]) - m_n) / t for j in range(len(f)) if j != i}
        shift = max(sims.values()) if variant == "official" else 0.0
        neg = sum(math.exp(max(0.0, s) - shift) for j, s in sims.items() if y[j] != y[i])
        out.append(pos + math.log(math.exp(-pos) + neg))
    return np.array(out)


def unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


@pytest.mark.parametrize("variant", ["exact", "official"])
@pytest.mark.parametrize("m_p,m_n,t", [(0.98, None, 0.5), (0.9, 0.3, 0.2)])
def test_d2dce_matches_hand_computation(variant, m_p, m_n, t):
    rng = np.random.default_rng(1)
    f, v = unit(rng, 7, 5), unit(rng, 7, 5)
    y = np.array([0, 1, 0, 2, 1, 0, 3])  # shared classes: the false-negative mask matters
    loss = D2DCE(margin_pos=m_p, margin_neg=m_n, temperature=t, variant=variant)
    got = loss.per_sample(f, v, y).numpy()
    np.testing.assert_allclose(got, d2dce_by_hand(f, v, y, m_p, m_n, t, variant), rtol=1e-5, atol=1e-5)
    # the Keras call path reduces with the mean
    np.testing.assert_allclose(float(loss(y, {"embed": f, "proxy": v})), got.mean(), rtol=1e-6)
    # without the mask the value would differ (same-class pairs counted as negatives)
    no_mask = d2dce_by_hand(f, v, np.arange(7), m_p, m_n, t, variant)
    assert not np.allclose(got, no_mask)


def test_d2dce_two_sample_arithmetic():
    # f0 . v0 = 0.6, f0 . f1 = 0.8 (different classes): pos = (0.98-0.6)/0.5 = 0.76,
    # neg = exp(relu((0.8 - 0.02)/0.5)) = exp(1.56); L0 = 0.76 + log(exp(-0.76) + exp(1.56)).
    f = np.array([[1.0, 0.0], [0.8, 0.6]], "float32")
    v = np.array([[0.6, 0.8], [0.8, 0.6]], "float32")
    got = D2DCE().per_sample(f, v, [0, 1]).numpy()
    assert got[0] == pytest.approx(0.76 + math.log(math.exp(-0.76) + math.exp(1.56)), rel=1e-5)
    # official: the row max (1.56) is subtracted from the negative term only
    off = D2DCE(variant="official").per_sample(f, v, [0, 1]).numpy()
    assert off[0] == pytest.approx(0.76 + math.log(math.exp(-0.76) + 1.0), rel=1e-5)


@pytest.mark.parametrize("variant", ["exact", "official"])
def test_d2dce_false_negatives_get_no_gradient_and_single_class_is_finite(variant):
    rng = np.random.default_rng(2)
    f = tf.constant(unit(rng, 6, 4))
    v = tf.constant(unit(rng, 6, 4))
    y = tf.constant([0, 0, 1, 1, 2, 0])
    with tf.GradientTape() as tape:
        tape.watch(f)
        l0 = D2DCE(variant=variant).per_sample(f, v, y)[0]
    g = tape.gradient(l0, f).numpy()
    # L_0 does not depend on the other class-0 samples (1 and 5): masked false negatives
    np.testing.assert_array_equal(g[[1, 5]], 0.0)
    assert np.abs(g[[2, 3, 4]]).sum() > 0
    # every sample in one class: no negatives, L_i = 0 with a finite (zero) gradient
    with tf.GradientTape() as tape:
        tape.watch([f, v])
        loss = tf.reduce_mean(D2DCE(variant=variant).per_sample(f, v, tf.zeros([6], tf.int32)))
    gf, gv = tape.gradient(loss, [f, v])
    assert float(loss) == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.isfinite(gf.numpy())) and np.all(np.isfinite(gv.numpy()))


def test_d2dce_is_stable_at_low_temperature_and_config_round_trips():
    rng = np.random.default_rng(3)
    f, v = unit(rng, 8, 4), unit(rng, 8, 4)
    y = np.arange(8) % 3
    val = D2DCE(temperature=0.01).per_sample(f, v, y).numpy()
    assert np.all(np.isfinite(val))
    np.testing.assert_allclose(val, d2dce_by_hand(f.astype("float64"), v, y, t=0.01), rtol=1e-4)
    loss = D2DCE(margin_pos=0.9, temperature=0.3, variant="official", gather=False)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (again.margin_pos, again.temperature, again.variant, again.gather) == (0.9, 0.3, "official", False)


def test_d2dce_and_classifier_ce_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        D2DCE(temperature=0)
    with pytest.raises(ValueError, match="variant"):
        D2DCE(variant="paper")
    with pytest.raises(ValueError, match="margin_pos"):
        D2DCE(margin_pos=1.5)
    with pytest.raises(ValueError, match="at least 2 samples"):
        D2DCE().per_sample(np.ones((1, 4), "float32"), np.ones((1, 4), "float32"), [0])
    with pytest.raises(ValueError, match="one-hot"):
        D2DCE().per_sample(np.ones((2, 4), "float32"), np.ones((2, 4), "float32"), np.eye(2, dtype="int32"))
    with pytest.raises(ValueError, match="'embed' and 'proxy'"):
        D2DCE()(np.array([0, 1]), {"embed": np.ones((2, 3), "float32")})
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], "float32")
    ce = ClassifierCrossEntropy().per_sample(logits, [0, 2]).numpy()
    ref = [-(2.0 - np.log(np.exp(2) + 1 + np.exp(-1))), np.log(3.0)]
    np.testing.assert_allclose(ce, ref, rtol=1e-5)
    with pytest.raises(TypeError, match="integer"):
        ClassifierCrossEntropy().per_sample(logits, tf.constant([0.0, 1.0]))


def test_d2dce_per_replica_vs_gathered_negatives():
    """gather=True: each replica's rows see all negatives (== single device);
    gather=False: each replica's loss is the loss of its half alone."""
    cpus = tf.config.list_logical_devices("CPU")
    assert len(cpus) >= 2, "conftest.py must create 2 logical CPUs before TensorFlow starts"
    strategy = tf.distribute.MirroredStrategy([c.name for c in cpus[:2]])
    rng = np.random.default_rng(4)
    f, v = unit(rng, 8, 5), unit(rng, 8, 5)
    y = np.array([0, 1, 2, 0, 1, 2, 3, 3], "int32")
    ds = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((f, v, y)).batch(8))
    batch = next(iter(ds))
    for gather in (True, False):
        loss = D2DCE(gather=gather)

        @tf.function
        def step(b):
            return strategy.run(lambda fb, vb, yb: loss.per_sample(fb, vb, yb), args=b)

        got = np.concatenate([t.numpy() for t in strategy.experimental_local_results(step(batch))])
        if gather:
            want = d2dce_by_hand(f, v, y)
        else:
            want = np.concatenate([d2dce_by_hand(f[:4], v[:4], y[:4]), d2dce_by_hand(f[4:], v[4:], y[4:])])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- models
def images(n=16, seed=0, size=8):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, size, size, 1)).astype("float32")
    return x, (np.arange(n) % K).astype("int32")


def bn_free_generator(latent_dim=8):
    """A conditional 8x8 generator without batch norm: BN statistics are per replica under
    MirroredStrategy, so a BN generator cannot give replica-count-invariant steps."""
    z, y = keras.Input((latent_dim,)), keras.Input((), dtype="int32")
    mlp = kgan.nets.mlp_generator(latent_dim, hidden=(16,), activation="relu", out_dim=64, num_classes=K)
    x = keras.layers.Reshape((8, 8, 1))(keras.layers.Activation("tanh")(mlp([z, y])))
    return keras.Model([z, y], x)


def make(cls, seed=0, augment=None, bn=True, **kw):
    keras.utils.set_random_seed(seed)
    G, D = kgan.nets.build("dcgan", 8, 1, num_classes=K, latent_dim=8, width=4, embed_dim=8,
                           d_heads=(HEADS[cls],))
    if not bn:
        G = bn_free_generator()
    return cls(G, D, num_classes=K, seed=seed, ema_decay=0.9, augment=augment, **kw)


def compile_(gan, **kw):
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3, 0.5), g_optimizer=keras.optimizers.Adam(1e-3, 0.5),
                loss="hinge", **kw)
    return gan


def dataset(n=16, batch=8, seed=0):
    return tf.data.Dataset.from_tensor_slices(images(n, seed)).batch(batch, drop_remainder=True)


@pytest.mark.parametrize("cls,kw", [(ACGAN, {}), (ProjGAN, {}),
                                    (ReACGAN, {"d2dce_variant": "official", "classify_fakes": True,
                                               "temperature": 0.3, "cond_lambda": 1.0})])
def test_models_train_log_terms_and_round_trip(cls, kw, tmp_path):
    gan = compile_(make(cls, augment=kgan.layers.DiffAugment(), **kw))
    hist = gan.fit(dataset(), epochs=1, verbose=0)
    names = {"d_loss", "g_loss", "d_adv", "g_adv"}
    if cls is not ProjGAN:
        names |= {"d_cond", "g_cond", "d_cond_grad_norm", "d_cond_feat_grad_norm"}
    if kw.get("classify_fakes"):
        names.add("d_cond_fake")
    assert set(hist.history) == names
    assert all(np.isfinite(v[-1]) for v in hist.history.values())
    if cls is not ProjGAN:
        assert hist.history["d_cond_grad_norm"][-1] > 0 and hist.history["d_cond_feat_grad_norm"][-1] > 0
    path = str(tmp_path / "m.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls and loaded.get_config()["num_classes"] == K
    for key in ("cond_lambda", "classify_fakes", "margin_pos", "temperature", "d2dce_variant"):
        assert loaded.get_config().get(key) == gan.get_config().get(key)
    if cls is ReACGAN:
        assert loaded.cond_loss_fn.variant == "official" and loaded.cond_loss_fn.temperature == 0.3
    assert len(gan.weights) == len(loaded.weights)
    for a, b in zip(gan.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert len(gan.d_optimizer.variables) == len(loaded.d_optimizer.variables) > 2
    for a, b in zip(gan.d_optimizer.variables, loaded.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.augment.counter.numpy()) == int(gan.augment.counter.numpy()) > 0
    labels = np.arange(6) % K
    np.testing.assert_array_equal(loaded.generate(6, labels=labels), gan.generate(6, labels=labels))


def test_hypersphere_outputs_have_unit_norm():
    gan = make(ReACGAN)
    x, y = images(4)
    out = gan.discriminate(x, y, training=False)
    np.testing.assert_allclose(np.linalg.norm(out["embed"], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out["proxy"], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out["labels"], y)


def test_cond_lambda_scales_the_conditional_terms():
    x, y = images(8)
    losses = []
    for lam in (0.5, 2.0):
        gan = make(ACGAN, cond_lambda=lam)
        compile_(gan)
        real = gan.discriminate(x, y, training=False)
        losses.append(float(gan.adversarial_d(real, real)["d_cond"]))
    assert losses[1] == pytest.approx(4 * losses[0], rel=1e-5)


def test_bad_input_is_named():
    G, D = kgan.nets.build("dcgan", 8, 1, num_classes=K, latent_dim=8, width=4, d_heads=("projection",))
    with pytest.raises(ValueError, match=r"needs a discriminator with the output\(s\) \['embed', 'proxy'\]"):
        ReACGAN(G, D, num_classes=K)
    with pytest.raises(ValueError, match=r"\['class_logits'\]"):
        ACGAN(G, D, num_classes=K)
    with pytest.raises(ValueError, match="class-conditional GAN: pass num_classes"):
        ProjGAN(G, D)
    _, D4 = kgan.nets.build("dcgan", 8, 1, num_classes=K + 1, latent_dim=8, width=4, d_heads=("classifier",))
    with pytest.raises(ValueError, match="4 columns but num_classes=3"):
        ACGAN(G, D4, num_classes=K)
    with pytest.raises(ValueError, match="cond_lambda"):
        make(ACGAN, cond_lambda=-1)
    with pytest.raises(ValueError, match="d2dce_variant"):
        make(ReACGAN, d2dce_variant="paper")
    with pytest.raises(ValueError, match="temperature"):
        make(ReACGAN, temperature=0.0)
    gan = compile_(make(ReACGAN))
    x, y = images(8)
    # the checks run inside train_step; called eagerly here (fit would only add tracing time)
    with pytest.raises(ValueError, match="without labels"):
        gan.unpack(x)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be in \[0, num_classes=3\)"):
        gan.unpack((x, y + K))
    with pytest.raises(ValueError, match="at least 2 samples per discriminator update"):
        gan.unpack((x[:1], y[:1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 2 samples per discriminator update"):
        tf.function(gan.unpack, input_signature=[(tf.TensorSpec([None, 8, 8, 1]),
                                                  tf.TensorSpec([None], tf.int32))])((x[:1], y[:1]))
    with pytest.raises(ValueError, match=r"labels.*\[0, 3\)"):
        gan.generate(2, labels=[0, 5])


def _one_step(strategy, cls, **kw):
    with strategy.scope():
        gan = compile_(make(cls, augment=kgan.layers.DiffAugment(), bn=False, **kw))
    gan.fit(dataset(8, 8, seed=3), epochs=1, verbose=0)
    return [np.asarray(w) for w in gan.weights] + [v.numpy() for v in gan.d_optimizer.variables]


@pytest.mark.parametrize("cls,kw", [(ACGAN, {"classify_fakes": True}), (ProjGAN, {}), (ReACGAN, {})])
def test_mirrored_step_equals_single_device_step(cls, kw):
    """One step on 2 logical CPUs == one step on one device (DiffAugment on, ReACGAN's negatives
    gathered across replicas). The generator has no batch norm: BN statistics are per replica."""
    cpus = tf.config.list_logical_devices("CPU")
    assert len(cpus) >= 2, "conftest.py must create 2 logical CPUs before TensorFlow starts"
    single = _one_step(tf.distribute.OneDeviceStrategy("CPU:0"), cls, **kw)
    mirrored = _one_step(tf.distribute.MirroredStrategy([c.name for c in cpus[:2]]), cls, **kw)
    assert len(single) == len(mirrored)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=2e-5)
