"""Swappable feature extractors for the metrics: keras InceptionV3, per-dataset
domain classifiers trained (once, then cached) by kgan, and (``inception_tf``,
kgan.metrics.inception_tf) the 2015 TF-Inception graph of published FIDs.

Every extractor offers ``features(x)`` (N, D) float32, ``probs(x)`` (N, K)
softmax outputs, ``features_and_probs(x)`` (one pass for both), a ``label``
string that says which network produced the numbers and a short ``kind``
("domain", "inception_keras", "inception_tf") stored with every value.
"""
import datetime
import json
import os
import secrets
import warnings

import numpy as np

from kgan.metrics._checks import as_images, softmax
from kgan.utils import atomic_path, check_positive_int

INCEPTION_LABEL = "keras-inception (ImageNet weights), not the TF-Inception FID that papers report"
CACHE_ENV = "KGAN_CACHE"
_CLASSIFIER_VERSION = 1  # bump when the architecture or training recipe changes


def cache_dir():
    """The kgan cache directory: ``$KGAN_CACHE``, or ``~/.cache/kgan`` when unset."""
    return os.path.abspath(os.path.expanduser(os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "kgan")))


# ======================================================================== Inception
def _weights_have_top(path):
    """True/False if an HDF5 weights file has/lacks InceptionV3's dense classifier; None if unknown.

    keras' downloaded files name the layer "predictions"; keras 3 ``.weights.h5``
    files store it as "layers/dense".
    """
    try:
        import h5py

        with h5py.File(path, "r") as fh:
            names = []
            fh.visit(names.append)
    except Exception:  # noqa: BLE001 - not HDF5 / h5py missing: let keras try
        return None
    return any("predictions" in n or n.rsplit("/", 1)[-1] == "dense" for n in names)


class InceptionFeatures:
    """Keras ``InceptionV3`` features: 2048-d global-average-pool features and
    1000-way ImageNet softmax (for the Inception Score).

    Images (NHWC in [-1, 1], 1 or 3 channels) are resized to 299x299 with
    bilinear interpolation (grayscale repeated to 3 channels); [-1, 1] is
    already the range InceptionV3's ``preprocess_input`` produces, so no other
    rescaling is applied.

    These are keras' ImageNet classifier weights, not the 2015 TF-Inception
    graph (``pool_3``) used for the published FID/IS numbers: values are not
    comparable with papers. ``label`` says so and is printed with every result.

    Args:
        weights: "imagenet" (downloaded by keras on first use; needs internet),
            a path to a local weights file (``.h5`` / ``.weights.h5``; the full
            model's file gives features and probabilities, a ``notop`` file gives
            features only), or None (random weights: for timing only).
        batch_size: images per forward pass (default 32).
    """

    def __init__(self, weights="imagenet", batch_size=32):
        import keras

        check_positive_int("batch_size", batch_size)
        self.batch_size = batch_size
        self.weights = weights
        self.kind = "inception_keras"
        if weights is None:
            self.label = "keras-inception (random weights: for timing only, meaningless as a metric)"
        elif weights == "imagenet":
            self.label = INCEPTION_LABEL
        else:
            path = os.fspath(weights)
            if not os.path.isfile(path):
                raise ValueError(
                    f"`weights` must be 'imagenet', None or the path of an existing InceptionV3 weights "
                    f"file; received weights={weights!r}, which does not exist.")
            self.label = f"keras-inception (weights from {os.path.basename(path)}), not the TF-Inception FID that papers report"
        self.has_probs = True
        top = None if weights in (None, "imagenet") else _weights_have_top(os.fspath(weights))
        try:
            if top is False:  # a notop file: skip the attempt with the classifier top
                raise ValueError("notop weights")
            base = keras.applications.InceptionV3(include_top=True, weights=weights)
            self._model = keras.Model(base.input, [base.get_layer("avg_pool").output, base.output])
        except Exception as err:  # noqa: BLE001 - re-raised with context below
            if weights == "imagenet":
                raise RuntimeError(
                    "Could not get keras' InceptionV3 ImageNet weights (no internet?). Download "
                    "'inception_v3_weights_tf_dim_ordering_tf_kernels.h5' elsewhere and pass "
                    f"weights=PATH. Original error: {err}") from err
            if weights is None:
                raise
            try:  # a notop weights file: features only
                self._model = keras.applications.InceptionV3(include_top=False, weights=weights, pooling="avg")
                self.has_probs = False
            except Exception as err2:  # noqa: BLE001
                raise ValueError(
                    f"`weights`={weights!r} could not be loaded into keras' InceptionV3 (with or without "
                    f"the top classifier): {err2}") from err2
        self._fn = None

    def _forward(self, batch):
        import tensorflow as tf

        if self._fn is None:
            model = self._model

            @tf.function(reduce_retracing=True)
            def fn(x):
                x = tf.image.resize(x, (299, 299), method="bilinear")
                if x.shape[-1] == 1:
                    x = tf.repeat(x, 3, axis=-1)
                out = model(x, training=False)
                return out if isinstance(out, (list, tuple)) else (out, out)
            self._fn = fn
        f, p = self._fn(tf.convert_to_tensor(batch))
        return f.numpy(), p.numpy()

    def features_and_probs(self, x):
        """(pool features (N, 2048), ImageNet probabilities (N, 1000) or None)."""
        x = as_images("x", x)
        if x.shape[3] not in (1, 3):
            raise ValueError(f"`x` must have 1 or 3 channels for InceptionV3; received shape {x.shape}.")
        feats, probs = [], []
        for i in range(0, len(x), self.batch_size):
            f, p = self._forward(x[i:i + self.batch_size])
            feats.append(f)
            probs.append(p)
        return np.concatenate(feats), (np.concatenate(probs) if self.has_probs else None)

    def features(self, x):
        """2048-d pool features (N, 2048) float32."""
        return self.features_and_probs(x)[0]

    def probs(self, x):
        """ImageNet softmax (N, 1000); needs the full (not ``notop``) weights."""
        if not self.has_probs:
            raise ValueError(f"These InceptionV3 weights ({self.weights!r}) have no classifier top: "
                             "use the full weights file for probabilities / Inception Score.")
        return self.features_and_probs(x)[1]


# ======================================================================== domain classifiers
# Training recipes. Measured (2 shared CPU cores): Fashion-MNIST 91.6% test accuracy
# after 6 epochs of the strided CNN with cosine decay (90.8-91.4% in other runs);
# digits 98.6% after 30 epochs (1,438 images, about a second per epoch).
# MNIST (read through tfds, so it needs internet) uses Fashion-MNIST's recipe; its accuracy
# has NOT been measured here (no MNIST offline). The 98% floor is far below what such a CNN
# usually reaches on MNIST (about 99%), so a floor failure means something is broken.
_SPECS = {
    "fashion_mnist": {"min_accuracy": 0.90, "epochs": 6, "batch_size": 128, "lr": 2e-3},
    "digits": {"min_accuracy": 0.97, "epochs": 30, "batch_size": 32, "lr": 2e-3},
    "mnist": {"min_accuracy": 0.98, "epochs": 6, "batch_size": 128, "lr": 2e-3},
}
#: The base set of each stacked set (its three channels are independent draws of it).
STACKED_BASE = {"stacked_fashion_mnist": "fashion_mnist", "stacked_digits": "digits",
            "stacked_mnist": "mnist"}


def _build_cnn(input_shape, num_classes, seed):
    """Small CNN ending in dense 128 ReLU ("features") -> dense K ("logits").

    28x28: conv 5x5/2 (32) -> conv 3x3/2 (64) -> flatten (7x7x64); strided
    convolutions keep training to a few seconds per epoch on a CPU.
    8x8: conv 3x3 (32) -> conv 3x3 (64) -> max-pool 2 -> flatten (4x4x64).
    """
    import keras

    L = keras.layers
    init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
    inp = keras.Input(input_shape, name="image")
    if input_shape[0] < 16:
        h = L.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer=init(1))(inp)
        h = L.Conv2D(64, 3, padding="same", activation="relu", kernel_initializer=init(2))(h)
        h = L.MaxPooling2D()(h)
    else:
        h = L.Conv2D(32, 5, strides=2, padding="same", activation="relu", kernel_initializer=init(1))(inp)
        h = L.Conv2D(64, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(2))(h)
    h = L.Flatten()(h)
    f = L.Dense(128, activation="relu", kernel_initializer=init(3), name="features")(h)
    out = L.Dense(num_classes, kernel_initializer=init(4), name="logits")(f)
    return keras.Model(inp, out, name="kgan_domain_classifier")


class DomainClassifier:
    """A small CNN classifier of one image dataset, used as a feature extractor
    (penultimate 128-d layer), for class probabilities (IS / MODE score /
    I-Variance in the domain), mode counting and class-consistency accuracy.

    Get one with ``DomainClassifier.for_dataset(name)``: the first call trains
    it on ``kgan.data.load_arrays(name, "train")`` (a progress bar with
    ``verbose=1``), measures accuracy on the ``"test"`` split, refuses (raises
    ``RuntimeError``) if it is below the required accuracy (Fashion-MNIST 90%,
    digits 97%, MNIST 98%), and caches the model under ``$KGAN_CACHE/classifiers``
    (default ``~/.cache/kgan``) with a JSON next to it recording the test
    accuracy. Both files are written under temporary names and renamed, and the
    JSON names the model file it describes, so two processes training at once
    both end with a valid cache (the last writer wins; the other model file is
    left unused).

    The Fréchet distance in this space is the offline replacement for FID (as
    TF-GAN did for MNIST): it is NOT an Inception FID and is only comparable
    between runs using the same cached classifier (``label`` includes its
    accuracy and file name).
    """

    def __init__(self, model, dataset, test_accuracy=None, path=None):
        import keras

        self.model = model
        self.dataset = dataset
        self.test_accuracy = test_accuracy
        self.path = path
        self.num_classes = int(model.output.shape[-1])
        self.input_shape = tuple(model.input.shape[1:])
        self._infer = keras.Model(model.input, [model.get_layer("features").output, model.output])
        acc = "unknown accuracy" if test_accuracy is None else f"test accuracy {test_accuracy:.4f}"
        self.label = f"kgan domain classifier for {dataset} ({acc}; {os.path.basename(path or 'in memory')})"
        self.kind = "domain"
        self.batch_size = 512

    # ---------------------------------------------------------------- construction
    @classmethod
    def for_dataset(cls, name, *, cache=None, verbose=1, retrain=False):
        """The cached classifier of ``name`` ("digits", "fashion_mnist", "mnist",
        "stacked_digits", "stacked_fashion_mnist", "stacked_mnist"), training it on
        first use ("mnist" / "stacked_mnist" read MNIST through tfds: internet the first time).

        Stacked sets return a ``StackedDomainClassifier`` built on the
        single-channel classifier (one per channel, mode label 100a + 10b + c).
        ``cache`` overrides the cache directory; ``retrain=True`` ignores a cached model.
        """
        if name in STACKED_BASE:
            return StackedDomainClassifier(cls.for_dataset(STACKED_BASE[name], cache=cache, verbose=verbose,
                                                           retrain=retrain), name)
        if name not in _SPECS:
            raise ValueError(f"`name` must be one of {sorted(list(_SPECS) + list(STACKED_BASE))}; received name={name!r}.")
        directory = os.path.join(os.path.abspath(os.path.expanduser(cache)) if cache else cache_dir(), "classifiers")
        meta_path = os.path.join(directory, f"{name}.v{_CLASSIFIER_VERSION}.json")
        if not retrain:
            loaded = cls._load(meta_path, name)
            if loaded is not None:
                return loaded
        return cls._train_and_cache(name, directory, meta_path, verbose)

    @classmethod
    def _load(cls, meta_path, name):
        import keras

        try:
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            warnings.warn(f"Ignoring unreadable classifier cache {meta_path}: {err}; retraining.", stacklevel=3)
            return None
        model_path = os.path.join(os.path.dirname(meta_path), meta.get("model_file", ""))
        if not os.path.isfile(model_path):
            warnings.warn(f"Classifier cache {meta_path} names a missing model file {model_path}; retraining.",
                          stacklevel=3)
            return None
        model = keras.saving.load_model(model_path, compile=False)
        return cls(model, name, meta.get("test_accuracy"), model_path)

    @classmethod
    def train(cls, name, *, epochs=None, verbose=1, seed=0):
        """Train the domain classifier of ``name`` (not cached). Returns ``(model, test_accuracy)``."""
        import keras

        from kgan.data import load_arrays

        spec = _SPECS[name]
        epochs = spec["epochs"] if epochs is None else epochs
        x_train, y_train = load_arrays(name, "train")
        x_test, y_test = load_arrays(name, "test")
        x_train = as_images("x_train", x_train)
        x_test = as_images("x_test", x_test)
        num_classes = int(max(y_train.max(), y_test.max())) + 1
        model = _build_cnn(x_train.shape[1:], num_classes, seed)
        steps = epochs * -(-len(x_train) // spec["batch_size"])
        lr = keras.optimizers.schedules.CosineDecay(spec["lr"], decay_steps=steps)
        model.compile(optimizer=keras.optimizers.Adam(lr),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        if verbose:
            print(f"kgan: training the {name} domain classifier for the metrics (first use; "
                  f"{len(x_train)} images, {epochs} epochs; cached afterwards)", flush=True)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(x_train))  # fit shuffles too; this makes batch 1 class-mixed
        model.fit(x_train[order], np.asarray(y_train)[order].astype("int32"), batch_size=spec["batch_size"],
                  epochs=epochs, verbose=1 if verbose else 0, shuffle=True)
        logits = model.predict(x_test, batch_size=1024, verbose=0)
        acc = float(np.mean(np.argmax(logits, axis=1) == np.asarray(y_test)))
        return model, acc

    @classmethod
    def _train_and_cache(cls, name, directory, meta_path, verbose):
        import keras

        spec = _SPECS[name]
        model, acc = cls.train(name, verbose=verbose)
        if acc < spec["min_accuracy"]:
            raise RuntimeError(
                f"The {name} domain classifier reached test accuracy {acc:.4f}, below the required "
                f"{spec['min_accuracy']:.2f}; not caching it. Metrics in its feature space would not be "
                "trustworthy. Retry (training is random) or report a bug.")
        os.makedirs(directory, exist_ok=True)
        model_file = f"{name}.v{_CLASSIFIER_VERSION}.{secrets.token_hex(4)}.keras"
        model_path = os.path.join(directory, model_file)
        with atomic_path(model_path) as tmp:
            model.save(tmp)
        meta = {
            "dataset": name, "model_file": model_file, "test_accuracy": acc,
            "required_accuracy": spec["min_accuracy"], "epochs": spec["epochs"],
            "classifier_version": _CLASSIFIER_VERSION, "keras_version": keras.__version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        with atomic_path(meta_path) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(meta, fh, indent=2)
        if verbose:
            print(f"kgan: {name} classifier test accuracy {acc:.4f}; cached at {model_path}", flush=True)
        return cls(model, name, acc, model_path)

    # ---------------------------------------------------------------- inference
    def _check(self, x):
        return as_images("x", x, expect_hw=self.input_shape[:2], expect_c=self.input_shape[2])

    def features_and_probs(self, x):
        """(penultimate features (N, 128), softmax probabilities (N, K)) in one pass."""
        x = self._check(x)
        f, logits = self._infer.predict(x, batch_size=self.batch_size, verbose=0)
        return f.astype(np.float32), softmax(logits.astype(np.float64)).astype(np.float32)

    def features(self, x):
        """Penultimate-layer (128-d, after ReLU) features, (N, 128) float32."""
        return self.features_and_probs(x)[0]

    def probs(self, x):
        """Class probabilities (N, K)."""
        return self.features_and_probs(x)[1]

    def predict_labels(self, x):
        """Predicted class ids (N,) int64."""
        return np.argmax(self.probs(x), axis=1)

    def accuracy(self, x, y):
        """Class-consistency accuracy: fraction of ``x`` classified as its label ``y``
        (for conditional generators: samples generated for class y)."""
        y = np.asarray(y).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"`y` must hold one label per image ({len(x)}); received {len(y)}.")
        return float(np.mean(self.predict_labels(x) == y))


class StackedDomainClassifier:
    """Per-channel use of a single-channel ``DomainClassifier`` for stacked data
    (three images as the channels of one, 1000 modes for 10 classes).

    Channel c of each image goes through the base classifier; the mode label is
    ``100 a + 10 b + c`` for per-channel classes (a, b, c) of channels 0, 1, 2,
    features are the three 128-d feature vectors concatenated (384-d), and
    ``probs`` is the product distribution over the K^3 modes
    (``p(a, b, c) = p0(a) p1(b) p2(c)``, index ``a K^2 + b K + c``).
    """

    def __init__(self, base, dataset):
        self.base = base
        self.dataset = dataset
        self.channels = 3
        k = base.num_classes
        self.num_classes = k ** self.channels
        self.input_shape = base.input_shape[:2] + (self.channels,)
        self.test_accuracy = base.test_accuracy
        self.label = f"kgan stacked domain classifier for {dataset}: per channel, {base.label}"
        self.kind = "domain"

    def _per_channel(self, x):
        x = as_images("x", x, expect_hw=self.input_shape[:2], expect_c=self.channels)
        n = len(x)
        flat = np.moveaxis(x, 3, 1).reshape(n * self.channels, *x.shape[1:3], 1)  # (3N, H, W, 1), sample-major
        f, p = self.base.features_and_probs(flat)
        return f.reshape(n, self.channels, -1), p.reshape(n, self.channels, -1)

    def features_and_probs(self, x):
        """(concatenated per-channel features (N, 384), mode probabilities (N, K^3))."""
        f, p = self._per_channel(x)
        k = p.shape[2]
        joint = (p[:, 0, :, None, None] * p[:, 1, None, :, None] * p[:, 2, None, None, :]).reshape(len(p), k ** 3)
        return f.reshape(len(f), -1), joint

    def features(self, x):
        """Per-channel features concatenated, (N, 3*128)."""
        return self._per_channel(x)[0].reshape(len(x), -1)

    def probs(self, x):
        """Product distribution over the K^3 modes, (N, K^3) float32."""
        return self.features_and_probs(x)[1]

    def predict_labels(self, x):
        """Mode ids ``100 a + 10 b + c`` (for K = 10; generally ``a K^2 + b K + c``), (N,) int64."""
        _, p = self._per_channel(x)
        digits = np.argmax(p, axis=2)
        k = p.shape[2]
        return digits[:, 0] * k * k + digits[:, 1] * k + digits[:, 2]

    def accuracy(self, x, y):
        """Fraction of samples whose predicted mode id equals ``y`` (all three channels right)."""
        y = np.asarray(y).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"`y` must hold one label per image ({len(x)}); received {len(y)}.")
        return float(np.mean(self.predict_labels(x) == y))


#: extractor names accepted by ``get_extractor`` / ``Evaluator`` / ``kgan eval --extractor``
EXTRACTOR_NAMES = ("domain", "inception", "inception_tf")


def get_extractor(kind, dataset=None, weights=None, verbose=1, graph=None, resize="graph"):
    """``"domain"`` -> ``DomainClassifier.for_dataset(dataset)``;
    ``"inception"`` -> ``InceptionFeatures(weights or "imagenet")`` (keras' ImageNet InceptionV3);
    ``"inception_tf"`` -> ``StandardInception(graph, resize=resize)`` (the 2015 TF-Inception graph
    of published FIDs; ``graph`` None reads ``KGAN_INCEPTION_GRAPH``);
    an object with ``features_and_probs`` is returned unchanged."""
    if hasattr(kind, "features_and_probs"):
        return kind
    if kind == "domain":
        if dataset is None:
            raise ValueError("extractor='domain' needs `dataset`; received dataset=None.")
        return DomainClassifier.for_dataset(dataset, verbose=verbose)
    if kind == "inception":
        return InceptionFeatures("imagenet" if weights is None else weights)
    if kind == "inception_tf":
        from kgan.metrics.inception_tf import StandardInception

        return StandardInception(graph, resize=resize)
    raise ValueError(f"`extractor` must be one of {EXTRACTOR_NAMES} or an extractor object; received {kind!r}.")


def extractor_kind(extractor):
    """Short name of an extractor's feature space: "domain", "inception_keras", "inception_tf",
    "inception_tf_clean", or the object's ``kind`` (class name when it has none)."""
    return str(getattr(extractor, "kind", type(extractor).__name__))
