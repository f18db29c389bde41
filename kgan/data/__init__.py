"""Datasets for GAN training and evaluation as ``tf.data`` pipelines and numpy arrays.

Public API::

    load(name, batch_size, split="train", shuffle=True, seed=0, labels="auto",
         resize=None, data_dir=None, drop_remainder=True, repeat=True, prefetch=True)
        -> tf.data.Dataset of x or (x, y)
    load_arrays(name, split="train", data_dir=None, n=None, seed=0) -> (x, y) numpy
    info(name, data_dir=None) -> DatasetInfo(name, kind, shape, num_classes, num_modes, size)
    NAMES                       built-in names
    mode_means(name)            (means (K, 2), sigma) of a 2D set
    stack_labels(y3) / unstack_labels(y)   stacked-label codec 100a + 10b + c
    Resize(size, crop=None)     resize/crop spec for ``load(..., resize=...)``
    clear_cache()               drop arrays cached in memory

Values: images float32 NHWC in [-1, 1]; 2D points float32 (N, 2); labels int32.
Datasets: ``ring8``, ``grid25``, ``grid49``, ``grid100`` (2D mixtures, infinite), ``digits`` (sklearn
8x8), ``fashion_mnist`` (offline IDX files, tfds fallback), ``mnist`` (tfds:
internet on first use), ``stacked_digits``, ``stacked_fashion_mnist``,
``stacked_mnist`` (1000 modes, infinite), ``"folder:PATH"`` /
``"image_folder"`` and any TensorFlow Datasets image set. See ``docs/data.md``.
"""
from kgan.data._common import DatasetInfo, Resize, clear_cache
from kgan.data.core import NAMES, info, load, load_arrays, mode_means
from kgan.data.stacked import stack_labels, unstack_labels

__all__ = [
    "DatasetInfo", "NAMES", "Resize", "clear_cache", "info", "load", "load_arrays",
    "mode_means", "stack_labels", "unstack_labels",
]
