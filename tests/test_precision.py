"""Mixed precision (mixed_float16 + LossScaleOptimizer) and XLA (jit_compile) for every
GAN method of the experiment table, built on grid25's protocol by kgan.tuning.build_model (conditional
methods too, with its 25 mode labels): a few steps, finite losses, float32 outputs, .keras save/load,
and the `kgan train` flags end to end."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import tuning

METHODS = tuning.available_methods()
MODES = ["mixed_float16", "jit_compile", "mixed_float16+jit_compile"]


def _build(method, dataset, mode):
    if "mixed_float16" in mode:
        keras.mixed_precision.set_dtype_policy("mixed_float16")
    jit = "jit_compile" in mode
    return tuning.build_model(method, dataset, seed=0, compile_kwargs={"jit_compile": jit})


def _data(model, dataset, batch=32):
    return kgan.data.load(dataset, batch_size=batch * model.d_steps,
                          labels=model.num_classes is not None, seed=0)


def _check_model(model, dataset, mode, tmp_path, steps=2):
    if "mixed_float16" in mode:
        for opt in (model.d_optimizer, model.g_optimizer):
            assert isinstance(opt, keras.optimizers.LossScaleOptimizer), type(opt)
        assert model.generator.layers[-1].compute_dtype == "float32"
        assert any(layer.compute_dtype == "float16" for layer in model.generator.layers)
        assert all(v.dtype == "float32" for v in model.generator.trainable_variables)
    w0 = [w.copy() for w in model.generator.get_weights()]
    hist = model.fit(_data(model, dataset), epochs=1, steps_per_epoch=steps, verbose=0)
    for name, values in hist.history.items():
        assert np.all(np.isfinite(values)), (name, values)
    assert int(model.step_counter.numpy()) == steps
    assert any(not np.allclose(a, b) for a, b in zip(w0, model.generator.get_weights())), \
        "the generator did not change (all updates skipped by the loss scale?)"
    x = model.generate(8)
    assert x.dtype == np.float32 and np.all(np.isfinite(x))
    path = str(tmp_path / f"{type(model).__name__}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(loaded.generate(8), x)
    if "mixed_float16" in mode:
        assert isinstance(loaded.d_optimizer, keras.optimizers.LossScaleOptimizer)
    hist = loaded.fit(_data(loaded, dataset), epochs=1, steps_per_epoch=1, verbose=0)
    assert all(np.all(np.isfinite(v)) for v in hist.history.values())


KNOWN_BUGS = {}  # (method, mode) -> reason, for cases marked xfail(strict=True)
CASES = [pytest.param(m, mode, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(m, mode)]))
         if (m, mode) in KNOWN_BUGS else (m, mode)
         for m in METHODS for mode in MODES[:2]] + [("gan", MODES[2])]


@pytest.mark.parametrize("method, mode", CASES)
def test_every_model_trains_and_round_trips_2d(method, mode, tmp_path):
    """Every registered model (conditional ones with grid25's 25 mode labels) on the VEEGAN MLPs."""
    model = _build(method, "grid25", mode)
    _check_model(model, "grid25", mode, tmp_path)


@pytest.mark.parametrize("mode", ["mixed_float16", "mixed_float16+jit_compile"])
def test_conv_gan_mixed_precision_and_xla_on_images(mode, tmp_path):
    """The DCGAN nets (conv, transposed conv, batch norm) at 8 px on sklearn digits."""
    if "mixed_float16" in mode:
        keras.mixed_precision.set_dtype_policy("mixed_float16")
    G, D = kgan.nets.build("dcgan", 8, 1, latent_dim=16, width=8)
    gan = kgan.models.GAN(G, D, ema_decay=0.9, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
                r1_weight=1.0, jit_compile="jit_compile" in mode)
    out = D(G(tf.zeros((2, 16))))
    assert G.outputs[0].dtype == "float32" and out["logit"].dtype == "float32"
    _check_model(gan, "digits", mode, tmp_path)


def test_loss_scale_skips_an_overflowing_step_and_recovers():
    """LossScaleOptimizer really is in the step: a loss scale that overflows float16
    gradients makes the step skip the update and halve the scale."""
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    gan = tuning.build_model("gan", "grid25", seed=0)
    opt = gan.d_optimizer
    opt.dynamic_scale.assign(2.0 ** 60)  # scaled float16 gradients overflow
    d0 = [w.copy() for w in gan.discriminator.get_weights()]
    gan.fit(_data(gan, "grid25"), epochs=1, steps_per_epoch=1, verbose=0)
    assert float(opt.dynamic_scale.numpy()) < 2.0 ** 60
    for a, b in zip(d0, gan.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)  # the overflowing D update was skipped


def test_kgan_train_precision_and_jit_flags(tmp_path):
    from kgan.run import train

    report = train("grid25_gan", ["--steps", "4", "--steps-per-epoch", "2", "--batch-size", "64",
                                  "--precision", "mixed_float16", "--jit-compile",
                                  "--steps-per-execution", "2", "--no-samples",
                                  "--logdir", str(tmp_path / "run")])
    assert report["steps"] == 4 and np.isfinite(report["hq_fraction"])
    loaded = keras.saving.load_model(str(tmp_path / "run" / "model.keras"))
    assert isinstance(loaded.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert loaded.generator.layers[1].compute_dtype == "float16"
