"""Classification rows: :class:`kgan.models.AdaptiveMixClassifier` on Fashion-MNIST, with OOD detection
(docs/adaptivemix_classification.md).

Protocols (:class:`Classification`):

* ``fashion_mnist_cls`` -- all 10 Fashion-MNIST classes; test accuracy and OOD
  detection of the 10,000 test images against sklearn's digits (upscaled to
  28x28, far OOD), Gaussian noise images ``clip(N(0, 0.5^2), -1, 1)`` and
  uniform ``U(-1, 1)`` images (1,797 each, as many as the digits, fixed seeds).
* ``fashion_mnist_openset`` -- trained on classes 0-4 only; in-distribution =
  the test images of classes 0-4, near OOD = those of classes 5-9
  (``held_out``), plus the same far and noise sets.

Methods: ``plain``, ``mixup``, ``adaptivemix`` (kgan's reading) and
``adaptivemix_official`` (the official code's recipe), i.e. the modes of
:class:`~kgan.models.AdaptiveMixClassifier`, all on the same :func:`small_cnn`,
Adam and budget. Rows are ``<protocol>_<method>`` (``fashion_mnist_cls_plain``,
...); :func:`rows` feeds them into the experiment table, so ``kgan train``,
``kgan list`` and ``kgan bench`` run them like the GAN rows.

Scores (higher = in-distribution): ``msp`` (max softmax), ``energy`` (``logsumexp``
of the logits) and ``feat`` (negative Mahalanobis distance to the closest class
mean, fitted on the features of 10,000 training images); for each OOD set and
score the report holds ``auroc_<score>_<set>``, ``aupr_in_...``, ``aupr_out_...``
and ``fpr95_...`` (FPR at 95% TPR), with ``auroc_<score>_mean`` and
``fpr95_<score>_mean`` over the protocol's OOD sets, and the test accuracy ``acc``.
"""
import os

import numpy as np

from kgan.experiments.methods import Method
from kgan.experiments.options import Option
from kgan.experiments.protocols import Protocol
from kgan.experiments.table import Row, table_rows

SCORES = ("msp", "energy", "feat")
FIT_N = 10_000  # training images whose features fit the class means and covariance of the `feat` score
NOISE_SEEDS = {"gaussian": 20_231, "uniform": 20_232}  # fixed: every run sees the same noise images
EVAL_BATCH = 1000
PRECISE_BN_SEED = 1  # the subset of training images whose batch statistics precise BN averages


def digits_images():
    """sklearn's 1,797 digits (8x8 in [0, 16]) upscaled to 28x28 (bilinear) and scaled to [-1, 1],
    float32 (1797, 28, 28, 1)."""
    import tensorflow as tf
    from sklearn.datasets import load_digits

    x = tf.image.resize(load_digits().images[..., None].astype("float32"), (28, 28), method="bilinear")
    return np.clip(x.numpy() / 8.0 - 1.0, -1.0, 1.0).astype("float32")


def noise_images(kind, n, seed=None):
    """``n`` noise images (n, 28, 28, 1) in [-1, 1]: ``"gaussian"`` = ``clip(N(0, 0.5^2), -1, 1)``,
    ``"uniform"`` = ``U(-1, 1)``; ``seed`` defaults to the protocol's fixed one."""
    rng = np.random.default_rng(NOISE_SEEDS[kind] if seed is None else seed)
    shape = (n, 28, 28, 1)
    x = np.clip(rng.normal(0.0, 0.5, shape), -1, 1) if kind == "gaussian" else rng.uniform(-1, 1, shape)
    return x.astype("float32")


class Classification(Protocol):
    """A classifier on Fashion-MNIST (all classes or a subset) with OOD evaluation (module docstring)."""

    kind = "classification"
    baseline_method = "plain"  # kgan.bench compares every entry with this method on the same protocol
    options = (
        Option("lr", float, 1e-3, "Adam learning rate", low=0.0, low_open=True),
        Option("width", int, 32, "small_cnn width (conv channels width, 2 width, 2 width; feature 2 width)",
               low=1),
        Option("alpha", float, 1.0, "Beta(alpha, alpha) of the mixing ratio (mixup, adaptivemix*)",
               low=0.0, low_open=True),
        Option("shrink_weight", float, 1.0, "weight of the shrinkage term (adaptivemix*)", low=0.0),
        Option("noise_std", float, 0.05, "noise added to the shrinkage target (adaptivemix*)", low=0.0),
        Option("noise_scale", str, "absolute", "noise_std per feature (official code) or relative to each "
               "sample's feature RMS (adaptivemix*)", choices=("absolute", "relative")),
        Option("eval", bool, True, "evaluate test accuracy and OOD detection after training"),
        Option("eval_n", int, 10_000, "in-distribution test images evaluated (at most the split's; "
               "a fixed subset when fewer)", low=1),
        Option("precise_bn", int, 0, "before evaluating, set BatchNorm's statistics to their mean over this "
               "many training images at the final weights (0: the moving averages of training)", low=0,
               omit_default=True),
    )

    def __init__(self, name, title, classes=tuple(range(10)), steps=3_000, seeds=3, **kw):
        super().__init__(name, "fashion_mnist", title, steps, batch_size=128, steps_per_epoch=500, seeds=seeds,
                         **kw)
        self.classes = tuple(classes)
        self.held_out = tuple(c for c in range(10) if c not in self.classes)
        self.num_classes = len(self.classes)

    # -------------------------------------------------------------- data
    def uint8_split(self, split, classes=None):
        """``(x uint8 (N, 28, 28, 1), y int32)`` of ``split`` restricted to ``classes`` (default: the
        trained ones), relabelled ``0..len(classes) - 1`` in the order of ``classes``."""
        from kgan.data import fashion_mnist

        classes = self.classes if classes is None else tuple(classes)
        x, y = fashion_mnist.uint8_arrays(split)
        keep = np.isin(y, classes)
        relabel = np.full(10, -1, "int32")
        relabel[list(classes)] = np.arange(len(classes))
        return x[keep], relabel[y[keep]]

    def arrays(self, split, classes=None, n=None, seed=0):
        """:meth:`uint8_split` as float32 in [-1, 1] (``kgan.data.load_arrays``' range); with ``n``, a
        fixed subset of ``n`` images drawn without replacement with ``seed`` (all when ``n`` >= N)."""
        from kgan.data import _common

        x, y = self.uint8_split(split, classes)
        if n is not None and n < len(x):
            idx = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
            x, y = x[idx], y[idx]
        return _common.to_unit_range_np(x, 255), y

    def data(self, o, batch_size, labels=True, seed=0):
        """The training stream: shuffled batches ``(x, y)`` of the trained classes (``kgan.data.load``'s
        pipeline, so ``fashion_mnist_cls`` streams exactly ``kgan.data.load("fashion_mnist", ...)``)."""
        from kgan.data import _common

        x, y = self.uint8_split("train")
        return _common.finite_pipeline(x, y, 255, batch_size=batch_size, shuffle=True, seed=seed, with_labels=True,
                                       repeat=True, drop_remainder=True, prefetch=True)

    def ood_sets(self):
        """``{name: images}``: ``held_out`` (test images of the untrained classes, open set only),
        ``digits``, ``gaussian``, ``uniform`` (as many images as the digits)."""
        sets = {}
        if self.held_out:
            sets["held_out"] = self.arrays("test", self.held_out)[0]
        sets["digits"] = digits_images()
        for kind in NOISE_SEEDS:
            sets[kind] = noise_images(kind, len(sets["digits"]))
        return sets

    # -------------------------------------------------------------- model
    def adam(self, lr):
        import keras

        return keras.optimizers.Adam(lr)

    def backbone(self, o):
        from kgan.models.classifier import small_cnn

        return small_cnn((28, 28, 1), width=o["width"])

    # -------------------------------------------------------------- evaluation
    def evaluate(self, model, o, seed, logdir=None):
        """Test accuracy and, for every OOD set and score, AUROC / AUPR-in / AUPR-out / FPR at 95% TPR."""
        import tensorflow as tf

        from kgan.metrics import energy_score, feature_distance_score, msp_score, ood_metrics

        @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
        def forward(x):
            f = model.features(x, training=False)
            return model.logits(f), tf.cast(f, tf.float32)

        def run(x):
            out = [forward(tf.constant(x[i:i + EVAL_BATCH])) for i in range(0, len(x), EVAL_BATCH)]
            return np.concatenate([r[0].numpy() for r in out]), np.concatenate([r[1].numpy() for r in out])

        if o.get("precise_bn"):
            model.recalibrate_batchnorm(self.arrays("train", n=o["precise_bn"], seed=PRECISE_BN_SEED)[0])
        x_in, y_in = self.arrays("test", n=o["eval_n"])
        x_fit, y_fit = self.arrays("train", n=FIT_N)
        f_fit = run(x_fit)[1]

        def scores(logits, f):
            return {"msp": msp_score(logits), "energy": energy_score(logits),
                    "feat": feature_distance_score(f_fit, y_fit, f)}

        logits_in, f_in = run(x_in)
        s_in = scores(logits_in, f_in)
        report = {"dataset": self.dataset, "classes": list(self.classes), "precise_bn": int(o.get("precise_bn", 0)),
                  "acc": float(np.mean(
            logits_in.argmax(axis=1) == y_in)), "eval_images": {"in": len(x_in)}}
        s_out = {}
        for name, x in self.ood_sets().items():
            s_out[name] = scores(*run(x))
            report["eval_images"][name] = len(x)
            for s in SCORES:
                m = ood_metrics(s_in[s], s_out[name][s])
                report.update({f"auroc_{s}_{name}": m["auroc"], f"aupr_in_{s}_{name}": m["aupr_in"],
                               f"aupr_out_{s}_{name}": m["aupr_out"], f"fpr95_{s}_{name}": m["fpr_at_95_tpr"]})
        for s in SCORES:
            for metric in ("auroc", "fpr95"):
                report[f"{metric}_{s}_mean"] = float(np.mean([report[f"{metric}_{s}_{n}"] for n in s_out]))
        if logdir:
            _score_histograms(s_in, s_out, os.path.join(logdir, "samples.png"),
                              f"{model.mode}, {int(model.step_counter.numpy())} steps, acc {report['acc']:.3f}")
        return report

    def describe(self):
        trained = "all 10 classes" if not self.held_out else (
            f"classes {self.classes[0]}-{self.classes[-1]} only (near OOD: the test images of classes "
            f"{self.held_out[0]}-{self.held_out[-1]}, 'held_out')")
        return (f"{self.title}: a classifier trained on {trained}. small_cnn (3 Conv-BN-ReLU blocks, width 32, "
                f"global average pooling), Adam(1e-3), batch {self.batch_size}, {self.steps:,} steps by default. "
                "Test accuracy, and OOD detection of the in-distribution test images against sklearn digits "
                "(1,797, upscaled to 28x28), Gaussian noise clip(N(0, 0.5^2)) and uniform noise U(-1, 1) images "
                "(1,797 each, fixed seeds), scored by MSP, energy and the Mahalanobis feature distance (fitted on "
                "10,000 training images): AUROC, AUPR-in/out, FPR at 95% TPR.")


def _score_histograms(s_in, s_out, path, title):
    """``path``: one panel per score, the in-distribution histogram against each OOD set's
    (the picture the benchmark pages show for seed 0)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kgan.utils import atomic_path

    fig, axes = plt.subplots(1, len(SCORES), figsize=(4 * len(SCORES), 3), dpi=90)
    for ax, s in zip(axes, SCORES):
        allv = np.concatenate([s_in[s]] + [v[s] for v in s_out.values()])
        lo, hi = np.percentile(allv, [1, 99])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 40)
        for name, v in [("in", s_in[s])] + [(n, v[s]) for n, v in s_out.items()]:
            ax.hist(np.clip(v, bins[0], bins[-1]), bins=bins, density=True, histtype="step", label=name)
        ax.set_title(s, fontsize=9)
        ax.set_yticks([])
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9, y=1.03)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(buf.getvalue())


# ------------------------------------------------------------------ methods
def _classifier(mode):
    def build(p, o, seed, num_classes, steps):
        from kgan.models import AdaptiveMixClassifier

        return AdaptiveMixClassifier(p.backbone(o), num_classes, mode=mode, alpha=o["alpha"],
                                     noise_std=o["noise_std"], noise_scale=o["noise_scale"],
                                     shrink_weight=o["shrink_weight"], seed=seed)
    return build


_CLS = dict(model="AdaptiveMixClassifier", kinds=("classification",), search=())  # kgan tune's objectives are GAN metrics
METHODS = {m.name: m for m in (
    Method("plain", build=_classifier("plain"), description="plain cross-entropy", **_CLS),
    Method("mixup", build=_classifier("mixup"), description="Mixup: interpolated-label CE, mixed batch only",
           paper="Zhang et al., ICLR 2018", **_CLS),
    Method("adaptivemix", build=_classifier("adaptivemix"), description="AdaptiveMix, kgan's reading: clean CE "
           "+ cosine shrinkage of mixed features", paper="Liu, Zhang et al., CVPR 2023 (kgan's reading)", **_CLS),
    Method("adaptivemix_official", build=_classifier("official"), description="AdaptiveMix, official code: "
           "L2-normalised features, frozen orthogonal |W e| head, mixed CE + MSE shrinkage",
           paper="Liu, Zhang et al., CVPR 2023 (WentianZhang-ML/AdaptiveMix classification code)", **_CLS),
)}

PROTOCOLS = {p.name: p for p in (
    Classification("fashion_mnist_cls", "Fashion-MNIST classification (10 classes, 28x28)"),
    Classification("fashion_mnist_openset", "Fashion-MNIST open set (trained on classes 0-4)", classes=range(5)),
)}


class ClassifierRow(Row):
    """A classification method on a :class:`Classification` protocol, with the GAN rows' recipe interface."""

    def num_classes(self):
        return self.protocol.num_classes

    def build(self, cfg, o=None):
        """The compiled classifier of this row for ``cfg`` (call inside the strategy's scope)."""
        import keras

        o = self.resolve(cfg.extra) if o is None else o
        keras.utils.set_random_seed(cfg.seed)
        model = self.method.build(self.protocol, o, cfg.seed, self.num_classes(), cfg.steps)
        model.compile(self.protocol.adam(o["lr"]), **cfg.compile_kwargs)
        return model

    def main(self, cfg):
        """Train, evaluate (accuracy and OOD detection), and save ``model.keras`` and ``report.json``."""
        o = self.resolve(cfg.extra)
        data = self.protocol.data(o, cfg.batch_size, labels=True, seed=cfg.seed)
        with cfg.strategy.scope():
            model = self.build(cfg, o)
        timer = cfg.step_timer()
        samples, cfg.samples = cfg.samples, False  # no SampleGrid: a classifier draws no samples
        try:
            callbacks = cfg.callbacks(dataset=self.protocol.dataset, extra=[timer])
        finally:
            cfg.samples = samples
        model.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch, callbacks=callbacks,
                  verbose=cfg.verbose)
        report = {"row": self.name, "protocol": self.protocol.name, "method": self.method.name,
                  "model": type(model).__name__, "mode": model.mode}
        report.update(timer.report())
        if o["eval"]:
            report.update(self.protocol.evaluate(model, o, cfg.seed, logdir=cfg.logdir if cfg.is_chief else None))
        report["settings"] = self.settings(cfg, o)
        return cfg.finish(model, report)


def rows():
    """``{row name: ClassifierRow}`` for every classification protocol and method."""
    return table_rows(PROTOCOLS, METHODS, ClassifierRow)
