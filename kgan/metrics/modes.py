"""Mode-collapse metrics: 2D mode coverage, stacked-data mode counts, MODE score,
Inception Score and I-Variance. Pure numpy; no TensorFlow needed.

Convention for every "KL to uniform" in this module (reverse KL, as in
VEEGAN/PacGAN/GDPP): ``KL(p_gen || U) = sum_k p_k log(p_k K)`` with the usual
``0 log 0 = 0`` convention, so modes that were never hit contribute 0 and the
value is always finite, between 0 (perfectly uniform) and ``log K`` (all
samples in one mode). Natural log (nats).
"""
import math

import numpy as np

from kgan.metrics._checks import as_features, as_probs
from kgan.utils import check_choice, check_positive_int

def kl_to_uniform(counts):
    """``KL(p || uniform)`` in nats of a histogram ``counts`` over K bins.

    ``p_k = counts_k / sum(counts)``; ``KL = sum_{k: p_k > 0} p_k log(K p_k)``
    (empty bins contribute 0, so the value lies in ``[0, log K]``). Returns
    ``inf`` when the histogram is empty (no samples: the distribution is undefined,
    and ``inf`` ranks it below any real histogram when minimising).
    """
    counts = np.asarray(counts, dtype=np.float64)
    k = counts.size
    total = counts.sum()
    if total <= 0:
        return float("inf")
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * k)))


def _resolve_modes(dataset, means, sigma):
    if means is not None:
        means = np.asarray(means, dtype=np.float64)
        if means.ndim != 2:
            raise ValueError(f"`means` must have shape (num_modes, dim); received shape {means.shape}.")
        if sigma is None:
            raise ValueError("`sigma` is required when `means` is given; received sigma=None.")
        return means, float(sigma)
    if dataset is None:
        raise ValueError("Pass `dataset` (a 2D set: 'ring8', 'grid25', 'grid49', 'grid100') or explicit `means` and `sigma`; received neither.")
    from kgan.data import mode_means  # the one definition of the 2D mixtures

    m, s = mode_means(dataset)
    if sigma is not None:
        s = sigma
    return np.asarray(m, dtype=np.float64), float(s)


def mode_coverage(samples, dataset=None, *, means=None, sigma=None, threshold=3.0):
    """Mode coverage of 2D samples from a Gaussian mixture (VEEGAN / PacGAN protocol).

    For each sample, find the nearest mode mean ``mu_k``. The sample is
    *high quality* (HQ) if ``||x - mu_k|| <= threshold * sigma`` (3 standard
    deviations by default). A mode is *captured* when at least one HQ sample
    has it as nearest mean.

    Args:
        samples: (N, 2) array of generated points (2,500 in the protocol).
        dataset: a 2D set (``kgan.data.synthetic.NAMES``): "ring8" (8 modes on
            the unit circle at angles 2*pi*k/8, sigma 0.01), "grid25"
            ({-4,-2,0,2,4}^2, sigma 0.05), "grid49" or "grid100"; the means and
            sigma come from ``kgan.data.mode_means(dataset)``.
        means, sigma: explicit mixture instead of ``dataset``.
        threshold: HQ radius in units of sigma (default 3).

    Returns:
        dict with ``modes`` (int, modes captured), ``num_modes`` (int),
        ``hq_fraction`` (float in [0, 1], fraction of all samples that are HQ;
        multiply by 100 for the "% HQ" of VEEGAN Table 1) and ``reverse_kl``
        (float, ``KL(p_gen || uniform)`` of the histogram of HQ samples over
        modes; modes with zero HQ samples contribute 0 (``0 log 0 = 0``), so it
        lies in [0, log K]; ``inf`` if there are no HQ samples at all).
    """
    m, s = _resolve_modes(dataset, means, sigma)
    x = as_features("samples", samples)
    if x.shape[1] != m.shape[1]:
        raise ValueError(
            f"`samples` must have shape (N, {m.shape[1]}) for dataset={dataset!r}; received shape {x.shape}.")
    if not s > 0:
        raise ValueError(f"`sigma` must be > 0; received sigma={s!r}.")
    d2 = np.sum((x[:, None, :] - m[None, :, :]) ** 2, axis=-1)  # (N, K); K is 8 or 25
    nearest = np.argmin(d2, axis=1)
    dist = np.sqrt(d2[np.arange(len(x)), nearest])
    hq = dist <= threshold * s
    counts = np.bincount(nearest[hq], minlength=len(m))
    return {
        "modes": int(np.count_nonzero(counts)),
        "num_modes": int(len(m)),
        "hq_fraction": float(hq.mean()),
        "reverse_kl": kl_to_uniform(counts),
    }


def mode_counts(labels_pred, num_modes=1000):
    """Modes covered and ``KL(p_gen || uniform)`` for stacked (1000-mode) data.

    ``labels_pred`` are the mode ids predicted by a classifier for generated
    samples (for stacked data ``100*a + 10*b + c`` from the per-channel
    digit/class predictions, see ``DomainClassifier.predict_labels``). The
    protocol of VEEGAN/PacGAN/GDPP uses 26,000 samples.

    Returns:
        dict with ``modes`` (number of ids that appear at least once),
        ``num_modes`` and ``kl`` (``KL(p_gen || uniform)`` over ``num_modes``
        bins, empty bins contribute 0; nats).
    """
    check_positive_int("num_modes", num_modes)
    lab = np.asarray(labels_pred)
    if lab.ndim != 1 or lab.size == 0:
        raise ValueError(f"`labels_pred` must be a non-empty 1-D array of ints; received shape {lab.shape}.")
    if not np.issubdtype(lab.dtype, np.integer):
        if np.issubdtype(lab.dtype, np.floating) and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        else:
            raise TypeError(f"`labels_pred` must hold integer mode ids; received dtype {lab.dtype}.")
    if lab.min() < 0 or lab.max() >= num_modes:
        raise ValueError(
            f"`labels_pred` must lie in [0, {num_modes}); received values in [{lab.min()}, {lab.max()}].")
    counts = np.bincount(lab, minlength=num_modes)
    return {"modes": int(np.count_nonzero(counts)), "num_modes": int(num_modes), "kl": kl_to_uniform(counts)}


def _kl_rows(p, q, eps=1e-12):
    """sum_k p_k (log p_k - log q_k) per row, with 0 log 0 = 0."""
    p = np.atleast_2d(p)
    q = np.broadcast_to(np.atleast_2d(q), p.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.maximum(p, eps)) - np.log(np.maximum(q, eps))), 0.0)
    return terms.sum(axis=1)


def inception_score(probs, splits=10):
    """Inception Score (Salimans et al., 2016): ``exp(E_x KL(p(y|x) || p(y)))``.

    ``p(y)`` is the marginal over the samples of each split (as in the original
    code and TF-GAN): the N samples are cut into ``splits`` consecutive parts,
    the score is computed on each, and mean and std over splits are returned.

    Args:
        probs: (N, K) class probabilities ``p(y|x)`` (softmax outputs) of a
            classifier: the ImageNet InceptionV3 for the usual IS (1000 classes;
            with keras weights this is NOT the published TF-Inception IS), or a
            domain classifier for an in-domain score (at most K).
        splits: number of splits (default 10).

    Returns:
        (mean, std) floats. The maximum is K (confident and uniform over
        classes), the minimum 1.
    """
    check_positive_int("splits", splits)
    p = as_probs("probs", probs)
    if splits > len(p):
        raise ValueError(f"`splits` must be <= the number of samples ({len(p)}); received splits={splits}.")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0)
        scores.append(math.exp(float(np.mean(_kl_rows(part, marginal)))))
    return float(np.mean(scores)), float(np.std(scores))


def mode_score(probs_gen, reference, form="xu"):
    """MODE score: an Inception-Score-like score that also penalises a wrong class marginal.

    ``form="xu"`` (default; Xu et al. 2018, "An empirical study on evaluation
    metrics of generative adversarial networks", Sec. 3):
    ``exp( E_x KL(p(y|x) || p(y)) - KL(p(y) || p*(y)) )``: the log Inception
    Score (one split) minus the KL between the generated label marginal ``p(y)``
    and the training one ``p*(y)``. A generator with the right marginal scores
    its IS; one that over- or under-produces classes scores less.

    ``form="che"``: the formula as printed in Che et al. (ICLR 2017),
    ``exp( E_x KL(p(y|x) || p*(y)) - KL(p(y) || p*(y)) )``. Expanding both KL
    terms, the ``p*`` terms cancel (``E_x sum p(y|x) log p*(y) = sum p(y) log
    p*(y)``) and it equals the Inception Score on one split for every ``p*``: it
    cannot penalise a wrong marginal. Kept for comparison with numbers computed
    that way.

    ``p(y|x)`` are the classifier's outputs on generated samples and ``p(y)``
    their mean.

    Args:
        probs_gen: (N, K) softmax outputs on generated samples.
        reference: either the training labels (1-D int array; ``p*`` is their
            histogram over K classes) or the marginal ``p*`` itself (1-D float
            array of length K summing to 1), or training ``p(y|x)`` (N', K),
            whose mean is used.
        form: ``"xu"`` or ``"che"`` (see above).

    Returns:
        float. ``form="xu"``: at most the IS, at most K; a generator collapsed on one
        class of a uniform ``p*`` scores ``1 / K``. ``form="che"``: the IS, in [1, K].
    """
    check_choice("form", form, ("xu", "che"))
    p = as_probs("probs_gen", probs_gen)
    k = p.shape[1]
    ref = np.asarray(reference)
    if ref.ndim == 2:
        p_star = as_probs("reference", ref).mean(axis=0)
    elif ref.ndim == 1 and np.issubdtype(ref.dtype, np.integer):
        if ref.size == 0 or ref.min() < 0 or ref.max() >= k:
            raise ValueError(f"`reference` labels must lie in [0, {k}); received values in "
                             f"[{ref.min() if ref.size else None}, {ref.max() if ref.size else None}].")
        p_star = np.bincount(ref, minlength=k).astype(np.float64)
        p_star /= p_star.sum()
    elif ref.ndim == 1:
        p_star = ref.astype(np.float64)
        if p_star.shape != (k,) or np.any(p_star < 0) or abs(p_star.sum() - 1) > 1e-3:
            raise ValueError(
                f"`reference` as a marginal must be {k} probabilities summing to 1; received shape "
                f"{p_star.shape} with sum {p_star.sum():.4g}. Pass integer labels for a label histogram.")
        p_star = p_star / p_star.sum()
    else:
        raise ValueError(f"`reference` must be 1-D labels/marginal or 2-D probabilities; received shape {ref.shape}.")
    p_y = p.mean(axis=0)
    first = float(np.mean(_kl_rows(p, p_y if form == "xu" else p_star)))
    second = float(_kl_rows(p_y, p_star)[0])
    return math.exp(first - second)


def i_variance(outputs):
    """I-Variance (MaEM-GAN, Liu et al. AAAI 2023): ``sqrt(E ||T(x) - E T(x)||^2)``.

    ``T(x)`` are classifier outputs (e.g. softmax probabilities or features) of
    generated samples, one row per sample; the result is the root of the total
    variance (sum over dimensions of the per-dimension variance, population
    normalisation 1/N). Higher means more diverse outputs.
    """
    t = as_features("outputs", outputs)
    centred = t - t.mean(axis=0, keepdims=True)
    return float(np.sqrt(np.mean(np.sum(centred ** 2, axis=1))))
