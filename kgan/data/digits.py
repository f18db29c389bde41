"""scikit-learn's 8x8 digits (ships with scikit-learn, works offline).

``sklearn.datasets.load_digits()``: 1,797 grey 8x8 images of handwritten digits,
10 classes, pixel values 0..16, mapped to [-1, 1] by ``x / 8 - 1``.

Splits (fixed, independent of the ``seed`` given to ``load``):

* ``"test"``: per class, ``round(0.2 * n_c)`` images chosen by a
  ``numpy.random.default_rng(0)`` permutation of that class's indices
  (stratified 80/20: 359 images, 35 to 37 per class);
* ``"train"``: the other 1,438 images;
* ``"all"``: all 1,797 in sklearn's order.

Within ``train`` and ``test`` images stay in sklearn's order.
"""
import numpy as np

from kgan.data import _common

NAME = "digits"
SPLITS = ("train", "test", "all")
SIZES = {"train": 1438, "test": 359, "all": 1797}
MAX_VALUE = 16
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def info():
    """``DatasetInfo`` of digits (static: nothing is read)."""
    return _common.DatasetInfo(name=NAME, kind="image", shape=(8, 8, 1), num_classes=10,
                               num_modes=10, size=SIZES["train"])


def _load_all():
    """Read sklearn digits and make the fixed stratified splits (see module docstring)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype(np.uint8)[..., None]  # values are the integers 0..16
    y = bunch.target.astype(np.int32)
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        k = int(round(TEST_FRACTION * len(idx)))
        test[rng.permutation(idx)[:k]] = True
    return {"all": (x, y), "train": (x[~test], y[~test]), "test": (x[test], y[test])}


def uint8_arrays(split, data_dir=None):
    """``(x uint8 (N, 8, 8, 1) in 0..16, y int32 (N,))`` of one split (``data_dir`` unused)."""
    _common.check_split(NAME, split, SPLITS)
    return _common.cached(("digits",), _load_all)[split]
