"""Any TensorFlow Datasets image dataset by name ("cifar10", "celeb_a", "lsun/bedroom", "mnist"...).

* The dataset is read from ``data_dir`` (default: ``$TFDS_DATA_DIR`` or
  ``~/tensorflow_datasets``). When it is not prepared there and the machine is
  online, it is downloaded and prepared (``builder.download_and_prepare()``,
  what ``tfds.load(..., download=True)`` does). Offline (no route to
  ``storage.googleapis.com`` within 3 s, or ``$KGAN_OFFLINE=1``) a clear
  ``FileNotFoundError`` says how to prepare it elsewhere (``tfds build NAME
  --data_dir DIR``) and pass ``data_dir`` -- instead of tfds' several minutes of
  download retries.
* The image is the ``"image"`` feature (else the first ``Image`` feature),
  mapped from uint8 to float32 ``x / 127.5 - 1``. Labels are the ``"label"``
  ``ClassLabel`` feature when present (``celeb_a`` has none: unlabeled).
* ``split`` is any tfds split or split expression (``"train"``, ``"test"``,
  ``"all"``, ``"train[:10%]"``...).
* ``resize`` (``(h, w)`` or ``kgan.data.Resize``) is applied per example and the
  result rounded back to uint8 (needed for sets of varying image size such as
  LSUN, where it is required).
* A split whose uint8 images fit in ``MEMORY_LIMIT_BYTES`` (1 GiB; e.g.
  CIFAR-10, MNIST) is read once into memory and cached, then served by the
  index-shuffling in-memory pipeline. Larger splits (CelebA, LSUN) stream from
  the tfds files: ``shuffle_files`` + a 10,000-example shuffle buffer.
"""
import os
import socket
import threading

import numpy as np

from kgan.data import _common

OFFLINE_ENV = "KGAN_OFFLINE"
PROBE_HOST = ("storage.googleapis.com", 443)
STREAM_SHUFFLE_BUFFER = 10000


def is_online(timeout=3.0):
    """Best guess whether downloads can work: ``$KGAN_OFFLINE`` unset and a TCP connection
    to ``storage.googleapis.com:443`` opens within ``timeout`` seconds (or a proxy is set)."""
    if os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    result = []

    def probe():
        """Try one TCP connection."""
        try:
            socket.create_connection(PROBE_HOST, timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def builder(name, data_dir=None):
    """``tfds.builder(name, data_dir=data_dir)``; an unknown name raises tfds' DatasetNotFoundError."""
    import tensorflow_datasets as tfds

    return tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))


def how_to_prepare(name, data_dir):
    """The hint on how to get an unprepared tfds dataset."""
    where = data_dir or "DIR"
    return (
        f"With internet, kgan.data.load({name!r}, ...) downloads and prepares it on first use. "
        f"Offline: on a machine with internet run `tfds build {name} --data_dir {where}` "
        f"(pip install tensorflow-datasets), copy that directory here and pass "
        f"data_dir={where!r} (or set $TFDS_DATA_DIR).")


def _prepare(b, name, data_dir, how_to_get=None):
    """Download and prepare ``b`` when online, else raise a FileNotFoundError saying how to get it."""
    hint = how_to_get or how_to_prepare(name, data_dir)
    location = data_dir or "the default tfds data dir ($TFDS_DATA_DIR or ~/tensorflow_datasets)"
    if not is_online():
        raise FileNotFoundError(
            f"TensorFlow Datasets dataset {name!r} is not prepared in {location} and this "
            f"machine looks offline (no connection to {PROBE_HOST[0]} within 3 s, or "
            f"${OFFLINE_ENV} is set), so it cannot be downloaded. {hint}")
    try:
        b.download_and_prepare()
    except Exception as e:  # network, checksum, manual-download requirement...
        raise FileNotFoundError(
            f"Could not download and prepare TensorFlow Datasets dataset {name!r} into "
            f"{location}: {type(e).__name__}: {e}. {hint}") from e


def _check_split(b, name, split):
    """Size of ``split`` (a tfds split or expression), None if unknown; ValueError if invalid."""
    if not isinstance(split, str):
        raise ValueError(f"`split` must be a string naming a split of {name!r}; "
                         f"received split={split!r}.")
    if not b.info.splits:  # unknown until prepared
        return None
    try:
        return int(b.info.splits[split].num_examples)
    except (KeyError, ValueError, TypeError, AssertionError):
        raise ValueError(
            f"`split` must be one of {sorted(b.info.splits)} (or a tfds split expression such "
            f"as 'train[:10%]') for dataset {name!r}; received split={split!r}.") from None


def _open(b, name, split, data_dir, shuffle_files=False, seed=0, how_to_get=None):
    """``(tf.data.Dataset of feature dicts, size or None)``, preparing the data if needed."""
    import tensorflow_datasets as tfds

    size = _check_split(b, name, split)
    read_config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=False)

    def as_dataset():
        """The builder's dataset of ``split``."""
        return b.as_dataset(split=split, shuffle_files=shuffle_files, read_config=read_config)

    try:
        ds = as_dataset()
    except AssertionError:  # tfds: "could not find data in DIR ... call download_and_prepare()"
        _prepare(b, name, data_dir, how_to_get)
        size = _check_split(b, name, split)
        ds = as_dataset()
    if size is None:
        card = int(ds.cardinality())
        size = card if card >= 0 else None
    return ds, size


def _keys(b, name):
    """``(image key, label key or None, num_classes or None, image shape)`` of a tfds builder."""
    import tensorflow_datasets as tfds

    features = b.info.features
    keys = list(features.keys())
    images = [k for k in keys if isinstance(features[k], tfds.features.Image)]
    if not images:
        raise ValueError(
            f"TensorFlow Datasets dataset {name!r} has no Image feature (features: {keys}); "
            "kgan.data.load only serves image datasets.")
    image_key = "image" if "image" in images else images[0]
    label_key, num_classes = None, None
    if "label" in keys and isinstance(features["label"], tfds.features.ClassLabel):
        label_key, num_classes = "label", int(features["label"].num_classes)
    shape = tuple(None if d is None else int(d) for d in features[image_key].shape)
    return image_key, label_key, num_classes, shape


def info(name, data_dir=None):
    """``DatasetInfo`` from the tfds builder's metadata (no data is read or downloaded)."""
    b = builder(name, data_dir)
    _, _, num_classes, shape = _keys(b, name)
    size = None
    if "train" in b.info.splits:
        size = int(b.info.splits["train"].num_examples)
    return _common.DatasetInfo(name=name, kind="image", shape=shape, num_classes=num_classes,
                               num_modes=num_classes, size=size)


def _example_fn(image_key, label_key, resize):
    """Per-example map: feature dict -> (uint8 image (H, W, C), int32 label or -1)."""
    import tensorflow as tf

    def fn(example):
        """Feature dict -> (uint8 image, int32 label or -1)."""
        image = example[image_key]
        if resize is not None:
            image = _common.apply_resize(tf.cast(image, tf.float32), resize)
            image = tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)
        label = tf.cast(example[label_key], tf.int32) if label_key else tf.constant(-1, tf.int32)
        return image, label

    return fn


def _final_shape(name, shape, resize):
    """(H, W, C) after ``resize``; ValueError for varying sizes without ``resize``."""
    if resize is not None:
        return tuple(resize.size) + (shape[-1],)
    if any(d is None for d in shape[:2]):
        raise ValueError(
            f"Images of {name!r} vary in size (feature shape {shape}); pass resize=(height, "
            "width) or resize=kgan.data.Resize(size, crop='center').")
    return shape


def uint8_arrays(name, split, data_dir=None, resize=None, how_to_get=None):
    """Whole split as ``(x uint8 (N, H, W, C), y int32 or None)``, cached in memory."""
    b = builder(name, data_dir)
    image_key, label_key, _, shape = _keys(b, name)
    _final_shape(name, shape, resize)

    def build():
        """Read the whole split into numpy arrays."""
        ds, _ = _open(b, name, split, data_dir, how_to_get=how_to_get)
        import tensorflow as tf

        ds = ds.map(_example_fn(image_key, label_key, resize), num_parallel_calls=tf.data.AUTOTUNE)
        xs, ys = [], []
        for xb, yb in ds.batch(1024).as_numpy_iterator():
            xs.append(xb)
            ys.append(yb)
        if not xs:
            raise ValueError(f"Split {split!r} of {name!r} is empty.")
        x = np.concatenate(xs)
        y = np.concatenate(ys).astype(np.int32) if label_key else None
        return x, y

    key = ("tfds", name, None if data_dir is None else os.path.realpath(os.fspath(data_dir)),
           split, resize)
    return _common.cached(key, build)


def load(name, batch_size, split, shuffle, seed, labels, resize, data_dir, drop_remainder,
         repeat, prefetch):
    """``tf.data`` pipeline over a tfds image dataset (see the module docstring)."""
    import tensorflow as tf

    b = builder(name, data_dir)
    image_key, label_key, _, shape = _keys(b, name)
    with_labels = _common.want_labels(name, labels, label_key is not None)
    final = _final_shape(name, shape, resize)
    ds, size = _open(b, name, split, data_dir, shuffle_files=shuffle, seed=seed)
    _common.check_batch_fits(name, split, batch_size, size, drop_remainder)
    if size is not None and size * int(np.prod(final)) <= _common.MEMORY_LIMIT_BYTES:
        x, y = uint8_arrays(name, split, data_dir, resize)
        return _common.finite_pipeline(
            x, y, 255, batch_size=batch_size, shuffle=shuffle, seed=seed,
            with_labels=with_labels, repeat=repeat, drop_remainder=drop_remainder,
            prefetch=prefetch)

    ds = ds.map(_example_fn(image_key, label_key, resize), num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(STREAM_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def convert(xb, yb):
        """uint8 batch -> float32 [-1, 1] (and labels)."""
        xb = _common.to_unit_range(xb, 255)
        return (xb, yb) if with_labels else xb

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds.with_options(_common.dataset_options())


def arrays(name, split, data_dir=None, n=None, seed=0):
    """Whole split (or ``n`` examples drawn with ``seed``) as float32 [-1, 1] + int32 labels."""
    x, y = uint8_arrays(name, split, data_dir)
    x, y = _common.subset(x, y, n, seed, name, split)
    return _common.to_unit_range_np(x, 255), y
