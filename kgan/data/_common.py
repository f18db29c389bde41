"""Shared pieces of ``kgan.data``: ``DatasetInfo``, ``Resize``, checks and tf.data pipelines.

Two pipeline shapes cover every dataset:

* ``finite_pipeline``: a split held in memory as a uint8 array. The pipeline
  shuffles *indices* (``Dataset.range(N).shuffle(N)``), batches them and gathers
  whole batches from the array in one vectorised map, then converts to float32
  in [-1, 1]. No per-example work, so it never bottlenecks a small GAN on CPU.
* ``infinite_pipeline``: ``Dataset.counter()`` mapped to a function that draws a
  whole batch from stateless random ops seeded by ``(seed, split, batch index)``.
  The stream is therefore identical for a given seed on any machine and any
  number of parallel calls.
"""
import dataclasses
import threading

from kgan.utils import check_positive_int

#: Arrays larger than this (bytes, uint8) are streamed instead of held in memory.
MEMORY_LIMIT_BYTES = 1 << 30

# Module-level cache of parsed / materialised arrays: {key: value}. Guarded by a lock
# because tf.data may call loaders from several threads.
_CACHE = {}
_CACHE_LOCK = threading.Lock()


def cached(key, build):
    """Return ``_CACHE[key]``, computing it with ``build()`` on first use."""
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = build()
    with _CACHE_LOCK:
        return _CACHE.setdefault(key, value)


def clear_cache():
    """Forget every array cached in memory by ``kgan.data`` (they are re-read on next use)."""
    with _CACHE_LOCK:
        _CACHE.clear()


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, known without loading it where possible.

    Attributes:
        name: the name given to ``kgan.data.load``.
        kind: ``"2d"`` (points, shape ``(2,)``) or ``"image"`` (NHWC).
        shape: shape of one example, without the batch axis, e.g. ``(28, 28, 1)``.
            ``None`` entries mean the size varies (pass ``resize`` to ``load``).
        num_classes: number of label values, or ``None`` when the set is unlabeled.
        num_modes: modes a mode-coverage metric counts: the Gaussian means of a
            2D set, 1000 for stacked sets, the classes of a labelled image set;
            ``None`` when unknown.
        size: examples in the ``"train"`` split (the default split of ``load``);
            ``None`` for infinite sets (2D, stacked) or when unknown.
    """

    name: str
    kind: str
    shape: tuple
    num_classes: object = None
    num_modes: object = None
    size: object = None


@dataclasses.dataclass(frozen=True)
class Resize:
    """How ``load(..., resize=...)`` resizes images.

    ``resize=(h, w)`` (or an int for a square) is ``Resize((h, w))``: a plain
    bilinear, antialiased ``tf.image.resize`` that does not keep the aspect ratio.

    Args:
        size: target ``(height, width)`` (or one int for a square).
        crop: what to cut from the centre before resizing:
            ``None`` (default): nothing;
            ``"center"``: the largest centred box with the target aspect ratio
            (as ``keras.layers.Resizing(crop_to_aspect_ratio=True)``);
            an int or ``(h, w)``: a fixed centred box, clipped to the image, e.g.
            ``Resize(64, crop=108)`` is the usual CelebA 64x64 protocol of
            DCGAN-tensorflow (centre 108x108 face crop, then resize).
    """

    size: tuple
    crop: object = None

    def __post_init__(self):
        """Validate and normalise ``size`` and ``crop``."""
        object.__setattr__(self, "size", _hw("resize", self.size))
        crop = self.crop
        if crop is not None and crop != "center":
            try:
                crop = _hw("crop", crop)
            except ValueError:
                raise ValueError(
                    "`crop` must be None, 'center', a positive int or a (height, width) "
                    f"pair of positive ints; received crop={self.crop!r}.") from None
        object.__setattr__(self, "crop", crop)


def _hw(name, value):
    """``value`` (int or pair of positive ints) as an ``(h, w)`` tuple, else ValueError naming ``name``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    ok = (isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))
    if not ok:
        raise ValueError(
            f"`{name}` must be a positive int or a (height, width) pair of positive ints; "
            f"received {name}={value!r}.")
    return (int(value[0]), int(value[1]))


def as_resize(resize):
    """Normalise the ``resize`` argument of ``load`` to ``None`` or a ``Resize``."""
    if resize is None or isinstance(resize, Resize):
        return resize
    return Resize(resize)


def apply_resize(images, spec):
    """Crop/resize float ``images`` ((H, W, C) or (B, H, W, C)) according to ``spec``.

    Values keep their range (bilinear weights are non-negative, so no overshoot).
    """
    import tensorflow as tf

    if spec is None:
        return images
    if spec.crop is not None:
        shape = tf.shape(images)
        h, w = shape[-3], shape[-2]
        if spec.crop == "center":
            th, tw = spec.size
            ch = tf.minimum(h, tf.cast(tf.round(tf.cast(w, tf.float32) * th / tw), tf.int32))
            cw = tf.minimum(w, tf.cast(tf.round(tf.cast(h, tf.float32) * tw / th), tf.int32))
        else:
            ch = tf.minimum(h, spec.crop[0])
            cw = tf.minimum(w, spec.crop[1])
        top = (h - ch) // 2
        left = (w - cw) // 2
        images = images[..., top:top + ch, left:left + cw, :]
    return tf.image.resize(images, spec.size, method="bilinear", antialias=True)


def check_flag(name, value):
    """Return ``value`` if it is a bool, else raise a clear ValueError."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False; received {name}={value!r}.")
    return value


def check_seed(seed):
    """Return ``seed`` if it is an int that fits in int64, else raise ValueError."""
    if not (isinstance(seed, int) and not isinstance(seed, bool) and -(2**63) <= seed < 2**63):
        raise ValueError(f"`seed` must be an integer (int64); received seed={seed!r}.")
    return seed


def check_labels_arg(labels):
    """Validate ``labels`` ("auto", True or False)."""
    if not (labels is True or labels is False or (isinstance(labels, str) and labels == "auto")):
        raise ValueError(
            f"`labels` must be 'auto', True or False; received labels={labels!r}.")
    return labels


def want_labels(name, labels, has_labels, auto_default=True):
    """Decide whether ``load`` yields ``(x, y)``.

    ``labels="auto"`` gives labels when the set has them (and ``auto_default``,
    which is False for the 2D sets); ``True`` requires them; ``False`` drops them.
    """
    if labels is True:
        if not has_labels:
            raise ValueError(
                f"`labels=True` but dataset {name!r} has no labels; use labels='auto' or "
                "labels=False.")
        return True
    if labels is False:
        return False
    return bool(has_labels and auto_default)


def check_split(name, split, splits):
    """Return ``split`` if it is one of ``splits``, else a ValueError naming the dataset."""
    if not isinstance(split, str) or split not in splits:
        raise ValueError(
            f"`split` must be one of {list(splits)} for dataset {name!r}; "
            f"received split={split!r}.")
    return split


def check_batch_fits(name, split, batch_size, size, drop_remainder):
    """Refuse a batch larger than a finite split when the remainder would be dropped."""
    if size is not None and drop_remainder and batch_size > size:
        raise ValueError(
            f"`batch_size`={batch_size} is larger than split {split!r} of dataset {name!r} "
            f"({size} examples); with drop_remainder=True the dataset would yield nothing. "
            "Use a smaller batch_size or drop_remainder=False.")


def dataset_options():
    """``tf.data.Options`` of every kgan pipeline: deterministic, DATA auto-sharding."""
    import tensorflow as tf

    options = tf.data.Options()
    # Elements come from memory or from a counter, not from files: shard by data
    # under multi-worker strategies (avoids the FILE-policy fallback warning).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return options


def to_unit_range(images, max_value):
    """uint8/float images in [0, max_value] -> float32 in [-1, 1]: ``x / (max / 2) - 1``.

    (Division by ``max / 2`` -- 127.5 or 8, exact in float32 -- maps 0 and max to
    exactly -1 and 1.)
    """
    import tensorflow as tf

    return tf.cast(images, tf.float32) / (float(max_value) / 2.0) - 1.0


def finite_pipeline(x, y, max_value, *, batch_size, shuffle, seed, with_labels, repeat,
                    drop_remainder, prefetch, resize=None):
    """``tf.data`` pipeline over an in-memory split.

    ``x`` is a numpy array (N, H, W, C) of values in [0, max_value] (uint8 keeps
    memory small), ``y`` int labels or None. Yields float32 in [-1, 1] (resized
    by ``resize`` if given) and int32 labels when ``with_labels``.
    Order: ``range(N) -> shuffle(N, seed) -> repeat -> batch -> gather+convert -> prefetch``.
    """
    import tensorflow as tf

    n = int(x.shape[0])
    xs = tf.constant(x)
    ys = tf.constant(y.astype("int32")) if (with_labels and y is not None) else None
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def gather(idx):
        """One batch of indices -> converted images (and labels)."""
        xb = to_unit_range(tf.gather(xs, idx), max_value)
        if resize is not None:
            xb = tf.clip_by_value(apply_resize(xb, resize), -1.0, 1.0)
        if ys is None:
            return xb
        return xb, tf.gather(ys, idx)

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds.with_options(dataset_options())


def infinite_pipeline(batch_fn, *, prefetch):
    """``Dataset.counter()`` mapped by ``batch_fn(batch_index)`` (a whole batch per call)."""
    import tensorflow as tf

    ds = tf.data.Dataset.counter().map(
        batch_fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds.with_options(dataset_options())


def batch_key(seed, split_index, batch_index):
    """Stateless seed of one batch: Philox fold-in of ``batch_index`` into ``(seed, split)``."""
    import tensorflow as tf

    key = tf.constant([seed, split_index], dtype=tf.int64)
    return tf.random.experimental.stateless_fold_in(
        key, tf.cast(batch_index, tf.int64), alg="philox")


def subset(x, y, n, seed, name, split):
    """``n`` examples drawn without replacement with ``seed`` (all of them, in order, if n is None)."""
    import numpy as np

    if n is None:
        return x, y
    check_positive_int("n", n)
    if n > len(x):
        raise ValueError(
            f"`n`={n} is larger than split {split!r} of dataset {name!r} ({len(x)} examples).")
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[idx], (None if y is None else y[idx])


def to_unit_range_np(images, max_value):
    """numpy twin of ``to_unit_range``: float32 ``x / (max / 2) - 1``."""
    import numpy as np

    return images.astype(np.float32) / np.float32(max_value / 2.0) - np.float32(1.0)
