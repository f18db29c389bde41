"""Evaluation metrics for GANs (user guide: docs/metrics.md).

Metric functions take numpy arrays and are pure numpy/scipy. Feature
extractors (``StandardInception``: the 2015 TF-Inception graph of published
FIDs; ``InceptionFeatures``: keras' ImageNet InceptionV3; ``DomainClassifier``) and ``missing_modes``
need Keras; they are imported on first use, so ``import kgan.metrics`` stays cheap.

| function | metric |
|---|---|
| ``frechet_distance(a, b)`` | FID (Fréchet distance of Gaussian fits) |
| ``kid(a, b, subsets, subset_size)`` | Kernel Inception Distance (mean, std) |
| ``inception_score(probs, splits)`` | Inception Score (mean, std) |
| ``precision_recall(real, fake, k=3)`` | improved precision / recall |
| ``density_coverage(real, fake, k=5)`` | density / coverage |
| ``mode_score(probs, reference)`` | MODE score (Che et al.) |
| ``mode_coverage(samples, "ring8")`` | 2D modes captured, % HQ, reverse KL |
| ``mode_counts(labels, 1000)`` | stacked-data modes covered, KL to uniform |
| ``i_variance(outputs)`` | I-Variance (MaEM-GAN) |
| ``distinguishable_classes(real_x, real_y, fake_x)`` | classes a third-party discriminator tells from generated samples (Che et al.'s "missing modes") |
"""
import importlib

from kgan.metrics.distance import (
    frechet_distance,
    frechet_distance_from_stats,
    frechet_distance_to_stats,
    gaussian_stats,
    kid,
)
from kgan.metrics.manifold import density_coverage, prdc, precision_recall
from kgan.metrics.modes import (
    i_variance,
    inception_score,
    kl_to_uniform,
    mode_counts,
    mode_coverage,
    mode_score,
)

_LAZY = {
    "InceptionFeatures": "kgan.metrics.features",
    "DomainClassifier": "kgan.metrics.features",
    "StackedDomainClassifier": "kgan.metrics.features",
    "get_extractor": "kgan.metrics.features",
    "StandardInception": "kgan.metrics.inception_tf",
    **dict.fromkeys(["save_stats", "load_stats", "dataset_stats", "compute_stats"], "kgan.metrics.stats"),
    "missing_modes": "kgan.metrics.missing",
    "distinguishable_classes": "kgan.metrics.missing",
    **dict.fromkeys(["msp_score", "energy_score", "feature_distance_score", "ood_metrics"], "kgan.metrics.ood"),
}

__all__ = [
    "frechet_distance", "frechet_distance_from_stats", "frechet_distance_to_stats", "gaussian_stats", "kid",
    "precision_recall", "density_coverage", "prdc",
    "mode_coverage", "mode_counts", "mode_score", "inception_score", "i_variance",
    "kl_to_uniform", *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kgan.metrics' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
