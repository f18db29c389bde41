"""Mode-regularised GAN and MDGAN: regularisers, lambda = 0 equivalence, gradients to E and G,
two-step MDGAN training, save/load, MirroredStrategy equivalence, bad input."""
import numpy as np
import pytest
import tensorflow as tf
import keras

import kgan
from kgan.losses import GeometricRegularizer, ModeRegularizer
from kgan.models import GAN, MDGAN, RegularizedGAN
from conftest import tiny_mlp_gan_nets

LATENT = 8


def points(n=32, seed=0, labels=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    return (x, rng.integers(0, 3, n).astype("int32")) if labels else x


def tiny_encoder(latent_dim=LATENT, data_dim=2, seed=1, name="encoder"):
    keras.utils.set_random_seed(seed)
    x = keras.Input((data_dim,), name="x")
    h = keras.layers.Dense(16, activation="tanh")(x)
    return keras.Model(x, keras.layers.Dense(latent_dim)(h), name=name)


def tiny_d(seed=2, name="d2"):
    keras.utils.set_random_seed(seed)
    x = keras.Input((2,), name="x")
    h = keras.layers.Dense(16, activation="tanh")(x)
    return keras.Model(x, {"logit": keras.layers.Dense(1)(h), "features": h}, name=name)


def make_reg(lambda1=0.5, lambda2=0.5, seed=0, num_classes=None, **kw):
    G, D = tiny_mlp_gan_nets(latent_dim=LATENT, num_classes=num_classes, seed=seed)
    return RegularizedGAN(G, D, tiny_encoder(), lambda1=lambda1, lambda2=lambda2, seed=seed,
                          num_classes=num_classes, **kw)


def make_md(seed=0, **kw):
    G, D = tiny_mlp_gan_nets(latent_dim=LATENT, seed=seed)
    return MDGAN(G, D, tiny_encoder(), tiny_d(), seed=seed, **kw)


def adam():
    return keras.optimizers.Adam(1e-2)


def compile_all(gan, **kw):
    """Compile with fresh optimizers; eager unless a test asks for graph mode
    (tracing dominates these one-step tests; the MirroredStrategy and save/load tests run graphs)."""
    kw.setdefault("run_eagerly", True)
    extra = {"d2_optimizer": adam()} if isinstance(gan, MDGAN) else {}
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), **extra, **kw)
    return gan


def one_batch(x):
    return tf.data.Dataset.from_tensor_slices(x).batch(len(x) if not isinstance(x, tuple) else len(x[0]),
                                                        drop_remainder=True)


# ---------------------------------------------------------------- the losses
def test_geometric_regularizer_values_and_zero_at_identity():
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 3, 3, 2)), tf.float32)
    l2 = GeometricRegularizer(weight=0.5)
    np.testing.assert_array_equal(l2.call(x, x).numpy(), np.zeros(4, "float32"))
    expected = 0.5 * np.mean(np.square(x.numpy() - 1.0).reshape(4, -1), axis=1)
    np.testing.assert_allclose(l2.call(x, tf.ones_like(x)).numpy(), expected, rtol=1e-6)
    l1 = GeometricRegularizer("l1", weight=2.0)
    np.testing.assert_allclose(l1.call(x, tf.zeros_like(x)).numpy(),
                               2.0 * np.mean(np.abs(x.numpy()).reshape(4, -1), axis=1), rtol=1e-6)
    cfg = l1.get_config()
    assert GeometricRegularizer.from_config(cfg).get_config() == cfg


def test_mode_regularizer_is_the_realism_term():
    d = tf.constant([[-2.0], [0.0], [3.0]])
    reg = ModeRegularizer(weight=0.4)  # -log D(G(E(x))) = softplus(-d)
    np.testing.assert_allclose(reg.call(None, d).numpy(), 0.4 * np.log1p(np.exp(-d.numpy())), rtol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(d)
        value = tf.reduce_sum(reg.call(None, d))
    # minimising it raises D's logit of the reconstruction (towards "real"), the paper's intent
    assert np.all(tape.gradient(value, d).numpy() < 0)
    np.testing.assert_allclose(ModeRegularizer("hinge").call(None, d).numpy(), -d.numpy())
    cfg = ModeRegularizer("hinge", weight=2.0).get_config()
    again = ModeRegularizer.from_config(cfg)
    assert isinstance(again.adversarial, kgan.losses.Hinge) and again.weight == 2.0


def test_loss_bad_input():
    with pytest.raises(ValueError, match=r"weight.*received weight=-1"):
        GeometricRegularizer(weight=-1)
    with pytest.raises(ValueError, match=r"distance.*received distance='l3'"):
        GeometricRegularizer("l3")
    with pytest.raises(ValueError, match=r"weight"):
        ModeRegularizer(weight=float("nan"))
    with pytest.raises(ValueError, match=r"loss.*received loss='nope'"):
        ModeRegularizer("nope")


# ---------------------------------------------------------------- RegularizedGAN
def test_lambdas_zero_generator_update_equals_base_gan():
    x = points(32, seed=3)
    G, D = tiny_mlp_gan_nets(latent_dim=LATENT, seed=0)
    G2, D2 = keras.models.clone_model(G), keras.models.clone_model(D)
    G2.set_weights(G.get_weights())
    D2.set_weights(D.get_weights())
    base = GAN(G, D, seed=7, ema_decay=None)
    reg = RegularizedGAN(G2, D2, tiny_encoder(), lambda1=0.0, lambda2=0.0, seed=7, ema_decay=None)
    base.compile(d_optimizer=adam(), g_optimizer=adam(), run_eagerly=True)
    compile_all(reg)
    assert reg.loss_names() == base.loss_names()
    e0 = [w.copy() for w in reg.encoder.get_weights()]
    base.fit(one_batch(x), epochs=1, verbose=0)
    reg.fit(one_batch(x), epochs=1, verbose=0)
    for a, b in zip(base.generator.get_weights(), reg.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(base.discriminator.get_weights(), reg.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(e0, reg.encoder.get_weights()):  # E has nothing to learn from
        np.testing.assert_array_equal(a, b)

    # the same comparison with a regulariser switched on must differ (the check can fail)
    G3, D3 = keras.models.clone_model(G), keras.models.clone_model(D)
    G3.set_weights(reg.generator.get_weights())  # any weights: compare against a fresh base step
    G4, D4 = keras.models.clone_model(G), keras.models.clone_model(D)
    G4.set_weights(G3.get_weights())
    D3.set_weights(D.get_weights())
    D4.set_weights(D.get_weights())
    base2 = GAN(G3, D3, seed=7, ema_decay=None)
    on = RegularizedGAN(G4, D4, tiny_encoder(), lambda1=1.0, lambda2=0.0, seed=7, ema_decay=None)
    base2.compile(d_optimizer=adam(), g_optimizer=adam(), run_eagerly=True)
    compile_all(on)
    base2.fit(one_batch(x), epochs=1, verbose=0)
    on.fit(one_batch(x), epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(base2.generator.get_weights(),
                                                         on.generator.get_weights()))


def test_geometric_term_zero_at_identity_and_gradients_reach_encoder_and_generator():
    # G and E linear identities: G(E(x)) = x exactly
    z = keras.Input((2,))
    G = keras.Model(z, keras.layers.Dense(2, kernel_initializer="identity")(z))
    x_in = keras.Input((2,))
    E = keras.Model(x_in, keras.layers.Dense(2, kernel_initializer="identity")(x_in))
    _, D = tiny_mlp_gan_nets(latent_dim=2)
    gan = compile_all(RegularizedGAN(G, D, E, lambda1=1.0, lambda2=0.0, ema_decay=None))
    x = tf.constant(points(16))
    np.testing.assert_allclose(gan.reconstruct(x.numpy()), x.numpy(), atol=1e-6)
    assert float(gan.regularizer_terms(x, None)["g_geometric"]) == 0.0

    # perturb both maps: the term is positive and its gradient reaches E and G
    E.set_weights([E.get_weights()[0] * 1.5, E.get_weights()[1] + 0.1])
    G.set_weights([G.get_weights()[0] * 0.5, G.get_weights()[1]])
    with tf.GradientTape() as tape:
        value = gan.regularizer_terms(x, None)["g_geometric"]
    assert float(value) > 0
    grads = tape.gradient(value, E.trainable_variables + G.trainable_variables)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    e0, g0 = E.get_weights(), G.get_weights()
    gan.fit(one_batch(x.numpy()), epochs=1, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(e0, E.get_weights()))
    assert all(not np.allclose(a, b) for a, b in zip(g0, G.get_weights()))
    assert int(gan.e_optimizer.iterations.numpy()) == 1


def test_feature_distance_mode_term_and_logged_terms():
    gan = compile_all(make_reg(geometric="features", lambda1=0.3, lambda2=0.7), loss="hinge")
    hist = gan.fit(one_batch(points(32)), epochs=1, verbose=0).history
    assert set(hist) == {"d_loss", "d_adv", "g_loss", "g_adv", "g_geometric", "g_mode", "e_loss"}
    np.testing.assert_allclose(hist["e_loss"][0], hist["g_geometric"][0] + hist["g_mode"][0], rtol=1e-5)
    np.testing.assert_allclose(hist["g_loss"][0], hist["g_adv"][0] + hist["e_loss"][0], rtol=1e-5)
    # mode_loss=None follows the compiled loss: hinge's g is -d
    assert isinstance(gan.mode_regularizer.adversarial, kgan.losses.Hinge)
    x = tf.constant(points(8))
    feats = gan.discriminator(x)["features"]
    feats_rec = gan.discriminator(gan.reconstruct_images(x, None, training=True))["features"]
    manual = 0.3 * np.mean(np.square(feats.numpy() - feats_rec.numpy()))
    np.testing.assert_allclose(float(gan.regularizer_terms(x, None)["g_geometric"]), manual, rtol=1e-4)


def test_conditional_regularized_gan_and_d_steps():
    gan = compile_all(make_reg(num_classes=3), d_steps=2, r1_weight=1.0)
    x, y = points(32, labels=True)
    gan.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0)
    assert gan.d_optimizer.iterations.numpy() == 4 and gan.e_optimizer.iterations.numpy() == 2
    assert gan.reconstruct(x[:5], labels=y[:5]).shape == (5, 2)


# ---------------------------------------------------------------- MDGAN
def test_mdgan_two_steps_update_every_network():
    gan = compile_all(make_md(ema_decay=None), d_steps=2, loss="wasserstein", gp_weight=1.0)
    nets = {n: [w.copy() for w in getattr(gan, n).get_weights()]
            for n in ("generator", "discriminator", "diffusion_discriminator", "encoder")}
    hist = gan.fit(one_batch(points(32)), epochs=1, verbose=0).history
    assert set(hist) == {"d_loss", "d_adv", "d_gp", "m_loss", "m_geometric", "m_mode",
                         "d2_loss", "d2_adv", "d2_gp", "g_loss", "g_adv"}
    for n, before in nets.items():
        assert any(not np.allclose(a, b) for a, b in zip(before, getattr(gan, n).get_weights())), n
    assert gan.d_optimizer.iterations.numpy() == 2 and gan.d2_optimizer.iterations.numpy() == 2
    assert gan.g_optimizer.iterations.numpy() == 2 and gan.e_optimizer.iterations.numpy() == 1


def test_mdgan_discriminators_see_the_right_samples():
    gan = compile_all(make_md(), loss="non_saturating")
    x = tf.constant(points(16))
    batch = kgan.models.Batch(x, None, tf.constant(np.random.default_rng(1).normal(size=(16, LATENT)),
                                                   tf.float32), None, 0)
    x_rec = gan.reconstruct_images(x, None)
    x_fake = gan.generator(batch.z, training=True)
    sp = lambda t: np.log1p(np.exp(t))
    # D1: x real, G(E(x)) fake
    d1_real, d1_fake = gan.discriminator(x)["logit"].numpy(), gan.discriminator(x_rec)["logit"].numpy()
    np.testing.assert_allclose(float(gan.d_losses(batch)["d_adv"]),
                               sp(-d1_real).mean() + sp(d1_fake).mean(), rtol=1e-5)
    # D2: G(E(x)) real, G(z) fake
    d2 = gan.diffusion_discriminator
    np.testing.assert_allclose(float(gan.d2_losses(batch)["d2_adv"]),
                               sp(-d2(x_rec)["logit"].numpy()).mean() + sp(d2(x_fake)["logit"].numpy()).mean(),
                               rtol=1e-5)
    # diffusion G step: -log D2(G(z))
    np.testing.assert_allclose(float(gan.g_losses(batch)["g_adv"]), sp(-d2(x_fake)["logit"].numpy()).mean(),
                               rtol=1e-5)


# ---------------------------------------------------------------- save / load
@pytest.mark.parametrize("kind", ["regularized", "mdgan"])
def test_save_load_round_trip_restores_all_networks_and_optimizers(tmp_path, kind):
    if kind == "regularized":
        gan = compile_all(make_reg(lambda1=0.3, lambda2=0.2, geometric="features", distance="l1",
                                   mode_loss="least_squares", ema_decay=0.9), loss="hinge", d_steps=2)
        nets, opts = ("generator", "discriminator", "encoder", "generator_ema"), ("d", "g", "e")
    else:
        gan = compile_all(make_md(lambda1=0.3, lambda2=0.6, ema_decay=0.9), loss="hinge", r1_weight=0.5)
        nets = ("generator", "discriminator", "encoder", "diffusion_discriminator", "generator_ema")
        opts = ("d", "g", "e", "d2")
    ds = tf.data.Dataset.from_tensor_slices(points(64)).batch(32)
    gan.fit(ds, epochs=1, verbose=0)
    path = str(tmp_path / f"{kind}.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(gan)
    for attr in ("lambda1", "lambda2", "geometric", "distance", "mode_loss", "d_steps", "r1_weight"):
        assert getattr(loaded, attr) == getattr(gan, attr), attr
    assert type(loaded.loss_fn) is type(gan.loss_fn)
    assert type(loaded.mode_regularizer.adversarial) is type(gan.mode_regularizer.adversarial)
    for net in nets:
        for a, b in zip(getattr(gan, net).get_weights(), getattr(loaded, net).get_weights()):
            np.testing.assert_array_equal(a, b)
    for opt in opts:
        src, dst = getattr(gan, f"{opt}_optimizer").variables, getattr(loaded, f"{opt}_optimizer").variables
        assert len(src) == len(dst) > 2, opt
        assert int(getattr(loaded, f"{opt}_optimizer").iterations.numpy()) > 0, opt
        for a, b in zip(src, dst):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.step_counter.numpy()) == int(gan.step_counter.numpy())
    np.testing.assert_array_equal(loaded.reconstruct(points(4)), gan.reconstruct(points(4)))
    loaded.run_eagerly = True  # training continues after loading (graph mode: the mirrored tests)
    loaded.fit(ds, epochs=1, verbose=0)


# ---------------------------------------------------------------- MirroredStrategy
def _one_step(strategy, kind, x):
    with strategy.scope():
        if kind == "regularized":
            gan = make_reg(lambda1=0.5, lambda2=0.5, ema_decay=0.9)
            opts = ("d", "g", "e")
        else:
            gan = make_md(ema_decay=0.9)
            opts = ("d", "g", "e", "d2")
        compile_all(gan, loss="hinge", r1_weight=1.0, run_eagerly=False)
    gan.fit(one_batch(x), epochs=1, verbose=0)
    out = [w.numpy() for w in gan.weights]
    for o in opts:
        out += [v.numpy() for v in getattr(gan, f"{o}_optimizer").variables]
    return out


@pytest.mark.parametrize("kind", ["regularized", "mdgan"])
def test_mirrored_step_equals_single_device_step(kind):
    cpus = tf.config.list_logical_devices("CPU")
    assert len(cpus) >= 2, "conftest.py must create 2 logical CPUs before TensorFlow starts"
    x = points(16, seed=5)
    single = _one_step(tf.distribute.OneDeviceStrategy("CPU:0"), kind, x)
    mirrored = _one_step(tf.distribute.MirroredStrategy([c.name for c in cpus[:2]]), kind, x)
    assert len(single) == len(mirrored)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- bad input
def test_bad_input_is_named():
    G, D = tiny_mlp_gan_nets(latent_dim=LATENT)
    with pytest.raises(ValueError, match=r"encoder's output shape \(3,\) does not match the generator's "
                                         r"latent shape \(8,\)"):
        RegularizedGAN(G, D, tiny_encoder(latent_dim=3))
    with pytest.raises(ValueError, match=r"encoder's input shape.*\(5,\).*\(2,\)"):
        RegularizedGAN(G, D, tiny_encoder(data_dim=5))
    with pytest.raises(ValueError, match="encoder.*required"):
        RegularizedGAN(G, D)
    with pytest.raises(TypeError, match="encoder"):
        RegularizedGAN(G, D, "E")
    with pytest.raises(ValueError, match=r"lambda1.*received lambda1=-0.1"):
        RegularizedGAN(G, D, tiny_encoder(), lambda1=-0.1)
    with pytest.raises(ValueError, match=r"lambda2.*received lambda2=-1"):
        MDGAN(G, D, tiny_encoder(), tiny_d(), lambda2=-1)
    with pytest.raises(ValueError, match=r"geometric.*received geometric='pixels'"):
        RegularizedGAN(G, D, tiny_encoder(), geometric="pixels")
    with pytest.raises(ValueError, match=r"'pooled'.*returns \['features', 'logit'\]"):
        RegularizedGAN(G, D, tiny_encoder(), geometric="features", feature_key="pooled")
    with pytest.raises(ValueError, match=r"loss.*received loss='bce'"):
        RegularizedGAN(G, D, tiny_encoder(), mode_loss="bce")
    with pytest.raises(ValueError, match=r"second discriminator.*diffusion_discriminator=None"):
        MDGAN(G, D, tiny_encoder())
    with pytest.raises(ValueError, match="different model"):
        MDGAN(G, D, tiny_encoder(), D)
    x = keras.Input((3,))
    D3 = keras.Model(x, keras.layers.Dense(1)(x))
    with pytest.raises(ValueError, match=r"diffusion discriminator's input shape.*\(3,\)"):
        MDGAN(G, D, tiny_encoder(), D3)
    gan = make_reg()
    g_opt = adam()
    with pytest.raises(ValueError, match="e_optimizer.*own optimizer"):
        gan.compile(d_optimizer=adam(), g_optimizer=g_opt, e_optimizer=g_opt)
    with pytest.raises(TypeError, match=r"e_optimizer.*received e_optimizer='adam'"):
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer="adam")
    gan = make_reg()
    gan.compile(d_optimizer=adam(), g_optimizer=adam())  # e_optimizer defaults to a copy of G's
    assert gan.e_optimizer is not gan.g_optimizer
    assert gan.e_optimizer.get_config() == gan.g_optimizer.get_config()
    with pytest.raises(ValueError, match=r"shape \(N, \*\(2,\)\)"):
        gan.reconstruct(np.zeros((2, 3)))


def test_kgan_nets_encoders_fit_their_generators():
    for arch, args in (("mlp", {}), ("dcgan", {"size": 8, "channels": 3, "width": 4})):
        G, D, E = kgan.nets.build(arch, encoder=True, latent_dim=16, **args)
        gan = RegularizedGAN(G, D, E)
        assert gan.latent_dim == 16


def test_table_rows_build_the_compared_models():
    from kgan.run import RunConfig, load_recipe

    expected = {"gan": GAN, "regan": RegularizedGAN, "mdgan": MDGAN}
    for kind, cls in expected.items():
        gan = load_recipe(f"stacked_digits_{kind}").build(RunConfig(recipe="t"))
        assert type(gan) is cls and gan.data_shape == (8, 8, 3)
    for name, cls in (("grid25_mdgan", MDGAN), ("ring8_mdgan", MDGAN), ("grid25_regan", RegularizedGAN)):
        gan = load_recipe(name).build(RunConfig(recipe="t", extra={"lambda1": "0.5"}))
        assert type(gan) is cls and gan.latent_dim == 256 and gan.lambda1 == 0.5
        # the protocol's optimisers: one Adam(1e-3) per network (VEEGAN's 2D code)
        assert float(gan.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
        assert float(gan.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-3)


def _seed_mnist_classifier_cache(cache):
    """An untrained MNIST domain classifier in a fresh kgan cache (tfds' mock_data digits are random
    images with random labels, so no classifier can be trained on them to the 98% floor)."""
    import json
    import os

    from kgan.metrics import features

    directory = os.path.join(cache, "classifiers")
    os.makedirs(directory)
    model_file = f"mnist.v{features._CLASSIFIER_VERSION}.untrained.keras"
    features._build_cnn((28, 28, 1), 10, seed=0).save(os.path.join(directory, model_file))
    with open(os.path.join(directory, f"mnist.v{features._CLASSIFIER_VERSION}.json"), "w") as fh:
        json.dump({"dataset": "mnist", "model_file": model_file, "test_accuracy": None}, fh)


def test_stacked_mnist_recipe_runs_end_to_end(tmp_path, monkeypatch):
    """The internet recipe, offline: tfds' mock_data stands in for MNIST; tiny nets, 2 steps,
    mode counting on 64 samples with the per-channel (stacked_mnist -> mnist) domain classifier."""
    import json

    import tensorflow_datasets as tfds

    from kgan.data import clear_cache
    from kgan.metrics.features import DomainClassifier, StackedDomainClassifier
    from kgan.run import train

    monkeypatch.setenv("KGAN_OFFLINE", "1")
    monkeypatch.setenv("KGAN_CACHE", str(tmp_path / "cache"))
    _seed_mnist_classifier_cache(str(tmp_path / "cache"))
    clf = DomainClassifier.for_dataset("stacked_mnist", verbose=0)
    assert isinstance(clf, StackedDomainClassifier) and clf.input_shape == (28, 28, 3)
    assert clf.num_classes == 1000 and clf.base.dataset == "mnist"
    logdir = tmp_path / "run"
    flags = ["--steps", "2", "--steps-per-epoch", "2", "--batch-size", "8", "--logdir", str(logdir),
             "--no-samples", "--no-backup", "--set", "width=4", "--set", "eval_samples=64"]
    with pytest.raises(ValueError, match=r"option eval_samples=-1 is not valid"):
        train("stacked_mnist_mdgan", flags + ["--set", "eval_samples=-1"])  # before any training
    assert not logdir.exists()
    try:
        with tfds.testing.mock_data(num_examples=16):
            report = train("stacked_mnist_mdgan", flags)
    finally:
        clear_cache()  # mock digits must not stay cached for other tests
    assert report["dataset"] == "stacked_mnist" and report["model"] == "MDGAN" and report["steps"] == 2
    assert report["settings"]["options"]["eval_samples"] == 64
    assert 1 <= report["modes"] <= 64 and report["kl"] >= np.log(1000 / 64) - 1e-6
    saved = json.loads((logdir / "report.json").read_text())
    assert saved["modes"] == report["modes"]
    gan = keras.saving.load_model(logdir / "model.keras")
    assert type(gan) is MDGAN and gan.data_shape == (28, 28, 3)
