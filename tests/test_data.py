"""Tests of kgan.data on real files: sklearn digits, the Debian Fashion-MNIST files,
PNGs written here, a tiny TFDS dataset built here, and tfds' own mock_data."""
import gzip
import os
import shutil
import struct

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import kgan.data as D
from kgan.data import _common, fashion_mnist as fm

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_FILES = [f for pair in fm.FILES.values() for f in pair]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """mock_data and the tmp datasets must not leak cached arrays into other tests."""
    yield
    D.clear_cache()


@pytest.fixture(scope="module")
def debian_dir():
    missing = [f for f in FASHION_FILES if not os.path.isfile(os.path.join(DEBIAN_DIR, f))]
    if missing:
        pytest.fail(
            f"Fashion-MNIST files {missing} are missing from {DEBIAN_DIR}: run "
            "`sudo apt-get install dataset-fashion-mnist` (CI installs it).", pytrace=False)
    return DEBIAN_DIR


# --------------------------------------------------------------------------- 2D sets
def test_mode_means_exact():
    means, sigma = D.mode_means("ring8")
    k = np.arange(8)
    np.testing.assert_allclose(means, np.stack([np.cos(2 * np.pi * k / 8),
                                                np.sin(2 * np.pi * k / 8)], 1), atol=1e-15)
    assert means.dtype == np.float64 and sigma == 0.01
    d = np.linalg.norm(means[:, None] - means[None], axis=-1) + np.eye(8) * 9
    assert d.min() == pytest.approx(2 * np.sin(np.pi / 8))  # 8 distinct, evenly spaced modes
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 1.0)

    means, sigma = D.mode_means("grid25")
    assert sigma == 0.05 and means.shape == (25, 2)
    assert {tuple(m) for m in means} == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    with pytest.raises(ValueError, match="ring8"):
        D.mode_means("digits")


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_2d_samples(name):
    means, sigma = D.mode_means(name)
    x, y = D.load_arrays(name, n=25000, seed=3)
    assert x.shape == (25000, 2) and x.dtype == np.float32 and y.dtype == np.int32
    nearest = np.argmin(((x[:, None].astype(np.float64) - means[None]) ** 2).sum(-1), 1)
    np.testing.assert_array_equal(nearest, y)  # every point is drawn around its own mode
    counts = np.bincount(y, minlength=len(means))
    assert counts.min() > 0.8 * len(x) / len(means)  # uniform over the modes
    residual = x - means[y]
    np.testing.assert_allclose(residual.std(0), sigma, rtol=0.03)
    np.testing.assert_allclose(residual.mean(0), 0.0, atol=5 * sigma / np.sqrt(len(x)))
    assert D.load_arrays(name)[0].shape == (2500, 2)  # default n


def test_2d_stream_determinism_and_labels():
    ds = D.load("ring8", 256, seed=7)
    assert ds.element_spec.shape == (256, 2)  # x only for labels="auto"
    a = [b.numpy() for b in ds.take(3)]
    b = [b.numpy() for b in D.load("ring8", 256, seed=7).take(3)]
    c = next(iter(D.load("ring8", 256, seed=8))).numpy()
    t = next(iter(D.load("ring8", 256, seed=7, split="test"))).numpy()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[0], c)
    assert not np.array_equal(a[0], t)
    x, y = next(iter(D.load("grid25", 64, seed=7, labels=True)))
    assert x.shape == (64, 2) and y.dtype == tf.int32
    xa, ya = D.load_arrays("grid25", n=64, seed=7)  # == first batch of the stream
    np.testing.assert_array_equal(xa, x.numpy())
    np.testing.assert_array_equal(ya, y.numpy())
    assert D.info("grid25") == D.DatasetInfo("grid25", "2d", (2,), 25, 25, None)


# --------------------------------------------------------------------------- digits
def test_digits_arrays_and_splits():
    x, y = D.load_arrays("digits", split="all")
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.float32 and y.dtype == np.int32
    assert x.min() == -1.0 and x.max() == 1.0
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(x[..., 0], load_digits().images / 8.0 - 1.0)
    xtr, ytr = D.load_arrays("digits")
    xte, yte = D.load_arrays("digits", split="test")
    assert len(xtr) == D.info("digits").size == 1438 and len(xte) == 359
    # stratified 80/20: every class ~20% in test
    frac = np.bincount(yte, minlength=10) / np.bincount(y, minlength=10)
    assert np.all(np.abs(frac - 0.2) < 0.01)
    # disjoint and together the whole set
    rows = lambda a: {r.tobytes() + bytes([c]) for r, c in zip(a[0], a[1])}
    assert rows((xtr, ytr)) | rows((xte, yte)) == rows((x, y))
    sub, suby = D.load_arrays("digits", n=100, seed=1)
    assert sub.shape == (100, 8, 8, 1)
    np.testing.assert_array_equal(sub, D.load_arrays("digits", n=100, seed=1)[0])


def test_digits_pipeline():
    ds = D.load("digits", 64)
    assert ds.element_spec[0].shape == (64, 8, 8, 1) and ds.element_spec[1].dtype == tf.int32
    x, y = next(iter(ds))
    assert x.dtype == tf.float32 and -1.0 <= x.numpy().min() and x.numpy().max() <= 1.0
    # one ordered pass == load_arrays
    xs, ys = D.load_arrays("digits", split="test")
    batches = list(D.load("digits", 100, split="test", shuffle=False, repeat=False,
                          drop_remainder=False))
    assert [len(b[1]) for b in batches] == [100, 100, 100, 59]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), xs)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), ys)
    # shuffled epochs: a permutation each, seeded, different between epochs
    ds = D.load("digits", 359, split="test", seed=4)
    e1, e2 = [b[1].numpy() for b in ds.take(2)]
    np.testing.assert_array_equal(np.sort(e1), np.sort(ys))
    assert not np.array_equal(e1, e2)
    again = next(iter(D.load("digits", 359, split="test", seed=4)))[1].numpy()
    np.testing.assert_array_equal(e1, again)
    x_only = next(iter(D.load("digits", 8, labels=False)))
    assert x_only.shape == (8, 8, 8, 1)
    up = next(iter(D.load("digits", 8, resize=16, labels=False)))
    assert up.shape == (8, 16, 16, 1) and float(tf.reduce_max(tf.abs(up))) <= 1.0


# --------------------------------------------------------------------------- Fashion-MNIST
def test_fashion_mnist_debian(debian_dir):
    x, y = D.load_arrays("fashion_mnist", data_dir=debian_dir)
    assert x.shape == (60000, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    xt, yt = D.load_arrays("fashion_mnist", split="test")  # default search finds Debian's
    assert xt.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(yt), [1000] * 10)
    x2, y2 = next(iter(D.load("fashion_mnist", 128)))
    assert x2.shape == (128, 28, 28, 1) and y2.shape == (128,) and y2.dtype == tf.int32
    assert D.info("fashion_mnist") == D.DatasetInfo(
        "fashion_mnist", "image", (28, 28, 1), 10, 10, 60000)


def test_fashion_mnist_copied_dir(debian_dir, tmp_path, monkeypatch):
    for f in FASHION_FILES:
        shutil.copy(os.path.join(debian_dir, f), tmp_path / f)
    ref = D.load_arrays("fashion_mnist", split="test", data_dir=debian_dir)
    got = D.load_arrays("fashion_mnist", split="test", data_dir=str(tmp_path))
    np.testing.assert_array_equal(ref[0], got[0])
    np.testing.assert_array_equal(ref[1], got[1])
    # an uncompressed file works too, and $KGAN_FASHION_MNIST_DIR is honoured
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz") as f:
        (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(f.read())
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    monkeypatch.setenv(fm.ENV_VAR, str(tmp_path))
    assert fm.locate() == ("idx", str(tmp_path))
    np.testing.assert_array_equal(D.load_arrays("fashion_mnist", split="test")[1], ref[1])


def _write_idx(path, magic, dims, data, compress=True):
    raw = struct.pack(">i", magic) + struct.pack(f">{len(dims)}i", *dims) + bytes(data)
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def test_fashion_mnist_corrupt_files(debian_dir, tmp_path):
    images = "t10k-images-idx3-ubyte.gz"
    labels = "t10k-labels-idx1-ubyte.gz"
    shutil.copy(os.path.join(debian_dir, images), tmp_path / images)
    # missing labels file
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte.gz missing.*apt-get install dataset-fashion-mnist"):
        D.load_arrays("fashion_mnist", split="test", data_dir=tmp_path)
    # truncated gzip
    blob = open(os.path.join(debian_dir, labels), "rb").read()
    (tmp_path / labels).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz.*(truncated|corrupt).*apt-get"):
        D.load("fashion_mnist", 32, split="test", data_dir=tmp_path)
    # wrong magic number
    _write_idx(tmp_path / labels, 2051, [10000], np.zeros(10000, np.uint8))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz has magic number 2051; expected 2049"):
        D.load_arrays("fashion_mnist", split="test", data_dir=tmp_path)
    # header/data mismatch and wrong count
    _write_idx(tmp_path / labels, 2049, [10000], np.zeros(9000, np.uint8))
    with pytest.raises(ValueError, match=r"announces 10000"):
        D.load_arrays("fashion_mnist", split="test", data_dir=tmp_path)
    _write_idx(tmp_path / labels, 2049, [500], np.zeros(500, np.uint8))
    with pytest.raises(ValueError, match=r"holds 500 labels; expected 10000"):
        D.load_arrays("fashion_mnist", split="test", data_dir=tmp_path)
    # a directory with no files at all
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"holds no Fashion-MNIST IDX files.*apt-get install"):
        D.load("fashion_mnist", 32, data_dir=empty)


def test_fashion_mnist_tfds_fallback(tmp_path, monkeypatch):
    """No local files anywhere -> tensorflow_datasets (faked offline by tfds' mock_data)."""
    monkeypatch.setattr(fm, "SYSTEM_DIRS", ())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    assert fm.locate() == ("tfds", None)
    with tfds.testing.mock_data(num_examples=12):
        x, y = D.load_arrays("fashion_mnist", split="test")
        assert x.shape == (12, 28, 28, 1) and y.shape == (12,) and -1 <= x.min() <= x.max() <= 1
        xb, yb = next(iter(D.load("fashion_mnist", 4)))
        assert xb.shape == (4, 28, 28, 1)


# --------------------------------------------------------------------------- stacked
def _label_lookup(x, y):
    table = {}
    for img, lab in zip(x, y):
        table.setdefault(img.tobytes(), set()).add(int(lab))
    return table


@pytest.mark.parametrize("name,n", [("stacked_digits", 26000), ("stacked_fashion_mnist", 500)])
def test_stacked_labels_consistent(name, n, debian_dir):
    base = "digits" if name == "stacked_digits" else "fashion_mnist"
    bx, by = D.load_arrays(base)
    table = _label_lookup(bx[..., 0], by)
    x, y = D.load_arrays(name, n=n, seed=5)
    h = bx.shape[1]
    assert x.shape == (n, h, h, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert 0 <= y.min() and y.max() < 1000 and -1 <= x.min() and x.max() <= 1
    y3 = D.unstack_labels(y)
    for i in range(min(n, 500)):
        for c in range(3):
            assert y3[i, c] in table[x[i, :, :, c].tobytes()]
    np.testing.assert_array_equal(D.stack_labels(y3), y)
    if n == 26000:  # uniform triples: essentially all 1000 modes in 26k samples
        assert len(np.unique(y)) >= 995
    # the stream: same protocol, deterministic, first batch == load_arrays(n=B)
    xb, yb = next(iter(D.load(name, 64, seed=5)))
    assert xb.shape == (64, h, h, 3)
    xa, ya = D.load_arrays(name, n=64, seed=5)
    np.testing.assert_array_equal(xb.numpy(), xa)
    np.testing.assert_array_equal(yb.numpy(), ya)
    assert D.info(name) == D.DatasetInfo(name, "image", (h, h, 3), 1000, 1000, None)


def test_stack_label_helpers():
    y3 = np.array([[1, 2, 3], [9, 9, 9], [0, 0, 0]])
    np.testing.assert_array_equal(D.stack_labels(y3), [123, 999, 0])
    np.testing.assert_array_equal(D.unstack_labels([123, 999, 0]), y3)
    t = D.unstack_labels(tf.constant([123, 45]))
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [0, 4, 5]])
    with pytest.raises(ValueError, match="0..9"):
        D.stack_labels([[1, 2, 10]])
    with pytest.raises(ValueError, match=r"\[0, 1000\)"):
        D.unstack_labels([1000])
    test_stream = next(iter(D.load("stacked_digits", 32, split="test", seed=5)))[0].numpy()
    train_stream = next(iter(D.load("stacked_digits", 32, seed=5)))[0].numpy()
    assert not np.array_equal(test_stream, train_stream)


def test_stacked_mnist_through_tfds(tmp_path, monkeypatch):
    """stacked_mnist stacks tfds' mnist (tfds' own offline mock_data: random 28x28 digits)."""
    monkeypatch.setenv("KGAN_OFFLINE", "1")
    assert D.NAMES.index("mnist") < D.NAMES.index("stacked_mnist")
    assert D.info("mnist") == D.DatasetInfo("mnist", "image", (28, 28, 1), 10, 10, 60000)
    assert D.info("stacked_mnist") == D.DatasetInfo("stacked_mnist", "image", (28, 28, 3), 1000, 1000, None)
    with tfds.testing.mock_data(num_examples=24):
        bx, by = D.load_arrays("mnist")
        assert bx.shape == (24, 28, 28, 1) and by.dtype == np.int32 and -1 <= bx.min() <= bx.max() <= 1
        table = _label_lookup(bx[..., 0], by)
        assert len(table) == 24  # distinct images: each channel's base label is known
        x, y = D.load_arrays("stacked_mnist", n=40, seed=2)
        assert x.shape == (40, 28, 28, 3) and x.dtype == np.float32 and y.dtype == np.int32
        assert -1 <= x.min() and x.max() <= 1 and 0 <= y.min() and y.max() < 1000
        base_labels = np.array([[next(iter(table[x[i, :, :, c].tobytes()])) for c in range(3)]
                                for i in range(40)])
        np.testing.assert_array_equal(y, D.stack_labels(base_labels))
        xb, yb = next(iter(D.load("stacked_mnist", 40, seed=2)))  # the stream's first batch
        assert xb.shape == (40, 28, 28, 3) and xb.dtype == tf.float32 and yb.dtype == tf.int32
        np.testing.assert_array_equal(xb.numpy(), x)
        np.testing.assert_array_equal(yb.numpy(), y)
        assert next(iter(D.load("stacked_mnist", 8, labels=False, split="test"))).shape == (8, 28, 28, 3)
        with pytest.raises(ValueError, match=r"`split` must be one of \['train', 'test'\] for dataset "
                                             r"'stacked_mnist'; received split='all'"):
            D.load("stacked_mnist", 8, split="all")
    D.clear_cache()
    with pytest.raises(FileNotFoundError, match=r"'mnist' is not prepared in .*offline.*base set of "
                                                r"'stacked_mnist'.*tfds build mnist --data_dir"):
        D.load("stacked_mnist", 8, data_dir=tmp_path)


# --------------------------------------------------------------------------- TFDS
class KganTestTinyImages(tfds.core.GeneratorBasedBuilder):
    """A real, tiny TFDS dataset built offline into a tmp data_dir."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(12, 10, 3)),
            "label": tfds.features.ClassLabel(num_classes=3)}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(30, 0), "test": self._generate_examples(7, 1)}

    def _generate_examples(self, n, seed):
        rng = np.random.default_rng(seed)
        for i in range(n):
            yield i, {"image": rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), "label": i % 3}


@pytest.fixture(scope="module")
def tiny_tfds_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tfds"))
    KganTestTinyImages(data_dir=d).download_and_prepare()
    return d


def test_tfds_prepared_offline(tiny_tfds_dir, monkeypatch):
    monkeypatch.setenv("KGAN_OFFLINE", "1")
    name = "kgan_test_tiny_images"
    assert D.info(name, data_dir=tiny_tfds_dir) == D.DatasetInfo(
        name, "image", (12, 10, 3), 3, 3, 30)
    ref = tfds.as_numpy(tfds.load(name, split="test", data_dir=tiny_tfds_dir, download=False,
                                  batch_size=-1))
    x, y = D.load_arrays(name, split="test", data_dir=tiny_tfds_dir)
    np.testing.assert_array_equal(x, ref["image"].astype(np.float32) / 127.5 - 1.0)
    np.testing.assert_array_equal(y, ref["label"])
    ds = D.load(name, 8, data_dir=tiny_tfds_dir)
    xb, yb = next(iter(ds))
    assert xb.shape == (8, 12, 10, 3) and yb.dtype == tf.int32
    xr = next(iter(D.load(name, 8, data_dir=tiny_tfds_dir, resize=D.Resize(6, crop="center"),
                          labels=False)))
    assert xr.shape == (8, 6, 6, 3)
    batches = list(D.load(name, 4, split="train[:10]", data_dir=tiny_tfds_dir, repeat=False))
    assert len(batches) == 2
    with pytest.raises(ValueError, match=r"`split` must be one of \['test', 'train'\].*'val'"):
        D.load(name, 4, split="val", data_dir=tiny_tfds_dir)
    with pytest.raises(ValueError, match=r"`batch_size`=64 is larger than split 'test'.*7"):
        D.load(name, 64, split="test", data_dir=tiny_tfds_dir)


def test_tfds_streaming_path(tiny_tfds_dir, monkeypatch):
    """Sets too large for memory stream from the tfds files (forced here by a 0-byte limit)."""
    monkeypatch.setattr(_common, "MEMORY_LIMIT_BYTES", 0)
    ds = D.load("kgan_test_tiny_images", 5, split="test", data_dir=tiny_tfds_dir,
                shuffle=False, repeat=False, drop_remainder=False)
    ys = np.concatenate([b[1].numpy() for b in ds])
    ref = D.load_arrays("kgan_test_tiny_images", split="test", data_dir=tiny_tfds_dir)[1]
    np.testing.assert_array_equal(np.sort(ys), np.sort(ref))
    xb = next(iter(D.load("kgan_test_tiny_images", 4, data_dir=tiny_tfds_dir, labels=False)))
    assert xb.shape == (4, 12, 10, 3) and -1 <= float(tf.reduce_min(xb))


def test_tfds_not_prepared_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KGAN_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match=r"not prepared in .*offline.*tfds build kgan_test_tiny_images --data_dir"):
        D.load("kgan_test_tiny_images", 4, data_dir=tmp_path)


def test_tfds_mock_data():
    with tfds.testing.mock_data(num_examples=16):
        x, y = next(iter(D.load("cifar10", 8)))
        assert x.shape == (8, 32, 32, 3) and y.dtype == tf.int32
        assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
        assert D.info("cifar10").shape == (32, 32, 3) and D.info("cifar10").num_classes == 10
        faces = next(iter(D.load("celeb_a", 4, resize=D.Resize(16, crop=108))))
        assert faces.shape == (4, 16, 16, 3)  # no "label" feature -> x only
        assert D.info("celeb_a").num_classes is None
        with pytest.raises(ValueError, match="'celeb_a' has no labels"):
            D.load("celeb_a", 4, labels=True)
        bedrooms = next(iter(D.load("lsun/bedroom", 4, resize=(8, 8))))
        assert bedrooms.shape == (4, 8, 8, 3)
        with pytest.raises(ValueError, match="vary in size.*resize"):
            D.load("lsun/bedroom", 4)


# --------------------------------------------------------------------------- image folders
def _png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_image_folder_classes(tmp_path):
    rng = np.random.default_rng(0)
    for cls, n in (("zebra", 3), ("ant", 2)):
        for i in range(n):
            _png(tmp_path / cls / f"{i}.png", rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    _png(tmp_path / "ant" / "deeper" / "x.png", np.zeros((6, 5, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    name = f"folder:{tmp_path}"
    assert D.info(name) == D.DatasetInfo(name, "image", (6, 5, 3), 2, 2, 6)
    x, y = D.load_arrays(name)
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1])  # sorted class names: ant, zebra
    from PIL import Image

    first = np.asarray(Image.open(tmp_path / "ant" / "0.png"), np.float32) / 127.5 - 1
    np.testing.assert_array_equal(x[0], first)
    xb, yb = next(iter(D.load("image_folder", 4, data_dir=str(tmp_path))))
    assert xb.shape == (4, 6, 5, 3) and yb.dtype == tf.int32
    with pytest.raises(ValueError, match="larger than split"):
        D.load(name, 7)
    assert len(list(D.load(name, 7, drop_remainder=False, repeat=False))) == 1


def test_image_folder_flat_grey_and_sizes(tmp_path, monkeypatch):
    img = np.zeros((8, 16), np.uint8)
    img[2:6, 6:10] = 255  # a bright 4x4 square in the centre
    _png(tmp_path / "a.png", img)
    _png(tmp_path / "b.png", img)
    name = f"folder:{tmp_path}"
    assert D.info(name).shape == (8, 16, 1) and D.info(name).num_classes is None
    x = next(iter(D.load(name, 2)))  # flat folder: x only
    assert x.shape == (2, 8, 16, 1)
    with pytest.raises(ValueError, match="has no labels"):
        D.load(name, 2, labels=True)
    square = next(iter(D.load(name, 2, resize=D.Resize(2, crop=4))))
    np.testing.assert_allclose(square.numpy(), 1.0)  # the centre crop is the bright square
    wide = next(iter(D.load(name, 2, resize=D.Resize(8, crop="center"))))
    assert wide.shape == (2, 8, 8, 1)
    _png(tmp_path / "c.png", np.zeros((5, 5), np.uint8))
    D.clear_cache()
    with pytest.raises(ValueError, match=r"differ in size.*resize=\(height, width\)"):
        D.load(name, 2)
    assert next(iter(D.load(name, 3, resize=(4, 4)))).shape == (3, 4, 4, 1)
    _png(tmp_path / "d.png", np.zeros((5, 5, 3), np.uint8))  # one colour image -> 3 channels
    monkeypatch.setattr(_common, "MEMORY_LIMIT_BYTES", 0)  # streaming path
    xs = next(iter(D.load(name, 4, resize=(4, 4))))
    assert xs.shape == (4, 4, 4, 3)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="Cannot read image .*bad.png"):
        D.load(name, 2, resize=(4, 4))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "64", None])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer; received batch_size="):
        D.load("ring8", bad)


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown dataset name='mnsit'.*'ring8', 'grid25', 'grid49', 'grid100', 'digits'"):
        D.load("mnsit", 8)
    with pytest.raises(ValueError, match="Unknown dataset"):
        D.info("no_such_set_anywhere")
    with pytest.raises(ValueError, match="`name` must be a non-empty string"):
        D.load(3, 8)
    with pytest.raises(ValueError, match=r"`batch_size`=400 is larger than split 'test' of dataset 'digits' \(359"):
        D.load("digits", 400, split="test")
    D.load("digits", 400, split="test", drop_remainder=False)  # fine without dropping
    with pytest.raises(ValueError, match=r"`split` must be one of \['train', 'test', 'all'\] for dataset 'digits'; received split='validation'"):
        D.load("digits", 8, split="validation")
    with pytest.raises(ValueError, match=r"`split` must be one of \['train', 'test'\] for dataset 'ring8'"):
        D.load_arrays("ring8", split="all")
    with pytest.raises(ValueError, match=r"`split` must be one of \['train', 'test'\] for dataset 'stacked_fashion_mnist'"):
        D.load("stacked_fashion_mnist", 8, split="all")
    with pytest.raises(ValueError, match=r"`labels` must be 'auto', True or False; received labels='yes'"):
        D.load("digits", 8, labels="yes")
    with pytest.raises(ValueError, match=r"`seed` must be an integer"):
        D.load("digits", 8, seed=1.5)
    with pytest.raises(ValueError, match=r"`shuffle` must be True or False"):
        D.load("digits", 8, shuffle="no")
    with pytest.raises(ValueError, match=r"`resize` only applies to image datasets"):
        D.load("ring8", 8, resize=(4, 4))
    with pytest.raises(ValueError, match=r"`resize` must be a positive int or a \(height, width\)"):
        D.load("digits", 8, resize=(4, 0))
    with pytest.raises(ValueError, match=r"`crop` must be None, 'center'"):
        D.Resize(4, crop="middle")
    with pytest.raises(ValueError, match=r"`n`=5000 is larger than split 'test'"):
        D.load_arrays("digits", split="test", n=5000)
    with pytest.raises(ValueError, match=r"`n` must be a positive integer"):
        D.load_arrays("stacked_digits", n=0)
    with pytest.raises(ValueError, match=r"`data_dir` must be the image folder's path"):
        D.load("image_folder", 8)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load(f"folder:{tmp_path / 'nope'}", 8)
    with pytest.raises(FileNotFoundError, match="holds no images"):
        D.info(f"folder:{tmp_path}")
