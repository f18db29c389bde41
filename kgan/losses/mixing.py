"""Losses for sample mixing (docs/mixing.md).

Mixed real/fake samples (the 2021 sample-mixing study)
-------------------------------------------------------
A mixed sample with real-content fraction ``lam`` costs the discriminator

    ``lam * l_real(D(x_mix)) + (1 - lam) * l_fake(D(x_mix))``          (1)

with ``l_real``/``l_fake`` the real and fake terms of any
:class:`~kgan.losses.AdversarialLoss` (``d_real``/``d_fake``); this is
``AdversarialLoss.call(lam, logits)``. For losses written with explicit
real/fake targets (BCE = non-saturating, least squares, hinge, Wasserstein)
(1) is the study's form. The study also gives a form for *saturated* losses
(no explicit real/fake label); its text was not available to us, so for the
minimax loss kgan uses (1) as well -- **kgan's design, not the paper's**. The
minimax loss's discriminator terms equal the non-saturating ones (only the
generator term differs), so (1) is the natural choice. (1) is exact at the
end points: ``lam = 1`` gives the real loss, ``lam = 0`` the fake loss. The
generator's loss is not changed by real/fake mixing.

AdaptiveMix (Liu, Zhang et al. CVPR 2023; code WentianZhang-ML/AdaptiveMix)
--------------------------------------------------------------------------
Shrinkage term for a pair mix ``x_mix = lam x_a + (1 - lam) x_b`` with
``z_mix = lam f(x_a) + (1 - lam) f(x_b)`` (f = D's last-block features,
flattened):

    ``L_shrink = 1 - cos(f(x_mix), sg(z_mix + n)),  n ~ N(0, noise_std^2)``   (2)

The official code uses ``-cos(...)`` (``training/loss.py``); kgan adds the
constant 1 so that the term is the cosine *distance*: 0 when the features of
the mix equal the mix of the features (e.g. an affine D), same gradients as
the official term. The official adversarial logit on mixed features
(``head(z_mix) + head(f(x_mix))``) is built by :class:`kgan.models.AdaptiveMixGAN`.
"""
import keras
import tensorflow as tf

from kgan.losses.adversarial import get as get_adversarial
from kgan.utils import check_non_negative

__all__ = ["MixedSampleLoss", "mixed_sample_loss", "FeatureShrinkage", "shrinkage_loss", "cosine_similarity"]


def mixed_sample_loss(loss, lam, logits, mask=None):
    """Mean over the batch of Eq. (1): ``lam * d_real(d) + (1 - lam) * d_fake(d)``.

    Args:
        loss: an adversarial loss name or :class:`~kgan.losses.AdversarialLoss`.
        lam: (B,) fraction of real content of each sample.
        logits: (B, 1) discriminator logits of the mixed samples.
        mask: optional (B,) 0/1 weights (samples with 0 do not count; the mean
            is still over all B, so ``mask`` scales the term by the mixed fraction).
    """
    loss = get_adversarial(loss)
    logits = tf.convert_to_tensor(logits)
    lam = tf.reshape(tf.cast(lam, logits.dtype), [-1])
    per = tf.reshape(loss.call(lam, tf.reshape(logits, [-1, 1])), [-1])
    if mask is not None:
        per = per * tf.reshape(tf.cast(mask, per.dtype), [-1])
    return tf.reduce_mean(per)


@keras.saving.register_keras_serializable(package="kgan")
class MixedSampleLoss(keras.losses.Loss):
    """Eq. (1) of this module as a Keras loss: ``y_true`` = lam (B,) or (B, 1),
    ``y_pred`` = logits (B, 1); per-sample ``weight * (lam * d_real + (1 - lam) * d_fake)``.

    Works for every kgan adversarial loss, minimax included (kgan's design for
    saturated losses, see the module docstring).

    Args:
        loss: adversarial loss name or object (default ``"non_saturating"``).
        weight: multiplier of the term.
    """

    def __init__(self, loss="non_saturating", weight=1.0, name="mixed_sample_loss",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.adversarial = get_adversarial(loss)
        self.weight = check_non_negative("weight", weight)

    def call(self, y_true, y_pred):
        y_pred = tf.reshape(tf.convert_to_tensor(y_pred), [-1, 1])
        lam = tf.reshape(tf.cast(y_true, y_pred.dtype), [-1])
        return self.weight * tf.reshape(self.adversarial.call(lam, y_pred), [-1])

    def get_config(self):
        return {"loss": keras.saving.serialize_keras_object(self.adversarial), "weight": self.weight,
                "name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)


def cosine_similarity(a, b, eps=1e-8):
    """Per-sample cosine of flattened ``a`` and ``b``: ``<a, b> / max(|a| |b|, eps)``
    (``torch.nn.functional.cosine_similarity`` as the official code)."""
    a = tf.convert_to_tensor(a)
    n = tf.shape(a)[0]
    a = tf.reshape(tf.cast(a, tf.float32), [n, -1])
    b = tf.reshape(tf.cast(b, tf.float32), [n, -1])
    dot = tf.reduce_sum(a * b, axis=1)
    norms = tf.norm(a, axis=1) * tf.norm(b, axis=1)
    return dot / tf.maximum(norms, eps)


def shrinkage_loss(f_mix, z_mix, noise=None):
    """Per-sample AdaptiveMix shrinkage, Eq. (2): ``1 - cos(f_mix, sg(z_mix + noise))``.

    Args:
        f_mix: features of the mixed samples ``f(x_mix)`` (B, ...).
        z_mix: the mix of the features ``lam f(x_a) + (1 - lam) f(x_b)``, same shape.
        noise: optional noise added to the target (the code's N(0, 0.05^2)).

    Returns:
        (B,) values in [0, 2]; 0 when ``f_mix`` is parallel to the target.
    """
    target = tf.convert_to_tensor(z_mix)
    if noise is not None:
        target = target + tf.cast(noise, target.dtype)
    return 1.0 - cosine_similarity(f_mix, tf.stop_gradient(target))


@keras.saving.register_keras_serializable(package="kgan")
class FeatureShrinkage(keras.losses.Loss):
    """AdaptiveMix's shrinkage term, Eq. (2), as a Keras loss:
    ``y_true`` = the (noisy) mixed features ``z_mix + n`` (stop-gradient is applied),
    ``y_pred`` = ``f(x_mix)``; per-sample ``weight * (1 - cos(y_pred, sg(y_true)))``.

    Args:
        weight: multiplier (the official code uses 1).
    """

    def __init__(self, weight=1.0, name="feature_shrinkage", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.weight = check_non_negative("weight", weight)

    def call(self, y_true, y_pred):
        return self.weight * shrinkage_loss(y_pred, y_true)

    def get_config(self):
        return {"weight": self.weight, "name": self.name, "reduction": self.reduction}
