"""The regularisers of the mode-regularised GAN (Che et al., ICLR 2017, "Mode Regularized
Generative Adversarial Networks", Sec. 3; docs/mode_regularized.md).

An encoder ``E`` maps data to latent codes, and two terms on the
reconstruction ``G(E(x))`` are added to the generator's (and the encoder's)
objective:

* the **geometric regulariser** ``d(x, G(E(x)))`` (Sec. 3.1): a distance in
  data space that pulls the generation manifold onto the data manifold. The
  paper's metric is "the simple L2 metric in pixel space" or a feature-space
  distance; kgan's default is the per-sample mean squared pixel difference
  (:class:`GeometricRegularizer` with ``distance="l2"``), and a feature
  distance is the same loss applied to discriminator features (the models'
  ``geometric="features"`` option);
* the **mode regulariser** (Sec. 3.2): make the reconstruction look real to
  ``D``, i.e. the non-saturating term ``-log D(G(E(x)))`` (:class:`ModeRegularizer`).
  Some transcriptions of the paper print ``+ log D(G(E(x)))``; minimising that
  would push ``G(E(x))`` *towards* fake, against the paper's stated intent ("a
  missing mode ... is recovered because G(E(x)) is pulled to a region D finds
  real"). kgan implements the intent (realism) and offers no flipped sign.

With weights ``lambda1``, ``lambda2`` the objectives of the paper's Eq. 3 are::

    T_G = -E_z[log D(G(z))] + E_x[ lambda1 d(x, G(E(x))) - lambda2 log D(G(E(x))) ]
    T_E =                     E_x[ lambda1 d(x, G(E(x))) - lambda2 log D(G(E(x))) ]

``-log D(d) = softplus(-d)`` for a logit ``d``, so ``ModeRegularizer`` with the
default ``loss="non_saturating"`` is ``weight * softplus(-d)``; any other
adversarial loss from :mod:`kgan.losses.adversarial` can give the realism term
instead (its generator term ``g(d)``; e.g. ``-d`` for hinge/Wasserstein critics).

Both losses return per-sample values from ``call`` (reduce them with
``tf.reduce_mean`` inside a train step: under ``tf.distribute`` the base GAN
divides by the replica count itself, so do not use ``__call__``'s reduction there).
"""
import keras
import tensorflow as tf

from kgan.losses import adversarial
from kgan.utils import check_choice, check_non_negative

#: Distances ``GeometricRegularizer`` offers.
DISTANCES = ("l2", "l1")


def check_lambdas(lambda1, lambda2):
    """Return ``(lambda1, lambda2)`` as floats after checking both are finite and >= 0."""
    return check_non_negative("lambda1", lambda1), check_non_negative("lambda2", lambda2)


def _per_sample_mean(t):
    t = tf.cast(t, tf.float32)
    if t.shape.rank is not None and t.shape.rank <= 1:
        return t
    return tf.reduce_mean(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)


@keras.saving.register_keras_serializable(package="kgan")
class GeometricRegularizer(keras.losses.Loss):
    """Geometric (metric) regulariser ``weight * d(x, G(E(x)))`` (Che et al. 2017, Sec. 3.1, Eq. 3).

    ``call(y_true=x, y_pred=x_rec)`` returns one value per sample:

    * ``distance="l2"`` (default, the paper's pixel L2): the mean over the
      non-batch axes of ``(x - x_rec)^2`` (the squared L2 distance divided by
      the number of pixels, so ``weight`` does not depend on the image size);
    * ``distance="l1"``: the mean of ``|x - x_rec|``.

    For a feature distance pass features of ``x`` and of ``x_rec`` (e.g. the
    discriminator's ``"features"`` output) instead of pixels; the models do
    that with ``geometric="features"``. The value is 0 exactly when
    ``x_rec == x``.

    Args:
        distance: ``"l2"`` or ``"l1"``.
        weight: ``lambda1`` (finite, >= 0).
        name, reduction, dtype: as ``keras.losses.Loss``.

    Example:
        >>> reg = kgan.losses.GeometricRegularizer(weight=0.5)
        >>> reg.call(tf.ones((2, 4)), tf.zeros((2, 4))).numpy()
        array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, distance="l2", weight=1.0, name="geometric_regularizer",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.distance = check_choice("distance", distance, DISTANCES)
        self.weight = check_non_negative("weight", weight)

    def call(self, y_true, y_pred):
        x = tf.cast(tf.convert_to_tensor(y_true), tf.float32)
        x_rec = tf.cast(tf.convert_to_tensor(y_pred), tf.float32)
        diff = x - x_rec
        per = tf.square(diff) if self.distance == "l2" else tf.abs(diff)
        return self.weight * _per_sample_mean(per)

    def get_config(self):
        return {"distance": self.distance, "weight": self.weight, "name": self.name,
                "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="kgan")
class ModeRegularizer(keras.losses.Loss):
    """Mode regulariser ``weight * -log D(G(E(x)))`` (Che et al. 2017, Sec. 3.2, Eq. 3).

    ``call(y_true, y_pred=logits of D(G(E(x))))`` returns, per sample,
    ``weight * loss.g(logit)``; ``y_true`` is ignored. With the default
    ``loss="non_saturating"`` this is ``weight * softplus(-d) = -weight * log
    sigmoid(d)``, the realism term of the paper's intent (see the module
    docstring about the sign misprint). With ``loss="minimax"`` it is the
    saturating ``log(1 - D(G(E(x))))``; with hinge / Wasserstein critics
    ``-d``.

    Args:
        loss: an adversarial loss name (``kgan.losses.LOSSES``) or object whose
            generator term gives the realism push.
        weight: ``lambda2`` (finite, >= 0).
        name, reduction, dtype: as ``keras.losses.Loss``.

    Example:
        >>> reg = kgan.losses.ModeRegularizer(weight=1.0)
        >>> float(reg.call(None, tf.zeros((1, 1)))[0, 0])   # -log(0.5)
        0.6931...
    """

    def __init__(self, loss="non_saturating", weight=1.0, name="mode_regularizer",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(loss, dict):
            loss = keras.saving.deserialize_keras_object(loss)
        self.adversarial = adversarial.get(loss)
        self.weight = check_non_negative("weight", weight)

    def call(self, y_true, y_pred):
        d = tf.cast(tf.convert_to_tensor(y_pred), tf.float32)
        return self.weight * self.adversarial.g(d)

    def get_config(self):
        return {"loss": keras.saving.serialize_keras_object(self.adversarial), "weight": self.weight,
                "name": self.name, "reduction": self.reduction}
