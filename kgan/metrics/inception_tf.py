"""The standard FID / IS / KID features: the 2015 TensorFlow Inception graph.

Every reference FID implementation (TTUR's ``fid.py``, TF-GAN, torch-fidelity,
clean-fid's ``legacy_tensorflow`` mode, StudioGAN, pytorch-fid's port) uses the
``pool_3`` features (2048-d) of the Inception graph released in
``inception-2015-12-05.tgz`` (file ``classify_image_graph_def.pb``), and the
Inception Score uses its 1008-way classifier. ``StandardInception`` loads that
graph (or a SavedModel of it, or TF-GAN's TF-Hub module) and feeds it exactly
as TTUR does:

1. kgan images (float in [-1, 1], NHWC) become 8-bit RGB:
   ``u = clip(floor((x + 1) * 127.5 + 0.5), 0, 255)`` (round half up: what
   writing the image to a PNG with ``torchvision.utils.save_image`` does, and
   exact for images that came from uint8 data as ``u / 127.5 - 1``); grey
   images are repeated to 3 channels;
2. the 8-bit values, as float32, go into the graph's ``ExpandDims:0`` at their
   own size; the graph itself resizes to 299x299 (TF1 bilinear,
   ``align_corners=False``, no half-pixel centres) and scales
   ``(u - 128) / 128`` (its ``Sub`` / ``Mul`` nodes);
3. ``pool_3:0`` (N, 1, 1, 2048) gives the features; the Inception Score
   probabilities are ``softmax(pool_3 @ W)`` with ``W`` the weight matrix of
   ``softmax/logits/MatMul`` (1008 classes, no bias), as in the original
   Inception Score code (openai/improved-gan) and torch-fidelity's
   ``logits_unbiased``.

The graph fixes the batch size to 1 in its static shapes (TTUR and the
improved-gan code patch every tensor's shape to feed batches). Here the graph
is imported with ``input_map`` onto a (None, None, None, 3) input, so shapes
are inferred again from the batched input and no patch is needed; the
``pool_3/_reshape`` node that hard-codes ``[1, 2048]`` is never run.

``resize="clean"`` instead resizes to 299x299 with PIL's bicubic filter on
each float channel (clean-fid's "clean" mode; the graph's own resize is then
the identity). Its numbers are clean-fid FIDs, not TTUR FIDs; the label says so.
"""
import os
import warnings

import numpy as np

from kgan.metrics._checks import as_images, softmax
from kgan.utils import check_positive_int

#: Environment variable naming the graph file (or its folder, or a SavedModel).
GRAPH_ENV = "KGAN_INCEPTION_GRAPH"
GRAPH_FILE = "classify_image_graph_def.pb"
GRAPH_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
#: TF-GAN's Inception module (the same network as a SavedModel, inputs 299x299 in the graph's 'Mul:0' scale).
TFHUB_HANDLE = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
INPUT_RAW = "ExpandDims:0"   # 8-bit values as float, any size: the graph resizes and scales
INPUT_SCALED = "Mul:0"       # 299x299, (u - 128) / 128 (TF-GAN's input)
POOL = "pool_3:0"
LOGITS_MATMUL = "softmax/logits/MatMul"
SIZE = 299
RESIZES = ("graph", "clean")

_DOWNLOAD_HELP = (
    f"Download it once on a machine with internet: `wget {GRAPH_URL}` and "
    f"`tar xzf inception-2015-12-05.tgz {GRAPH_FILE}`, then pass the file's path "
    f"(extractor argument `graph`, `kgan eval --inception-graph PATH`) or set {GRAPH_ENV}=PATH.")


def to_uint8(x):
    """kgan images (float NHWC in [-1, 1]) -> uint8 RGB, rounding half up, grey repeated to 3 channels."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    u = np.floor((x.astype(np.float64) + 1.0) * 127.5 + 0.5)
    u = np.clip(u, 0, 255).astype(np.uint8)
    if u.shape[-1] == 1:
        u = np.repeat(u, 3, axis=-1)
    return u


def clean_resize(u, size=SIZE):
    """clean-fid's "clean" resize: PIL bicubic on each channel as a float image, clipped to [0, 255].

    ``u``: uint8 (N, H, W, 3). Returns float32 (N, size, size, 3)."""
    from PIL import Image

    out = np.empty((len(u), size, size, 3), np.float32)
    for i, img in enumerate(u):
        for c in range(3):
            ch = Image.fromarray(img[:, :, c].astype(np.float32), mode="F")
            out[i, :, :, c] = np.asarray(ch.resize((size, size), resample=Image.BICUBIC)).clip(0, 255)
    return out


def tf1_resize_and_scale(u, size=SIZE):
    """What the graph does between ``ExpandDims:0`` and ``Mul:0``: TF1 bilinear resize
    (``align_corners=False``, no half-pixel centres) to size x size, then ``(u - 128) / 128``."""
    import tensorflow as tf

    u = tf.convert_to_tensor(u, tf.float32)
    if u.shape[1] != size or u.shape[2] != size:
        u = tf.raw_ops.ResizeBilinear(images=u, size=[size, size], align_corners=False, half_pixel_centers=False)
    return (u - 128.0) * (1.0 / 128.0)


def _resolve_source(graph):
    """(kind, path): kind "graph" (a frozen GraphDef file), "saved_model" (a folder) or "tfhub"."""
    if graph is None:
        graph = os.environ.get(GRAPH_ENV) or None
        if graph is None:
            raise ValueError(
                "The standard Inception FID features need the 2015 Inception graph, and none was given: "
                f"`graph` is None and {GRAPH_ENV} is not set. " + _DOWNLOAD_HELP)
        where = f"{GRAPH_ENV}={graph!r}"
    else:
        where = f"graph={graph!r}"
    if graph == "tfhub" or str(graph).startswith(("https://tfhub.dev/", "https://www.kaggle.com/")):
        return "tfhub", TFHUB_HANDLE if graph == "tfhub" else str(graph)
    path = os.path.abspath(os.path.expanduser(os.fspath(graph)))
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return "saved_model", path
        if os.path.isfile(os.path.join(path, GRAPH_FILE)):  # the extracted archive's folder
            return "graph", os.path.join(path, GRAPH_FILE)
        raise ValueError(f"{where} is a folder with neither {GRAPH_FILE} nor a SavedModel (saved_model.pb) in it. "
                         + _DOWNLOAD_HELP)
    if not os.path.isfile(path):
        raise ValueError(f"{where} does not exist; expected the path of {GRAPH_FILE} (the 2015 Inception "
                         "graph), of the folder holding it, or of a SavedModel of it. " + _DOWNLOAD_HELP)
    return "graph", path


class StandardInception:
    """pool_3 (2048-d) features and Inception Score probabilities of the 2015 TF-Inception graph.

    The extractor behind published FID / IS / KID numbers (TTUR, TF-GAN,
    torch-fidelity, clean-fid ``legacy_tensorflow``, StudioGAN); see the module
    docstring for the exact preprocessing (TTUR's).

    Args:
        graph: where the network comes from (no download is ever attempted,
            except through TF-Hub with ``"tfhub"``):
            - the path of ``classify_image_graph_def.pb`` from
              ``inception-2015-12-05.tgz``, or of the folder holding it;
            - the path of a SavedModel of it (a callable or ``serving_default``
              signature taking float32 (N, 299, 299, 3) images in the graph's
              ``Mul:0`` scale and returning a dict with ``pool_3`` and
              ``logits``, optionally ``logits_unbiased``: the form of TF-GAN's
              module; ``export_saved_model`` writes one from the graph);
            - ``"tfhub"`` (or a TF-Hub handle): TF-GAN's Inception module through
              ``tensorflow_hub`` (needs the package and internet);
            - None: the ``KGAN_INCEPTION_GRAPH`` environment variable.
        batch_size: images per forward pass (default 32).
        resize: ``"graph"`` (default: the graph's own bilinear resize, TTUR /
            TF-GAN / torch-fidelity numbers) or ``"clean"`` (clean-fid's PIL
            bicubic resize, clean-fid "clean" numbers).

    Attributes:
        label: what produced the features, printed and stored with every value.
        kind: ``"inception_tf"`` (or ``"inception_tf_clean"`` with ``resize="clean"``).
        num_classes: 1008.
    """

    def __init__(self, graph=None, *, batch_size=32, resize="graph"):
        check_positive_int("batch_size", batch_size)
        if resize not in RESIZES:
            raise ValueError(f"`resize` must be one of {RESIZES}; received resize={resize!r}.")
        self.batch_size = batch_size
        self.resize = resize
        self.source, self.path = _resolve_source(graph)
        if self.source == "graph":
            self._fn, self.input_name, self.num_classes, self.logits_kind, self.feature_dim = \
                self._load_graph(self.path)
        else:
            self._fn, self.num_classes, self.logits_kind, self.feature_dim = \
                self._load_saved_model(self.source, self.path)
            self.input_name = INPUT_SCALED
        self.kind = "inception_tf" if resize == "graph" else "inception_tf_clean"
        where = {"graph": os.path.basename(self.path), "saved_model": f"SavedModel {os.path.basename(self.path)}",
                 "tfhub": f"TF-Hub {self.path}"}[self.source]
        prep = ("TTUR preprocessing: 8-bit RGB, the graph's bilinear resize to 299" if resize == "graph" else
                "clean-fid 'clean' preprocessing: 8-bit RGB, PIL bicubic resize to 299")
        self.label = f"TF-Inception 2015 pool_3 ({where}; {prep}; IS from {self.logits_kind})"

    # ---------------------------------------------------------------- loading
    @staticmethod
    def _load_graph(path):
        import tensorflow as tf

        graph_def = tf.compat.v1.GraphDef()
        try:
            with open(path, "rb") as fh:
                graph_def.ParseFromString(fh.read())
        except Exception as err:  # noqa: BLE001 - protobuf raises its own DecodeError
            raise ValueError(f"`graph`={path!r} is not a TensorFlow GraphDef file ({type(err).__name__}: {err}); "
                             f"expected {GRAPH_FILE} from inception-2015-12-05.tgz.") from None
        names = {n.name for n in graph_def.node}
        missing = [t for t in (POOL,) if t.split(":")[0] not in names]
        if missing:
            raise ValueError(f"`graph`={path!r} is not the 2015 Inception graph: it has no tensor {missing[0]!r} "
                             f"(expected the pool_3 features of {GRAPH_FILE}).")
        if INPUT_RAW.split(":")[0] in names:
            input_name, size = INPUT_RAW, None
        elif INPUT_SCALED.split(":")[0] in names:
            input_name, size = INPUT_SCALED, SIZE
        else:
            raise ValueError(f"`graph`={path!r} is not the 2015 Inception graph: it has neither the input "
                             f"{INPUT_RAW!r} nor {INPUT_SCALED!r}.")
        has_matmul = LOGITS_MATMUL in names

        def body(x):
            outs = tf.compat.v1.import_graph_def(
                graph_def, input_map={input_name: x}, name="inception",
                return_elements=[POOL] + ([LOGITS_MATMUL] if has_matmul else
                                          (["logits:0"] if "logits" in names else [])))
            pool = tf.reshape(outs[0], [-1, outs[0].shape[-1]])
            if has_matmul:  # the original Inception Score: pool_3 @ W, no bias
                logits = tf.matmul(pool, outs[1].inputs[1])
            elif len(outs) > 1:
                logits = tf.reshape(outs[1], [tf.shape(pool)[0], -1])
            else:
                logits = tf.zeros([tf.shape(pool)[0], 0])
            return pool, logits

        spec = tf.TensorSpec([None, size, size, 3], tf.float32)
        try:
            wrapped = tf.compat.v1.wrap_function(body, [spec])
        except (ValueError, TypeError, tf.errors.OpError) as err:
            raise ValueError(f"`graph`={path!r} could not be imported with a batched (N, H, W, 3) input at "
                             f"{input_name!r}: {err}") from None
        fn = wrapped.prune(wrapped.inputs, wrapped.outputs)
        dim = wrapped.outputs[0].shape[-1]
        if dim != 2048:
            warnings.warn(f"`graph`={path!r}: pool_3 has {dim} features, not the 2048 of the 2015 Inception graph.",
                          UserWarning, stacklevel=3)
        k = wrapped.outputs[1].shape[-1]
        kind = "unbiased logits pool_3 @ softmax/logits weights" if has_matmul else (
            "the graph's logits" if k else "no classifier")
        return fn, input_name, (int(k) if k is not None else None), kind, (int(dim) if dim is not None else None)

    @staticmethod
    def _load_saved_model(source, path):
        import tensorflow as tf

        if source == "tfhub":
            try:
                import tensorflow_hub as hub
            except ImportError:
                raise RuntimeError(
                    f"graph={path!r} needs the tensorflow_hub package (`pip install tensorflow-hub`) and internet "
                    "to fetch TF-GAN's Inception module. Offline, use the frozen graph instead: "
                    + _DOWNLOAD_HELP) from None
            try:
                obj = hub.load(path)
            except Exception as err:  # noqa: BLE001
                raise RuntimeError(f"Could not load TF-GAN's Inception module {path!r} through tensorflow_hub "
                                   f"(no internet?): {err}. " + _DOWNLOAD_HELP) from None
        else:
            try:
                obj = tf.saved_model.load(path)
            except Exception as err:  # noqa: BLE001
                raise ValueError(f"`graph`={path!r} could not be loaded as a SavedModel: {err}") from None
        call = obj if callable(obj) else getattr(obj, "signatures", {}).get("serving_default")
        if call is None:
            raise ValueError(f"The SavedModel {path!r} is neither callable nor has a 'serving_default' signature; "
                             "expected a module mapping (N, 299, 299, 3) images to {'pool_3', 'logits'}.")
        probe = call(tf.zeros([1, SIZE, SIZE, 3], tf.float32))
        if not isinstance(probe, dict) or "pool_3" not in probe:
            got = sorted(probe) if isinstance(probe, dict) else type(probe).__name__
            raise ValueError(f"The SavedModel {path!r} must return a dict with 'pool_3' (and 'logits'); it returned "
                             f"{got}.")
        key = "logits_unbiased" if "logits_unbiased" in probe else ("logits" if "logits" in probe else None)

        def fn(x):
            out = call(x)
            pool = tf.reshape(out["pool_3"], [tf.shape(x)[0], -1])
            logits = (tf.reshape(out[key], [tf.shape(x)[0], -1]) if key else tf.zeros([tf.shape(x)[0], 0]))
            return pool, logits

        k = int(np.prod(probe[key].shape[1:])) if key else None
        kind = {"logits_unbiased": "the module's unbiased logits", "logits": "the module's logits",
                None: "no classifier"}[key]
        return fn, k, kind, int(np.prod(probe["pool_3"].shape[1:]))

    # ---------------------------------------------------------------- inference
    def prepare(self, x):
        """What is fed to the network for images ``x`` (float NHWC in [-1, 1]): float32 8-bit values
        (N, H, W, 3) for ``ExpandDims:0`` (299x299 after clean-fid's resize with ``resize="clean"``)."""
        return self._prepare(self._check(x))

    @staticmethod
    def _check(x):
        x = as_images("x", x)
        if x.shape[3] not in (1, 3):
            raise ValueError(f"`x` must have 1 or 3 channels for the Inception graph; received shape {x.shape}.")
        return x

    def _prepare(self, x):
        u = to_uint8(x)
        return clean_resize(u) if self.resize == "clean" else u.astype(np.float32)

    def _forward(self, batch):
        import tensorflow as tf

        if self.input_name == INPUT_SCALED:
            batch = tf1_resize_and_scale(batch)
        pool, logits = self._fn(tf.convert_to_tensor(batch, tf.float32))
        return pool.numpy(), logits.numpy()

    def features_and_logits(self, x):
        """(pool_3 features (N, 2048) float32, logits (N, 1008) float32) in one pass."""
        x = self._check(x)
        pools, logits = [], []
        for i in range(0, len(x), self.batch_size):  # 8-bit conversion per batch: 299x299 copies stay small
            p, l_ = self._forward(self._prepare(x[i:i + self.batch_size]))
            pools.append(p)
            logits.append(l_)
        return np.concatenate(pools).astype(np.float32), np.concatenate(logits).astype(np.float32)

    def features_and_probs(self, x):
        """(pool_3 features (N, 2048), Inception Score probabilities (N, 1008) or None)."""
        f, logits = self.features_and_logits(x)
        probs = softmax(logits.astype(np.float64)).astype(np.float32) if logits.shape[1] else None
        return f, probs

    def features(self, x):
        """pool_3 features (N, 2048) float32: the FID / KID features."""
        return self.features_and_logits(x)[0]

    def probs(self, x):
        """Inception Score probabilities (N, 1008) float32."""
        p = self.features_and_probs(x)[1]
        if p is None:
            raise ValueError(f"This Inception network ({self.path}) has no classifier output: no probabilities.")
        return p


def export_saved_model(graph, out_dir):
    """Write the frozen 2015 graph as a SavedModel in TF-GAN's module form: a callable taking
    float32 (N, 299, 299, 3) images in the graph's ``Mul:0`` scale and returning
    ``{"pool_3": (N, 2048), "logits_unbiased": (N, 1008)}``. Returns ``out_dir``."""
    import tensorflow as tf

    kind, path = _resolve_source(graph)
    if kind != "graph":
        raise ValueError(f"`graph` must be the frozen graph file ({GRAPH_FILE}); received graph={graph!r} ({kind}).")
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as fh:
        graph_def.ParseFromString(fh.read())

    def body(x):
        pool, mm = tf.compat.v1.import_graph_def(graph_def, input_map={INPUT_SCALED: x}, name="inception",
                                                 return_elements=[POOL, LOGITS_MATMUL])
        pool = tf.reshape(pool, [-1, pool.shape[-1]])
        return pool, tf.matmul(pool, mm.inputs[1])

    wrapped = tf.compat.v1.wrap_function(body, [tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
    pruned = wrapped.prune(wrapped.inputs, wrapped.outputs)

    class _Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
        def __call__(self, x):
            pool, logits = pruned(x)
            return {"pool_3": pool, "logits_unbiased": logits}

    module = _Module()
    tf.saved_model.save(module, os.fspath(out_dir))
    return out_dir
