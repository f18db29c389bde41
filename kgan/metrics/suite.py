"""``Evaluator``: compute a list of named metrics for generated samples against a
dataset, caching everything about the real data. Shared by the
``kgan.callbacks.Evaluate`` callback and the ``kgan eval`` command."""
import math

import numpy as np

from kgan.metrics import distance, manifold, modes
from kgan.metrics.stats import load_real  # noqa: F401  (kgan.metrics.suite.load_real: the real side)
from kgan.utils import check_positive_int

#: metric name -> what it needs. Aliases expand to several names.
ALIASES = {
    "pr": ("precision", "recall"),
    "dc": ("density", "coverage"),
    "prdc": ("precision", "recall", "density", "coverage"),
    "missing_modes": ("distinguishable_classes",),  # Che et al.'s name (kgan.metrics.missing says why not)
}
IMAGE_METRICS = ("fid", "kid", "is", "precision", "recall", "density", "coverage", "mode_score",
                 "modes", "kl", "reverse_kl", "i_variance", "class_acc", "distinguishable_classes")
TWO_D_METRICS = ("modes", "hq", "kl", "reverse_kl", "fid", "kid", "precision", "recall", "density",
                 "coverage")
TWO_D_DEFAULT = ("modes", "hq", "reverse_kl")
_NEED_FEATURES = {"fid", "kid", "precision", "recall", "density", "coverage"}
_NEED_PROBS = {"is", "mode_score", "modes", "kl", "reverse_kl", "i_variance", "class_acc"}
#: values that depend on the feature extractor: reports name the extractor with each of them
EXTRACTOR_DEPENDENT = _NEED_FEATURES | _NEED_PROBS | {"kid_std", "is_std"}


def parse_metrics(metrics):
    """``"fid,kid,pr"`` or ``["fid", "pr"]`` -> ``("fid", "kid", "precision", "recall")`` (aliases expanded)."""
    if isinstance(metrics, str):
        metrics = [m for m in metrics.replace(" ", "").split(",") if m]
    try:
        metrics = list(metrics)
    except TypeError:
        raise TypeError(f"`metrics` must be a list of names or a comma-separated string; received {metrics!r}.") from None
    out = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"`metrics` entries must be strings; received {m!r}.")
        m = m.lower()
        for name in ALIASES.get(m, (m,)):
            if name not in out:
                out.append(name)
    if not out:
        raise ValueError("`metrics` must name at least one metric; received an empty list.")
    return tuple(out)


def _data():
    import kgan.data

    return kgan.data


def dataset_kind(dataset):
    """``"2d"`` or ``"image"`` (from ``kgan.data.info``; the 2D sets, ``kgan.data.synthetic.NAMES``, are known without it)."""
    from kgan.data.synthetic import NAMES as TWO_D_SETS

    if dataset is None:  # evaluation against reference statistics only
        return "image"
    if dataset in TWO_D_SETS:
        return "2d"
    data = _data()
    info = data.info(dataset) if hasattr(data, "info") else None
    return getattr(info, "kind", "image")


def train_label_marginal(dataset):
    """``p*(y)``: the label histogram of the ``"train"`` split, normalised.

    Stacked sets draw their three channels independently, so their exact
    marginal over the 1000 modes is the outer product of the base set's
    marginal with itself three times (index ``100 a + 10 b + c``).
    """
    from kgan.metrics.features import STACKED_BASE

    base = STACKED_BASE.get(dataset, dataset)
    _, y = load_real(base, "train")
    if y is None:
        raise ValueError(f"'mode_score' needs labelled training data; {base!r} has no labels.")
    h = np.bincount(np.asarray(y).astype(np.int64)).astype(np.float64)
    h /= h.sum()
    if dataset in STACKED_BASE:
        h = np.einsum("a,b,c->abc", h, h, h).reshape(-1)
    return h


class Evaluator:
    """Metrics of generated samples against one dataset, with the real side cached.

    Args:
        metrics: names (list or comma-separated string): "fid", "kid", "is",
            "precision", "recall", "density", "coverage" (aliases "pr", "dc",
            "prdc"), "mode_score", "modes", "kl" (= "reverse_kl"), "hq" (2D only),
            "i_variance", "class_acc" (conditional samples), "distinguishable_classes" (Che et al.'s
            "missing modes"; adds "distinguishable_score", the mean per-class score).
        dataset: a ``kgan.data`` name. For 2D sets (``kgan.data.synthetic.NAMES``) "modes",
            "hq" and "reverse_kl" come from ``mode_coverage`` and feature metrics
            use the raw 2D points as features.
        extractor: "domain" (default for images: ``DomainClassifier.for_dataset``),
            "inception" (``InceptionFeatures``, keras' ImageNet InceptionV3;
            ``weights`` = "imagenet" or a path), "inception_tf"
            (``StandardInception``, the 2015 TF-Inception graph of published FIDs;
            ``graph`` = its path, None for ``$KGAN_INCEPTION_GRAPH``; ``resize``
            "graph" or "clean"), or an extractor object with ``features_and_probs(x)``.
        ref_stats: FID against these reference statistics instead of real
            samples' features: the path of a ``.npz`` with ``mu`` / ``sigma``
            (TTUR's files, or ``kgan.metrics.save_stats``), or a dict with them.
            Checked against the extractor (kind recorded in kgan files; a file
            without one is TF-Inception ``pool_3``) and the feature width.
            ``dataset`` may then be None when only "fid" / "is" are asked.
        cache_stats: with ``extractor="inception_tf"`` and no ``ref_stats``,
            the real side of "fid" is the statistics of ``n_real`` samples of
            ``real_split``, computed once and cached on disk
            (``kgan.metrics.stats.dataset_stats``) when FID is the only metric that
            needs real features (default True).
        n_real: number of real reference samples (default 10,000, capped by the
            split's size).
        real_split: split of the reference samples (default "test": unseen by
            the domain classifier).
        k_pr, k_dc: k of precision/recall (3) and density/coverage (5).
        kid_subsets, kid_subset_size: KID subsets (100 x min(1000, n)).
        seed: seed of the real subset and of KID's subsets.
    """

    def __init__(self, metrics, dataset, *, extractor="domain", weights=None, n_real=10000,
                 real_split="test", k_pr=3, k_dc=5, kid_subsets=100, kid_subset_size=1000,
                 seed=0, verbose=0, progress=False, graph=None, resize="graph", ref_stats=None,
                 cache_stats=True):
        from kgan.metrics.features import EXTRACTOR_NAMES

        self.dataset = dataset
        self.progress = progress
        self.kind = dataset_kind(dataset)
        self.metrics = parse_metrics(metrics if metrics is not None else
                                     (TWO_D_DEFAULT if self.kind == "2d" else ("fid",)))
        allowed = TWO_D_METRICS if self.kind == "2d" else IMAGE_METRICS
        for m in self.metrics:
            if m not in allowed:
                raise ValueError(
                    f"`metrics` entry {m!r} is not available for {self.kind} dataset {dataset!r}; "
                    f"choose from {sorted(set(allowed) | set(ALIASES))}.")
        if not (extractor in EXTRACTOR_NAMES or hasattr(extractor, "features_and_probs")):
            raise ValueError(f"`extractor` must be one of {EXTRACTOR_NAMES} or an object with "
                             f"features_and_probs(x); received extractor={extractor!r}.")
        if ref_stats is not None and self.kind == "2d":
            raise ValueError(f"`ref_stats` applies to image datasets; {dataset!r} is a 2D set.")
        if dataset is None:
            needs_data = [m for m in self.metrics if m not in ("fid", "is") or (m == "fid" and ref_stats is None)]
            if needs_data:
                raise ValueError(f"`dataset` is required for {needs_data} (only 'fid' with `ref_stats` and 'is' "
                                 "need no real data); received dataset=None.")
            if extractor == "domain":
                raise ValueError("`dataset` is required by extractor='domain' (the classifier of that dataset); "
                                 "received dataset=None. Use extractor='inception_tf' with `ref_stats`.")
        self.extractor_spec, self.weights = extractor, weights
        self.graph, self.resize = graph, resize
        self.ref_stats_spec, self.cache_stats = ref_stats, cache_stats
        self.n_real = check_positive_int("n_real", n_real)
        self.real_split = real_split
        self.k_pr, self.k_dc = check_positive_int("k_pr", k_pr), check_positive_int("k_dc", k_dc)
        self.kid_subsets = check_positive_int("kid_subsets", kid_subsets)
        self.kid_subset_size = check_positive_int("kid_subset_size", kid_subset_size)
        self.seed = seed
        self.verbose = verbose
        self._extractor = None
        self._real = None

    # ------------------------------------------------------------------ cached pieces
    @property
    def extractor(self):
        if self._extractor is None and self.kind != "2d":
            from kgan.metrics.features import get_extractor

            self._extractor = get_extractor(self.extractor_spec, self.dataset, self.weights, verbose=self.verbose,
                                            graph=self.graph, resize=self.resize)
        return self._extractor

    @property
    def extractor_kind(self):
        """Short name of the feature space ("domain", "inception_keras", "inception_tf", ...; "raw2d" for 2D sets)."""
        if self.kind == "2d":
            return "raw2d"
        from kgan.metrics.features import extractor_kind

        return extractor_kind(self.extractor)

    def tag(self, name):
        """``name`` with the extractor appended (``"fid/inception_tf"``) for values that depend on it;
        TensorBoard tags use it so that curves of two feature spaces are never drawn as one."""
        return f"{name}/{self.extractor_kind}" if name in EXTRACTOR_DEPENDENT and self.kind != "2d" else name

    def describe(self, name):
        """``name`` with the extractor in brackets (``"fid [inception_tf]"``), for printed tables."""
        return f"{name} [{self.extractor_kind}]" if name in EXTRACTOR_DEPENDENT and self.kind != "2d" else name

    @property
    def label(self):
        """Which features the numbers are computed in."""
        if self.kind == "2d":
            return "raw 2D coordinates (mode metrics from the known mixture means)"
        return self.extractor.label

    def _extract(self, x, desc):
        """(features, probs) of images ``x``, in chunks with a tqdm bar when ``progress``."""
        if not self.progress:
            return self.extractor.features_and_probs(x)
        import sys

        from tqdm.auto import tqdm

        chunk = 2000 if self.extractor_spec == "domain" else 256
        feats, probs = [], []
        with tqdm(total=len(x), desc=desc, unit="img", file=sys.stderr) as bar:
            for i in range(0, len(x), chunk):
                f, p = self.extractor.features_and_probs(x[i:i + chunk])
                feats.append(f)
                probs.append(p)
                bar.update(len(f))
        return np.concatenate(feats), (None if probs[0] is None else np.concatenate(probs))

    def needs(self, names):
        return any(m in names for m in self.metrics)

    def _reference_stats(self):
        """The FID reference statistics from ``ref_stats`` or the on-disk cache, or None (use real features)."""
        from kgan.metrics import stats

        kind = self.extractor_kind
        if self.ref_stats_spec is not None:
            spec = self.ref_stats_spec
            if isinstance(spec, dict):
                mu, sigma = stats._checked(np.asarray(spec["mu"], np.float64), np.asarray(spec["sigma"], np.float64),
                                           "`ref_stats`")
                if spec.get("extractor", kind) != kind:
                    raise ValueError(f"`ref_stats` holds statistics of extractor {spec['extractor']!r}; the features "
                                     f"are from {kind!r}: an FID between two feature spaces is meaningless.")
                return {"mu": mu, "sigma": sigma, "extractor": kind, "path": None}
            dim = getattr(self.extractor, "feature_dim", None)
            return stats.load_stats(spec, expect_extractor=kind, expect_dim=dim)
        if (self.cache_stats and kind.startswith("inception_tf")
                and not self.needs(_NEED_FEATURES - {"fid"})):
            return stats.dataset_stats(self.dataset, self.extractor, self.real_split, self.n_real, self.seed,
                                       verbose=self.verbose)
        return None

    def reference(self):
        """Real-side cache: x, y, features, probs, FID statistics (computed once)."""
        if self._real is None:
            ref = {}
            if "fid" in self.metrics and self.kind != "2d":
                ref["stats"] = self._reference_stats()
            need_feats = self.needs(_NEED_FEATURES - {"fid"}) or ("fid" in self.metrics and ref.get("stats") is None)
            need_x = need_feats or self.needs({"distinguishable_classes"})
            if need_x:
                x, y = load_real(self.dataset, self.real_split, self.n_real, self.seed)
                ref["x"], ref["y"] = np.asarray(x, np.float32), (None if y is None else np.asarray(y))
                if self.kind == "2d":
                    ref["features"] = ref["x"].astype(np.float64)
                elif need_feats:
                    ref["features"], _ = self._extract(ref["x"], "real features")
            if "mode_score" in self.metrics:  # p*(y): label marginal of the training data
                ref["p_star"] = train_label_marginal(self.dataset)
            self._real = ref
        return self._real

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, fake, labels=None):
        """Compute every requested metric for generated samples ``fake``.

        ``labels``: the class each sample was generated for (conditional
        models; needed by "class_acc"). Returns ``{name: float}``; "kid" and
        "is" also add "kid_std" / "is_std", "distinguishable_classes" adds "distinguishable_score".
        """
        fake = np.asarray(fake, dtype=np.float32)
        if not np.all(np.isfinite(fake)):
            raise ValueError(f"Generated samples contain NaN or infinite values (shape {fake.shape}); "
                             "the generator has probably diverged.")
        ref = self.reference()
        out = {}
        if self.kind == "2d":
            feats, probs = fake.astype(np.float64), None
            if self.needs({"modes", "hq", "kl", "reverse_kl"}):
                mc = modes.mode_coverage(fake, self.dataset)
                for m in self.metrics:
                    if m == "modes":
                        out[m] = float(mc["modes"])
                    elif m == "hq":
                        out[m] = mc["hq_fraction"]
                    elif m in ("kl", "reverse_kl"):
                        out[m] = mc["reverse_kl"]
        else:
            feats, probs = self._extract(fake, "generated features")
            probs = None if probs is None else np.asarray(probs, np.float64)
        for m in self.metrics:
            if m in out:
                continue
            if m == "fid":
                if ref.get("stats") is not None:
                    st = ref["stats"]
                    if feats.shape[1] != st["mu"].shape[0]:
                        raise ValueError(f"The reference statistics are {st['mu'].shape[0]}-d; the extractor gives "
                                         f"{feats.shape[1]}-d features.")
                    out[m] = distance.frechet_distance_to_stats(feats, st["mu"], st["sigma"], "generated features")
                else:
                    out[m] = distance.frechet_distance(ref["features"], feats)
            elif m == "kid":
                size = min(self.kid_subset_size, len(feats), len(ref["features"]))
                out["kid"], out["kid_std"] = distance.kid(ref["features"], feats, self.kid_subsets, size, self.seed)
            elif m in ("precision", "recall"):
                if "precision" not in out:
                    out.update(manifold.precision_recall(ref["features"], feats, self.k_pr))
            elif m in ("density", "coverage"):
                if "density" not in out:
                    out.update(manifold.density_coverage(ref["features"], feats, self.k_dc))
            elif m == "is":
                splits = 10 if len(probs) >= 10 else 1
                out["is"], out["is_std"] = modes.inception_score(probs, splits)
            elif m == "mode_score":
                out[m] = modes.mode_score(probs, ref["p_star"])
            elif m in ("modes", "kl", "reverse_kl"):
                mc = modes.mode_counts(np.argmax(probs, axis=1), probs.shape[1])
                out[m] = float(mc["modes"]) if m == "modes" else mc["kl"]
            elif m == "i_variance":
                out[m] = modes.i_variance(probs)
            elif m == "class_acc":
                if labels is None:
                    raise ValueError("'class_acc' needs the labels the samples were generated for "
                                     "(a conditional model); received labels=None.")
                out[m] = float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels).reshape(-1)))
            elif m == "distinguishable_classes":
                from kgan.metrics.missing import distinguishable_classes

                if ref.get("y") is None:
                    raise ValueError(f"'{m}' needs labelled real data; {self.dataset!r} has no labels.")
                r = distinguishable_classes(ref["x"], ref["y"], fake, seed=self.seed)
                out[m], out["distinguishable_score"] = float(r["num_distinguishable"]), r["mean_score"]
        # keep only requested names (plus the *_std companions), in request order
        keys = [m for m in self.metrics] + [k for k in ("kid_std", "is_std", "distinguishable_score") if k in out]
        return {k: float(out[k]) for k in keys if k in out}


def format_table(results, title_lines=(), names=None):
    """Plain-text table of ``{name: value}`` for printing; ``names`` maps a key to the
    name printed (e.g. ``Evaluator.describe``: "fid [inception_tf]")."""
    shown = {(names(k) if names else k): v for k, v in results.items()}
    width = max([len(k) for k in shown] + [6])
    lines = list(title_lines)
    lines.append(f"{'metric':<{width}}  value")
    lines.append("-" * (width + 14))
    for k, v in shown.items():
        lines.append(f"{k:<{width}}  {v:.6g}" if math.isfinite(v) else f"{k:<{width}}  {v}")
    return "\n".join(lines)


def balanced_labels(n, num_classes):
    """``n`` labels cycling through the classes (balanced to within one)."""
    return (np.arange(n) % num_classes).astype(np.int32)
