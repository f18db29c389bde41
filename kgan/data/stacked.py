"""Stacked (1000-mode) sets: ``stacked_digits`` (8x8x3), ``stacked_fashion_mnist``, ``stacked_mnist`` (28x28x3).

Protocol of Stacked MNIST (Metz et al. 2017 / VEEGAN / PacGAN): each example
stacks three images drawn independently and uniformly (with replacement) from
one split of the grey base set (``digits`` and ``fashion_mnist`` offline;
``mnist`` through tfds, which needs internet on first use) as its R, G, B
channels. Its label is the class triple encoded as ``100 * a + 10 * b + c``
(a = class of channel 0), so 1,000 modes.

The stream is infinite and stateless: batch ``i`` of split ``s`` with seed
``seed`` draws its ``(B, 3)`` base indices from Philox key
``fold_in((seed, s), i)``; ``load_arrays(name, n=B, seed=k)`` equals the first
batch of ``load(name, batch_size=B, seed=k)``. ``split`` picks the base split
(``train``/``test``, and ``all`` for digits), so a test stream never reuses
training images.
"""
import numpy as np

from kgan.data import _common, digits, fashion_mnist, mnist

_BASES = {
    "stacked_digits": digits,
    "stacked_fashion_mnist": fashion_mnist,
    "stacked_mnist": mnist,
}
NAMES = tuple(_BASES)
NUM_MODES = 1000
DEFAULT_N = 26000


def stack_labels(y3):
    """Encode per-channel labels (..., 3) in 0..9 as one label ``100 a + 10 b + c`` in [0, 1000).

    Works on numpy arrays (validated) and on tensors (tf ops, not validated).
    """
    if isinstance(y3, (np.ndarray, list, tuple)):
        y3 = np.asarray(y3)
        if y3.ndim < 1 or y3.shape[-1] != 3:
            raise ValueError(f"`y3` must have a last axis of size 3; received shape {y3.shape}.")
        if y3.size and (y3.min() < 0 or y3.max() > 9):
            raise ValueError(
                f"`y3` values must be class ids in 0..9; received values in "
                f"[{y3.min()}, {y3.max()}].")
        y3 = y3.astype(np.int32)
    return 100 * y3[..., 0] + 10 * y3[..., 1] + y3[..., 2]


def unstack_labels(y):
    """Inverse of ``stack_labels``: labels in [0, 1000) -> (..., 3) per-channel class ids."""
    if isinstance(y, (np.ndarray, list, tuple, int, np.integer)):
        y = np.asarray(y)
        if y.size and (y.min() < 0 or y.max() >= NUM_MODES):
            raise ValueError(
                f"`y` values must be stacked labels in [0, 1000); received values in "
                f"[{y.min()}, {y.max()}].")
        y = y.astype(np.int32)
        return np.stack([y // 100, (y // 10) % 10, y % 10], axis=-1)
    import tensorflow as tf

    return tf.stack([y // 100, (y // 10) % 10, y % 10], axis=-1)


def base(name):
    """The base-set module (``digits``, ``fashion_mnist`` or ``mnist``) of a stacked set."""
    return _BASES[name]


def info(name):
    """``DatasetInfo`` of a stacked set (static)."""
    h, w, _ = _BASES[name].info().shape
    return _common.DatasetInfo(name=name, kind="image", shape=(h, w, 3),
                               num_classes=NUM_MODES, num_modes=NUM_MODES, size=None)


def _indices(seed, split_index, batch_index, batch_size, n_base):
    """(B, 3) int32 base indices of one batch (stateless, uniform with replacement)."""
    import tensorflow as tf

    key = _common.batch_key(seed, split_index, batch_index)
    return tf.random.stateless_uniform([batch_size, 3], seed=key, minval=0, maxval=n_base,
                                       dtype=tf.int32, alg="philox")


def _stack(images, idx):
    """Gather (B, 3) indices from (N, H, W, 1) images -> (B, H, W, 3)."""
    import tensorflow as tf

    g = tf.gather(images[..., 0], idx)  # (B, 3, H, W)
    return tf.transpose(g, [0, 2, 3, 1])


def load(name, batch_size, split, seed, labels, resize, data_dir, prefetch):
    """Infinite ``tf.data`` stream of stacked batches (``(x, y)`` unless ``labels=False``)."""
    import tensorflow as tf

    mod = _BASES[name]
    _common.check_split(name, split, mod.SPLITS)
    with_labels = _common.want_labels(name, labels, True)
    x_np, y_np = mod.uint8_arrays(split, data_dir)
    images = tf.constant(x_np)
    ys = tf.constant(y_np.astype(np.int32))
    n_base = int(x_np.shape[0])
    split_index = mod.SPLITS.index(split)

    def batch_fn(i):
        """Batch index -> stacked batch (and labels)."""
        idx = _indices(seed, split_index, i, batch_size, n_base)
        x = _common.to_unit_range(_stack(images, idx), mod.MAX_VALUE)
        if resize is not None:
            x = tf.clip_by_value(_common.apply_resize(x, resize), -1.0, 1.0)
        if not with_labels:
            return x
        return x, stack_labels(tf.gather(ys, idx))

    return _common.infinite_pipeline(batch_fn, prefetch=prefetch)


def arrays(name, split, data_dir=None, n=None, seed=0):
    """``n`` stacked examples (default 26,000) as numpy ``(x float32 (n, H, W, 3), y int32)``."""
    from kgan.utils import check_positive_int

    mod = _BASES[name]
    _common.check_split(name, split, mod.SPLITS)
    n = DEFAULT_N if n is None else n
    check_positive_int("n", n)
    x_np, y_np = mod.uint8_arrays(split, data_dir)
    idx = _indices(seed, mod.SPLITS.index(split), 0, n, x_np.shape[0]).numpy()
    x = np.transpose(x_np[..., 0][idx], (0, 2, 3, 1))
    return _common.to_unit_range_np(x, mod.MAX_VALUE), stack_labels(y_np[idx])
