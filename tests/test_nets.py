"""Tests of kgan.nets (builders) and kgan.layers.conditional, on real TensorFlow."""
import numpy as np
import pytest

import kgan  # noqa: F401  (sets KERAS_BACKEND)
import keras
import tensorflow as tf

from kgan import nets
from kgan.layers import ClassEmbedding, ConditionalBatchNormalization, HypersphereProjection

# keras' Variable.__array__ under NumPy 2 (upstream, harmless)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

ALL_HEADS = ("logit", "projection", "classifier", "hypersphere", "code")
W = 4  # tiny widths keep the file fast


def _z(n, dim=128, seed=0):
    return tf.random.stateless_normal((n, dim), seed=[seed, 1])


def _unwrap(layer):
    return getattr(layer, "layer", layer)


# ----------------------------------------------------------------------------- layers
def test_conditional_batch_norm_uses_per_class_gamma_beta():
    cbn = ConditionalBatchNormalization(num_classes=3)
    x = tf.random.stateless_normal((6, 4, 4, 5), seed=[1, 2]) * 3.0 + 1.0
    y = tf.constant([0, 1, 2, 0, 1, 2])
    cbn([x, y])
    rng = np.random.default_rng(0)
    gamma = rng.normal(size=(3, 5)).astype("float32")
    beta = rng.normal(size=(3, 5)).astype("float32")
    cbn.gamma.assign(gamma)
    cbn.beta.assign(beta)
    out = cbn([x, y], training=True).numpy()
    xn = x.numpy()
    mean, var = xn.mean(axis=(0, 1, 2)), xn.var(axis=(0, 1, 2))
    norm = (xn - mean) / np.sqrt(var + cbn.epsilon)
    expected = norm * gamma[y.numpy()][:, None, None, :] + beta[y.numpy()][:, None, None, :]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    # same input, different class -> different output
    same = tf.repeat(x[:1], 3, axis=0)
    o = cbn([same, tf.constant([0, 1, 2])], training=True).numpy()
    assert not np.allclose(o[0], o[1]) and not np.allclose(o[1], o[2])


def test_conditional_batch_norm_rank2_init_and_config():
    cbn = ConditionalBatchNormalization(num_classes=4, momentum=0.8, epsilon=1e-3)
    x = tf.random.stateless_normal((8, 6), seed=[3, 4])
    y = tf.constant([[0], [1], [2], [3], [0], [1], [2], [3]])  # (B, 1) accepted
    out = cbn([x, y], training=True).numpy()
    # gamma=1, beta=0 at init: plain batch norm
    xn = x.numpy()
    np.testing.assert_allclose(out, (xn - xn.mean(0)) / np.sqrt(xn.var(0) + 1e-3), atol=1e-4)
    np.testing.assert_array_equal(cbn.gamma.numpy(), np.ones((4, 6)))
    np.testing.assert_array_equal(cbn.beta.numpy(), np.zeros((4, 6)))
    clone = ConditionalBatchNormalization.from_config(cbn.get_config())
    assert clone.get_config() == cbn.get_config()
    # inference uses the moving statistics (updated with momentum 0.8)
    inf = cbn([x, y], training=False).numpy()
    mm = 0.2 * xn.mean(0)
    mv = 0.8 + 0.2 * xn.var(0, ddof=0)
    np.testing.assert_allclose(inf, (xn - mm) / np.sqrt(mv + 1e-3), rtol=2e-2, atol=2e-2)
    with pytest.raises(ValueError, match="one-hot"):
        cbn([x, tf.one_hot(tf.range(8) % 4, 4)])
    with pytest.raises(ValueError, match=r"\[x, y\]"):
        ConditionalBatchNormalization(2)(x)
    with pytest.raises(ValueError, match="num_classes"):
        ConditionalBatchNormalization(0)
    with pytest.raises(ValueError, match="momentum"):
        ConditionalBatchNormalization(2, momentum=1.5)


def test_class_embedding_lookup_validation_and_spectral_norm():
    emb = ClassEmbedding(num_classes=5, dim=3)
    out = emb(tf.constant([4, 0, 4])).numpy()
    table = emb.embeddings.numpy()
    np.testing.assert_allclose(out, table[[4, 0, 4]])
    np.testing.assert_allclose(emb(np.array([[1], [2]])).numpy(), table[[1, 2]])
    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, 1\)"):
        emb(tf.one_hot([1, 2], 5))
    with pytest.raises(TypeError, match="integers"):
        emb(tf.constant(["a", "b"]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        emb(tf.constant([5]))
    with pytest.raises(ValueError, match="dim"):
        ClassEmbedding(5, 0)
    with pytest.raises(TypeError, match="spectral_norm"):
        ClassEmbedding(5, 3, spectral_norm="yes")
    sn = ClassEmbedding(num_classes=10, dim=6, spectral_norm=True, power_iterations=3)
    sn(tf.constant([0]))
    sn.embeddings.assign(sn.embeddings * 7.0)
    for _ in range(5):
        sn(tf.constant([0, 1]), training=True)
    sigma = np.linalg.svd(sn.embeddings.numpy(), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 1e-2, sigma
    assert ClassEmbedding.from_config(sn.get_config()).get_config() == sn.get_config()


def test_hypersphere_projection():
    layer = HypersphereProjection()
    v = tf.constant([[3.0, 4.0], [0.0, 0.0], [1e-3, 0.0]])
    out = layer(v).numpy()
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]], atol=1e-6)
    big = tf.random.stateless_normal((5, 64), seed=[5, 6]) * 100
    np.testing.assert_allclose(np.linalg.norm(layer(big).numpy(), axis=-1), 1.0, atol=1e-5)
    assert HypersphereProjection.from_config(layer.get_config()).epsilon == 1e-12
    with pytest.raises(ValueError, match="epsilon"):
        HypersphereProjection(epsilon=0)


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("size", nets.DCGAN_SIZES)
def test_dcgan_shapes_and_range(size):
    G = nets.dcgan_generator(size, 3, latent_dim=16, width=W)
    D = nets.dcgan_discriminator(size, 3, width=W)
    E = nets.dcgan_encoder(size, 3, latent_dim=16, width=W)
    x = G(_z(4, 16), training=True)
    assert x.shape == (4, size, size, 3) and x.dtype == tf.float32
    out = D(x)
    assert set(out) == {"logit", "features", "pooled"}
    assert out["logit"].shape == (4, 1)
    assert out["features"].shape.rank == 4 and out["features"].shape[0] == 4
    # the head reads the flattened map by default (DCGAN / SNGAN standard CNN)
    np.testing.assert_allclose(out["pooled"], tf.reshape(out["features"], (4, -1)), rtol=1e-6, atol=1e-6)
    Ds = nets.dcgan_discriminator(size, 3, width=W, pooling="sum")
    out_s = Ds(x)
    assert out_s["pooled"].shape == (4, out["features"].shape[-1])
    np.testing.assert_allclose(out_s["pooled"], tf.reduce_sum(out_s["features"], (1, 2)), rtol=1e-5, atol=1e-5)
    assert E(x).shape == (4, 16)


@pytest.mark.parametrize("size", nets.RESNET_SIZES)
def test_resnet_shapes(size):
    G = nets.resnet_generator(size, 1, latent_dim=16, num_classes=3, width=W)
    D = nets.resnet_discriminator(size, 1, num_classes=3, heads=ALL_HEADS, width=W, embed_dim=8,
                                  code_dim=5)
    E = nets.resnet_encoder(size, 1, latent_dim=16, width=W)
    y = tf.constant([0, 1, 2])
    x = G([_z(3, 16), y], training=True)
    assert x.shape == (3, size, size, 1)
    out = D([x, y], training=True)
    feat = {32: (3, 8, 8, 2 * W), 64: (3, 4, 4, 16 * W)}[size]
    assert out["features"].shape == feat
    assert out["pooled"].shape == (3, feat[-1])
    # ReLU then sum pooling (StudioGAN)
    np.testing.assert_allclose(out["pooled"], tf.reduce_sum(tf.nn.relu(out["features"]), (1, 2)),
                               rtol=1e-4, atol=1e-4)
    assert out["class_logits"].shape == (3, 3) and out["code"].shape == (3, 5)
    assert E(x).shape == (3, 16)


def test_default_sizes_and_parameter_counts():
    # SNGAN / StudioGAN CIFAR-10 sizes with width 64: G 4.28M, D 1.06M parameters
    G = nets.resnet_generator(32, 3)
    D = nets.resnet_discriminator(32, 3)
    assert G.count_params() == 4_280_323
    n_trainable = sum(int(np.prod(v.shape)) for v in D.trainable_weights)
    assert n_trainable == 1_053_825  # + the SN wrappers' non-trainable u vectors
    G, D = nets.mlp_generator(), nets.mlp_discriminator()
    assert G.input_shape == (None, 256) and G.output_shape == (None, 2)
    assert G.count_params() == 256 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2
    assert D.count_params() == 2 * 128 + 128 + 128 * 128 + 128 + 128 + 1
    assert D.output["logit"].shape == (None, 1) and D.output["features"].shape == (None, 128)


def test_mlp_conditional_and_encoder():
    G = nets.mlp_generator(latent_dim=8, num_classes=4, hidden=(16,))
    D = nets.mlp_discriminator(num_classes=4, heads=ALL_HEADS, hidden=(16, 12), embed_dim=6,
                               code_dim=3)
    y = tf.constant([0, 3])
    x = G([_z(2, 8), y])
    assert x.shape == (2, 2)
    out = D([x, y])
    assert out["features"].shape == (2, 12)
    np.testing.assert_allclose(out["features"], out["pooled"])
    assert out["embed"].shape == (2, 6) and out["proxy"].shape == (2, 6)
    E = nets.mlp_encoder(latent_dim=8)
    assert E(x).shape == (2, 8)
    # labels change the conditional MLP generator's output
    z = tf.repeat(_z(1, 8), 2, axis=0)
    g = G([z, tf.constant([0, 1])]).numpy()
    assert not np.allclose(g[0], g[1])


# ----------------------------------------------------------------------------- heads
@pytest.mark.parametrize("heads,keys", [
    (("logit",), set()),
    (("classifier",), {"class_logits"}),
    (("projection",), set()),
    (("hypersphere",), {"embed", "proxy"}),
    (("code",), {"code"}),
    (ALL_HEADS, {"class_logits", "embed", "proxy", "code"}),
])
def test_head_keys(heads, keys):
    num_classes = None if heads in (("logit",), ("code",)) else 5
    D = nets.dcgan_discriminator(8, 1, num_classes=num_classes, heads=heads, width=W, embed_dim=8)
    x = tf.random.stateless_uniform((3, 8, 8, 1), seed=[7, 8], minval=-1, maxval=1)
    out = D(x if num_classes is None else [x, tf.constant([0, 1, 4])])
    assert set(out) == {"logit", "features", "pooled"} | keys
    for v in out.values():
        assert v.dtype == tf.float32
    if "embed" in out:
        np.testing.assert_allclose(np.linalg.norm(out["embed"], axis=-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(out["proxy"], axis=-1), 1.0, atol=1e-5)


def test_projection_head_equals_linear_plus_inner_product():
    D = nets.dcgan_discriminator(16, 1, num_classes=6, heads=("projection", "classifier"), width=W)
    x = tf.random.stateless_uniform((5, 16, 16, 1), seed=[9, 9], minval=-1, maxval=1)
    y = np.array([0, 5, 2, 2, 1])
    out = D([x, tf.constant(y)])
    head = D.get_layer("head")
    w, b = _unwrap(head.get_layer("logit_dense")).get_weights()
    table = head.get_layer("projection_embedding").embeddings.numpy()
    h = out["pooled"].numpy()
    expected = h @ w + b + np.sum(table[y] * h, axis=-1, keepdims=True)
    np.testing.assert_allclose(out["logit"].numpy(), expected, rtol=1e-4, atol=1e-4)
    # ACGAN classifier: linear, no bias
    cls = _unwrap(head.get_layer("classifier_dense"))
    assert not cls.use_bias
    np.testing.assert_allclose(out["class_logits"], h @ cls.get_weights()[0], rtol=1e-4, atol=1e-4)
    # the head sub-model maps features (and y) to the same outputs
    again = head([out["features"], tf.constant(y)])
    np.testing.assert_allclose(again["logit"], out["logit"], rtol=1e-5, atol=1e-5)


def test_spectral_norm_everywhere_when_asked():
    D = nets.resnet_discriminator(32, 3, num_classes=4, heads=ALL_HEADS, width=W, embed_dim=8)
    SN = keras.layers.SpectralNormalization

    def layers(m):
        for layer in m.layers:
            yield layer
            if isinstance(layer, keras.Model):
                yield from layers(layer)

    all_layers = list(layers(D))
    convs = [l for l in all_layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))]
    sn = [l for l in all_layers if isinstance(l, SN)]
    assert convs == [] and len(sn) > 10  # every conv/dense sits inside a wrapper
    assert all(l.spectral_norm for l in all_layers if isinstance(l, ClassEmbedding))
    D2 = nets.resnet_discriminator(32, 3, width=W, spectral_norm=False)
    assert not any(isinstance(l, SN) for l in layers(D2))
    G = nets.dcgan_generator(8, 1, width=W, spectral_norm=True)
    assert any(isinstance(l, SN) for l in G.layers)
    # a training call normalises the kernels: largest singular value ~ 1 after a few calls
    x = tf.random.stateless_uniform((2, 32, 32, 3), seed=[1, 1], minval=-1, maxval=1)
    for _ in range(8):
        D([x, tf.constant([0, 1])], training=True)
    k = D.get_layer("d_block1_conv1").layer.kernel.numpy()
    sigma = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 0.05, sigma


def test_conditional_generator_depends_on_label():
    G = nets.dcgan_generator(8, 1, latent_dim=8, num_classes=3, width=W)
    cbns = [l for l in G.layers if isinstance(l, ConditionalBatchNormalization)]
    assert len(cbns) == 3
    for i, layer in enumerate(cbns):
        layer.beta.assign(tf.random.stateless_uniform(layer.beta.shape, seed=[i, 0],
                                                      minval=0.5, maxval=1.5))
    z = tf.repeat(_z(1, 8), 3, axis=0)
    out = G([z, tf.constant([0, 1, 2])], training=False).numpy()
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])


def test_generator_output_in_range_even_when_saturated():
    G = nets.dcgan_generator(8, 2, latent_dim=8, width=W)
    out_conv = G.get_layer("g_out")
    k, b = out_conv.get_weights()
    out_conv.set_weights([k * 1e4, b])
    x = G(_z(4, 8) * 10, training=True).numpy()
    assert x.min() >= -1.0 and x.max() <= 1.0 and np.abs(x).max() > 0.99


# ----------------------------------------------------------------------------- saving
_SAVE_CASES = {
    "mlp_g": lambda: nets.mlp_generator(latent_dim=8, hidden=(8,), num_classes=3),
    "mlp_d": lambda: nets.mlp_discriminator(hidden=(8,), num_classes=3, heads=ALL_HEADS,
                                            spectral_norm=True, embed_dim=4),
    "mlp_e": lambda: nets.mlp_encoder(latent_dim=8, hidden=(8,)),
    "dcgan_g": lambda: nets.dcgan_generator(8, 1, latent_dim=8, num_classes=3, width=W,
                                            spectral_norm=True),
    "dcgan_d": lambda: nets.dcgan_discriminator(8, 1, num_classes=3, heads=ALL_HEADS, width=W,
                                                spectral_norm=True, embed_dim=4, pooling="mean"),
    "dcgan_e": lambda: nets.dcgan_encoder(8, 1, latent_dim=8, width=W),
    "resnet_g": lambda: nets.resnet_generator(32, 1, latent_dim=8, num_classes=3, width=2),
    "resnet_d": lambda: nets.resnet_discriminator(32, 1, num_classes=3, heads="projection",
                                                  width=2),
    "resnet_e": lambda: nets.resnet_encoder(32, 1, latent_dim=8, width=2),
}


def _sample_inputs(model):
    out = []
    for inp in model.inputs:
        shape = (3,) + tuple(inp.shape[1:])
        if inp.name == "y":
            out.append(tf.constant([0, 2, 1]))
        else:
            out.append(tf.random.stateless_uniform(shape, seed=[4, 2], minval=-1, maxval=1))
    return out[0] if len(out) == 1 else out


@pytest.mark.parametrize("case", sorted(_SAVE_CASES))
def test_keras_round_trip(case, tmp_path):
    model = _SAVE_CASES[case]()
    inputs = _sample_inputs(model)
    model(inputs, training=True)  # move SN / BN state away from its initial value
    before = model(inputs, training=False)
    path = tmp_path / f"{case}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    after = loaded(inputs, training=False)
    tf.nest.map_structure(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6),
                          before, after)
    assert [i.name for i in loaded.inputs] == [i.name for i in model.inputs]


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("fn,kwargs,exc,match", [
    (nets.dcgan_generator, dict(size=48, channels=3), ValueError, r"`size` must be one of \[8, 16, 28, 32, 64\].*48"),
    (nets.resnet_generator, dict(size=28, channels=3), ValueError, r"size=28"),
    (nets.resnet_discriminator, dict(size=64.0, channels=3), ValueError, r"size=64.0"),
    (nets.dcgan_generator, dict(size=32, channels=0), ValueError, r"channels=0"),
    (nets.dcgan_generator, dict(size=32, channels=3, width=-8), ValueError, r"width=-8"),
    (nets.dcgan_generator, dict(size=32, channels=3, latent_dim=0), ValueError, r"latent_dim=0"),
    (nets.dcgan_discriminator, dict(size=32, channels=3, heads=("logit", "aux")), ValueError,
     r"Unknown discriminator head 'aux'"),
    (nets.dcgan_discriminator, dict(size=32, channels=3, heads=("projection",)), ValueError,
     r"need class labels: pass `num_classes`"),
    (nets.resnet_discriminator, dict(size=32, channels=3, num_classes=10), ValueError,
     r"labels would be ignored"),
    (nets.dcgan_discriminator, dict(size=32, channels=3, num_classes=0, heads="classifier"),
     ValueError, r"num_classes=0"),
    (nets.dcgan_discriminator, dict(size=32, channels=3, pooling="max"), ValueError, r"pooling"),
    (nets.dcgan_discriminator, dict(size=32, channels=3, spectral_norm=1), TypeError, r"spectral_norm=1"),
    (nets.dcgan_discriminator, dict(size=32, channels=3, heads="code", code_dim=0), ValueError,
     r"code_dim=0"),
    (nets.mlp_discriminator, dict(num_classes=3, heads="hypersphere", embed_dim=-1), ValueError,
     r"embed_dim=-1"),
    (nets.mlp_generator, dict(hidden=()), ValueError, r"hidden"),
    (nets.mlp_generator, dict(hidden=(128, 0)), ValueError, r"hidden"),
    (nets.mlp_discriminator, dict(activation="nope"), ValueError, r"activation='nope'"),
    (nets.dcgan_encoder, dict(size=10, channels=1), ValueError, r"size=10"),
    (nets.mlp_encoder, dict(latent_dim=2.5), ValueError, r"latent_dim=2.5"),
])
def test_bad_arguments(fn, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(**kwargs)


def test_build_convenience():
    G, D = nets.build("dcgan", 16, 1, num_classes=3, heads=("logit", "classifier"), width=W,
                      latent_dim=8, d_spectral_norm=True)
    assert G.input_shape == [(None, 8), (None,)]
    assert any(isinstance(l, keras.layers.SpectralNormalization) for l in D.layers)
    assert not any(isinstance(l, keras.layers.SpectralNormalization) for l in G.layers)
    assert "class_logits" in D.output
    G, D, E = nets.build("mlp", encoder=True, latent_dim=4, hidden=(8,))
    assert E.output_shape == (None, 4) and G.input_shape == (None, 4)
    with pytest.raises(ValueError, match="arch"):
        nets.build("stylegan", 32, 3)
    with pytest.raises(TypeError, match="no builder accepts the keyword 'depth'"):
        nets.build("resnet", 32, 3, depth=3)
    with pytest.raises(ValueError, match="size"):
        nets.build("mlp", 32, 3)


# ----------------------------------------------------------------------------- mixed precision
def test_mixed_precision_outputs_are_float32():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        G = nets.dcgan_generator(16, 1, latent_dim=8, num_classes=3, width=W, spectral_norm=True)
        D = nets.dcgan_discriminator(16, 1, num_classes=3, heads=ALL_HEADS, width=W,
                                     spectral_norm=True, embed_dim=8)
        Dr = nets.resnet_discriminator(32, 1, num_classes=3, heads=("projection",), width=2)
        M = nets.mlp_discriminator(num_classes=3, heads=("classifier",), hidden=(8,))
        E = nets.dcgan_encoder(16, 1, latent_dim=8, width=W)
        assert G.get_layer("g_relu1").compute_dtype == "float16"  # the body runs in float16
        y = tf.constant([0, 1, 2])
        x = G([_z(3, 8), y], training=True)
        assert x.dtype == tf.float32
        outs = [D([x, y], training=True), Dr([tf.image.resize(x, (32, 32)), y], training=True),
                M([_z(3, 2), y])]
        for out in outs:
            for key, value in out.items():
                assert value.dtype == tf.float32, key
        assert E(x).dtype == tf.float32
        np.testing.assert_allclose(np.linalg.norm(outs[0]["embed"], axis=-1), 1.0, atol=1e-4)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
