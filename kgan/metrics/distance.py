"""Distances between two sets of features: Fréchet distance (FID) and KID."""
import warnings

import numpy as np

from kgan.metrics._checks import as_features, same_width
from kgan.utils import check_positive_int


def _sqrt_psd(s):
    """Symmetric PSD square root by eigendecomposition (negative round-off eigenvalues -> 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _cholesky_lower(s):
    """Lower Cholesky factor of symmetric ``s``, or None when ``s`` is not (numerically) positive definite."""
    try:
        from scipy.linalg import LinAlgError as ScipyLinAlgError
        from scipy.linalg import cholesky
    except ImportError:  # numpy only
        try:
            return np.linalg.cholesky(s)
        except np.linalg.LinAlgError:
            return None
    try:
        return cholesky(s, lower=True, check_finite=False)
    except (ScipyLinAlgError, np.linalg.LinAlgError):
        return None


def _sum_sqrt_eigvalsh(m):
    w = np.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sum(np.sqrt(np.clip(w, 0.0, None))))


def trace_sqrt_product(sigma_a, sigma_b, method="auto"):
    """``tr sqrt(Sigma_a Sigma_b)`` for symmetric PSD matrices, in float64.

    ``Sigma_a Sigma_b`` is similar to a symmetric PSD matrix, so the trace of
    its square root is ``sum_i sqrt(lambda_i)`` over that matrix's eigenvalues
    (clipped at 0). Two routes:

    - ``"cholesky"``: ``Sigma_a = L L^T`` (positive definite ``Sigma_a``), then
      the eigenvalues of ``L^T Sigma_b L`` (similar to ``Sigma_a Sigma_b``:
      ``L^T (Sigma_b Sigma_a) L^-T``). One Cholesky, two matrix products and
      one values-only symmetric eigensolve: for 2048-d covariances an order of
      magnitude faster than ``scipy.linalg.sqrtm(Sigma_a @ Sigma_b)``.
    - ``"eigh"``: ``A = Sigma_a^{1/2} Sigma_b Sigma_a^{1/2}`` through an
      eigendecomposition of ``Sigma_a`` (with vectors); works for singular
      (rank-deficient) covariances, about twice the cost.

    ``"auto"`` (default) tries the Cholesky factor of ``Sigma_a``, then of
    ``Sigma_b`` (the trace is symmetric in the two), and falls back to
    ``"eigh"`` when neither is positive definite (e.g. fewer samples than
    dimensions). Unlike the ``sqrtm`` formula this never produces complex
    values or needs the "add eps to the diagonal" retry of pytorch-fid.
    """
    if method not in ("auto", "cholesky", "eigh"):
        raise ValueError(f"`method` must be 'auto', 'cholesky' or 'eigh'; received method={method!r}.")
    sa = np.asarray(sigma_a, dtype=np.float64)
    sb = np.asarray(sigma_b, dtype=np.float64)
    if method != "eigh":
        for first, second in ((sa, sb), (sb, sa)):
            low = _cholesky_lower((first + first.T) / 2.0)
            if low is not None:
                return _sum_sqrt_eigvalsh(low.T @ second @ low)
            if method == "cholesky":
                raise ValueError("method='cholesky' needs a positive definite covariance; `sigma_a` is not "
                                 "(Cholesky failed). Use method='auto' or 'eigh' for singular covariances.")
    root_a = _sqrt_psd(sa)
    return _sum_sqrt_eigvalsh(root_a @ sb @ root_a)


def trace_sqrt_product_lowrank(features_a, sigma_b):
    """``tr sqrt(Sigma_a Sigma_b)`` with ``Sigma_a`` the 1/(N-1) covariance of (N, D) ``features_a``
    and N <= D: the nonzero eigenvalues of ``Sigma_a Sigma_b = X^T X Sigma_b / (N-1)`` (X the centred
    features) are those of the N x N symmetric PSD matrix ``X Sigma_b X^T / (N-1)``, so one small
    eigensolve replaces the D x D ones (exact, not an approximation)."""
    x = np.asarray(features_a, dtype=np.float64)
    x = x - x.mean(axis=0)
    m = (x @ np.asarray(sigma_b, dtype=np.float64)) @ x.T
    return _sum_sqrt_eigvalsh(m / (x.shape[0] - 1))


def covariance(features):
    """Unbiased covariance (1/(N-1), as ``np.cov(rowvar=False)``) of (N, D) features in float64,
    as one BLAS product of the centred matrix with itself. Returns ``(mean, cov)``."""
    x = np.asarray(features, dtype=np.float64)
    mu = x.mean(axis=0)
    xc = x - mu
    cov = xc.T @ xc  # a self-product: BLAS syrk
    cov /= x.shape[0] - 1
    return mu, cov


def gaussian_stats(features, name="features"):
    """Mean and covariance (float64, unbiased 1/(N-1) as ``np.cov``) of (N, D) features."""
    f = as_features(name, features)
    if f.shape[0] < 2:
        raise ValueError(f"`{name}` needs at least 2 samples for a covariance; received shape {f.shape}.")
    if f.shape[0] < f.shape[1]:
        warnings.warn(
            f"`{name}` has {f.shape[0]} samples for {f.shape[1]} feature dimensions: its covariance is "
            f"singular (rank <= {f.shape[0] - 1}). The Fréchet distance is still computed exactly for "
            "these rank-deficient Gaussians, but it is a strongly biased estimate of the population "
            "value (biased upward) and only comparable with values computed with the same number of "
            "samples and the same features.", UserWarning, stacklevel=3)
    return covariance(f)


def frechet_distance_from_stats(mu_a, sigma_a, mu_b, sigma_b):
    """Fréchet distance between N(mu_a, Sigma_a) and N(mu_b, Sigma_b):
    ``||mu_a - mu_b||^2 + tr(Sigma_a + Sigma_b - 2 (Sigma_a Sigma_b)^{1/2})``.
    """
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.atleast_2d(sigma_a).astype(np.float64), np.atleast_2d(sigma_b).astype(np.float64)
    if mu_a.shape != mu_b.shape or sigma_a.shape != sigma_b.shape or sigma_a.shape != mu_a.shape * 2:
        raise ValueError(
            f"Statistics must have matching shapes (D,), (D, D); received mu_a {mu_a.shape}, "
            f"sigma_a {sigma_a.shape}, mu_b {mu_b.shape}, sigma_b {sigma_b.shape}.")
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * trace_sqrt_product(sigma_a, sigma_b)
    return float(max(value, 0.0))


def frechet_distance_to_stats(features, mu, sigma, name="features"):
    """Fréchet distance between Gaussians fitted to (N, D) ``features`` and ``N(mu, sigma)``
    (e.g. TTUR's reference statistics). Fewer samples than dimensions take the exact N x N route
    (``trace_sqrt_product_lowrank``)."""
    f = as_features(name, features)
    mu = np.asarray(mu, np.float64)
    sigma = np.atleast_2d(sigma).astype(np.float64)
    if mu.shape != (f.shape[1],) or sigma.shape != (f.shape[1],) * 2:
        raise ValueError(f"`mu` / `sigma` must be ({f.shape[1]},) / ({f.shape[1]}, {f.shape[1]}) for "
                         f"{f.shape[1]}-d `{name}`; received mu {mu.shape}, sigma {sigma.shape}.")
    mu_f, sigma_f = gaussian_stats(f, name)
    if f.shape[0] > f.shape[1]:
        return frechet_distance_from_stats(mu_f, sigma_f, mu, sigma)
    diff = mu_f - mu
    value = diff @ diff + np.trace(sigma_f) + np.trace(sigma) - 2.0 * trace_sqrt_product_lowrank(f, sigma)
    return float(max(value, 0.0))


def frechet_distance(feat_a, feat_b):
    """Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017).

    ``d^2 = ||mu_a - mu_b||^2 + tr(Sigma_a + Sigma_b - 2 (Sigma_a Sigma_b)^{1/2})``,
    means and covariances (1/(N-1), as pytorch-fid / TF-GAN) in float64; the
    trace of the matrix square root is computed from the eigenvalues of the
    symmetric matrix ``L^T Sigma_b L`` with ``Sigma_a = L L^T`` (Cholesky), or of
    ``Sigma_a^{1/2} Sigma_b Sigma_a^{1/2}`` for singular covariances (see
    ``trace_sqrt_product``). Agrees with the ``scipy.linalg.sqrtm`` formula to
    float64 round-off where that one is accurate.

    With Inception pool features this is "FID"; which Inception matters: only
    ``StandardInception`` (the 2015 TF-Inception graph's ``pool_3``) gives the
    numbers papers report; keras' ImageNet InceptionV3 (``InceptionFeatures``)
    does not. FID is biased upward for small N:
    compare values only at equal sample counts (50k in papers).

    Args:
        feat_a, feat_b: (N_a, D) and (N_b, D) arrays from the same extractor.

    Returns:
        float >= 0 (tiny negative round-off is clipped to 0).

    Warns when a set has fewer samples than dimensions (singular covariance).
    """
    a = as_features("feat_a", feat_a)
    b = as_features("feat_b", feat_b)
    same_width("feat_a", a, "feat_b", b)
    if min(len(a), len(b)) <= a.shape[1]:  # a singular covariance: the exact N x N route
        small, big, name_s, name_b = (a, b, "feat_a", "feat_b") if len(a) <= len(b) else (b, a, "feat_b", "feat_a")
        mu_b, sigma_b = gaussian_stats(big, name_b)
        return frechet_distance_to_stats(small, mu_b, sigma_b, name_s)
    mu_a, sigma_a = gaussian_stats(a, "feat_a")
    mu_b, sigma_b = gaussian_stats(b, "feat_b")
    return frechet_distance_from_stats(mu_a, sigma_a, mu_b, sigma_b)


def polynomial_kernel(x, y):
    """KID kernel ``k(x, y) = (x.y / d + 1)^3`` (Binkowski et al. 2018), d = feature width."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 with the cubic polynomial kernel (U-statistic, Binkowski et al. eq. 4).

    ``1/(m(m-1)) sum_{i!=j} k(x_i,x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i,y_j) - 2/(mn) sum_{i,j} k(x_i,y_j)``.
    """
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.mean())


def kid(feat_a, feat_b, subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance (Binkowski et al., ICLR 2018).

    Unbiased MMD^2 (``mmd2_unbiased``) with the cubic polynomial kernel
    ``(x.y/d + 1)^3``, averaged over ``subsets`` random subsets of
    ``subset_size`` samples drawn without replacement from each set
    (defaults 100 x 1000, as in the reference implementation, TF-GAN and
    torch-fidelity). Unbiased: it can be slightly negative when the two sets
    come from one distribution. Usually reported x1000 in papers; this returns
    the raw value.

    Returns:
        (mean, std) over subsets.
    """
    check_positive_int("subsets", subsets)
    check_positive_int("subset_size", subset_size)
    a = as_features("feat_a", feat_a)
    b = as_features("feat_b", feat_b)
    same_width("feat_a", a, "feat_b", b)
    n_min = min(len(a), len(b))
    if subset_size > n_min:
        raise ValueError(
            f"`subset_size` must be <= the smaller set size ({n_min}: feat_a has {len(a)}, feat_b "
            f"{len(b)} samples); received subset_size={subset_size}.")
    if subset_size < 2:
        raise ValueError(f"`subset_size` must be >= 2 for the unbiased estimate; received {subset_size}.")
    rng = np.random.default_rng(seed)
    values = np.array([
        mmd2_unbiased(a[rng.choice(len(a), subset_size, replace=False)],
                      b[rng.choice(len(b), subset_size, replace=False)])
        for _ in range(subsets)])
    return float(values.mean()), float(values.std())
