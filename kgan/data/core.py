"""``load``, ``load_arrays`` and ``info``: one entry point for every dataset kind.

Name resolution, in order:

1. built-in names (``NAMES``): ``ring8``, ``grid25``, ``grid49``, ``grid100`` (2D), ``digits``,
   ``fashion_mnist``, ``mnist`` (through tfds), ``stacked_digits``,
   ``stacked_fashion_mnist``, ``stacked_mnist``;
2. ``"folder:/path/to/images"``, or ``"image_folder"`` with ``data_dir=path``;
3. any TensorFlow Datasets image dataset (``"cifar10"``, ``"celeb_a"``,
   ``"lsun/bedroom"``, ``"name:version"``...), read from ``data_dir``.
"""
from kgan.data import _common, digits, fashion_mnist, folder, mnist, stacked, synthetic
from kgan.utils import check_positive_int

NAMES = list(synthetic.NAMES) + ["digits", "fashion_mnist", "mnist"] + list(stacked.NAMES)
_FINITE = {"digits": digits, "fashion_mnist": fashion_mnist, "mnist": mnist}
FOLDER_PREFIX = "folder:"


def _unknown(name, detail=""):
    """The ValueError for an unknown dataset name, listing the known ones."""
    return ValueError(
        f"Unknown dataset name={name!r}{detail}. Known names: {NAMES}; also "
        "'folder:/path/to/images', 'image_folder' (with data_dir=path), or any TensorFlow "
        "Datasets image dataset (see tensorflow_datasets.list_builders()), e.g. 'cifar10', "
        "'celeb_a', 'lsun/bedroom'.")


def _check_name(name):
    """Return ``name`` if it is a non-empty string, else raise ValueError."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"`name` must be a non-empty string naming a dataset; received "
                         f"name={name!r}. Known names: {NAMES}.")
    return name


def _folder_root(name, data_dir):
    """The folder of a ``folder:`` / ``image_folder`` name, or None for other names."""
    if name.startswith(FOLDER_PREFIX):
        root = name[len(FOLDER_PREFIX):]
        if not root:
            raise ValueError(f"`name`={name!r} must give a path after 'folder:', e.g. "
                             "'folder:/data/faces'.")
        return root
    if name == "image_folder":
        if data_dir is None:
            raise ValueError("`data_dir` must be the image folder's path when name='image_folder'; "
                             "received data_dir=None.")
        return data_dir
    return None


def _tfds_builder(name, data_dir):
    """The tfds builder of ``name``; an unknown name raises the ValueError of ``_unknown``."""
    from kgan.data import tfds_source

    import tensorflow_datasets as tfds

    try:
        return tfds_source.builder(name, data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise _unknown(name) from None


def info(name, data_dir=None):
    """Describe a dataset without loading it (where possible) -> ``DatasetInfo``.

    ``DatasetInfo(name, kind, shape, num_classes, num_modes, size)``: ``kind`` is
    ``"2d"`` or ``"image"``, ``shape`` excludes the batch axis, ``size`` counts the
    ``"train"`` split (None for infinite sets). Built-in sets are described
    statically; tfds sets from their metadata; folders from the image headers.

    Example:
        >>> kgan.data.info("stacked_fashion_mnist")
        DatasetInfo(name='stacked_fashion_mnist', kind='image', shape=(28, 28, 3),
                    num_classes=1000, num_modes=1000, size=None)
    """
    _check_name(name)
    if name in synthetic.NAMES:
        return synthetic.info(name)
    if name in _FINITE:
        return _FINITE[name].info()
    if name in stacked.NAMES:
        return stacked.info(name)
    root = _folder_root(name, data_dir)
    if root is not None:
        return folder.info(name, root)
    from kgan.data import tfds_source

    _tfds_builder(name, data_dir)  # unknown name -> clear error
    return tfds_source.info(name, data_dir)


def load(name, batch_size, split="train", shuffle=True, seed=0, labels="auto", resize=None,
         data_dir=None, drop_remainder=True, repeat=True, prefetch=True):
    """A ``tf.data.Dataset`` of batches of a dataset, ready for ``GAN.fit``.

    Yields ``x`` or ``(x, y)``: ``x`` float32, images NHWC in [-1, 1] or 2D
    points (B, 2); ``y`` int32 class ids. Pipelines: shuffled indices ->
    batch -> one vectorised gather/convert per batch -> ``prefetch(AUTOTUNE)``
    for in-memory sets; ``Dataset.counter()`` -> stateless whole-batch sampler
    for infinite sets (2D, stacked); see ``docs/data.md``.

    Args:
        name: dataset name (``NAMES``, ``"folder:PATH"``, ``"image_folder"`` or a
            TensorFlow Datasets name).
        batch_size: GLOBAL batch size (a ``tf.distribute`` strategy splits it
            across replicas). Must not exceed a finite split when
            ``drop_remainder`` (the dataset would be empty).
        split: ``"train"`` (default) / ``"test"``; ``"all"`` for digits and
            folders; any tfds split expression for tfds sets (the built-in
            ``mnist``, read through tfds, takes ``"train"``/``"test"`` only).
            2D and stacked splits are independent streams (stacked: drawn
            from the base split).
        shuffle: shuffle finite sets (reshuffled every epoch, seeded); ignored
            by infinite sets, which are random by construction.
        seed: int; the same seed gives the same stream.
        labels: ``"auto"`` (default) yields ``(x, y)`` when the set has labels,
            except the 2D sets which yield ``x`` only; ``True`` requires labels
            (2D: mode ids; error on an unlabeled set); ``False`` yields ``x``.
        resize: ``None``, ``(h, w)`` / int, or ``kgan.data.Resize(size,
            crop=...)`` for image sets (bilinear, antialiased).
        data_dir: where the files are (Fashion-MNIST IDX files, a tfds data
            dir -- also for ``mnist`` / ``stacked_mnist`` --, or the image
            folder for ``"image_folder"``).
        drop_remainder: drop the last partial batch (default True: static
            batch shape, as ``tf.distribute`` wants).
        repeat: finite sets repeat forever when True (default; pass
            ``steps_per_epoch`` to ``fit``); one pass when False. Infinite
            sets are always infinite.
        prefetch: end with ``prefetch(tf.data.AUTOTUNE)``.
    """
    _check_name(name)
    check_positive_int("batch_size", batch_size)
    _common.check_seed(seed)
    _common.check_labels_arg(labels)
    for flag, value in (("shuffle", shuffle), ("drop_remainder", drop_remainder),
                        ("repeat", repeat), ("prefetch", prefetch)):
        _common.check_flag(flag, value)
    resize = _common.as_resize(resize)

    if name in synthetic.NAMES:
        return synthetic.load(name, batch_size, split, seed, labels, resize, prefetch)
    if name in stacked.NAMES:
        return stacked.load(name, batch_size, split, seed, labels, resize, data_dir, prefetch)
    if name in _FINITE:
        mod = _FINITE[name]
        _common.check_split(name, split, mod.SPLITS)
        with_labels = _common.want_labels(name, labels, True)
        x, y = mod.uint8_arrays(split, data_dir)
        _common.check_batch_fits(name, split, batch_size, len(x), drop_remainder)
        return _common.finite_pipeline(
            x, y, mod.MAX_VALUE, batch_size=batch_size, shuffle=shuffle, seed=seed,
            with_labels=with_labels, repeat=repeat, drop_remainder=drop_remainder,
            prefetch=prefetch, resize=resize)
    root = _folder_root(name, data_dir)
    if root is not None:
        return folder.load(name, root, batch_size, split, shuffle, seed, labels, resize,
                           drop_remainder, repeat, prefetch)
    from kgan.data import tfds_source

    _tfds_builder(name, data_dir)  # unknown name -> clear error
    return tfds_source.load(name, batch_size, split, shuffle, seed, labels, resize, data_dir,
                            drop_remainder, repeat, prefetch)


def load_arrays(name, split="train", data_dir=None, n=None, seed=0):
    """A whole split as numpy ``(x, y)`` in the value ranges of ``load`` (for metrics).

    ``x`` float32 (images in [-1, 1], NHWC; 2D points (N, 2)); ``y`` int32 or
    ``None`` for unlabeled sets. Finite sets: the whole split in its stored
    order, or, with ``n``, ``n`` examples drawn without replacement with
    ``seed``. Infinite sets: ``n`` samples (default 26,000 for stacked sets,
    2,500 for 2D sets) drawn with ``seed`` -- the same as the first batch of
    ``load(name, batch_size=n, seed=seed)``; for 2D sets ``y`` is the id of the
    mode each point was drawn from (an index into ``mode_means(name)[0]``), for
    stacked sets the stacked label ``100 a + 10 b + c``.
    """
    _check_name(name)
    _common.check_seed(seed)
    if n is not None:
        check_positive_int("n", n)
    if name in synthetic.NAMES:
        return synthetic.arrays(name, split, n, seed)
    if name in stacked.NAMES:
        return stacked.arrays(name, split, data_dir, n, seed)
    if name in _FINITE:
        mod = _FINITE[name]
        x, y = mod.uint8_arrays(split, data_dir)
        x, y = _common.subset(x, y, n, seed, name, split)
        return _common.to_unit_range_np(x, mod.MAX_VALUE), y
    root = _folder_root(name, data_dir)
    if root is not None:
        return folder.arrays(name, root, split, n, seed)
    from kgan.data import tfds_source

    _tfds_builder(name, data_dir)
    return tfds_source.arrays(name, split, data_dir, n, seed)


def mode_means(name):
    """``(means float64 (K, 2), sigma)`` of a 2D set: ``"ring8"`` (K=8, sigma 0.01), ``"grid25"``
    (K=25, 0.05), ``"grid49"`` (49, 0.05) or ``"grid100"`` (100, 0.05)."""
    return synthetic.mode_means(name)
