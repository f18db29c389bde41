"""Tests of the Evaluate callback, the `kgan eval` CLI, the feature extractors and
missing_modes, with real TensorFlow, real data (sklearn digits) and real classifiers."""
import glob
import json
import os

import keras
import numpy as np
import pytest

import kgan.data
import kgan.metrics as M
from kgan.callbacks.evaluate import Evaluate
from kgan import eval_cli as cli
from kgan.metrics.features import DomainClassifier, InceptionFeatures


@pytest.fixture(scope="session")
def kgan_cache(tmp_path_factory):
    """One classifier cache for the whole session (shared with test_metrics.py)."""
    path = tmp_path_factory.getbasetemp() / "kgan_cache"
    old = os.environ.get("KGAN_CACHE")
    os.environ["KGAN_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KGAN_CACHE", None)
    else:
        os.environ["KGAN_CACHE"] = old


@pytest.fixture(scope="session")
def digits_classifier(kgan_cache):
    return DomainClassifier.for_dataset("digits", verbose=0)


@pytest.fixture(scope="session")
def digits_test():
    return kgan.data.load_arrays("digits", "test")


# ---------------------------------------------------------------- tiny "GAN" models
@keras.saving.register_keras_serializable(package="kgan_test")
class TinyGenerator(keras.Model):
    """A keras.Model with the GAN interface the callback uses: generate() and num_classes.

    ``mode`` picks what generate() returns: "net" (a dense net, z -> image/point),
    "real" (real samples of the requested class: a perfect generator),
    "collapsed" (one real image repeated), "ring" (exact ring8 samples).
    """

    def __init__(self, shape=(8, 8, 1), num_classes=None, mode="net", **kwargs):
        super().__init__(**kwargs)
        self.shape_, self.num_classes, self.mode = tuple(shape), num_classes, mode
        self.net = keras.Sequential([keras.layers.Dense(int(np.prod(shape)), activation="tanh"),
                                     keras.layers.Reshape(tuple(shape))])
        self.generate_calls = []

    def call(self, z):
        return self.net(z)

    def get_config(self):
        return {**super().get_config(), "shape": self.shape_, "num_classes": self.num_classes, "mode": self.mode}

    def generate(self, n, labels=None, batch_size=500, use_ema=True, seed=0):
        self.generate_calls.append({"n": n, "labels": labels, "use_ema": use_ema, "seed": seed})
        rng = np.random.default_rng(seed)
        if self.mode == "stacked":
            return kgan.data.load_arrays("stacked_digits", "test", n=n, seed=seed + 7)[0]
        if self.mode == "ring":
            means, sigma = kgan.data.mode_means("ring8")
            return (means[rng.integers(0, 8, n)] + sigma * rng.normal(size=(n, 2))).astype("float32")
        if self.mode in ("real", "collapsed"):
            x, y = kgan.data.load_arrays("digits", "test")
            if self.mode == "collapsed":
                return np.repeat(x[:1], n, axis=0)
            labels = rng.integers(0, 10, n) if labels is None else np.asarray(labels)
            return np.stack([x[rng.choice(np.flatnonzero(y == c))] for c in labels])
        z = rng.normal(size=(n, 8)).astype("float32")
        return np.asarray(self.net.predict(z, batch_size=batch_size, verbose=0))

    def train_step(self, data):
        return {"loss": 0.0}


def _fit(model, callbacks, epochs):
    model.compile(optimizer=None)
    x = np.zeros((16, 8), "float32")
    return model.fit(x, np.zeros(16), batch_size=8, epochs=epochs, verbose=0, callbacks=callbacks)


# ---------------------------------------------------------------- callback
def test_evaluate_2d_logs_history_checkpoint_tensorboard(tmp_path):
    model = TinyGenerator(shape=(2,), mode="ring")
    model(np.zeros((1, 8), "float32"))
    ckpt = str(tmp_path / "best.weights.h5")
    cb = Evaluate(dataset="ring8", every=1, n_samples=2500, logdir=str(tmp_path / "tb"), verbose=0)
    hist = _fit(model, [cb, keras.callbacks.ModelCheckpoint(ckpt, monitor="reverse_kl", mode="min",
                                                           save_best_only=True, save_weights_only=True)], 2)
    assert hist.history["modes"] == [8.0, 8.0]
    assert all(h > 0.95 for h in hist.history["hq"])  # 3 sigma: 98.9% of 2D Gaussian mass
    assert all(v < 0.01 for v in hist.history["reverse_kl"])
    assert os.path.exists(ckpt)
    assert glob.glob(str(tmp_path / "tb" / "eval" / "events.out.tfevents.*"))
    call = model.generate_calls[-1]
    assert call["n"] == 2500 and call["use_ema"] is True and call["labels"] is None


def test_evaluate_every_and_prefix():
    model = TinyGenerator(shape=(2,), mode="ring")
    model(np.zeros((1, 8), "float32"))
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    cb = Evaluate(["modes", "kl"], "ring8", every=2, n_samples=500, prefix="val_", verbose=0)
    _fit(model, [cb, Spy()], 4)
    assert ["val_modes" in s for s in seen] == [False, True, False, True]
    assert set(seen[1]) >= {"val_modes", "val_kl"}


def test_evaluate_images_conditional(digits_classifier, tmp_path):
    model = TinyGenerator(num_classes=10, mode="real")
    model(np.zeros((1, 8), "float32"))
    metrics = ["fid", "kid", "pr", "dc", "is", "mode_score", "modes", "kl", "i_variance", "class_acc"]
    cb = Evaluate(metrics, "digits", n_samples=300, verbose=0, kid_subsets=10)
    hist = _fit(model, [cb], 1)
    r = {k: v[0] for k, v in hist.history.items()}
    labels = model.generate_calls[-1]["labels"]
    assert np.array_equal(np.bincount(labels), np.full(10, 30))  # balanced labels
    assert r["class_acc"] > 0.95 and r["modes"] == 10 and r["kl"] < 0.05
    assert r["mode_score"] > 8 and r["is"] > 8
    assert r["precision"] > 0.7 and r["recall"] > 0.7 and r["coverage"] > 0.8
    assert "kid_std" in r and "is_std" in r
    real_fid = r["fid"]

    collapsed = TinyGenerator(mode="collapsed")
    collapsed(np.zeros((1, 8), "float32"))
    cb2 = Evaluate(["fid", "modes", "recall", "i_variance"], "digits", n_samples=300, verbose=0)
    r2 = {k: v[0] for k, v in _fit(collapsed, [cb2], 1).history.items()}
    assert r2["fid"] > 20 * real_fid and r2["modes"] == 1 and r2["recall"] < 0.05
    assert r2["i_variance"] < 1e-3


def test_evaluate_stacked_mode_counts(digits_classifier):
    model = TinyGenerator(shape=(8, 8, 3), mode="stacked")
    model(np.zeros((1, 8), "float32"))
    cb = Evaluate(["modes", "kl", "mode_score", "fid"], "stacked_digits", n_samples=3000, n_real=3000, verbose=0)
    r = {k: v[0] for k, v in _fit(model, [cb], 1).history.items()}
    # 3000 uniform draws over 1000 modes cover 1000 (1 - e^-3) = 950 on average; the
    # classifier's ~1.5% errors per channel move a few samples to other modes
    assert 900 < r["modes"] <= 1000 and r["kl"] < 0.5
    assert r["mode_score"] > 500  # p* is the exact product marginal (uniform-ish over 1000)


def test_evaluate_bad_arguments():
    with pytest.raises(ValueError, match="not available"):
        Evaluate(["hq"], "digits", verbose=0)
    with pytest.raises(ValueError, match="every"):
        Evaluate(["modes"], "ring8", every=0)
    with pytest.raises(ValueError, match="dataset"):
        Evaluate(["fid"])
    model = TinyGenerator(shape=(8, 8, 1), mode="net")  # unconditional
    model(np.zeros((1, 8), "float32"))
    with pytest.raises(ValueError, match="class_acc"):
        _fit(model, [Evaluate(["class_acc"], "digits", n_samples=50, verbose=0)], 1)


# ---------------------------------------------------------------- CLI
def test_cli_table_and_json(digits_classifier, tmp_path, capsys):
    model = TinyGenerator(mode="net")
    model(np.zeros((1, 8), "float32"))
    path = str(tmp_path / "tiny.keras")
    model.save(path)
    assert cli.main([path, "--dataset", "digits", "--metrics", "fid,pr,modes", "--n", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["metrics"]) == {"fid", "precision", "recall", "modes"}
    assert "domain classifier for digits" in out["features"]
    assert cli.main([path, "--dataset", "digits", "--metrics", "fid", "--n", "100"]) == 0
    text = capsys.readouterr().out
    assert "fid" in text and "metric" in text and "domain classifier" in text


def test_cli_bad_inputs(tmp_path, capsys):
    bad = tmp_path / "notamodel.keras"
    bad.write_text("hello")
    assert cli.main([str(bad), "--dataset", "digits"]) == 1
    assert "not one" in capsys.readouterr().err
    assert cli.main([str(tmp_path / "missing.keras"), "--dataset", "digits"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert cli.main([str(bad), "--dataset", "digits", "--extractor", "inception",
                     "--weights", str(tmp_path / "none.h5")]) == 1
    assert "does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------- extractors
def test_domain_classifier_cache_and_accuracy(digits_classifier, digits_test, kgan_cache):
    meta = json.loads((kgan_cache / "classifiers" / "digits.v1.json").read_text())
    assert meta["test_accuracy"] >= 0.97 and meta["required_accuracy"] == 0.97
    assert (kgan_cache / "classifiers" / meta["model_file"]).is_file()
    again = DomainClassifier.for_dataset("digits", verbose=0)  # from the cache, no training
    assert again.path == digits_classifier.path
    x, y = digits_test
    assert digits_classifier.accuracy(x, y) == pytest.approx(meta["test_accuracy"])
    f, p = digits_classifier.features_and_probs(x)
    assert f.shape == (len(x), 128) and p.shape == (len(x), 10)
    np.testing.assert_allclose(again.features(x[:20]), f[:20], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="8x8"):
        digits_classifier.features(np.zeros((2, 28, 28, 1), "float32"))
    with pytest.warns(UserWarning, match=r"\[-1, 1\]"):
        digits_classifier.features(np.full((2, 8, 8, 1), 16.0, "float32"))


def test_stacked_classifier(digits_classifier, digits_test):
    sc = DomainClassifier.for_dataset("stacked_digits", verbose=0)
    x, y = kgan.data.load_arrays("stacked_digits", "test", n=300, seed=1)
    pred = sc.predict_labels(x)
    assert pred.min() >= 0 and pred.max() < 1000
    acc = sc.accuracy(x, y)
    assert acc > 0.9  # about (single-image accuracy)^3
    f, p = sc.features_and_probs(x[:50])
    assert f.shape == (50, 384) and p.shape == (50, 1000)
    np.testing.assert_array_equal(np.argmax(p, 1), pred[:50])
    # channel order: label 100 a + 10 b + c, a from channel 0
    xs, ys = digits_test
    i0, i1, i2 = (np.flatnonzero(ys == c)[0] for c in (3, 1, 7))
    img = np.concatenate([xs[i0], xs[i1], xs[i2]], axis=-1)[None]
    assert sc.predict_labels(img)[0] == 317


def test_cache_written_atomically_by_concurrent_trainers(tmp_path, monkeypatch):
    """Two trainers writing the same cache at once both succeed and leave a valid cache.

    ``train`` is replaced by building the real (untrained) CNN so the test checks the
    file protocol in seconds; the real training is exercised by the fixtures above.
    """
    import threading

    from kgan.metrics import features

    def fake_train(cls, name, epochs=None, verbose=1, seed=0):
        return features._build_cnn((8, 8, 1), 10, seed), 0.99

    monkeypatch.setattr(DomainClassifier, "train", classmethod(fake_train))
    cache = tmp_path / "cache"
    results, errors = [], []

    def run():
        try:
            results.append(DomainClassifier.for_dataset("digits", cache=str(cache), verbose=0, retrain=True))
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and len(results) == 2
    files = sorted(os.listdir(cache / "classifiers"))
    assert not [f for f in files if ".tmp" in f]  # no temporary leftovers
    meta = json.loads((cache / "classifiers" / "digits.v1.json").read_text())
    assert meta["model_file"] in files
    loaded = DomainClassifier.for_dataset("digits", cache=str(cache), verbose=0)
    assert os.path.basename(loaded.path) == meta["model_file"]
    # a corrupt JSON is reported and replaced
    (cache / "classifiers" / "digits.v1.json").write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable"):
        DomainClassifier.for_dataset("digits", cache=str(cache), verbose=0)
    json.loads((cache / "classifiers" / "digits.v1.json").read_text())


def test_inception_random_weights_and_bad_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        InceptionFeatures(weights=str(tmp_path / "missing.h5"))
    inc = InceptionFeatures(weights=None, batch_size=2)
    assert "random weights" in inc.label
    x = np.random.default_rng(0).uniform(-1, 1, size=(3, 28, 28, 1)).astype("float32")
    f, p = inc.features_and_probs(x)
    assert f.shape == (3, 2048) and p.shape == (3, 1000)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-4)
    # a notop weights file gives features only: save the random model's convolutional part
    path = str(tmp_path / "notop.weights.h5")
    base = inc._model
    notop = keras.Model(base.input, base.get_layer("avg_pool").output)
    notop.save_weights(path)
    inc2 = InceptionFeatures(weights=path)
    assert not inc2.has_probs and "not the TF-Inception" in inc2.label
    np.testing.assert_allclose(inc2.features(x), f, rtol=1e-4, atol=1e-4)  # same weights, same features
    with pytest.raises(ValueError, match="no classifier top"):
        inc2.probs(x[:1])


def test_distinguishable_classes_finds_dropped_classes(digits_test):
    x_train, y_train = kgan.data.load_arrays("digits", "train")
    fake = x_train[y_train < 5]  # a "generator" that never makes digits 5..9
    r = M.distinguishable_classes(x_train, y_train, fake, epochs=20, seed=0)
    assert len(r["scores"]) == 10
    assert set(r["distinguishable"]) == {5, 6, 7, 8, 9}
    assert r["num_distinguishable"] == 5 and r["mean_score"] == pytest.approx(np.mean(r["scores"]))
    assert max(r["scores"][:5]) < 0.7 < min(r["scores"][5:])
    old = M.missing_modes(x_train, y_train, fake, epochs=20, seed=0)  # Che et al.'s name, same result
    assert old["num_missing"] == 5 and set(old["missing"]) == {5, 6, 7, 8, 9}
    from kgan.metrics.suite import parse_metrics

    assert parse_metrics("missing_modes,modes") == ("distinguishable_classes", "modes")


def test_evaluate_in_keras_tuner_search(tmp_path):
    """keras-tuner deep-copies callbacks per trial and reads the objective from logs."""
    import keras_tuner as kt

    class HM(kt.HyperModel):
        def build(self, hp):
            hp.Choice("unused", [1, 2])
            m = TinyGenerator(shape=(2,), mode="ring")
            m(np.zeros((1, 8), "float32"))
            m.compile(optimizer=None)
            return m

    cb = Evaluate(["modes", "reverse_kl"], "ring8", n_samples=500, verbose=0, logdir=str(tmp_path / "tb"))
    tuner = kt.RandomSearch(HM(), objective=kt.Objective("reverse_kl", "min"), max_trials=2,
                            directory=str(tmp_path / "kt"), project_name="p")
    x = np.zeros((16, 8), "float32")
    tuner.search(x, np.zeros(16), epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.metrics.get_best_value("reverse_kl") < 0.05


# ---------------------------------------------------------------- standard Inception (stand-in graph)
def test_cli_inception_tf_ref_stats_end_to_end(tmp_path, capsys, monkeypatch):
    """kgan eval with the TF-Inception extractor: --save-ref-stats writes TTUR's .npz, --ref-stats
    reads it back (same FID), the graph comes from --inception-graph or KGAN_INCEPTION_GRAPH, and
    every output names the extractor. The graph is tests/inception_standin.py's stand-in."""
    import warnings

    import inception_standin

    from kgan.metrics.stats import load_stats

    warnings.filterwarnings("ignore", "`.*` has .* samples for 2048 feature dimensions", UserWarning)
    graph = inception_standin.write_graph(tmp_path / "classify_image_graph_def.pb")
    model = TinyGenerator(mode="net")
    model(np.zeros((1, 8), "float32"))
    path = str(tmp_path / "tiny.keras")
    model.save(path)
    monkeypatch.setenv("KGAN_CACHE", str(tmp_path / "cache"))
    stats_path = str(tmp_path / "digits_test.npz")
    common = [path, "--metrics", "fid", "--n", "64", "--json"]
    assert cli.main(common + ["--dataset", "digits", "--n-real", "80", "--extractor", "inception_tf",
                              "--inception-graph", graph, "--save-ref-stats", stats_path]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["extractor"] == "inception_tf" and "TF-Inception 2015" in first["features"]
    saved = load_stats(stats_path, expect_extractor="inception_tf", expect_dim=2048)
    assert saved["n"] == "80" and saved["dataset"] == "digits"

    monkeypatch.setenv("KGAN_INCEPTION_GRAPH", graph)  # the graph from the environment; no --dataset needed
    assert cli.main(common[:2] + ["fid,is"] + common[3:] + ["--ref-stats", stats_path]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["metrics"]["fid"] == pytest.approx(first["metrics"]["fid"], rel=1e-9)
    assert second["ref_stats"] == stats_path and second["extractor"] == "inception_tf"
    assert 1.0 <= second["metrics"]["is"] <= 1008

    # a TTUR file (mu, sigma only) is accepted as TF-Inception statistics; the table names the extractor
    ttur = str(tmp_path / "fid_stats_ttur.npz")
    np.savez_compressed(ttur, mu=saved["mu"], sigma=saved["sigma"])
    assert cli.main([path, "--metrics", "fid", "--n", "64", "--ref-stats", ttur]) == 0
    text = capsys.readouterr().out
    assert "fid [inception_tf]" in text and "extractor: inception_tf" in text and "reference:" in text

    # wrong files: a clear error naming the argument and the file
    wrong = str(tmp_path / "wrong.npz")
    np.savez(wrong, mu=saved["mu"][:10], sigma=saved["sigma"][:10, :10])
    assert cli.main([path, "--metrics", "fid", "--n", "64", "--ref-stats", wrong]) == 1
    assert "10-d statistics" in capsys.readouterr().err
    assert cli.main([path, "--metrics", "fid", "--n", "64", "--ref-stats", str(tmp_path / "none.npz")]) == 1
    assert "`ref_stats`=" in capsys.readouterr().err
    assert cli.main([path, "--metrics", "fid,pr", "--n", "64", "--ref-stats", ttur]) == 1
    assert "`dataset` is required" in capsys.readouterr().err
    monkeypatch.delenv("KGAN_INCEPTION_GRAPH")
    assert cli.main([path, "--metrics", "fid", "--n", "64", "--ref-stats", ttur]) == 1
    assert "KGAN_INCEPTION_GRAPH is not set" in capsys.readouterr().err
    # kgan stats of another feature space are refused
    from kgan.metrics.stats import save_stats

    dom = str(tmp_path / "domain.npz")
    save_stats(dom, saved["mu"], saved["sigma"], extractor="domain")
    assert cli.main([path, "--metrics", "fid", "--n", "64", "--ref-stats", dom, "--inception-graph", graph]) == 1
    assert "meaningless" in capsys.readouterr().err


def test_evaluate_callback_tags_name_the_extractor(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model = TinyGenerator(shape=(2,), mode="ring")
    model(np.zeros((1, 8), "float32"))
    cb = Evaluate(["modes", "fid"], "ring8", n_samples=300, logdir=str(tmp_path / "tb"), verbose=0)
    _fit(model, [cb], 1)
    acc = EventAccumulator(str(tmp_path / "tb" / "eval"))
    acc.Reload()
    assert {"modes", "fid"} <= set(acc.Tags()["tensors"])  # 2D: raw points, no extractor to name
    assert cb.evaluator.tag("fid") == "fid" and cb.evaluator.extractor_kind == "raw2d"
    from kgan.metrics.suite import Evaluator

    ev = Evaluator(["fid", "is", "modes"], "digits")
    assert ev.extractor_spec == "domain"
    ev._extractor = type("X", (), {"kind": "inception_tf", "label": "x"})()
    assert [ev.tag(m) for m in ("fid", "is", "kid_std")] == ["fid/inception_tf", "is/inception_tf",
                                                              "kid_std/inception_tf"]
    assert ev.describe("fid") == "fid [inception_tf]"
