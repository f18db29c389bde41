"""The standard FID features (kgan.metrics.inception_tf) and reference statistics (kgan.metrics.stats).

No network here: a stand-in frozen graph with the 2015 graph's tensor names and
shapes (tests/inception_standin.py) is written to disk and loaded through the
same code a user's classify_image_graph_def.pb takes (path argument, folder,
KGAN_INCEPTION_GRAPH, SavedModel)."""
import os

import numpy as np
import pytest

import inception_standin as standin
import kgan.metrics as M
from kgan.metrics import inception_tf, stats
from kgan.metrics.inception_tf import StandardInception


@pytest.fixture(scope="module")
def graph_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inception")
    return standin.write_graph(folder / "classify_image_graph_def.pb")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(-1, 1, size=(3, 32, 32, 3)).astype("float32")
    grey = rng.uniform(-1, 1, size=(2, 8, 8, 1)).astype("float32")
    return rgb, grey


def test_to_uint8_rounding_and_grey():
    x = np.array([-1.0, -0.999, 0.0, 1.0, 1.2, -1.3, 2 * 37 / 255 - 1, 2 * 200 / 255 - 1], "float32")
    u = inception_tf.to_uint8(x.reshape(1, 1, -1, 1))
    # (x + 1) * 127.5 rounded half up: -0.999 -> 0.1275 -> 0; 0 -> 127.5 -> 128; out of range clipped
    np.testing.assert_array_equal(u[0, 0, :, 0], [0, 0, 128, 255, 255, 0, 37, 200])
    assert u.shape == (1, 1, 8, 3) and u.dtype == np.uint8
    np.testing.assert_array_equal(u[..., 0], u[..., 2])  # grey repeated to RGB


def test_features_match_hand_computation(graph_path, images):
    inc = StandardInception(graph_path, batch_size=2)
    assert inc.kind == "inception_tf" and inc.num_classes == 1008 and inc.feature_dim == 2048
    assert inc.input_name == "ExpandDims:0" and "TF-Inception 2015" in inc.label and "TTUR" in inc.label
    for x in images:  # batches of 2 (the graph's static batch of 1 must not matter), RGB and grey
        f, p = inc.features_and_probs(x)
        u = np.floor((x.astype(np.float64) + 1) * 127.5 + 0.5).clip(0, 255)
        u = np.repeat(u, 3, axis=-1) if u.shape[-1] == 1 else u
        pool, logits = standin.reference_pool_and_logits([standin.tf1_bilinear_resize(i) for i in u])
        assert f.shape == (len(x), 2048) and p.shape == (len(x), 1008)
        np.testing.assert_allclose(f, pool, rtol=2e-4, atol=2e-5)
        e = np.exp(logits - logits.max(1, keepdims=True))  # the original IS: softmax(pool_3 @ W), no bias
        np.testing.assert_allclose(p, e / e.sum(1, keepdims=True), rtol=2e-3, atol=1e-6)
    # batch composition does not change a sample's features
    np.testing.assert_allclose(StandardInception(graph_path, batch_size=3).features(images[0][:1]),
                               inc.features(images[0][:1]), rtol=1e-5, atol=1e-6)


def test_sources_env_folder_savedmodel_clean(graph_path, images, tmp_path, monkeypatch):
    x = images[0]
    ref = StandardInception(graph_path).features(x)
    monkeypatch.setenv(inception_tf.GRAPH_ENV, graph_path)
    from_env = StandardInception()
    assert from_env.path == os.path.abspath(graph_path)
    np.testing.assert_array_equal(from_env.features(x), ref)
    folder = StandardInception(os.path.dirname(graph_path))  # the extracted archive's folder
    np.testing.assert_array_equal(folder.features(x), ref)
    via_get = M.get_extractor("inception_tf")  # env var through the generic entry point
    assert isinstance(via_get, StandardInception)

    sm = inception_tf.export_saved_model(graph_path, str(tmp_path / "sm"))
    monkeypatch.setenv(inception_tf.GRAPH_ENV, sm)
    saved = StandardInception()
    assert saved.source == "saved_model" and saved.input_name == "Mul:0" and saved.num_classes == 1008
    f, p = saved.features_and_probs(x)
    np.testing.assert_allclose(f, ref, rtol=1e-5, atol=1e-6)  # our resize + scaling == the graph's
    np.testing.assert_allclose(p, StandardInception(graph_path).probs(x), rtol=1e-4, atol=1e-7)

    clean = StandardInception(graph_path, resize="clean")
    assert clean.kind == "inception_tf_clean" and "clean-fid" in clean.label
    u = inception_tf.to_uint8(x)
    from PIL import Image

    hand = np.stack([np.stack([np.asarray(Image.fromarray(img[:, :, c].astype(np.float32), mode="F")
                                          .resize((299, 299), resample=Image.BICUBIC)).clip(0, 255)
                               for c in range(3)], -1) for img in u])
    np.testing.assert_allclose(clean.prepare(x), hand, rtol=0, atol=1e-4)
    pool, _ = standin.reference_pool_and_logits(hand)
    np.testing.assert_allclose(clean.features(x), pool, rtol=2e-4, atol=2e-5)
    assert np.abs(clean.features(x) - ref).max() > 1e-3  # a different resize: different numbers


def test_source_errors(graph_path, tmp_path, monkeypatch):
    monkeypatch.delenv(inception_tf.GRAPH_ENV, raising=False)
    with pytest.raises(ValueError, match="KGAN_INCEPTION_GRAPH is not set.*inception-2015-12-05.tgz"):
        StandardInception()
    with pytest.raises(ValueError, match="missing.pb.*does not exist.*classify_image_graph_def.pb"):
        StandardInception(str(tmp_path / "missing.pb"))
    monkeypatch.setenv(inception_tf.GRAPH_ENV, str(tmp_path / "gone.pb"))
    with pytest.raises(ValueError, match="KGAN_INCEPTION_GRAPH=.*gone.pb.*does not exist"):
        StandardInception()
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\x00\x01 not a graph \xff" * 10)
    with pytest.raises(ValueError, match="not a TensorFlow GraphDef|not the 2015 Inception graph"):
        StandardInception(str(junk))
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        tf.identity(tf.compat.v1.placeholder(tf.float32, [None, 4], name="ExpandDims"), name="other")
    other = tmp_path / "other.pb"
    other.write_bytes(g.as_graph_def().SerializeToString())
    with pytest.raises(ValueError, match="no tensor 'pool_3:0'"):
        StandardInception(str(other))
    with pytest.raises(ValueError, match="neither"):
        StandardInception(str(tmp_path))  # a folder without the graph
    with pytest.raises(ValueError, match="resize"):
        StandardInception(graph_path, resize="bicubic")
    try:
        import tensorflow_hub  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="tensorflow_hub.*tensorflow-hub"):
            StandardInception("tfhub")


def test_stats_npz_round_trip_and_checks(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(300, 16))
    mu, sigma = stats.compute_stats(feats)
    path = stats.save_stats(str(tmp_path / "s.npz"), mu, sigma, extractor="inception_tf", label="L", n=300)
    back = stats.load_stats(path, expect_extractor="inception_tf", expect_dim=16)
    np.testing.assert_array_equal(back["mu"], mu)
    np.testing.assert_array_equal(back["sigma"], sigma)
    assert back["extractor"] == "inception_tf" and back["n"] == "300" and back["label"] == "L"
    with np.load(path) as raw:  # TTUR's reader sees its two keys
        assert raw["mu"].shape == (16,) and raw["sigma"].shape == (16, 16)
    ttur = tmp_path / "fid_stats_ttur.npz"
    np.savez_compressed(ttur, mu=mu, sigma=sigma)  # a TTUR file: no extractor recorded
    assert stats.load_stats(str(ttur))["extractor"] == "inception_tf"
    with pytest.raises(ValueError, match="extractor 'inception_tf'.*'domain'"):
        stats.load_stats(str(ttur), expect_extractor="domain")
    with pytest.raises(ValueError, match="16-d statistics.*2048-d"):
        stats.load_stats(path, expect_dim=2048)
    bad = tmp_path / "bad.npz"
    np.savez(bad, mean=mu, cov=sigma)
    with pytest.raises(ValueError, match="no 'mu' / 'sigma'.*'cov', 'mean'"):
        stats.load_stats(str(bad))
    with pytest.raises(ValueError, match="does not exist"):
        stats.load_stats(str(tmp_path / "none.npz"))
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a readable .npz"):
        stats.load_stats(str(tmp_path / "text.npz"))
    with pytest.raises(ValueError, match=r"\(D, D\)"):
        stats.save_stats(str(tmp_path / "x.npz"), mu, sigma[:3])
    # FID from stored statistics == FID from the features
    other = rng.normal(size=(400, 16)) + 0.2
    m2, s2 = stats.compute_stats(other)
    assert M.frechet_distance_from_stats(back["mu"], back["sigma"], m2, s2) == pytest.approx(
        M.frechet_distance(feats, other), rel=1e-12)


def test_dataset_stats_cached(graph_path, tmp_path):
    inc = StandardInception(graph_path)
    first = stats.dataset_stats("digits", inc, split="test", n=40, cache_dir=str(tmp_path))
    assert os.path.isfile(first["path"]) and "inception_tf" in os.path.basename(first["path"])
    from kgan.metrics.suite import load_real

    x, _ = load_real("digits", "test", 40, 0)
    mu, _ = stats.compute_stats(inc.features(x))
    np.testing.assert_allclose(first["mu"], mu, rtol=1e-6)
    again = stats.dataset_stats("digits", inc, split="test", n=40, cache_dir=str(tmp_path))
    assert again["path"] == first["path"] and again["extractor"] == "inception_tf"
    np.testing.assert_array_equal(again["sigma"], first["sigma"])


def test_evaluator_ref_stats_dict_and_extractor_object():
    """An extractor object (any class with features_and_probs and a kind) against in-memory statistics."""
    from kgan.metrics.suite import Evaluator

    class Flatten:
        kind, label = "flatten", "raw pixels"

        def features_and_probs(self, x):
            return np.asarray(x, np.float32).reshape(len(x), -1), None

    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, size=(200, 4, 4, 1))
    mu, sigma = stats.compute_stats(real.reshape(200, -1))
    fake = rng.uniform(-1, 1, size=(150, 4, 4, 1)).astype("float32")
    ev = Evaluator(["fid"], None, extractor=Flatten(), ref_stats={"mu": mu, "sigma": sigma, "extractor": "flatten"})
    got = ev.evaluate(fake)["fid"]
    assert got == pytest.approx(M.frechet_distance(real.reshape(200, -1), fake.reshape(150, -1)), rel=1e-9)
    assert ev.describe("fid") == "fid [flatten]" and ev.tag("fid") == "fid/flatten"
    wrong = Evaluator(["fid"], None, extractor=Flatten(), ref_stats={"mu": mu, "sigma": sigma, "extractor": "domain"})
    with pytest.raises(ValueError, match="'domain'.*'flatten'.*meaningless"):
        wrong.evaluate(fake)
    with pytest.raises(ValueError, match="`dataset` is required for \\['precision'\\]"):
        Evaluator(["fid", "precision"], None, extractor=Flatten(), ref_stats={"mu": mu, "sigma": sigma})
    with pytest.raises(ValueError, match="`dataset` is required by extractor='domain'"):
        Evaluator(["fid"], None, ref_stats={"mu": mu, "sigma": sigma})
