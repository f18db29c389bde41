"""MNIST (LeCun et al. 1998) through TensorFlow Datasets: needs internet on first use.

28x28 grey images of handwritten digits, 10 classes, 60,000 train / 10,000
test: tfds' ``mnist`` builder, read from ``data_dir`` (a tfds data dir; default
``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``). When it is not prepared there
and the machine is online, tfds downloads and prepares it (about 11 MB, once);
offline an unprepared ``mnist`` raises ``FileNotFoundError`` at once, saying how
to prepare it elsewhere (``tfds build mnist --data_dir DIR``) and pass
``data_dir=DIR``. A split is read once into memory as uint8 and cached.

Unlike ``fashion_mnist`` there is no local-IDX path: no Debian package ships
MNIST, and keras' own copy is a ``.npz`` file, not IDX. MNIST is the base set
of ``stacked_mnist`` (the Stacked-MNIST protocol itself).
"""
from kgan.data import _common

NAME = "mnist"
SPLITS = ("train", "test")
COUNTS = {"train": 60000, "test": 10000}
MAX_VALUE = 255
SHAPE = (28, 28, 1)


def info():
    """``DatasetInfo`` of MNIST (static: nothing is read or downloaded)."""
    return _common.DatasetInfo(name=NAME, kind="image", shape=SHAPE, num_classes=10, num_modes=10,
                               size=COUNTS["train"])


def uint8_arrays(split, data_dir=None):
    """``(x uint8 (N, 28, 28, 1), y int32 (N,))`` of one split, read with tfds and cached in memory.

    ``data_dir``: the tfds data dir (None: tfds' default). Raises ``FileNotFoundError``
    (with how to get it) when MNIST is not prepared there and cannot be downloaded.
    """
    _common.check_split(NAME, split, SPLITS)
    from kgan.data import tfds_source

    how_to_get = ("MNIST (also the base set of 'stacked_mnist') is read through tensorflow_datasets. "
                  + tfds_source.how_to_prepare(NAME, data_dir))
    x, y = tfds_source.uint8_arrays(NAME, split, data_dir, resize=None, how_to_get=how_to_get)
    if x.shape[1:] != SHAPE or y is None:
        raise ValueError(
            f"tfds {NAME!r} split {split!r} gave images of shape {x.shape[1:]} "
            f"({'no labels' if y is None else 'labelled'}); expected labelled {SHAPE} images. "
            f"Is data_dir={data_dir!r} holding another dataset under the name {NAME!r}?")
    return x, y
