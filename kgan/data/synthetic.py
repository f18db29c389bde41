"""2D Gaussian-mixture sets for mode-collapse experiments: ``ring8``, ``grid25``, ``grid49``, ``grid100``.

* ``ring8``: 8 Gaussians with means ``(cos(2 pi k / 8), sin(2 pi k / 8))``,
  k = 0..7 (radius 1; *not* ``linspace(0, 2 pi, 8)``, whose endpoint makes the
  first and last modes coincide), standard deviation 0.01.
* ``grid25``: 25 Gaussians with means ``{-4, -2, 0, 2, 4}^2`` (row-major: mode
  ``5 i + j`` is at ``(-4 + 2 i, -4 + 2 j)``), standard deviation 0.05.
* ``grid49`` / ``grid100``: the same grid, spacing 2 and standard deviation
  0.05, with 7 x 7 means ``{-6, ..., 6}^2`` / 10 x 10 means ``{-9, -7, ..., 9}^2``
  (kgan's harder variants: more modes at the same spacing and width).

ring8 and grid25 are the VEEGAN / PacGAN / GDPP benchmark sets. Each mode is equally
likely. Sampling is stateless: batch ``b`` of split ``s`` with seed ``seed``
uses the Philox key ``fold_in((seed, s), b)``, so streams are reproducible and
``load_arrays(name, n=B, seed=k)`` equals the first batch of
``load(name, batch_size=B, seed=k)``. Splits ``"train"`` and ``"test"`` are
independent streams.
"""
import numpy as np

from kgan.data import _common

SPLITS = ("train", "test")
_SPEC = {  # name -> (sigma, grid side or None for the ring)
    "ring8": (0.01, None),
    "grid25": (0.05, 5),
    "grid49": (0.05, 7),
    "grid100": (0.05, 10),
}
NAMES = tuple(_SPEC)


def mode_means(name):
    """Return ``(means, sigma)`` of a 2D set: ``means`` float64 (K, 2), ``sigma`` float.

    ``ring8``: K = 8, ``means[k] = (cos(2 pi k/8), sin(2 pi k/8))``, sigma 0.01.
    ``grid25``: K = 25, ``means[5 i + j] = (-4 + 2 i, -4 + 2 j)``, sigma 0.05.
    ``gridK`` (K = n * n): ``means[n i + j] = (-(n - 1) + 2 i, -(n - 1) + 2 j)``, sigma 0.05.
    """
    if name not in _SPEC:
        raise ValueError(f"`name` must be one of {list(NAMES)}; received name={name!r}.")
    sigma, side = _SPEC[name]
    if side is None:
        angles = 2.0 * np.pi * np.arange(8) / 8.0
        means = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        coords = -(side - 1) + 2.0 * np.arange(side)
        gi, gj = np.meshgrid(coords, coords, indexing="ij")
        means = np.stack([gi.ravel(), gj.ravel()], axis=1)
    return means.astype(np.float64), float(sigma)


def info(name):
    """``DatasetInfo`` of a 2D set (no sampling needed)."""
    k = len(mode_means(name)[0])
    return _common.DatasetInfo(name=name, kind="2d", shape=(2,), num_classes=k,
                               num_modes=k, size=None)


def _sample_batch(name, seed, split_index, batch_index, batch_size):
    """One batch ``(x float32 (B, 2), y int32 (B,))`` from the stateless sampler."""
    import tensorflow as tf

    means, sigma = mode_means(name)
    key = _common.batch_key(seed, split_index, batch_index)
    keys = tf.random.experimental.stateless_split(key, num=2, alg="philox")
    y = tf.random.stateless_uniform([batch_size], seed=keys[0], minval=0, maxval=len(means),
                                    dtype=tf.int32, alg="philox")
    noise = tf.random.stateless_normal([batch_size, 2], seed=keys[1], dtype=tf.float32,
                                       alg="philox")
    x = tf.gather(tf.constant(means, tf.float32), y) + sigma * noise
    return x, y


def load(name, batch_size, split, seed, labels, resize, prefetch):
    """Infinite ``tf.data`` stream of batches of a 2D set (x only unless ``labels=True``)."""
    _common.check_split(name, split, SPLITS)
    if resize is not None:
        raise ValueError(
            f"`resize` only applies to image datasets; {name!r} is a 2D set "
            f"(received resize={resize!r}).")
    with_labels = _common.want_labels(name, labels, True, auto_default=False)
    split_index = SPLITS.index(split)

    def batch_fn(i):
        """Batch index -> points (and mode ids)."""
        x, y = _sample_batch(name, seed, split_index, i, batch_size)
        return (x, y) if with_labels else x

    return _common.infinite_pipeline(batch_fn, prefetch=prefetch)


def arrays(name, split, n, seed):
    """``n`` points (default 2500) and their mode ids as numpy ``(x float32, y int32)``."""
    _common.check_split(name, split, SPLITS)
    n = 2500 if n is None else n
    from kgan.utils import check_positive_int

    check_positive_int("n", n)
    x, y = _sample_batch(name, seed, SPLITS.index(split), 0, n)
    return x.numpy(), y.numpy()
