"""``Evaluate``: compute metrics on generated samples during ``fit``."""
import copy
import os
import time

import keras
import numpy as np

from kgan.utils import check_positive_int


class Evaluate(keras.callbacks.Callback):
    """Every ``every`` epochs, generate samples from the model being fit and compute metrics.

    Samples come from ``self.model.generate(n_samples, labels=..., batch_size=...,
    use_ema=True, seed=seed)`` (the EMA generator when the model keeps one).
    Conditional models (``model.num_classes`` an int) get balanced labels
    (``i % num_classes``); the same noise seed is used at every evaluation, so
    the curve tracks the generator and not the noise draw.

    Values go into the epoch ``logs`` under ``prefix + name`` (so
    ``keras.callbacks.ModelCheckpoint(monitor="fid")``, ``EarlyStopping`` and
    keras-tuner objectives see them and ``History`` records them: put
    ``Evaluate`` *before* those callbacks in the list, since callbacks run in
    order on one logs dict) and, with ``logdir``, to TensorBoard as scalars on
    the callback's own writer (``logdir/eval``, step = epoch), tagged with the
    feature extractor for the values that depend on it (``fid/domain``,
    ``fid/inception_tf``, ...; the description holds the extractor's label). On epochs that
    are not evaluated the names are absent from ``logs`` (a checkpoint that
    monitors them skips those epochs).

    Real reference features (and everything else about the real data) are
    computed once, at the first evaluation, and cached.

    Args:
        metrics: names (list or comma-separated string), see
            ``kgan.metrics.suite.Evaluator``: "fid", "kid", "is", "precision",
            "recall", "density", "coverage" ("pr", "dc", "prdc"), "mode_score",
            "modes", "kl", "hq", "reverse_kl", "i_variance", "class_acc",
            "missing_modes". None -> "fid" for images, "modes,hq,reverse_kl" for 2D.
        dataset: the ``kgan.data`` name the model is trained on.
        every: evaluate after epochs ``every, 2*every, ...`` (1-based; default 1).
        n_samples: generated samples per evaluation (default 5000; use 2,500
            for the 2D protocol and 26,000 for stacked mode counting).
        extractor: "domain" (default), "inception" (keras' ImageNet InceptionV3),
            "inception_tf" (the 2015 TF-Inception graph of published FIDs; pass
            ``graph=PATH`` or set ``KGAN_INCEPTION_GRAPH``) or an extractor object.
        weights: InceptionV3 weights ("imagenet" or a path) for extractor="inception".
        **evaluator_kwargs: more ``kgan.metrics.suite.Evaluator`` arguments
            (``graph``, ``resize``, ``ref_stats``, ``k_pr``, ``kid_subsets``, ...).
        n_real: real reference samples (default 10,000, capped by the split).
        real_split: reference split (default "test").
        prefix: prepended to every name in logs/TensorBoard (e.g. "val_").
        logdir: TensorBoard log directory (None: no TensorBoard output).
        batch_size: generation batch size.
        seed: noise seed of the generated samples.
        use_ema: sample from the EMA generator (default True).
        verbose: 1 prints one line per evaluation (and the domain classifier's
            training progress on first use).
    """

    def __init__(self, metrics=None, dataset=None, every=1, n_samples=5000, extractor="domain",
                 weights=None, n_real=10000, real_split="test", prefix="", logdir=None,
                 batch_size=500, seed=0, use_ema=True, verbose=1, **evaluator_kwargs):
        super().__init__()
        from kgan.metrics.suite import Evaluator

        if dataset is None:
            raise ValueError("`dataset` is required (the kgan.data name the model trains on); received None.")
        if not isinstance(prefix, str):
            raise TypeError(f"`prefix` must be a string; received prefix={prefix!r}.")
        self.every = check_positive_int("every", every)
        self.n_samples = check_positive_int("n_samples", n_samples)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.seed, self.use_ema, self.verbose = seed, use_ema, verbose
        self.prefix, self.logdir = prefix, logdir
        self.evaluator = Evaluator(metrics, dataset, extractor=extractor, weights=weights, n_real=n_real,
                                   real_split=real_split, seed=seed, verbose=verbose, **evaluator_kwargs)
        self._writer = None
        self._announced = False
        self.last_results = None
        self.last_seconds = None

    def __deepcopy__(self, memo):
        """keras-tuner deep-copies callbacks for every trial: share the evaluator (its
        real-data cache and extractor are read-only once built) and start a fresh writer."""
        new = copy.copy(self)
        new._writer = None
        new._announced = False
        new.last_results = None
        new.last_seconds = None
        memo[id(self)] = new
        return new

    def _generate(self):
        num_classes = getattr(self.model, "num_classes", None)
        labels = None
        if num_classes is not None:
            from kgan.metrics.suite import balanced_labels

            labels = balanced_labels(self.n_samples, int(num_classes))
        elif "class_acc" in self.evaluator.metrics:
            raise ValueError("Metric 'class_acc' needs a class-conditional model (model.num_classes is None).")
        x = self.model.generate(self.n_samples, labels=labels, batch_size=self.batch_size,
                                use_ema=self.use_ema, seed=self.seed)
        return np.asarray(x), labels

    def evaluate_now(self):
        """Generate and compute the metrics now; returns ``{prefix + name: value}``."""
        start = time.perf_counter()
        fake, labels = self._generate()
        results = self.evaluator.evaluate(fake, labels)
        self.last_seconds = time.perf_counter() - start
        return {self.prefix + k: v for k, v in results.items()}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        results = self.evaluate_now()
        if logs is not None:
            logs.update(results)
        self.last_results = results
        if self.logdir is not None:
            self._write(results, epoch)
        if self.verbose:
            shown = "  ".join(f"{k}={v:.4g}" for k, v in results.items())
            if not self._announced:
                print(f"\nEvaluate: features from {self.evaluator.label}", flush=True)
                self._announced = True
            print(f"\nEvaluate (epoch {epoch + 1}, {self.last_seconds:.1f}s): {shown}", flush=True)

    def _write(self, results, epoch):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(os.fspath(self.logdir), "eval"))
        with self._writer.as_default():
            for k, v in results.items():  # "fid/inception_tf": curves of two feature spaces never share a chart
                name = k[len(self.prefix):] if self.prefix and k.startswith(self.prefix) else k
                tf.summary.scalar(self.prefix + self.evaluator.tag(name), v, step=epoch,
                                  description=f"features: {self.evaluator.label}")
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
