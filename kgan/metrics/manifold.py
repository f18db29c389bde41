"""k-NN manifold metrics: improved precision/recall and density/coverage, in chunks.

All four are built from two things: the k-NN radius of every sample in its own
set, and comparisons of real-to-fake distances with those radii. Both are
computed a block of rows at a time, so memory is O(chunk_size * N), never
O(N^2): at 50k x 50k a full float64 distance matrix would need 20 GB.

Radii follow the reference code of both papers (clovaai/generative-evaluation-prdc):
``r_k(x_i)`` is the (k+1)-th smallest distance from ``x_i`` to its own set,
the first being ``x_i`` itself; a point is inside a ball when its distance is
strictly smaller than the radius.
"""
import numpy as np

from kgan.metrics._checks import as_features, same_width
from kgan.utils import check_positive_int

_DEFAULT_BLOCK_ENTRIES = 2 ** 23  # 8M float64 entries = 64 MB per distance block


def _sq_norms(x):
    return np.einsum("ij,ij->i", x, x)


def _sq_dist_block(xb, xb_sq, y, y_sq):
    """Squared distances of a block of rows to all of ``y``, built in place (one block of memory)."""
    d = xb @ y.T
    d *= -2.0
    d += xb_sq[:, None]
    d += y_sq[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _chunk_rows(chunk_size, n_rows, n_cols):
    if chunk_size is None:
        return max(1, min(n_rows, _DEFAULT_BLOCK_ENTRIES // max(n_cols, 1)))
    check_positive_int("chunk_size", chunk_size)
    return chunk_size


def _check_k(k, n, name):
    check_positive_int("k", k)
    if k >= n:
        raise ValueError(
            f"`k` must be smaller than the number of samples in `{name}` ({n}), since the k-th "
            f"neighbour excludes the sample itself; received k={k}.")


def knn_sq_radii(x, k, chunk_size=None):
    """Squared distance from each row of ``x`` to its k-th nearest other row, chunked."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    sq = _sq_norms(x)
    out = np.empty(n)
    step = _chunk_rows(chunk_size, n, n)
    for s in range(0, n, step):
        d = _sq_dist_block(x[s:s + step], sq[s:s + step], x, sq)
        # the (k+1)-th smallest including the zero self-distance
        out[s:s + step] = np.partition(d, k, axis=1)[:, k]
    return out


def _cross_stats(real, fake, real_r2, fake_r2, chunk_size):
    """One chunked pass over real x fake distances.

    Returns, per fake sample, the number of real balls containing it, and per
    real sample whether any fake ball contains it (recall) and whether its own
    ball contains any fake (coverage).
    """
    real_sq, fake_sq = _sq_norms(real), _sq_norms(fake)
    inside_count = np.zeros(len(fake), dtype=np.int64)
    real_in_fake = np.zeros(len(real), dtype=bool)
    real_covered = np.zeros(len(real), dtype=bool)
    step = _chunk_rows(chunk_size, len(real), len(fake))
    for s in range(0, len(real), step):
        d = _sq_dist_block(real[s:s + step], real_sq[s:s + step], fake, fake_sq)  # (c, M)
        in_real_ball = d < real_r2[s:s + step, None] if real_r2 is not None else None
        if in_real_ball is not None:
            inside_count += in_real_ball.sum(axis=0)
            real_covered[s:s + step] = in_real_ball.any(axis=1)
        if fake_r2 is not None:
            real_in_fake[s:s + step] = (d < fake_r2[None, :]).any(axis=1)
    return inside_count, real_in_fake, real_covered


def _prepare(real, fake, k):
    r = as_features("real", real)
    f = as_features("fake", fake)
    same_width("real", r, "fake", f)
    _check_k(k, len(r), "real")
    return r, f


def precision_recall(real, fake, k=3, chunk_size=None):
    """Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019).

    The real manifold is the union of balls ``B(x_i, r_k(x_i))`` around each
    real feature vector, ``r_k`` its distance to the k-th nearest other real
    sample; the fake manifold likewise.
    ``precision = 1/M sum_j 1[y_j in real manifold]`` (fidelity),
    ``recall = 1/N sum_i 1[x_i in fake manifold]`` (diversity).
    Default k=3 (the paper's choice). Computed in blocks of ``chunk_size``
    rows (default: as many rows as fit in a 64 MB distance block), never as
    an N x M matrix.

    Returns:
        dict ``{"precision": float, "recall": float}``.
    """
    r, f = _prepare(real, fake, k)
    _check_k(k, len(f), "fake")
    real_r2 = knn_sq_radii(r, k, chunk_size)
    fake_r2 = knn_sq_radii(f, k, chunk_size)
    count, real_in_fake, _ = _cross_stats(r, f, real_r2, fake_r2, chunk_size)
    return {"precision": float(np.mean(count > 0)), "recall": float(np.mean(real_in_fake))}


def density_coverage(real, fake, k=5, chunk_size=None):
    """Density and coverage (Naeem et al., ICML 2020).

    With real k-NN balls ``B(x_i, r_k(x_i))`` (k=5 default, the paper's):
    ``density = 1/(k M) sum_j sum_i 1[y_j in B(x_i, r_k(x_i))]`` (can exceed 1;
    expectation 1 when fake and real follow one distribution),
    ``coverage = 1/N sum_i 1[exists j: y_j in B(x_i, r_k(x_i))]`` (in [0, 1];
    expectation ``1 - prod_{t=1..k} (N-t)/(N+M-t)``, about 0.97 for k=5, N=M,
    when the distributions match). Only real radii are used, so outliers among
    fakes cannot inflate either value. Chunked like ``precision_recall``.

    Returns:
        dict ``{"density": float, "coverage": float}``.
    """
    r, f = _prepare(real, fake, k)
    real_r2 = knn_sq_radii(r, k, chunk_size)
    count, _, covered = _cross_stats(r, f, real_r2, None, chunk_size)
    return {"density": float(count.sum() / (k * len(f))), "coverage": float(np.mean(covered))}


def prdc(real, fake, k_pr=3, k_dc=5, chunk_size=None):
    """Precision, recall (k=``k_pr``), density and coverage (k=``k_dc``) in one call.

    Same values as ``precision_recall`` and ``density_coverage``; when
    ``k_pr == k_dc`` the real radii and the cross pass are shared.
    """
    if k_pr == k_dc:
        r, f = _prepare(real, fake, k_pr)
        _check_k(k_pr, len(f), "fake")
        real_r2 = knn_sq_radii(r, k_pr, chunk_size)
        fake_r2 = knn_sq_radii(f, k_pr, chunk_size)
        count, real_in_fake, covered = _cross_stats(r, f, real_r2, fake_r2, chunk_size)
        return {"precision": float(np.mean(count > 0)), "recall": float(np.mean(real_in_fake)),
                "density": float(count.sum() / (k_dc * len(f))), "coverage": float(np.mean(covered))}
    out = precision_recall(real, fake, k_pr, chunk_size)
    out.update(density_coverage(real, fake, k_dc, chunk_size))
    return out
