"""Fashion-MNIST from local IDX files (offline), with TensorFlow Datasets as the online fallback.

Fashion-MNIST (Xiao et al. 2017): 28x28 grey images of 10 clothing classes,
60,000 train / 10,000 test, as four IDX files::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

(uncompressed files without ``.gz`` are accepted too). Where they are looked for,
in order; the first directory holding any of them is used and must hold a valid
pair for the requested split:

1. ``data_dir`` when given (no fallback: a ``data_dir`` with missing or corrupt
   files is an error; a ``data_dir`` that is a TFDS data dir holding a prepared
   ``fashion_mnist/`` is read with TFDS instead);
2. ``$KGAN_FASHION_MNIST_DIR`` (no fallback either);
3. ``/usr/share/datasets/fashion-mnist/`` (Debian/Ubuntu package
   ``dataset-fashion-mnist``);
4. ``$KERAS_HOME/datasets/fashion-mnist/`` (``~/.keras`` by default; where
   ``keras.datasets.fashion_mnist.load_data()`` downloads them);
5. otherwise ``tfds`` ``fashion_mnist`` (downloads it when online).

Files are parsed with numpy + gzip; magic numbers (2051 images, 2049 labels),
dimensions (28x28), counts (60,000 / 10,000, equal for images and labels) and
label values (0..9) are checked. Parsed arrays are cached in memory, keyed by the
files' paths, sizes and mtimes.
"""
import gzip
import os
import struct
import zlib

import numpy as np

from kgan.data import _common

NAME = "fashion_mnist"
SPLITS = ("train", "test")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
COUNTS = {"train": 60000, "test": 10000}
ENV_VAR = "KGAN_FASHION_MNIST_DIR"
#: System directories searched after ``data_dir`` and ``$KGAN_FASHION_MNIST_DIR``.
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)
MAX_VALUE = 255

HOW_TO_GET = (
    "Get the files with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; "
    "installs them in /usr/share/datasets/fashion-mnist/), or download the four IDX .gz "
    "files from https://github.com/zalandoresearch/fashion-mnist into a directory and pass "
    "data_dir=... (or set $KGAN_FASHION_MNIST_DIR); with internet, kgan falls back to "
    "tensorflow_datasets when no local files exist.")

_MAGIC = {1: 2049, 3: 2051}  # ndim -> magic number (unsigned byte data)


class IDXError(ValueError):
    """A corrupt, truncated or unexpected IDX file."""


def info():
    """``DatasetInfo`` of Fashion-MNIST (static: nothing is read)."""
    return _common.DatasetInfo(name=NAME, kind="image", shape=(28, 28, 1), num_classes=10,
                               num_modes=10, size=COUNTS["train"])


def read_idx(path, ndim):
    """Parse one IDX file (gzip or raw) of unsigned bytes into a numpy uint8 array.

    Format (LeCun's MNIST page): big-endian int32 magic ``0x0000 08 ndim``
    (0x08 = unsigned byte), then ``ndim`` big-endian int32 dimensions, then the
    data. Raises ``IDXError`` naming the file for a bad gzip stream, a wrong
    magic number or a size that does not match the header.
    """
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise IDXError(f"{path} is not a readable IDX file ({type(e).__name__}: {e}); "
                       "it is probably truncated or corrupt.") from None
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{path} is too short ({len(raw)} bytes) to hold an IDX header.")
    magic = struct.unpack(">i", raw[:4])[0]
    if magic != _MAGIC[ndim]:
        raise IDXError(
            f"{path} has magic number {magic}; expected {_MAGIC[ndim]} (an IDX file of "
            f"unsigned bytes with {ndim} dimension(s)).")
    dims = struct.unpack(f">{ndim}i", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise IDXError(
            f"{path} holds {len(raw) - header} data bytes but its header {dims} announces "
            f"{expected}; the file is truncated or corrupt.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(directory, filename):
    """Path of ``filename`` (or its uncompressed twin) in ``directory``, or None."""
    for candidate in (filename, filename[:-3]):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _has_any(directory):
    """Whether ``directory`` holds any of the four Fashion-MNIST IDX files."""
    return os.path.isdir(directory) and any(
        _find(directory, f) for pair in FILES.values() for f in pair)


def search_dirs():
    """Directories searched for the IDX files when ``data_dir`` is not given, in order."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return list(SYSTEM_DIRS) + [os.path.join(keras_home, "datasets", "fashion-mnist")]


def locate(data_dir=None):
    """Where Fashion-MNIST will be read from: ``("idx", directory)`` or ``("tfds", data_dir)``."""
    if data_dir is not None:
        data_dir = os.path.expanduser(os.fspath(data_dir))
        if _has_any(data_dir):
            return "idx", data_dir
        if os.path.isdir(os.path.join(data_dir, NAME)):
            return "tfds", data_dir
        missing = ", ".join(f for pair in FILES.values() for f in pair)
        raise FileNotFoundError(
            f"data_dir={data_dir!r} holds no Fashion-MNIST IDX files (expected {missing}) "
            f"and no prepared tfds '{NAME}'. {HOW_TO_GET}")
    env = os.environ.get(ENV_VAR)
    if env:
        if _has_any(env):
            return "idx", env
        raise FileNotFoundError(
            f"${ENV_VAR}={env!r} holds no Fashion-MNIST IDX files. {HOW_TO_GET}")
    for directory in search_dirs():
        if _has_any(directory):
            return "idx", directory
    return "tfds", None


def _parse_split(directory, split):
    """Parse and validate the image and label files of ``split`` in ``directory``."""
    images_name, labels_name = FILES[split]
    paths = [_find(directory, images_name), _find(directory, labels_name)]
    missing = [name for name, p in zip((images_name, labels_name), paths) if p is None]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST split {split!r}: {', '.join(missing)} missing from {directory}. "
            f"{HOW_TO_GET}")
    images_path, labels_path = paths
    try:
        images = read_idx(images_path, 3)
        labels = read_idx(labels_path, 1)
    except IDXError as e:
        raise IDXError(f"Corrupt Fashion-MNIST file: {e} {HOW_TO_GET}") from None
    count = COUNTS[split]
    if images.shape != (count, 28, 28):
        raise IDXError(
            f"{images_path} holds images of shape {images.shape}; expected ({count}, 28, 28) "
            f"for Fashion-MNIST {split!r}. {HOW_TO_GET}")
    if labels.shape != (count,):
        raise IDXError(
            f"{labels_path} holds {labels.shape[0]} labels; expected {count} for "
            f"Fashion-MNIST {split!r}. {HOW_TO_GET}")
    if labels.max() > 9:
        raise IDXError(f"{labels_path} holds label {int(labels.max())}; expected 0..9. {HOW_TO_GET}")
    return images[..., None], labels.astype(np.int32)


def uint8_arrays(split, data_dir=None):
    """``(x uint8 (N, 28, 28, 1), y int32 (N,))`` of one split, cached in memory."""
    _common.check_split(NAME, split, SPLITS)
    source, directory = locate(data_dir)
    if source == "tfds":
        from kgan.data import tfds_source

        return tfds_source.uint8_arrays(NAME, split, directory, resize=None,
                                        how_to_get=HOW_TO_GET)
    stamp = []
    for f in FILES[split]:
        p = _find(directory, f)
        st = os.stat(p) if p else None
        stamp.append((p, st.st_size, st.st_mtime_ns) if st else (f, None, None))
    key = ("fashion_mnist_idx", os.path.realpath(directory), split, tuple(stamp))
    return _common.cached(key, lambda: _parse_split(directory, split))
