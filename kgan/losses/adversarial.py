"""Adversarial losses written as real/fake terms.

Every loss here is a :class:`AdversarialLoss`: three per-sample functions of
the discriminator's logit ``d``,

* ``d_real(d)`` -- the discriminator's loss on a real sample,
* ``d_fake(d)`` -- the discriminator's loss on a generated sample,
* ``g(d)``      -- the generator's loss on a generated sample.

Writing losses this way lets every method compose them: the discriminator loss
is ``mean(d_real(D(x))) + mean(d_fake(D(G(z))))``, and a mixed sample with
real-content fraction ``lam`` (sample mixing, docs/mixing.md) costs
``lam * d_real(D(x_mix)) + (1 - lam) * d_fake(D(x_mix))``; that is exactly what
``loss(y_true=lam, y_pred=d)`` computes, so a loss object is also an ordinary
``keras.losses.Loss`` whose target is the real-ness of the sample.

| name | d_real(d) | d_fake(d) | g(d) | reference |
|---|---|---|---|---|
| ``non_saturating`` | softplus(-d) | softplus(d) | softplus(-d) | Goodfellow et al. 2014, Sec. 3 (the "-log D(G(z))" trick) |
| ``minimax`` | softplus(-d) | softplus(d) | -softplus(d) | Goodfellow et al. 2014, Eq. 1 (saturating: G minimises log(1 - D(G(z)))) |
| ``hinge`` | relu(1 - d) | relu(1 + d) | -d | Lim & Ye 2017; Miyato et al. 2018 |
| ``wasserstein`` | -d | d | -d | Arjovsky et al. 2017 (use with a gradient penalty) |
| ``least_squares`` | 0.5 (d - 1)^2 | 0.5 d^2 | 0.5 (d - 1)^2 | Mao et al. 2017, Eq. 9 (a=0, b=c=1) |

``softplus(-d) = -log sigmoid(d)``: the binary cross-entropy of a logit.
"""
import keras
import tensorflow as tf

from kgan.utils import check_choice


class AdversarialLoss(keras.losses.Loss):
    """Base class: a GAN loss as per-sample real/fake terms of a logit.

    ``call(y_true, y_pred)`` returns ``y_true * d_real(y_pred) + (1 - y_true) *
    d_fake(y_pred)``, the discriminator's loss for samples whose real-ness is
    ``y_true`` (1 real, 0 fake, anything between for mixed samples).

    Example:
        >>> loss = kgan.losses.get("hinge")
        >>> d = tf.constant([[2.0], [-0.5]])
        >>> loss.d_real(d).numpy().ravel()     # relu(1 - d)
        array([0. , 1.5], dtype=float32)
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name or self.__class__.__name__.lower(),
                         reduction=reduction, dtype=dtype)

    def d_real(self, d):
        raise NotImplementedError

    def d_fake(self, d):
        raise NotImplementedError

    def g(self, d):
        raise NotImplementedError

    def call(self, y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        lam = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
        lam = tf.broadcast_to(tf.reshape(lam, [-1] + [1] * (y_pred.shape.rank - 1))
                              if lam.shape.rank == 1 and y_pred.shape.rank > 1 else lam,
                              tf.shape(y_pred))
        return lam * self.d_real(y_pred) + (1.0 - lam) * self.d_fake(y_pred)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


@keras.saving.register_keras_serializable(package="kgan")
class NonSaturating(AdversarialLoss):
    """Non-saturating GAN loss (Goodfellow et al. 2014, Sec. 3): D is trained with
    binary cross-entropy, G minimises ``-log D(G(z)) = softplus(-d)``."""

    def d_real(self, d):
        return tf.nn.softplus(-d)

    def d_fake(self, d):
        return tf.nn.softplus(d)

    def g(self, d):
        return tf.nn.softplus(-d)


@keras.saving.register_keras_serializable(package="kgan")
class Minimax(NonSaturating):
    """Saturating (minimax) GAN loss (Goodfellow et al. 2014, Eq. 1): G minimises
    ``log(1 - D(G(z))) = -softplus(d)``. Its gradient vanishes when D is confident,
    which is why the non-saturating form is the usual default."""

    def g(self, d):
        return -tf.nn.softplus(d)


@keras.saving.register_keras_serializable(package="kgan")
class Hinge(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): ``relu(1 - d)`` on reals,
    ``relu(1 + d)`` on fakes; G minimises ``-d``. StudioGAN's default for ReACGAN."""

    def d_real(self, d):
        return tf.nn.relu(1.0 - d)

    def d_fake(self, d):
        return tf.nn.relu(1.0 + d)

    def g(self, d):
        return -d


@keras.saving.register_keras_serializable(package="kgan")
class Wasserstein(AdversarialLoss):
    """Wasserstein critic loss (Arjovsky et al. 2017): ``-d`` on reals, ``d`` on
    fakes, G minimises ``-d``. Needs a Lipschitz constraint: use
    ``gp_weight`` (WGAN-GP, Gulrajani et al. 2017) or spectral norm."""

    def d_real(self, d):
        return -d

    def d_fake(self, d):
        return d

    def g(self, d):
        return -d


@keras.saving.register_keras_serializable(package="kgan")
class LeastSquares(AdversarialLoss):
    """Least-squares GAN (Mao et al. 2017, Eq. 9 with a=0, b=c=1):
    ``0.5 (d - 1)^2`` on reals, ``0.5 d^2`` on fakes, G minimises ``0.5 (d - 1)^2``."""

    def d_real(self, d):
        return 0.5 * tf.square(d - 1.0)

    def d_fake(self, d):
        return 0.5 * tf.square(d)

    def g(self, d):
        return 0.5 * tf.square(d - 1.0)


LOSSES = {
    "non_saturating": NonSaturating,
    "minimax": Minimax,
    "hinge": Hinge,
    "wasserstein": Wasserstein,
    "least_squares": LeastSquares,
}


def get(loss):
    """Return an :class:`AdversarialLoss` from a name in ``LOSSES`` or an instance."""
    if isinstance(loss, AdversarialLoss):
        return loss
    if isinstance(loss, str):
        check_choice("loss", loss, LOSSES)
        return LOSSES[loss]()
    raise TypeError(
        "`loss` must be a name in "
        f"{sorted(LOSSES)} or a kgan.losses.AdversarialLoss; received loss={loss!r}.")
