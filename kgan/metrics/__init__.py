"""Evaluation metrics for GANs (see docs/metrics.md).

Functions here take numpy arrays and are pure numpy/scipy; feature extractors
(``InceptionFeatures``, ``DomainClassifier``) and ``missing_modes`` need Keras
and are imported on first use.
"""
from kgan.metrics.modes import (
    i_variance,
    inception_score,
    kl_to_uniform,
    mode_counts,
    mode_coverage,
    mode_score,
)

__all__ = [
    "mode_coverage", "mode_counts", "mode_score", "inception_score", "i_variance",
    "kl_to_uniform",
]
