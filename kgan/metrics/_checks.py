"""Input checks shared by the metric functions (numpy only, no TensorFlow)."""
import numpy as np


def as_features(name, x, ndim=2, dtype=np.float64):
    """Return ``x`` as a finite float64 array of rank ``ndim``; raise a clear error otherwise."""
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a numeric array; received an object of type {type(x).__name__}."
        ) from None
    if arr.ndim != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-D array"
            + (" of shape (num_samples, feature_dim)" if ndim == 2 else "")
            + f"; received shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"`{name}` must contain at least one sample; received shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(
            f"`{name}` contains {bad} NaN or infinite value(s) (shape {arr.shape}); "
            "metrics need finite values. A diverged generator or a broken feature "
            "extractor usually causes this.")
    return arr


def same_width(name_a, a, name_b, b):
    """Raise ValueError if two feature arrays do not have the same feature width."""
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same feature width; received "
            f"{name_a}.shape={a.shape} and {name_b}.shape={b.shape}. Both sets must come "
            "from the same feature extractor.")


def as_probs(name, p, atol=1e-3):
    """Return ``p`` (N, K) as float64 rows on the simplex; raise for negatives or bad sums."""
    arr = as_features(name, p)
    if np.any(arr < 0):
        raise ValueError(f"`{name}` must hold probabilities (>= 0); found a minimum of {arr.min():.4g}.")
    sums = arr.sum(axis=1)
    if np.max(np.abs(sums - 1.0)) > atol:
        raise ValueError(
            f"`{name}` rows must sum to 1 (softmax outputs, not logits); row sums range "
            f"from {sums.min():.4g} to {sums.max():.4g}.")
    return arr / sums[:, None]
