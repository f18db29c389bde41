"""MaEM-GAN: replay buffer, manifold entropy, DLLE, DIsoMap, the model, save/load,
MirroredStrategy equivalence and bad input."""
import numpy as np
import pytest
import tensorflow as tf
import keras

import kgan
from kgan.layers import ReplayBuffer
from kgan.losses import DIsoMap, DLLE, MaF, ManifoldEntropy
from kgan.models import Batch, MaEMGAN
from kgan.models.phases import stream_key

M = 4  # code width used in the tests


def nets(latent_dim=8, data_dim=2, code_width=M, seed=0, linear_d=False):
    keras.utils.set_random_seed(seed)
    z = keras.Input((latent_dim,), name="z")
    G = keras.Model(z, keras.layers.Dense(data_dim)(keras.layers.Dense(16, activation="tanh")(z)))
    x = keras.Input((data_dim,), name="x")
    h = x if linear_d else keras.layers.Dense(16, activation="tanh")(x)
    code = keras.layers.Dense(code_width, name="code")(h)
    D = keras.Model(x, {"logit": keras.layers.Dense(1, name="logit")(h), "code": code})
    return G, D


def points(n=32, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2)).astype("float32")


def compile_gan(gan, lr=1e-3, **kw):
    opt = keras.optimizers.SGD if lr == 0 else keras.optimizers.Adam
    gan.compile(d_optimizer=opt(lr), g_optimizer=opt(lr), **kw)
    return gan


# --------------------------------------------------------------------------- replay buffer
def test_buffer_keeps_size_and_fifo_order_across_writes():
    buf = ReplayBuffer(5, 2)
    written = []
    for step in range(7):  # batches of 3: wraps several times; the official code would shrink here
        codes = np.arange(6, dtype="float32").reshape(3, 2) + 10 * step
        buf.write(tf.constant(codes))
        written.extend(codes)
        expected = np.array(written[-5:])
        assert int(buf.count.numpy()) == min(3 * (step + 1), 5)
        assert buf.values.shape == (5, 2)
        np.testing.assert_array_equal(buf.ordered().numpy(), expected)
        np.testing.assert_array_equal(np.sort(buf.read().numpy(), axis=0), np.sort(expected, axis=0))
    assert int(buf.pointer.numpy()) == 21 % 5
    # a batch longer than the buffer keeps its last `size` codes, in order
    big = np.arange(16, dtype="float32").reshape(8, 2)
    buf.write(tf.constant(big))
    np.testing.assert_array_equal(buf.ordered().numpy(), big[-5:])
    assert int(buf.count.numpy()) == 5


def test_buffer_call_returns_memory_before_write_and_works_in_tf_function():
    buf = ReplayBuffer(4, 2)

    @tf.function
    def step(c):
        return buf(c)

    first = step(tf.ones((2, 2)))
    assert first.shape == (0, 2)
    second = step(2 * tf.ones((2, 2)))
    np.testing.assert_array_equal(second.numpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(buf.ordered().numpy(), [[1, 1], [1, 1], [2, 2], [2, 2]])


def test_model_buffer_holds_the_last_generated_codes_in_order():
    """Through fit: with frozen weights (SGD lr 0) the codes of step s are
    D(G(z_s)); the buffer must hold exactly the last N of them, oldest first."""
    G, D = nets()
    gan = compile_gan(MaEMGAN(G, D, buffer_size=12, dlle=None, disomap=None, ema_decay=None, seed=3), lr=0.0)
    steps, b = 5, 8
    ds = tf.data.Dataset.from_tensor_slices(points(steps * b)).batch(b)
    gan.fit(ds, epochs=1, verbose=0)
    codes = []
    for s in range(steps):  # the generator update of step s draws z from the stream "g/0/z"
        z = tf.random.stateless_normal([b, 8], seed=tf.constant([stream_key(3, "g/0/z"), s], tf.int64))
        codes.append(D(G(z))["code"].numpy())
    codes = np.concatenate(codes)
    assert int(gan.buffer.count.numpy()) == 12
    np.testing.assert_allclose(gan.buffer.ordered().numpy(), codes[-12:], rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- entropy
def test_entropy_cosine_equals_hand_computation():
    memory = np.array([[1, 0, 0, 0], [0, 2, 0, 0], [1, 1, 0, 0], [0, 0, 0, -3]], "float32")
    codes = np.array([[3, 0.5, 0, 0], [0, 1, 0, -1], [-1, -1, 0, 0]], "float32")
    cos = (codes / np.linalg.norm(codes, axis=1, keepdims=True)) @ (
        memory / np.linalg.norm(memory, axis=1, keepdims=True)).T
    nn = cos.argmax(1)
    ent = ManifoldEntropy(sigma=1.0, lam=0.5)
    idx, best = ent.nearest(tf.constant(memory), tf.constant(codes))
    np.testing.assert_array_equal(idx.numpy(), nn)
    np.testing.assert_array_equal(nn, [0, 1, 3])  # ties broken by hand-checked values
    np.testing.assert_allclose(best.numpy(), cos.max(1), rtol=1e-6)
    expected = np.mean(cos.max(1) + 0.5 * np.linalg.norm(codes, axis=1))
    np.testing.assert_allclose(float(tf.reduce_mean(ent.call(memory, codes))), expected, rtol=1e-6)
    np.testing.assert_allclose(float(ent(memory, codes)), expected, rtol=1e-6)


def test_entropy_squared_l2_official_equals_hand_computation_and_warmup():
    memory = np.array([[0, 0], [2, 0], [0, 3]], "float32")
    codes = np.array([[1, 0], [0, 2], [2, 1]], "float32")
    d = ((codes[:, None, :] - memory[None]) ** 2).mean(-1)
    expected = -np.log(d.min(1).mean())
    ent = ManifoldEntropy(sigma=0.2, warmup_steps=10, metric="squared_l2")
    idx, dist = ent.nearest(memory, codes)
    np.testing.assert_array_equal(idx.numpy(), d.argmin(1))
    np.testing.assert_allclose(dist.numpy(), d.min(1), rtol=1e-6)
    np.testing.assert_allclose(float(tf.reduce_mean(ent.call(memory, codes))), expected, rtol=1e-6)
    np.testing.assert_allclose([float(ent.weight(s)) for s in (0, 5, 10, 50)], [0, 0.1, 0.2, 0.2], rtol=1e-6)
    assert float(ManifoldEntropy(sigma=0.3).weight(0)) == pytest.approx(0.3)


def test_entropy_is_zero_on_an_empty_buffer():
    for metric in ("cosine", "squared_l2"):
        value = ManifoldEntropy(metric=metric).call(tf.zeros((0, 3)), tf.ones((4, 3)))
        np.testing.assert_array_equal(value.numpy(), np.zeros(4))


def test_entropy_gradient_flows_only_through_the_current_batch():
    memory = tf.Variable(np.random.default_rng(0).normal(size=(6, M)).astype("float32"))
    codes = tf.Variable(np.random.default_rng(1).normal(size=(3, M)).astype("float32"))
    for metric in ("cosine", "squared_l2"):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(ManifoldEntropy(metric=metric).call(memory, codes))
        g_mem, g_codes = tape.gradient(loss, [memory, codes])
        assert g_mem is None
        assert np.abs(g_codes.numpy()).sum() > 0
    # in the model: the generator's entropy term has no gradient into the buffer, one into G
    G, D = nets()
    gan = compile_gan(MaEMGAN(G, D, buffer_size=16, dlle=None, disomap=None, ema_decay=None,
                              entropy=ManifoldEntropy(sigma=1.0)))
    gan.buffer.write(tf.random.normal((16, M), seed=1))
    batch = Batch(None, None, tf.random.normal((8, 8), seed=2), None, update="g/0")
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(gan.buffer.values.value)
        term = gan.g_losses(batch)["g_entropy"]
    assert tape.gradient(term, gan.buffer.values.value) is None
    grads = tape.gradient(term, G.trainable_variables)
    assert all(g is not None for g in grads) and sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0
    assert int(gan.buffer.count.numpy()) == 16 and not gan.buffer.trainable_weights


# --------------------------------------------------------------------------- DLLE / DIsoMap
def test_dlle_is_zero_for_a_transform_invariant_discriminator():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (6, 8, 8, 3)).astype("float32"))
    # flip-invariant D: spatial mean pooling, then a Dense code
    x = keras.Input((8, 8, 3))
    invariant = keras.Model(x, keras.layers.Dense(M)(keras.layers.GlobalAveragePooling2D()(x)))
    variant = keras.Model(x, keras.layers.Dense(M)(keras.layers.Flatten()(x)))
    dlle = DLLE("flip", noise_std=0.0)
    u = tf.constant(rng.uniform(size=(6, 2)).astype("float32"))
    eps = tf.zeros_like(images)
    flipped = dlle.apply_transform(images, u, eps)
    assert not np.allclose(flipped.numpy(), images.numpy())
    zero = tf.reduce_mean(dlle.call(*dlle.pair(invariant(images), invariant(flipped))))
    assert float(zero) < 1e-5
    assert float(tf.reduce_mean(dlle.call(*dlle.pair(variant(images), variant(flipped))))) > 1e-2
    # rotation of vectors: a D that reads only ||x|| is invariant
    vecs = tf.constant(rng.normal(size=(6, 2)).astype("float32"))
    rot = DLLE("rotation", max_angle=90.0, noise_std=0.0)
    turned = rot.apply_transform(vecs, u, tf.zeros_like(vecs))
    np.testing.assert_allclose(np.linalg.norm(turned, axis=1), np.linalg.norm(vecs, axis=1), rtol=1e-5)
    radial = lambda v: tf.concat([tf.norm(v, axis=1, keepdims=True)] * M, axis=1)
    assert float(tf.reduce_mean(rot.call(*rot.pair(radial(vecs), radial(turned))))) < 1e-3
    # image rotation rotates (by 90 degrees exactly = np.rot90 up to orientation)
    quarter = DLLE("rotation", max_angle=90.0, noise_std=0.0).apply_transform(
        images[:1], tf.constant([[1.0, 0.0]]), tf.zeros_like(images[:1]))
    assert any(np.allclose(quarter.numpy()[0], np.rot90(images.numpy()[0], k, axes=(0, 1)), atol=1e-4)
               for k in (1, 3))


def test_dlle_in_the_model_is_zero_for_an_invariant_d_and_positive_otherwise():
    G, _ = nets()
    x = keras.Input((2,))
    # |x| elementwise is invariant to the 'noise' transform with std 0 (identity)...
    D0 = keras.Model(x, {"code": keras.layers.Dense(M)(x), "logit": keras.layers.Dense(1)(x)})
    gan = compile_gan(MaEMGAN(G, D0, entropy=None, disomap=None, dlle=DLLE("noise", noise_std=0.0)))
    batch = Batch(tf.constant(points(8)), None, tf.random.normal((8, 8), seed=0), None, update="d/0")
    assert float(gan.d_losses(batch)["d_dlle"]) < 1e-5
    # ...and a radial D is invariant to rotations about the origin
    r = keras.layers.Lambda(lambda v: tf.concat([tf.norm(v, axis=1, keepdims=True)] * M, axis=1))(x)
    Dr = keras.Model(x, {"code": keras.layers.Dense(M)(r), "logit": keras.layers.Dense(1)(r)})
    gan = compile_gan(MaEMGAN(G, Dr, entropy=None, disomap=None,
                              dlle=DLLE("rotation", max_angle=60.0, noise_std=0.0)))
    assert float(gan.d_losses(batch)["d_dlle"]) < 1e-3
    G, D = nets()
    gan = compile_gan(MaEMGAN(G, D, entropy=None, disomap=None, dlle=DLLE("rotation", max_angle=60.0)))
    assert float(gan.d_losses(batch)["d_dlle"]) > 1e-2


@pytest.mark.parametrize("iso", [DIsoMap(), DIsoMap("normal", "real_fake", "mse"),
                                 DIsoMap("uniform", "within", "mse")])
def test_disomap_is_zero_for_a_linear_d_and_positive_for_a_nonlinear_one(iso):
    batch = Batch(tf.constant(points(8)), None, tf.random.normal((8, 8), seed=0), None, update="d/0")
    G, D = nets(linear_d=True)  # code = W x + b: affine, so mixes map to mixes
    gan = compile_gan(MaEMGAN(G, D, entropy=None, dlle=None, disomap=iso))
    assert float(gan.d_losses(batch)["d_disomap"]) < 1e-5
    G, D = nets(linear_d=False)
    gan = compile_gan(MaEMGAN(G, D, entropy=None, dlle=None, disomap=iso))
    assert float(gan.d_losses(batch)["d_disomap"]) > 1e-4


def test_disomap_partners_are_adjacent_pairs():
    np.testing.assert_array_equal(DIsoMap.partners(6).numpy(), [1, 0, 3, 2, 5, 4])
    np.testing.assert_array_equal(DIsoMap.partners(5).numpy(), [1, 0, 3, 2, 4])


def test_maf_loss_is_wasserstein_on_the_code_mean():
    v = tf.constant([[1.0, 3.0], [-2.0, 0.0]])
    np.testing.assert_allclose(MaF().d_real(v).numpy().ravel(), [-2.0, 1.0])
    np.testing.assert_allclose(MaF().d_fake(v).numpy().ravel(), [2.0, -1.0])
    np.testing.assert_allclose(MaF().g(v).numpy().ravel(), [-2.0, 1.0])


# --------------------------------------------------------------------------- the model
def test_ablation_is_four_constructor_calls_and_each_trains():
    ds = tf.data.Dataset.from_tensor_slices(points(32)).batch(16)
    configs = {
        "baseline": dict(entropy=None, dlle=None, disomap=None),
        "+disomap": dict(entropy=None, dlle=None),
        "+dlle": dict(entropy=None, disomap=None, dlle=DLLE("noise")),
        "+entropy": dict(dlle=None, disomap=None),
        "all": dict(dlle=DLLE("noise")),
    }
    expected = {"baseline": set(), "+disomap": {"d_disomap"}, "+dlle": {"d_dlle"},
                "+entropy": {"g_entropy"}, "all": {"d_dlle", "d_disomap", "g_entropy"}}
    for name, kw in configs.items():
        G, D = nets()
        gan = compile_gan(MaEMGAN(G, D, buffer_size=8, ema_decay=None, **kw))
        w0 = [w.copy() for w in G.get_weights()]
        hist = gan.fit(ds, epochs=1, verbose=0)
        assert set(hist.history) == {"d_loss", "g_loss", "d_adv", "g_adv"} | expected[name], name
        assert all(np.isfinite(v[-1]) for v in hist.history.values())
        assert any(not np.allclose(a, b) for a, b in zip(w0, G.get_weights()))
        assert (gan.buffer is None) == ("g_entropy" not in expected[name])
    # D's unused logit head gets no update (realness is the code mean)
    head = D.get_layer("logit").get_weights()
    gan.fit(ds, epochs=1, verbose=0)
    for a, b in zip(head, D.get_layer("logit").get_weights()):
        np.testing.assert_array_equal(a, b)


def test_kgan_nets_discriminator_with_code_head_and_reparameterisation():
    G = kgan.nets.mlp_generator(latent_dim=8, hidden=(16,))
    D = kgan.nets.mlp_discriminator(hidden=(16,), heads=("logit", "code"), code_dim=2 * M, spectral_norm=True)
    gan = compile_gan(MaEMGAN(G, D, buffer_size=8, reparameterize=True, dlle=DLLE("noise"),
                              entropy_on_real=True, ema_decay=None), d_steps=2)
    assert gan.code_dim == M and gan.real_buffer.code_dim == M
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(points(32)).batch(16), epochs=1, verbose=0)
    assert "d_entropy" in hist.history and all(np.isfinite(v[-1]) for v in hist.history.values())
    assert int(gan.real_buffer.count.numpy()) == 8


def test_save_load_keeps_the_buffer_and_the_regularisers(tmp_path):
    G, D = nets()
    gan = compile_gan(MaEMGAN(G, D, buffer_size=10, entropy=ManifoldEntropy(sigma=0.1, warmup_steps=7, lam=0.5),
                              dlle=DLLE("noise", noise_std=0.02, distance="mse", detach="transformed"),
                              disomap=DIsoMap("normal", "real_fake", "mse", 0.05, weight=2.0),
                              entropy_on_real=True, ema_decay=0.9), d_steps=2)
    ds = tf.data.Dataset.from_tensor_slices(points(48)).batch(16)
    gan.fit(ds, epochs=1, verbose=0)
    path = str(tmp_path / "maem.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is MaEMGAN and loaded.d_steps == 2 and isinstance(loaded.loss_fn, MaF)
    assert loaded.entropy.get_config() == gan.entropy.get_config()
    assert loaded.dlle.get_config() == gan.dlle.get_config()
    assert loaded.disomap.get_config() == gan.disomap.get_config()
    for name in ("buffer", "real_buffer"):
        src, dst = getattr(gan, name), getattr(loaded, name)
        np.testing.assert_array_equal(src.values.numpy(), dst.values.numpy())
        assert int(src.count.numpy()) == int(dst.count.numpy()) == 10
        assert int(src.pointer.numpy()) == int(dst.pointer.numpy())
        assert np.abs(dst.values.numpy()).sum() > 0
    for a, b in zip(gan.discriminator.get_weights(), loaded.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    loaded.fit(ds, epochs=1, verbose=0)  # training continues with the restored buffer
    assert int(loaded.buffer.count.numpy()) == 10


def fresh_mirrored(devices):
    """A MirroredStrategy with its own collective keys. TF numbers collective
    groups/instances from 1 in every new MirroredStrategy, and the runtime keeps
    the first strategy's instances: a second strategy in the same process whose
    step issues a different sequence of collectives (here: all_gather for the
    replay buffer, then the gradient all-reduce) is aborted with "Collective
    instance N expected type ...". TF's own tests offset the key base the same way."""
    tf.distribute.MirroredStrategy._collective_key_base += 10_000
    return tf.distribute.MirroredStrategy(devices)


def _one_step(strategy, x, **kw):
    with strategy.scope():
        G, D = nets(seed=0)
        gan = compile_gan(MaEMGAN(G, D, buffer_size=12, ema_decay=0.9, seed=1, **kw))
    ds = tf.data.Dataset.from_tensor_slices(x).batch(8, drop_remainder=True)
    gan.fit(ds, epochs=1, verbose=0)  # 2 steps: the second searches the buffer the first wrote
    out = [w.numpy() for w in gan.weights] + [v.numpy() for v in gan.d_optimizer.variables]
    return out, gan.buffer.ordered().numpy()


@pytest.mark.parametrize("kw", [
    {"dlle": DLLE("noise")},  # paper defaults (cosine entropy, U(0,1) within-batch DIsoMap)
    {"entropy": ManifoldEntropy(sigma=0.5, metric="squared_l2"), "entropy_on_real": True,
     "dlle": DLLE("rotation", distance="mse", detach="transformed"),
     "disomap": DIsoMap("normal", "real_fake", "mse", 0.05)},  # the official code's options
])
def test_mirrored_step_equals_single_device_step(kw):
    cpus = tf.config.list_logical_devices("CPU")
    assert len(cpus) >= 2, "conftest.py must create 2 logical CPUs before TensorFlow starts"
    x = points(16, seed=5)
    single, buf1 = _one_step(tf.distribute.OneDeviceStrategy("CPU:0"), x, **kw)
    mirrored, buf2 = _one_step(fresh_mirrored([c.name for c in cpus[:2]]), x, **kw)
    assert len(single) == len(mirrored)
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert buf1.shape == (12, M)
    np.testing.assert_allclose(buf1, buf2, atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_named():
    G, D = nets()
    with pytest.raises(ValueError, match=r"buffer_size.*received buffer_size=0"):
        MaEMGAN(G, D, buffer_size=0)
    with pytest.raises(ValueError, match=r"size.*received size=0"):
        ReplayBuffer(0, 4)
    with pytest.raises(ValueError, match=r"Code dimension mismatch: code_dim=7.*m=4"):
        MaEMGAN(G, D, code_dim=7)
    with pytest.raises(ValueError, match=r"Code dimension mismatch.*code_dim=4.*width 3"):
        ReplayBuffer(5, 4).write(tf.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Code dimension mismatch.*width 3.*width 4"):
        ManifoldEntropy().call(tf.ones((5, 4)), tf.ones((2, 3)))
    with pytest.raises(ValueError, match=r"sigma.*received sigma=-0.1"):
        ManifoldEntropy(sigma=-0.1)
    with pytest.raises(ValueError, match=r"transform.*\['rotation', 'flip', 'noise'\].*received transform='rotate'"):
        DLLE("rotate")
    with pytest.raises(ValueError, match=r"metric.*received metric='l1'"):
        ManifoldEntropy(metric="l1")
    with pytest.raises(ValueError, match=r"weights.*received weights='beta'"):
        DIsoMap(weights="beta")
    with pytest.raises(ValueError, match=r"odd width 5"):
        MaEMGAN(*nets(code_width=5), reparameterize=True)
    with pytest.raises(TypeError, match=r"`dlle` must be None/False"):
        MaEMGAN(G, D, dlle="flip")
    x = keras.Input((2,))
    with pytest.raises(ValueError, match=r"'code' output.*heads=\('logit', 'code'\)"):
        MaEMGAN(G, keras.Model(x, {"logit": keras.layers.Dense(1)(x)}))
    with pytest.raises(ValueError, match="entropy_on_real=True"):
        MaEMGAN(G, D, entropy=None, entropy_on_real=True)
    with pytest.raises(ValueError, match="transform='flip' needs images"):
        DLLE("flip").apply_transform(tf.ones((2, 2)), tf.ones((2, 2)), tf.ones((2, 2)))


def test_a_setting_of_a_regulariser_the_ablation_switches_off_is_refused():
    from kgan.experiments import rows
    from kgan.run import RunConfig

    row = rows()["grid25_maem"]
    cfg = lambda **extra: RunConfig(recipe="grid25_maem", steps=10, seed=0, extra=extra)  # noqa: E731
    with pytest.raises(ValueError, match=r"sigma=0\.1 .*ablation='dlle'"):
        row.build(cfg(ablation="dlle", sigma="0.1"))
    with pytest.raises(ValueError, match=r"disomap_weight=2\.0 .*ablation='baseline'"):
        row.build(cfg(ablation="baseline", disomap_weight="2"))
    model = row.build(cfg(ablation="entropy", sigma="0.1"))  # the term it sets is on
    assert model.entropy is not None and model.dlle is None and model.disomap is None


def test_the_rows_dlle_detaches_the_transformed_side_unless_told():
    from kgan.experiments import rows
    from kgan.run import RunConfig

    row = rows()["fashion_mnist_maem"]
    build = lambda **extra: row.build(RunConfig(recipe="r", steps=10, seed=0, extra={"width": 4, **extra}))  # noqa
    assert build().dlle.detach == "transformed"  # the official code's side: the paper's diverged here
    assert build(dlle_detach="original").dlle.detach == "original"
    assert row.settings(RunConfig(recipe="r", steps=10))["options"]["dlle_detach"] == "transformed"
