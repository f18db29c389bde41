"""Named random streams: stable keys, distinct draws per name, per D step and per seed, no d_steps cap,
and methods combined through the MRO never sharing a draw."""
import hashlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.losses import DLLE
from kgan.models import GAN, AdaptiveMixGAN, MaEMGAN, MixGAN
from kgan.models.phases import record_streams, stream_key
from conftest import tiny_mlp_gan_nets


def points(n, seed=0, dim=2):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")


def one_batch(x):
    if isinstance(x, tuple):
        return tf.data.Dataset.from_tensor_slices(x).batch(len(x[0]), drop_remainder=True)
    return tf.data.Dataset.from_tensor_slices(x).batch(len(x), drop_remainder=True)


def test_stream_key_is_a_stable_hash_of_seed_and_name():
    # BLAKE2b of "<seed>/<name>", not Python's per-process salted hash()
    expected = int.from_bytes(hashlib.blake2b(b"0/d/0/z", digest_size=8).digest(), "little", signed=True)
    assert stream_key(0, "d/0/z") == expected
    keys = {stream_key(s, n) for s in (0, 1, 4096) for n in ("d/0/z", "d/1/z", "g/0/z", "d/0/mix/lam0")}
    assert len(keys) == 12 and all(-2 ** 63 <= k < 2 ** 63 for k in keys)
    for bad in (3, "", None):
        with pytest.raises(TypeError, match="non-empty string"):
            stream_key(0, bad)


def _conditional_gan(seed, d_steps=3):
    G, D = tiny_mlp_gan_nets(num_classes=3, seed=0)
    gan = GAN(G, D, num_classes=3, seed=seed, ema_decay=None)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                loss="wasserstein", gp_weight=1.0, d_steps=d_steps, run_eagerly=True)
    return gan


def test_each_d_step_draws_afresh_and_a_seed_fixes_every_draw():
    data = one_batch((points(24), np.arange(24, dtype="int32") % 3))
    gan = _conditional_gan(seed=5)
    with record_streams() as draws:
        gan.fit(data, epochs=1, verbose=0)
    names = [n for n, _ in draws]
    assert names == [f"d/{k}/{what}" for k in range(3) for what in ("z", "y_fake", "wgan_gp/u")] + [
        "g/0/z", "g/0/y_fake"]
    assert len({k for _, k in draws}) == len(draws)  # every draw has its own key
    # the draws themselves differ between D steps (z of step 0 vs step 1, at the same generator step)
    z0 = gan.random_normal(8, [gan.latent_dim], "d/0/z").numpy()
    z1 = gan.random_normal(8, [gan.latent_dim], "d/1/z").numpy()
    assert not np.allclose(z0, z1)
    # a fixed seed reproduces the step exactly; another seed does not
    same, other = _conditional_gan(seed=5), _conditional_gan(seed=6)
    for g in (same, other):
        g.fit(data, epochs=1, verbose=0)
    for a, b in zip(gan.generator.get_weights(), same.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(gan.generator.get_weights(),
                                                         other.generator.get_weights()))


def test_d_steps_has_no_cap():
    # the key used to be 16 x the update index inside a 4096 range (d_steps <= 255, MDGAN <= 127)
    G, D = tiny_mlp_gan_nets()
    gan = GAN(G, D)
    gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam(), d_steps=300)
    assert gan.d_steps == 300
    keys = {stream_key(0, f"d/{k}/z") for k in range(300)} | {stream_key(0, "g/0/z")}
    assert len(keys) == 301


class MixMaEM(MixGAN, MaEMGAN):
    """MaEM-GAN with real/fake mixing, combined through the MRO (the docs' composition)."""


class AdaptiveMixMaEM(AdaptiveMixGAN, MaEMGAN):
    """MaEM-GAN with AdaptiveMix, combined through the MRO. (MixGAN and AdaptiveMixGAN do not combine
    with each other: both own a ``mixer`` layer.)"""


def _maem_d(width=16, code_dim=8):
    keras.utils.set_random_seed(0)
    x = keras.Input((2,), name="x")
    h = keras.layers.Dense(width, activation="tanh")(x)
    return keras.Model(x, {"logit": keras.layers.Dense(1, name="logit")(h),
                           "code": keras.layers.Dense(code_dim, name="code")(h), "features": h})


@pytest.mark.parametrize("cls,kw,own", [
    (MixMaEM, {"method": "mixup", "mix_prob": 0.5}, ("mix/lam0", "mix/center", "mix/mask")),
    (AdaptiveMixMaEM, {"noise_std": 0.05, "g_shrink": True},
     ("adaptivemix/lam_real", "adaptivemix/perm_real", "adaptivemix/noise_real", "adaptivemix/lam_fake",
      "adaptivemix/perm_fake", "adaptivemix/noise_fake")),
])
def test_combined_methods_never_share_a_draw(cls, kw, own):
    G, _ = tiny_mlp_gan_nets(seed=0)
    gan = cls(G, _maem_d(), reparameterize=True, dlle=DLLE("noise"), buffer_size=8, seed=2, ema_decay=None, **kw)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                gp_weight=1.0, d_steps=2, run_eagerly=True)
    d_names, _ = gan.loss_names()
    assert {"d_dlle", "d_disomap", "d_gp"} <= set(d_names)
    with record_streams() as draws:
        hist = gan.fit(one_batch(points(16)), epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in hist.values())
    names = [n for n, _ in draws]
    # the (name, key) pairs of one step are all distinct: no name drawn twice, no two names on one key
    assert len(set(draws)) == len(draws), sorted(n for n in names if names.count(n) > 1)
    assert len(set(names)) == len(names) and len({k for _, k in draws}) == len(draws)
    per_update = {}
    for n in names:
        update, what = n.split("/", 2)[:2], n.split("/", 2)[2]
        per_update.setdefault("/".join(update), set()).add(what)
    # both methods drew in every D update, each under its own prefix
    maem = {"maem/eps_real", "maem/eps_fake", "maem/dlle_u_real", "maem/dlle_u_fake", "maem/dlle_eps_real",
            "maem/dlle_eps_fake", "maem/disomap_u_real", "maem/disomap_n_real"}
    for update in ("d/0", "d/1"):
        assert {"z", "wgan_gp/u", *maem, *own} <= per_update[update], per_update[update]
    assert per_update["d/0"] == per_update["d/1"] and "maem/eps_fake" in per_update["g/0"]
