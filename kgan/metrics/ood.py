"""Out-of-distribution (OOD) detection scores and metrics for a trained classifier
(docs/adaptivemix_classification.md).

Scores are numbers per sample where **higher means more in-distribution**:

| function | score |
|---|---|
| ``msp_score(logits)`` | maximum softmax probability (Hendrycks & Gimpel 2017) |
| ``energy_score(logits, T)`` | ``T logsumexp(logits / T)``, the negative energy (Liu et al. 2020) |
| ``feature_distance_score(...)`` | the feature-space score: negative Mahalanobis distance to the |
| | closest class mean, shared covariance (Lee et al. 2018) |

``ood_metrics(scores_in, scores_out)`` gives AUROC, AUPR-in, AUPR-out and the FPR
at 95% TPR, computed with scikit-learn (in-distribution = the positive class).

Whether the AdaptiveMix paper (Liu, Zhang et al. CVPR 2023) scores OOD samples by
a feature distance, by the MSP or by another score was not verified (its text was
not available to us; the official repository's classification code has no OOD
evaluation).
"""
import numpy as np
from scipy.special import logsumexp
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from kgan.metrics._checks import as_features, same_width

__all__ = ["msp_score", "energy_score", "feature_distance_score", "ood_metrics"]


def _logits(logits):
    arr = as_features("logits", logits)
    if arr.shape[1] < 2:
        raise ValueError(f"`logits` must have one column per class (at least 2); received shape {arr.shape}.")
    return arr


def msp_score(logits):
    """Maximum softmax probability ``max_k softmax(logits)_k`` (Hendrycks & Gimpel 2017), (N,) in (0, 1].

    Args:
        logits: (N, K) classifier logits.
    """
    arr = _logits(logits)
    return np.exp(arr.max(axis=1) - logsumexp(arr, axis=1))


def energy_score(logits, temperature=1.0):
    """Negative energy ``T logsumexp(logits / T)`` (Liu et al. 2020, Eq. 5's ``-E(x; f)``), (N,).

    Args:
        logits: (N, K) classifier logits.
        temperature: ``T`` > 0 (1 in the paper).
    """
    arr = _logits(logits)
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        t = float("nan")
    if not 0 < t < float("inf"):
        raise ValueError(f"`temperature` must be a finite number > 0; received temperature={temperature!r}.")
    return t * logsumexp(arr / t, axis=1)


def feature_distance_score(train_features, train_labels, test_features, return_class=False):
    """The feature-space score (Lee et al. 2018, Eq. 2): class means ``mu_c`` and one
    covariance ``Sigma`` shared by all classes (the mean over training samples of
    ``(f - mu_y)(f - mu_y)^T``) fitted on training features; the score of a test
    feature ``f`` is ``-min_c (f - mu_c)^T Sigma^+ (f - mu_c)``, the negative
    (squared) Mahalanobis distance to the closest class mean. ``Sigma^+`` is the
    pseudo-inverse (features of ReLU nets often have a singular covariance). The
    square does not change the ranking, so the OOD metrics are those of the
    unsquared distance. Lee et al.'s input preprocessing and layer ensemble are
    not included.

    Args:
        train_features: (N, D) in-distribution training features.
        train_labels: (N,) their integer class ids.
        test_features: (M, D) features to score.
        return_class: also return the label of each test feature's closest class mean.

    Returns:
        (M,) scores, or ``(scores, nearest_label)`` with ``return_class=True``.
    """
    train = as_features("train_features", train_features)
    test = as_features("test_features", test_features)
    same_width("train_features", train, "test_features", test)
    labels = np.asarray(train_labels)
    if labels.ndim != 1 or labels.shape[0] != train.shape[0] or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`train_labels` must be integer class ids of shape ({train.shape[0]},), one per training feature; "
            f"received {labels.dtype} labels of shape {labels.shape}.")
    classes = np.unique(labels)
    means = np.stack([train[labels == c].mean(axis=0) for c in classes])
    centred = train - means[np.searchsorted(classes, labels)]
    precision = np.linalg.pinv(centred.T @ centred / train.shape[0], hermitian=True)
    diff = test[:, None, :] - means[None, :, :]  # (M, C, D)
    dist = np.einsum("mcd,de,mce->mc", diff, precision, diff)
    nearest = dist.argmin(axis=1)
    scores = -dist[np.arange(len(test)), nearest]
    return (scores, classes[nearest]) if return_class else scores


def ood_metrics(scores_in, scores_out):
    """AUROC, AUPR-in, AUPR-out and FPR at 95% TPR of scores (higher = in-distribution).

    In-distribution samples are the positive class. With scikit-learn:
    ``auroc = roc_auc_score`` (ties count 1/2), ``aupr_in = average_precision_score``,
    ``aupr_out`` = the same with the labels flipped and the scores negated (OOD
    as the positive class), ``fpr_at_95_tpr`` = the false-positive rate (OOD
    accepted as in-distribution) at the first threshold of ``roc_curve`` (all
    thresholds kept) where the true-positive rate reaches 0.95.

    Args:
        scores_in: (N,) scores of in-distribution samples.
        scores_out: (M,) scores of OOD samples.

    Returns:
        dict with float ``"auroc"``, ``"aupr_in"``, ``"aupr_out"``, ``"fpr_at_95_tpr"``.
    """
    s_in = as_features("scores_in", scores_in, ndim=1)
    s_out = as_features("scores_out", scores_out, ndim=1)
    labels = np.concatenate([np.ones(len(s_in)), np.zeros(len(s_out))])
    scores = np.concatenate([s_in, s_out])
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return {
        "auroc": float(roc_auc_score(labels, scores)),
        "aupr_in": float(average_precision_score(labels, scores)),
        "aupr_out": float(average_precision_score(1 - labels, -scores)),
        "fpr_at_95_tpr": float(fpr[np.argmax(tpr >= 0.95)]),
    }
