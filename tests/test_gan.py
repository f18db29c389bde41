"""The base GAN: training, EMA, penalties, save/load, bad input, MirroredStrategy equivalence."""
import numpy as np
import pytest
import tensorflow as tf
import keras

import kgan
from kgan.models import GAN
from conftest import tiny_mlp_gan_nets


def points(n=64, seed=0, labels=False, num_classes=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    if labels:
        return x, rng.integers(0, num_classes, n).astype("int32")
    return x


def make_gan(num_classes=None, seed=0, **kw):
    G, D = tiny_mlp_gan_nets(num_classes=num_classes, seed=seed)
    return GAN(G, D, num_classes=num_classes, seed=seed, **kw)


def compile_gan(gan, **kw):
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3), **kw)
    return gan


@pytest.mark.parametrize("loss", sorted(kgan.losses.LOSSES))
def test_fit_runs_for_every_loss_and_logs_terms(loss):
    gan = compile_gan(make_gan(), loss=loss)
    w0 = [w.copy() for w in gan.generator.get_weights()]
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(points(64)).batch(16), epochs=1, verbose=0)
    assert set(hist.history) == {"d_loss", "g_loss", "d_adv", "g_adv"}
    assert all(np.isfinite(v[-1]) for v in hist.history.values())
    assert any(not np.allclose(a, b) for a, b in zip(w0, gan.generator.get_weights()))
    assert int(gan.step_counter.numpy()) == 4


def test_penalties_and_d_steps():
    gan = compile_gan(make_gan(), loss="wasserstein", gp_weight=10.0, r1_weight=1.0, d_steps=2)
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(points(64)).batch(32), epochs=1, verbose=0)
    assert {"d_gp", "d_r1"} <= set(hist.history)
    assert gan.d_optimizer.iterations.numpy() == 4 and gan.g_optimizer.iterations.numpy() == 2


def test_ema_copies_before_start_then_averages():
    gan = compile_gan(make_gan(ema_decay=0.9, ema_start=2, ema_rampup=None))
    ds = tf.data.Dataset.from_tensor_slices(points(32)).batch(16)
    gan.fit(ds, epochs=1, verbose=0)  # steps 0 and 1: before start, EMA == G
    for e, w in zip(gan.generator_ema.get_weights(), gan.generator.get_weights()):
        np.testing.assert_allclose(e, w)
    before = [w.copy() for w in gan.generator_ema.get_weights()]
    gan.fit(ds.take(1), epochs=1, verbose=0)
    after, g = gan.generator_ema.get_weights(), gan.generator.get_weights()
    np.testing.assert_allclose(after[0], 0.9 * before[0] + 0.1 * g[0], rtol=1e-5, atol=1e-7)


def test_ema_rampup_caps_the_half_life_at_a_fraction_of_the_steps_done():
    gan = make_gan(ema_decay=0.999, ema_rampup=0.05)
    decay = lambda step: float(gan.ema_decay_at(step).numpy())  # noqa: E731
    # half-life <= 0.05 * t steps: 0.5 ** (1 / (0.05 t)), capped by ema_decay (half-life 693 steps)
    for t in (1, 20, 100, 2000):
        assert decay(t - 1) == pytest.approx(min(0.999, 0.5 ** (1 / (0.05 * t))), rel=1e-6)
    assert decay(1999) == pytest.approx(0.5 ** (1 / 100))  # a 2k-step run averages its last ~100 steps
    assert decay(99_999) == pytest.approx(0.999)  # a long run: the ema_decay horizon
    late = make_gan(ema_decay=0.999, ema_start=1000, ema_rampup=0.05)
    assert float(late.ema_decay_at(999).numpy()) == 0.0  # a copy before ema_start
    assert float(late.ema_decay_at(1000).numpy()) == pytest.approx(0.5 ** (1 / 0.05))  # ramp from the start
    assert make_gan(ema_rampup=None).ema_decay_at(5).numpy() == pytest.approx(0.999)
    with pytest.raises(ValueError, match=r"ema_rampup.*received ema_rampup=0"):
        make_gan(ema_rampup=0)
    restored = GAN.from_config(make_gan(ema_rampup=0.1).get_config())
    assert restored.ema_rampup == 0.1


def test_generate_is_deterministic_and_uses_ema():
    gan = compile_gan(make_gan(ema_decay=0.5))
    a, b = gan.generate(10, seed=3), gan.generate(10, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10, 2)


def test_conditional_gan_trains_and_validates_labels():
    gan = compile_gan(make_gan(num_classes=3))
    x, y = points(32, labels=True)
    gan.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0)
    assert gan.generate(6, labels=[0, 1, 2, 0, 1, 2]).shape == (6, 2)
    with pytest.raises(ValueError, match="without labels"):
        gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be in \[0, num_classes=3\)"):
        gan.fit(tf.data.Dataset.from_tensor_slices((x, y + 5)).batch(16), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels.*\[0, 3\)"):
        gan.generate(2, labels=[0, 7])


def test_save_load_round_trip_restores_g_d_ema_and_optimizers(tmp_path):
    gan = compile_gan(make_gan(ema_decay=0.9), loss="hinge", d_steps=2, r1_weight=0.5)
    gan.fit(tf.data.Dataset.from_tensor_slices(points(64)).batch(32), epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is GAN and loaded.d_steps == 2 and loaded.r1_weight == 0.5
    assert loaded.loss_fn.name == gan.loss_fn.name
    for net in ("generator", "discriminator", "generator_ema"):
        for a, b in zip(getattr(gan, net).get_weights(), getattr(loaded, net).get_weights()):
            np.testing.assert_array_equal(a, b)
    for opt in ("d_optimizer", "g_optimizer"):
        src, dst = getattr(gan, opt).variables, getattr(loaded, opt).variables
        assert len(src) == len(dst) > 2
        for a, b in zip(src, dst):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.step_counter.numpy()) == int(gan.step_counter.numpy())
    np.testing.assert_array_equal(loaded.generate(5), gan.generate(5))
    # training continues after loading
    loaded.fit(tf.data.Dataset.from_tensor_slices(points(64)).batch(32), epochs=1, verbose=0)


def test_bad_input_is_named():
    G, D = tiny_mlp_gan_nets()
    x = keras.Input((3,))
    D3 = keras.Model(x, keras.layers.Dense(1)(x))
    with pytest.raises(ValueError, match=r"output shape \(2,\) does not match.*\(3,\)"):
        GAN(G, D3)
    with pytest.raises(ValueError, match="num_classes=4 needs 2"):
        GAN(G, D, num_classes=4)
    with pytest.raises(TypeError, match="generator"):
        GAN("G", D)
    gan = make_gan()
    with pytest.raises(TypeError, match="d_optimizer"):
        gan.compile(d_optimizer="adam", g_optimizer=keras.optimizers.Adam())
    with pytest.raises(ValueError, match="d_steps.*received d_steps=0"):
        gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam(), d_steps=0)
    with pytest.raises(ValueError, match="gp_weight"):
        gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam(), gp_weight=-1)
    with pytest.raises(ValueError, match="ema_decay"):
        make_gan(ema_decay=1.5)


def _one_step_weights(strategy, x, loss="hinge", **compile_kw):
    with strategy.scope():
        gan = make_gan(seed=0, ema_decay=0.9)
        compile_gan(gan, loss=loss, **compile_kw)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(len(x), drop_remainder=True)
    gan.fit(ds, epochs=1, verbose=0)
    return [w.numpy() for w in gan.weights] + [v.numpy() for v in gan.d_optimizer.variables]


@pytest.mark.parametrize("compile_kw", [{}, {"gp_weight": 5.0, "loss": "wasserstein"}])
def test_mirrored_step_equals_single_device_step(compile_kw):
    cpus = tf.config.list_logical_devices("CPU")
    assert len(cpus) >= 2, "conftest.py must create 2 logical CPUs before TensorFlow starts"
    x = points(16, seed=5)
    single = _one_step_weights(tf.distribute.OneDeviceStrategy("CPU:0"), x, **compile_kw)
    mirrored = _one_step_weights(tf.distribute.MirroredStrategy([c.name for c in cpus[:2]]), x, **compile_kw)
    assert len(single) == len(mirrored)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_shared_model_helpers():
    from kgan.models.gan import (deserialize_nested, discriminator_outputs, input_shapes, unwrap_loss_scale,
                                 wrap_loss_scale)

    D = kgan.nets.mlp_discriminator()
    assert sorted(discriminator_outputs(D)) == ["features", "logit", "pooled"]
    x = keras.Input((2,))
    assert discriminator_outputs(keras.Model(x, keras.layers.Dense(1)(x))).shape == (None, 1)

    class Sub(keras.Model):
        def call(self, x):
            return x

    assert discriminator_outputs(Sub()) is None
    assert input_shapes(D) == [(None, 2)]

    opt = keras.optimizers.Adam(1e-3)
    assert wrap_loss_scale(opt) is opt and unwrap_loss_scale(opt) is opt
    keras.mixed_precision.set_dtype_policy("mixed_float16")  # the conftest fixture resets it
    wrapped = wrap_loss_scale(opt)
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer) and unwrap_loss_scale(wrapped) is opt
    assert wrap_loss_scale(wrapped) is wrapped

    config = {"opt": keras.saving.serialize_keras_object(opt), "n": 3, "plain": {"a": 1}, "loss": "hinge"}
    out = deserialize_nested(config)
    assert isinstance(out["opt"], keras.optimizers.Adam) and out["n"] == 3 and out["plain"] == {"a": 1}
    assert out["loss"] == "hinge" and isinstance(config["opt"], dict)  # the input is not modified
