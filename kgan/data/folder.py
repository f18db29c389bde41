"""Images from a local folder: ``load("folder:/path")`` or ``load("image_folder", data_dir="/path")``.

Layouts:

* class sub-folders (``root/cat/*.png``, ``root/dog/*.jpg``; searched
  recursively): labelled, label = index of the sub-folder name in sorted order
  (as ``keras.utils.image_dataset_from_directory``); images directly in ``root``
  are then ignored;
* flat (images directly in ``root``, no sub-folder holds images): unlabeled.

Files: ``.png``, ``.jpg``, ``.jpeg``, ``.bmp`` (case-insensitive), in sorted
path order. Channels: 1 when every image is greyscale (PIL modes ``1``, ``L``,
``LA``, ``I``, ``I;16``...), else 3 (grey and palette images are converted to
RGB, alpha is dropped). All images must share one size unless ``resize`` is
given (then each is resized as it is decoded). Sizes and modes are read from the
file headers (PIL) without decoding, so ``info`` is cheap.

A folder has one split, ``"train"`` (``"all"`` is the same). Folders whose
decoded uint8 images fit in 1 GiB are decoded once, cached in memory and
served by the in-memory pipeline; larger ones are decoded on the fly from a
seeded, per-epoch shuffled file list.
"""
import os

import numpy as np

from kgan.data import _common

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
SPLITS = ("train", "all")
_GREY_MODES = {"1", "L", "LA", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}


def _is_image(filename):
    """Whether ``filename`` has an image extension kgan decodes."""
    return filename.lower().endswith(EXTENSIONS)


def scan(root):
    """``(files, labels or None, class_names or None)`` of an image folder (see module doc)."""
    root = os.path.expanduser(os.fspath(root))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"Image folder {root!r} does not exist or is not a directory.")
    class_files = []
    for entry in sorted(os.listdir(root)):
        sub = os.path.join(root, entry)
        if not os.path.isdir(sub):
            continue
        found = []
        for dirpath, dirnames, filenames in os.walk(sub):
            dirnames.sort()
            found.extend(os.path.join(dirpath, f) for f in sorted(filenames) if _is_image(f))
        if found:
            class_files.append((entry, found))
    if class_files:
        files, labels = [], []
        for label, (_, found) in enumerate(class_files):
            files.extend(found)
            labels.extend([label] * len(found))
        return files, np.asarray(labels, np.int32), [c for c, _ in class_files]
    files = [os.path.join(root, f) for f in sorted(os.listdir(root))
             if _is_image(f) and os.path.isfile(os.path.join(root, f))]
    if not files:
        raise FileNotFoundError(
            f"Image folder {root!r} holds no images ({', '.join(EXTENSIONS)}) directly or in "
            "class sub-folders.")
    return files, None, None


def _headers(files):
    """``(sizes [(h, w)], channels)`` read from the image headers with PIL (no decoding)."""
    from PIL import Image

    sizes, grey = [], True
    for path in files:
        try:
            with Image.open(path) as im:
                w, h = im.size
                mode = im.mode
        except Exception as e:  # PIL raises UnidentifiedImageError, OSError, SyntaxError...
            raise ValueError(f"Cannot read image {path!r}: {type(e).__name__}: {e}") from None
        sizes.append((h, w))
        grey = grey and mode in _GREY_MODES
    return sizes, (1 if grey else 3)


class _Folder:
    """A scanned folder: files, labels, channels and the common size (None if sizes vary)."""

    def __init__(self, name, root):
        """Scan ``root`` and read every image header."""
        self.name = name
        self.root = root
        self.files, self.labels, self.class_names = scan(root)
        sizes, self.channels = _headers(self.files)
        distinct = sorted(set(sizes))
        self.size_hw = distinct[0] if len(distinct) == 1 else None
        if self.size_hw is None:
            first = self.files[0]
            other = next(f for f, s in zip(self.files, sizes) if s != sizes[0])
            self.size_problem = (
                f"Images in folder {root!r} differ in size ({first!r} is {sizes[0][0]}x"
                f"{sizes[0][1]}, {other!r} is "
                f"{sizes[self.files.index(other)][0]}x{sizes[self.files.index(other)][1]}; "
                f"{len(distinct)} sizes in all); pass resize=(height, width) or "
                "resize=kgan.data.Resize(size, crop='center').")

    def _bad_files_message(self, resize):
        bad = _bad_files(self.files, self.decode_fn(resize))
        shown = "; ".join(f"{p!r} ({why})" for p, why in bad[:5]) or "(none found one at a time)"
        return (f"{len(bad)} of {len(self.files)} images in folder {self.root!r} cannot be decoded (truncated or "
                f"corrupt): {shown}{' ...' if len(bad) > 5 else ''}. Remove or replace them.")

    def final_shape(self, resize):
        """(H, W, C) after ``resize``; ValueError if sizes differ and ``resize`` is None."""
        if resize is not None:
            return tuple(resize.size) + (self.channels,)
        if self.size_hw is None:
            raise ValueError(self.size_problem)
        return tuple(self.size_hw) + (self.channels,)

    def info(self):
        """``DatasetInfo`` of the folder."""
        shape = (tuple(self.size_hw) if self.size_hw else (None, None)) + (self.channels,)
        k = None if self.class_names is None else len(self.class_names)
        return _common.DatasetInfo(name=self.name, kind="image", shape=shape, num_classes=k,
                                   num_modes=k, size=len(self.files))

    def decode_fn(self, resize):
        """A tf function: file path -> uint8 image (H, W, C), resized if asked."""
        import tensorflow as tf

        channels = self.channels

        def decode(path):
            """Read, decode and optionally resize one image."""
            image = tf.io.decode_image(tf.io.read_file(path), channels=channels,
                                       dtype=tf.uint8, expand_animations=False)
            image.set_shape([None, None, channels])
            if resize is not None:
                image = _common.apply_resize(tf.cast(image, tf.float32), resize)
                image = tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)
            return image

        return decode

    def uint8_arrays(self, resize):
        """All images decoded as uint8 (N, H, W, C), cached in memory, and labels."""
        import tensorflow as tf

        self.final_shape(resize)
        stamp = tuple((f, os.stat(f).st_mtime_ns) for f in self.files)

        def build():
            """Decode every image in parallel into one array; name the files that fail to decode."""
            ds = tf.data.Dataset.from_tensor_slices(self.files).map(
                self.decode_fn(resize), num_parallel_calls=tf.data.AUTOTUNE)
            try:
                x = np.concatenate(list(ds.batch(512).as_numpy_iterator()))
            except tf.errors.InvalidArgumentError:
                raise ValueError(self._bad_files_message(resize)) from None
            return x, self.labels

        return _common.cached(("folder", os.path.realpath(self.root), stamp, resize), build)


def _first_line(error):
    """The readable part of a TF error: ``Invalid PNG data, size 426``."""
    import re

    text = str(getattr(error, "message", error)).strip().splitlines()
    text = text[0] if text else type(error).__name__
    return re.sub(r"\s*\[Op:.*$", "", re.sub(r"\{\{.*?\}\}\s*", "", text)).strip()


def _bad_files(files, decode):
    """``[(path, reason)]`` of the files ``decode`` fails on (one at a time: only after a failure)."""
    import tensorflow as tf

    bad = []
    for path in files:
        try:
            decode(tf.constant(path))
        except tf.errors.InvalidArgumentError as e:
            bad.append((path, _first_line(e)))
    return bad


#: Folders served by the streaming pipeline in this process, keyed by (real path, resize): their files
#: are decoded during training, so a corrupt one surfaces there (see :func:`explain_decode_error`).
_STREAMING = {}


def explain_decode_error(error):
    """For a decode failure raised while training on a streamed folder (a TF ``InvalidArgumentError``
    whose message does not name the file), the message naming every undecodable file of the
    folders streamed in this process; None when none of them holds one. Decodes each file once, so it
    runs only after a failure."""
    for (_, resize), folder in list(_STREAMING.items()):
        if _bad_files(folder.files, folder.decode_fn(resize)):
            return f"{folder._bad_files_message(resize)} (decoding failed during training: {_first_line(error)})"
    return None


def _open(name, root):
    """Scan ``root`` (files, labels, headers)."""
    return _Folder(name, root)


def info(name, root):
    """``DatasetInfo`` of an image folder, from file headers only."""
    return _open(name, root).info()


def load(name, root, batch_size, split, shuffle, seed, labels, resize, drop_remainder, repeat,
         prefetch):
    """``tf.data`` pipeline over an image folder (see the module docstring)."""
    import tensorflow as tf

    _common.check_split(name, split, SPLITS)
    folder = _open(name, root)
    with_labels = _common.want_labels(name, labels, folder.labels is not None)
    _common.check_batch_fits(name, split, batch_size, len(folder.files), drop_remainder)
    final = folder.final_shape(resize)
    if len(folder.files) * int(np.prod(final)) <= _common.MEMORY_LIMIT_BYTES:
        x, y = folder.uint8_arrays(resize)
        return _common.finite_pipeline(
            x, y, 255, batch_size=batch_size, shuffle=shuffle, seed=seed,
            with_labels=with_labels, repeat=repeat, drop_remainder=drop_remainder,
            prefetch=prefetch)

    _STREAMING[(os.path.realpath(folder.root), resize)] = folder
    n = len(folder.files)
    files = tf.constant(folder.files)
    ys = tf.constant(folder.labels) if with_labels else None
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    decode = folder.decode_fn(resize)

    def example(i):
        """Index -> decoded image (and label)."""
        image = decode(files[i])
        return (image, ys[i]) if ys is not None else image

    ds = ds.map(example, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def convert(*batch):
        """uint8 batch -> float32 [-1, 1] (and labels)."""
        xb = _common.to_unit_range(batch[0], 255)
        return (xb, batch[1]) if with_labels else xb

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds.with_options(_common.dataset_options())


def arrays(name, root, split, n=None, seed=0):
    """All images of the folder (or ``n`` drawn with ``seed``) as float32 [-1, 1] + labels."""
    _common.check_split(name, split, SPLITS)
    folder = _open(name, root)
    x, y = folder.uint8_arrays(None)
    x, y = _common.subset(x, y, n, seed, name, split)
    return _common.to_unit_range_np(x, 255), y
