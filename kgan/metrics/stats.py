"""Reference statistics ``(mu, sigma)`` for FID, in the ``.npz`` form TTUR publishes.

TTUR's ``fid.py`` and the statistics files published with it (and with many
papers) are ``.npz`` archives with two arrays: ``mu`` (D,) and ``sigma`` (D, D),
the mean and covariance of TF-Inception ``pool_3`` features of a real dataset.
``save_stats`` writes that form (readable by TTUR, pytorch-fid and clean-fid),
adding string fields ``extractor`` (kind), ``label`` and counts that kgan
checks when it reads the file back: statistics of one feature space are never
compared with features of another. A file without ``extractor`` (a TTUR file)
is taken to be TF-Inception ``pool_3`` statistics.
"""
import hashlib
import os

import numpy as np

from kgan.utils import atomic_path

#: what a TTUR statistics file (no ``extractor`` field) holds
TTUR_KIND = "inception_tf"


def save_stats(path, mu, sigma, *, extractor=None, label=None, **info):
    """Write ``mu`` (D,) and ``sigma`` (D, D) (float64) to ``path`` (.npz, TTUR's keys), with the
    extractor ``kind`` and ``label`` and any string/number ``info`` (dataset, split, n)."""
    mu, sigma = _checked(np.asarray(mu, np.float64), np.asarray(sigma, np.float64), f"statistics for {path!r}")
    extra = {k: np.asarray(str(v)) for k, v in info.items() if v is not None}
    if extractor is not None:
        extra["extractor"] = np.asarray(str(extractor))
    if label is not None:
        extra["label"] = np.asarray(str(label))
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"`path` must end in .npz (TTUR's statistics format); received path={path!r}.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file object: savez would append .npz to a temporary name
            np.savez_compressed(fh, mu=mu, sigma=sigma, **extra)
    return path


def _checked(mu, sigma, what):
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"{what}: `mu` must be (D,) and `sigma` (D, D); received mu {mu.shape}, "
                         f"sigma {sigma.shape}.")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"{what}: `mu` / `sigma` contain NaN or infinite values.")
    return mu, sigma


def load_stats(path, expect_extractor=None, expect_dim=None):
    """Read a statistics ``.npz`` (TTUR's or kgan's). Returns a dict with ``mu``, ``sigma``
    (float64), ``extractor`` (``"inception_tf"`` for a file without the field), ``label`` and
    the other stored fields as strings.

    ``expect_extractor`` / ``expect_dim``: raise ``ValueError`` when the file's extractor kind or
    feature width differs (statistics of another feature space give meaningless FIDs).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"`ref_stats`={path!r} does not exist; expected a .npz file with arrays 'mu' (D,) and "
                         "'sigma' (D, D), e.g. TTUR's fid_stats_cifar10_train.npz.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001 - zipfile / pickle / format errors
        raise ValueError(f"`ref_stats`={path!r} is not a readable .npz file ({type(err).__name__}: {err}); "
                         "expected arrays 'mu' (D,) and 'sigma' (D, D).") from None
    missing = [k for k in ("mu", "sigma") if k not in arrays]
    if missing:
        raise ValueError(f"`ref_stats`={path!r} has no {' / '.join(repr(m) for m in missing)} array (it has "
                         f"{sorted(arrays)}); expected TTUR's keys 'mu' (D,) and 'sigma' (D, D).")
    mu, sigma = _checked(arrays.pop("mu").astype(np.float64), arrays.pop("sigma").astype(np.float64),
                         f"`ref_stats`={path!r}")
    out = {"mu": mu, "sigma": sigma, "path": path}
    out.update({k: str(v) for k, v in arrays.items() if v.ndim == 0})
    out.setdefault("extractor", TTUR_KIND)
    out.setdefault("label", "TF-Inception 2015 pool_3 (TTUR statistics file: no extractor recorded)")
    if expect_dim is not None and mu.shape[0] != expect_dim:
        raise ValueError(f"`ref_stats`={path!r} holds {mu.shape[0]}-d statistics; the extractor gives "
                         f"{expect_dim}-d features.")
    if expect_extractor is not None and out["extractor"] != expect_extractor:
        raise ValueError(f"`ref_stats`={path!r} holds statistics of extractor {out['extractor']!r} "
                         f"({out['label']}); the features are from {expect_extractor!r}: an FID between "
                         "two feature spaces is meaningless.")
    return out


def compute_stats(features):
    """``(mu, sigma)`` of (N, D) features: float64 mean and 1/(N-1) covariance."""
    from kgan.metrics.distance import gaussian_stats

    return gaussian_stats(features, "features")


def extractor_fingerprint(extractor):
    """A short string that changes when the network changes (file content hash for a graph file)."""
    path = getattr(extractor, "path", None)
    source = getattr(extractor, "source", None)
    h = hashlib.sha1()
    h.update(str(getattr(extractor, "kind", type(extractor).__name__)).encode())
    if path and os.path.isfile(path):
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    elif path and source == "saved_model" and os.path.isfile(os.path.join(path, "saved_model.pb")):
        with open(os.path.join(path, "saved_model.pb"), "rb") as fh:
            h.update(fh.read())
    else:
        h.update(str(getattr(extractor, "label", "")).encode())
    return h.hexdigest()[:12]


def load_real(dataset, split, n=None, seed=0):
    """``(x, y)`` real samples of ``dataset``: ``n`` of them drawn without replacement
    with ``seed`` (all of a finite split when ``n`` is None or larger)."""
    import kgan.data as data

    infinite = data.info(dataset).kind == "2d" or dataset.startswith("stacked_")
    if infinite:
        return data.load_arrays(dataset, split, n=n or 10000, seed=seed)
    x, y = data.load_arrays(dataset, split)
    if n is not None and n < len(x):
        idx = np.random.default_rng(seed).permutation(len(x))[:n]
        x, y = x[idx], (None if y is None else np.asarray(y)[idx])
    return x, y


def dataset_stats(dataset, extractor, split="train", n=None, seed=0, cache=True, cache_dir=None, verbose=0):
    """``load_stats``-style dict of the real statistics of ``dataset``'s ``split`` in ``extractor``'s
    features, computed once and cached as a TTUR-compatible ``.npz`` under
    ``$KGAN_CACHE/stats/`` (the file name holds the dataset, split, count, extractor kind and a
    hash of the network file). ``n``: samples (None: the whole split)."""
    from kgan.metrics.features import cache_dir as default_cache_dir

    kind = getattr(extractor, "kind", "custom")
    directory = os.path.join(cache_dir or default_cache_dir(), "stats")
    name = f"{dataset}_{split}_{'all' if n is None else n}_s{seed}_{kind}_{extractor_fingerprint(extractor)}.npz"
    path = os.path.join(directory, name)
    if cache and os.path.isfile(path):
        return load_stats(path, expect_extractor=kind)
    x, _ = load_real(dataset, split, n, seed)
    if verbose:
        print(f"kgan: computing {kind} statistics of {dataset} {split} ({len(x)} images; cached at {path})",
              flush=True)
    feats = extractor.features(np.asarray(x, np.float32))
    mu, sigma = compute_stats(feats)
    if cache:
        save_stats(path, mu, sigma, extractor=kind, label=extractor.label, dataset=dataset, split=split,
                   n=len(x))
    return {"mu": mu, "sigma": sigma, "path": path if cache else None, "extractor": kind,
            "label": extractor.label, "dataset": dataset, "split": split, "n": str(len(x))}
