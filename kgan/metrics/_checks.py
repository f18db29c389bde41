"""Input checks shared by the metric functions (numpy only, no TensorFlow)."""
import warnings

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


def as_images(name, x, expect_hw=None, expect_c=None):
    """Return ``x`` as float32 NHWC images in [-1, 1]; raise a clear error naming ``name`` otherwise."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:  # (N, H, W): add the channel axis
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"`{name}` must be images of shape (N, H, W, C) (NHWC in [-1, 1]); received shape {x.shape}.")
    if len(x) == 0:
        raise ValueError(f"`{name}` must contain at least one image; received shape {x.shape}.")
    if expect_hw is not None and tuple(x.shape[1:3]) != tuple(expect_hw):
        raise ValueError(f"`{name}` must be {expect_hw[0]}x{expect_hw[1]} images; received shape {x.shape}.")
    if expect_c is not None and x.shape[3] != expect_c:
        raise ValueError(f"`{name}` must have {expect_c} channel(s); received shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` contains NaN or infinite values (shape {x.shape}).")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1.05 or hi > 1.05:
        warnings.warn(
            f"`{name}` has values in [{lo:.3g}, {hi:.3g}]; kgan extractors expect images in [-1, 1] "
            "(uint8 or [0, 1] images give wrong features).", UserWarning, stacklevel=3)
    return x


def softmax(logits):
    """Row-wise softmax of a 2-D numpy array of logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
