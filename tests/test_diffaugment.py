"""DiffAugment: the three transforms, stateless seeding, differentiability, config, bad input."""
import numpy as np
import pytest
import tensorflow as tf
import keras

import kgan
from kgan.layers import DiffAugment


def batch(n=6, size=8, c=3, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (n, size, size, c)).astype("float32"))


def test_identity_when_not_training_and_shape_kept():
    x = batch()
    aug = DiffAugment()
    np.testing.assert_array_equal(aug(x, training=False), x)
    np.testing.assert_array_equal(aug(x), x)  # training defaults to False
    assert aug(x, training=True).shape == x.shape
    np.testing.assert_array_equal(DiffAugment(policy="")(x, training=True), x)


def test_stateless_seeding_counter_and_fresh_draws():
    x = batch()
    aug = DiffAugment(seed=3)
    a, b = aug(x, training=True), aug(x, training=True)
    assert int(aug.counter.numpy()) == 2
    assert not np.allclose(a, b)  # a new draw per call (real and fake batches differ)
    again = DiffAugment(seed=3)
    np.testing.assert_array_equal(again(x, training=True), a)  # same seed, same stream
    np.testing.assert_array_equal(DiffAugment(seed=4)(x, training=True, seed=[7, 1]),
                                  DiffAugment(seed=5)(x, training=True, seed=[7, 1]))
    assert not np.allclose(DiffAugment(seed=4)(x, training=True), a)


def test_translation_moves_pixels_by_at_most_the_ratio_and_fills_zeros():
    n, size = 32, 16
    img = np.zeros((n, size, size, 1), "float32")
    img[:, 8, 8, 0] = 1.0
    out = DiffAugment("translation", translation_ratio=0.125)(img, training=True).numpy()
    shifts = set()
    for k in range(n):
        hits = np.argwhere(out[k, ..., 0] == 1.0)
        assert len(hits) == 1 and out[k].sum() == 1.0  # one pixel moved, zeros shifted in
        r, c = hits[0]
        assert abs(r - 8) <= 2 and abs(c - 8) <= 2      # int(16 * 0.125 + 0.5) = 2
        shifts.add((r - 8, c - 8))
    assert len(shifts) > 5  # per-sample shifts
    # content shifted out of the image is replaced by zeros
    ones = DiffAugment("translation", translation_ratio=0.25)(np.ones((16, 8, 8, 1), "float32"), training=True)
    assert float(tf.reduce_min(ones)) == 0.0 and float(tf.reduce_max(ones)) == 1.0


def test_cutout_zeroes_one_square_of_the_configured_size():
    size = 16
    out = DiffAugment("cutout", cutout_ratio=0.5)(np.ones((64, size, size, 2), "float32"), training=True).numpy()
    zeros = (out[..., 0] == 0)
    np.testing.assert_array_equal(zeros, out[..., 1] == 0)  # same mask on every channel
    counts = zeros.reshape(64, -1).sum(1)
    assert counts.max() == 64 and counts.min() > 0  # an 8x8 square, clipped at the border
    for k in range(64):
        rows, cols = np.nonzero(zeros[k])
        assert rows.max() - rows.min() < 8 and cols.max() - cols.min() < 8
        assert zeros[k].sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_color_on_grey_images_is_a_brightness_shift_in_range():
    # grey (equal channels, constant) images: saturation and contrast leave them unchanged,
    # so colour reduces to x + (u - 0.5), u ~ U[0, 1) per sample
    x = np.full((64, 4, 4, 3), 0.2, "float32")
    out = DiffAugment("color")(x, training=True).numpy()
    delta = out - 0.2
    assert np.allclose(delta, delta[:, :1, :1, :1], atol=1e-6)
    assert delta.min() >= -0.5 and delta.max() < 0.5 and delta.std() > 0.1


def test_differentiable_with_finite_gradients():
    x = batch()
    aug = DiffAugment()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(aug(x, training=True) ** 2)
    g = tape.gradient(y, x).numpy()
    assert np.all(np.isfinite(g)) and np.abs(g).sum() > 0


def test_partial_probability_leaves_some_samples_untouched():
    x = batch(n=64)
    out = DiffAugment(probability=0.5)(x, training=True).numpy()
    same = np.all(np.isclose(out, x.numpy()), axis=(1, 2, 3))
    assert 10 < same.sum() < 54


def test_config_round_trip_and_bad_input():
    aug = DiffAugment(["cutout", "color"], translation_ratio=0.2, cutout_ratio=0.3, probability=0.8, seed=9)
    again = DiffAugment.from_config(aug.get_config())
    assert again.policy == ("color", "cutout") and again.seed == 9 and again.probability == 0.8
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(aug)).cutout_ratio == 0.3
    with pytest.raises(ValueError, match="Unknown DiffAugment op 'flip'"):
        DiffAugment("color,flip")
    with pytest.raises(ValueError, match="policy"):
        DiffAugment(3)
    with pytest.raises(ValueError, match="translation_ratio"):
        DiffAugment(translation_ratio=2.0)
    with pytest.raises(ValueError, match="seed"):
        DiffAugment(seed="a")
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        DiffAugment()(np.zeros((4, 2), "float32"), training=True)


def test_works_with_the_base_gan_and_is_saved_with_it(tmp_path):
    keras.utils.set_random_seed(0)
    G, D = kgan.nets.build("dcgan", 8, 1, latent_dim=8, width=4)
    gan = kgan.models.GAN(G, D, augment=DiffAugment(), ema_decay=None)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(8), epochs=1, verbose=0)
    assert int(gan.augment.counter.numpy()) == 2 * 3  # (real, fake) per D step + fake per G step
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.augment, DiffAugment) and int(loaded.augment.counter.numpy()) == 6
