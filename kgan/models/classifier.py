"""AdaptiveMix for image classification (Liu, Zhang et al. CVPR 2023, the paper's
classification / OOD experiments; docs/adaptivemix_classification.md).

:class:`AdaptiveMixClassifier` wraps any Keras backbone ``x -> features`` with a
linear head and trains it in one of four modes: plain cross-entropy, Mixup
(Zhang et al. 2018), AdaptiveMix's feature-space shrinkage on top of the clean
cross-entropy (kgan's reading), or the official code's recipe (L2-normalised
features, a frozen orthogonal head, mixed-only cross-entropy and an MSE
shrinkage). :func:`small_cnn` is a small default backbone.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from kgan.layers.mixing import AdaptiveMix, check_alpha, beta_inverse_cdf
from kgan.losses.mixing import shrinkage_loss
from kgan.models.gan import GAN, unwrap_loss_scale
from kgan.utils import check_choice, check_non_negative, check_positive_int

__all__ = ["AdaptiveMixClassifier", "small_cnn", "mixup_cross_entropy", "MODES"]

MODES = ("plain", "mixup", "adaptivemix", "official")


def small_cnn(input_shape=(28, 28, 1), width=32):
    """A small backbone ``image -> feature vector``: three Conv(3x3)-BN-ReLU blocks
    (``width``, ``2 width`` and ``2 width`` channels; the last two with stride 2),
    then global average pooling to a ``2 width`` vector (layer ``"features"``).

    BatchNormalization uses ``momentum=0.9`` (PyTorch's default 0.1 in Keras'
    convention, as the official code's Wide-ResNet), so the moving statistics
    used by ``evaluate``/``predict`` follow short runs.
    """
    check_positive_int("width", width)
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"`input_shape` must be (height, width, channels); received input_shape={input_shape!r}.")
    x = keras.Input(tuple(input_shape), name="image")
    h = x
    for i, (channels, stride) in enumerate([(width, 1), (2 * width, 2), (2 * width, 2)], start=1):
        h = keras.layers.Conv2D(channels, 3, strides=stride, padding="same", use_bias=False, name=f"conv{i}")(h)
        h = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(h)
        h = keras.layers.ReLU(name=f"relu{i}")(h)
    f = keras.layers.GlobalAveragePooling2D(name="features")(h)
    return keras.Model(x, f, name="small_cnn")


def mixup_cross_entropy(labels, logits, lam, perm):
    """Mixup's loss (Zhang et al. 2018, interpolated labels):
    ``mean_i [lam CE(y_i, logits_i) + (1 - lam) CE(y_perm(i), logits_i)]``,
    ``logits`` being those of the mixed batch ``lam x + (1 - lam) x[perm]``."""
    logits = tf.cast(logits, tf.float32)
    ce = lambda y: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    lam = tf.cast(lam, tf.float32)
    return tf.reduce_mean(lam * ce(labels) + (1.0 - lam) * ce(tf.gather(labels, perm)))


@keras.saving.register_keras_serializable(package="kgan")
class AdaptiveMixClassifier(keras.Model):
    """A classifier ``head(f(x))`` trained plainly, with Mixup or with AdaptiveMix.

    ``f`` is the backbone's output (or the output of its layer ``feature_layer``),
    flattened; ``head`` a ``Dense(num_classes)`` created here. Per batch ``(x, y)``,
    with one ``lam ~ Beta(alpha, alpha)`` and a permutation ``perm`` of the batch
    (``kgan.layers.AdaptiveMix``'s pair mix, ``x_mix = lam x + (1 - lam) x[perm]``):

    * ``"plain"``: ``loss = CE(y, head(f(x)))``.
    * ``"mixup"`` (Zhang et al. 2018): trained on the mixed batch only,
      ``loss = lam CE(y, head(f(x_mix))) + (1 - lam) CE(y[perm], head(f(x_mix)))``
      (:func:`mixup_cross_entropy`).
    * ``"adaptivemix"`` (**kgan's reading** of AdaptiveMix for classification):
      ``loss = CE(y, head(f(x))) + shrink_weight * mean_i [1 - cos(f(x_mix)_i, sg(z_mix_i + n_i))]``
      with ``z_mix = lam f(x) + (1 - lam) f(x)[perm]`` and ``sg`` stop-gradient
      (the shrinkage term of :func:`kgan.losses.mixing.shrinkage_loss`, as
      :class:`kgan.models.AdaptiveMixGAN`): the ordinary trainable head, CE on the
      clean batch, the GAN side's cosine distance.
    * ``"official"`` (**the official code's** classification recipe,
      ``WentianZhang-ML/AdaptiveMix``, ``classification/models.py`` and
      ``train.py``): the feature is L2-normalised, ``e(x) = f(x) / |f(x)|``; the
      head ``W`` is a *frozen* (non-trainable), orthogonally initialised,
      bias-free ``Dense`` and the logits of a normalised feature ``e`` are
      ``|W e|`` (elementwise absolute value). With ``z_mix = lam e(x) + (1 - lam) e(x)[perm]``
      and the score ``s = |W z_mix| + |W e(x_mix)|``:
      ``loss = lam CE(y, s) + (1 - lam) CE(y[perm], s) + shrink_weight * MSE(e(x_mix), sg(z_mix + n))``
      (MSE: the mean over features and batch). There is no clean-batch CE; at
      test time the logits are ``|W e(x)|``. The code's defaults: ``alpha`` 1,
      noise std 0.05, weight 1 (it trains a Wide-ResNet-28-10 with SGD; kgan
      takes the loss and head, not that schedule).

    The noise ``n`` of both AdaptiveMix modes: ``noise_scale="absolute"``
    (default): ``N(0, noise_std^2)`` per feature, as the official code (GAN and
    classification code alike, std 0.05); ``"relative"``: ``N(0, (noise_std *
    rms_i)^2)`` with ``rms_i`` the root mean square of ``z_mix_i`` (kgan's
    option, exactly as ``AdaptiveMixGAN.pair_mix``, for backbones whose features
    are small next to 0.05).

    ``e(x[perm])`` is taken as ``e(x)[perm]`` (the official code runs the
    backbone on ``x[perm]`` again; with BatchNorm in training mode the batch
    statistics of a permuted batch are the same, so the two agree). The paper's
    own text for the classification loss (which distance, whether the noise is
    part of it, whether CE is on clean or mixed samples) was not available to us
    and is not verified here.

    Randomness: ``lam``, the permutation keys and the noise come from stateless
    seeds ``(seed, step_counter)`` with the base GAN's replica-count-invariant
    draws (:meth:`mix_draws`), so a run is reproducible given the initial weights.

    Logs: ``loss``, ``ce`` and ``shrink`` (adaptivemix, official); ``accuracy``
    on the clean batch in plain and adaptivemix mode (mixup and official have no
    clean forward pass; use ``evaluate``). ``evaluate`` reports ``loss`` =
    ``ce`` and ``accuracy`` on clean inputs.

    Args:
        backbone: a ``keras.Model`` with one input, mapping images to a feature
            vector or map (e.g. :func:`small_cnn`).
        num_classes: number of classes (>= 2); labels are int class ids.
        mode: ``"adaptivemix"`` (default), ``"plain"``, ``"mixup"`` or ``"official"``.
        alpha: ``lam ~ Beta(alpha, alpha)`` (> 0; 1 = uniform, the code's value).
        noise_std: std of the target noise in adaptivemix and official mode (0.05 in the code).
        noise_scale: ``"absolute"`` or ``"relative"`` (see above).
        shrink_weight: weight of the shrinkage term (1 in the code).
        feature_layer: name of the backbone layer whose output is ``f``; None =
            the backbone's output.
        seed: seed of the mixing draws.

    Example:
        >>> clf = kgan.models.AdaptiveMixClassifier(small_cnn(), 10)
        >>> clf.compile(keras.optimizers.Adam(1e-3))
        >>> clf.fit(kgan.data.load("fashion_mnist", 128, labels=True), epochs=1, steps_per_epoch=400)
    """

    # the base GAN's named, stateless, replica-count-invariant draws (they use self.seed and self.step_counter)
    stream_seed = GAN.stream_seed
    _replica_slice = GAN._replica_slice
    random_normal = GAN.random_normal
    random_uniform = GAN.random_uniform

    def __init__(self, backbone, num_classes, mode="adaptivemix", alpha=1.0, noise_std=0.05,
                 noise_scale="absolute", shrink_weight=1.0, feature_layer=None, seed=0, **kwargs):
        kwargs.setdefault("name", "adaptivemix_classifier")
        super().__init__(**kwargs)
        if not isinstance(backbone, keras.Model):
            raise TypeError(f"`backbone` must be a keras.Model; received backbone={type(backbone).__name__}.")
        if len(backbone.inputs) != 1:
            raise ValueError(f"`backbone` must take one input (images); it takes {len(backbone.inputs)}.")
        check_positive_int("num_classes", num_classes)
        if num_classes < 2:
            raise ValueError(f"`num_classes` must be >= 2; received num_classes={num_classes}.")
        self.mode = check_choice("mode", mode, MODES)
        self.alpha = check_alpha(alpha)
        self.noise_std = check_non_negative("noise_std", noise_std)
        self.noise_scale = check_choice("noise_scale", noise_scale, ("absolute", "relative"))
        self.shrink_weight = check_non_negative("shrink_weight", shrink_weight)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"`seed` must be an integer; received seed={seed!r}.")
        self.backbone, self.num_classes, self.feature_layer, self.seed = backbone, num_classes, feature_layer, seed
        if feature_layer is None:
            if len(backbone.outputs) != 1:
                raise ValueError(f"`backbone` has {len(backbone.outputs)} outputs; pass feature_layer=NAME, the "
                                 "layer whose output is the feature (received feature_layer=None).")
            self.extractor = backbone
        else:
            names = [layer.name for layer in backbone.layers]
            if feature_layer not in names:
                raise ValueError(f"`feature_layer` must name a layer of the backbone; received "
                                 f"feature_layer={feature_layer!r}, the backbone's layers are {names}.")
            self.extractor = keras.Model(backbone.inputs[0], backbone.get_layer(feature_layer).output,
                                         name=f"{backbone.name}_features")
        shape = tuple(self.extractor.outputs[0].shape[1:])
        if not shape or any(d is None for d in shape):
            raise ValueError(f"The feature ({feature_layer or 'the backbone output'}) must have a static "
                             f"shape (batch, ...); received shape {(None, *shape)}.")
        self.feature_dim = math.prod(shape)
        if self.mode == "official":  # the code's frozen "orthogonal classifier"
            self.head = keras.layers.Dense(num_classes, use_bias=False, kernel_initializer="orthogonal",
                                           trainable=False, name="head")
        else:
            self.head = keras.layers.Dense(num_classes, name="head")
        self.head.build((None, self.feature_dim))
        self.mixer = AdaptiveMix(alpha=self.alpha, seed=seed, name="adaptive_mix")
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False, name="step_counter",
                                           aggregation="only_first_replica")
        self.built = True

    # ------------------------------------------------------------------ compile / config
    def compile(self, optimizer, **kwargs):
        """``optimizer`` (a Keras optimizer or its name); other ``keras.Model.compile``
        arguments pass through (``jit_compile`` defaults to False). The loss is
        built into :meth:`train_step`, so ``loss`` and ``metrics`` are not taken."""
        for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(f"AdaptiveMixClassifier.compile does not take `{key}` (the loss and metrics "
                                 f"are built in); received {key}={kwargs[key]!r}.")
            kwargs.pop(key, None)
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=optimizer, **kwargs)
        names = ["loss", "ce", "accuracy"] + (["shrink"] if self.mode in ("adaptivemix", "official") else [])
        with self.distribute_strategy.scope():
            self.optimizer.build(self.trainable_variables)
            self.trackers = {n: keras.metrics.Mean(name=n) for n in names if n != "accuracy"}
            self.trackers["accuracy"] = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self):
        return list(getattr(self, "trackers", {}).values())

    def get_compile_config(self):
        if getattr(self, "optimizer", None) is None:
            return None
        return {"optimizer": keras.saving.serialize_keras_object(unwrap_loss_scale(self.optimizer))}

    def compile_from_config(self, config):
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))

    def get_config(self):
        return {"backbone": keras.saving.serialize_keras_object(self.backbone), "num_classes": self.num_classes,
                "mode": self.mode, "alpha": self.alpha, "noise_std": self.noise_std,
                "noise_scale": self.noise_scale, "shrink_weight": self.shrink_weight,
                "feature_layer": self.feature_layer, "seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

    # ------------------------------------------------------------------ forward
    def features(self, x, training=False):
        """The feature vector the head reads (B, feature_dim): ``f(x)``, flattened if the
        feature is a map; L2-normalised (``e(x)``) in official mode."""
        f = tf.reshape(self.extractor(x, training=training), [-1, self.feature_dim])
        return tf.math.l2_normalize(f, axis=1) if self.mode == "official" else f

    def logits(self, features):
        """Logits (B, num_classes) of :meth:`features`: ``head(f)``, or ``|W e|`` in official mode."""
        out = tf.cast(self.head(features), tf.float32)
        return tf.abs(out) if self.mode == "official" else out

    def call(self, x, training=False):
        """Logits ``head(f(x))`` (``|W e(x)|`` in official mode), (B, num_classes)."""
        return self.logits(self.features(x, training=training))

    def recalibrate_batchnorm(self, x, batch_size=256):
        """Set every BatchNormalization layer's moving mean and variance to the average of its batch
        statistics over ``x`` at the current weights ("precise BN"), instead of the moving averages
        collected while the weights changed; returns the number of layers recalibrated.

        With a constant learning rate the moving averages (momentum 0.99, a horizon of ~100 steps) lag the
        final weights, and the test accuracy of the same run can swing by several points. Mixup and the
        official AdaptiveMix recipe also collect them on mixed images only. ``x`` (clean training images)
        is read in whole batches of ``batch_size`` (a last partial batch is dropped); batch ``k`` enters
        with momentum ``1 - 1/k``, so after the pass each statistic is the plain mean over the batches.
        No weight or optimizer variable changes."""
        x = np.asarray(x)
        check_positive_int("batch_size", batch_size)
        bns = [layer for layer in self.extractor._flatten_layers()
               if isinstance(layer, keras.layers.BatchNormalization)]
        if len(x) < batch_size:
            raise ValueError(f"`x` must hold at least one batch of batch_size={batch_size} images; received "
                             f"{len(x)}.")
        saved = [b.momentum for b in bns]
        try:
            for k, start in enumerate(range(0, len(x) - batch_size + 1, batch_size), start=1):
                for b in bns:
                    b.momentum = 1.0 - 1.0 / k
                self.extractor(tf.constant(x[start:start + batch_size]), training=True)
        finally:
            for b, m in zip(bns, saved):
                b.momentum = m
        return len(bns)

    # ------------------------------------------------------------------ training
    def mix_draws(self, n):
        """The draws of the current step for a batch of ``n``: ``lam`` (scalar,
        Beta(alpha, alpha), one per global batch), ``perm`` (n,) and the unit
        normal noise ``eps`` (n, feature_dim) (``n = noise_std * eps``, times the
        rms of ``z_mix`` for ``noise_scale="relative"``, see :meth:`target_noise`)."""
        lam = beta_inverse_cdf(tf.random.stateless_uniform([1], seed=self.stream_seed("classifier/lam")),
                               self.alpha)[0]
        perm = self.mixer.permutation(self.random_uniform(n, [], "classifier/perm"))
        eps = self.random_normal(n, [self.feature_dim], "classifier/noise")
        return lam, perm, eps

    def _labels(self, y):
        """``y`` as int32 (B,) class ids, with clear errors for missing, float or one-hot labels."""
        if y is None:
            raise ValueError("AdaptiveMixClassifier needs labels: the dataset must yield (x, y), e.g. "
                             "kgan.data.load(name, batch_size, labels=True).")
        y = tf.convert_to_tensor(y)
        if not y.dtype.is_integer or (y.shape.rank or 0) > 1 and y.shape[-1] not in (None, 1):
            raise ValueError(
                f"`y` (labels) must be integer class ids of shape (batch,); received {y.dtype.name} labels "
                f"of shape {tuple(y.shape)}" + (" (one-hot? pass tf.argmax(y, axis=-1))" if (y.shape.rank or 0) > 1
                                                 else " (cast class ids to int32)") + ".")
        y = tf.cast(tf.reshape(y, [-1]), tf.int32)
        message = f"labels must be in [0, num_classes={self.num_classes})"
        checks = [tf.debugging.assert_non_negative(y, message=message),
                  tf.debugging.assert_less(y, tf.constant(self.num_classes, tf.int32), message=message)]
        with tf.control_dependencies(checks):
            return tf.identity(y)

    def _unpack(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return tf.convert_to_tensor(x), self._labels(y)

    def target_noise(self, z_mix, eps):
        """The noise ``n`` added to the shrinkage target ``z_mix`` (None when ``noise_std`` is 0)."""
        if self.noise_std == 0:
            return None
        noise = self.noise_std * eps
        if self.noise_scale == "relative":  # a fraction of each sample's feature scale
            z = tf.stop_gradient(tf.cast(z_mix, tf.float32))
            noise = noise * tf.sqrt(tf.reduce_mean(tf.square(z), axis=1, keepdims=True))
        return noise

    def loss_terms(self, x, y):
        """``(terms, clean_logits)`` of one training batch: ``terms`` holds
        ``ce`` and, in adaptivemix and official mode, ``shrink`` (unweighted);
        ``clean_logits`` is None in mixup and official mode."""
        n = tf.shape(x)[0]
        lam, perm, eps = self.mix_draws(n) if self.mode != "plain" else (None, None, None)
        if self.mode == "mixup":
            x_mix = self.mixer.mix(x, lam, perm)
            return {"ce": mixup_cross_entropy(y, self(x_mix, training=True), lam, perm)}, None
        f = self.features(x, training=True)
        if self.mode == "official":  # e = f / |f|: the mixed score s = |W z_mix| + |W e(x_mix)|, MSE shrinkage
            e_mix = tf.cast(self.features(self.mixer.mix(x, lam, perm), training=True), tf.float32)
            z_mix = self.mixer.mix(tf.cast(f, tf.float32), lam, perm)
            noise = self.target_noise(z_mix, eps)
            target = z_mix if noise is None else z_mix + noise
            s = self.logits(z_mix) + self.logits(e_mix)
            return {"ce": mixup_cross_entropy(y, s, lam, perm),
                    "shrink": tf.reduce_mean(tf.square(e_mix - tf.stop_gradient(target)))}, None
        logits = self.logits(f)
        terms = {"ce": tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))}
        if self.mode == "adaptivemix":
            f_mix = self.features(self.mixer.mix(x, lam, perm), training=True)
            z_mix = self.mixer.mix(f, lam, perm)
            terms["shrink"] = tf.reduce_mean(shrinkage_loss(f_mix, z_mix, self.target_noise(z_mix, eps)))
        return terms, logits

    def train_step(self, data):
        x, y = self._unpack(data)
        with tf.GradientTape() as tape:
            terms, logits = self.loss_terms(x, y)
            total = terms["ce"] + self.shrink_weight * terms.get("shrink", 0.0)
            ctx = tf.distribute.get_replica_context()
            scaled = self.optimizer.scale_loss(total / (ctx.num_replicas_in_sync if ctx is not None else 1))
        grads = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.step_counter.assign_add(1)
        self.trackers["loss"].update_state(total)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        names = ["loss", *terms]
        if logits is not None:
            self.trackers["accuracy"].update_state(y, logits)
            names.append("accuracy")
        return {n: self.trackers[n].result() for n in names}

    def test_step(self, data):
        x, y = self._unpack(data)
        logits = self(x, training=False)
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        for name in ("loss", "ce"):
            self.trackers[name].update_state(ce)
        self.trackers["accuracy"].update_state(y, logits)
        return {n: self.trackers[n].result() for n in ("loss", "ce", "accuracy")}
