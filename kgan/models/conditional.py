"""Class-conditional GANs: ACGAN, the projection discriminator (ProjGAN) and ReACGAN.

All three are the base :class:`~kgan.models.GAN` with ``num_classes`` required
(``conditional_required = True``); they differ in how the discriminator uses
the label (docs/conditional.md):

=========  ============================================  =====================================
model      discriminator head (``kgan.nets`` heads=)     extra loss terms
=========  ============================================  =====================================
ACGAN      ``class_logits`` (``"classifier"``)           D: ``cond_lambda * CE(real)``
                                                         (+ ``CE(fake)`` with ``classify_fakes``);
                                                         G: ``cond_lambda * CE(fake)``
ProjGAN    ``logit = psi(h) + <embed(y), h>``            none (the label is inside the logit)
           (``"projection"``)
ReACGAN    ``embed`` + ``proxy`` on the unit sphere      D: ``cond_lambda * D2DCE(real)``;
           (``"hypersphere"``)                           G: ``cond_lambda * D2DCE(fake)``
=========  ============================================  =====================================

As in StudioGAN, the conditional loss is applied to D on real embeddings with
the real labels and to G on generated embeddings with the labels they were
sampled with; ``classify_fakes=True`` also trains D's classifier on fakes
(the original ACGAN of Odena et al. 2017, Eq. 2-3).

The conditional terms are added in :meth:`adversarial_d` /
:meth:`adversarial_g`, which receive the discriminator outputs the base model
already computed (no extra forward pass), and :meth:`discriminate` attaches
the labels to those outputs under ``"labels"``. Methods that call
``super().d_losses`` (e.g. ``class MixReACGAN(MixGAN, ReACGAN)``) therefore
keep the conditional terms.

Gradient-explosion check (ReACGAN, Sec. 3): with ``track_grad_norm=True``
(default) ACGAN and ReACGAN log, for every discriminator update on real data,

* ``d_cond_grad_norm``: the L2 norm of the gradient of the (unweighted)
  conditional loss with respect to the discriminator head's weights (the
  classifier ``W`` of ACGAN, whose gradient ``-(1[y=j] - p_j) h`` grows with the
  feature norm ``||h||``; ReACGAN's embedding layer and proxies);
* ``d_cond_feat_grad_norm``: the mean over samples of ``||d L_i / d h_i||``, the
  gradient reaching the pooled features ``h`` (what flows back into D's body).

They need a ``kgan.nets`` discriminator (a sub-model named ``"head"`` and the
``"features"``/``"pooled"`` outputs); otherwise they are not logged. Under
``tf.distribute`` they are per-replica values averaged over replicas.
"""
import keras
import tensorflow as tf

from kgan.losses.conditional import D2DCE, D2DCE_VARIANTS, ClassifierCrossEntropy
from kgan.models import fast_paths
from kgan.models.gan import GAN, discriminator_outputs
from kgan.utils import check_bool, check_non_negative

__all__ = ["ACGAN", "ProjGAN", "ReACGAN"]


def _find_head(discriminator):
    try:
        head = discriminator.get_layer("head")
    except ValueError:
        return None
    return head if isinstance(head, keras.Model) else None


class _ConditionalChecks:
    """Shared input checks of the conditional models (mixin, used through the MRO)."""

    def unpack(self, data):
        x, y = super().unpack(data)
        local = x.shape[0]
        ctx = tf.distribute.get_replica_context()
        n_rep = ctx.num_replicas_in_sync if ctx is not None else 1
        message = (f"{type(self).__name__} needs at least 2 samples per discriminator update "
                   f"(global batch / d_steps, d_steps={self.d_steps})")
        if local is not None and (local // self.d_steps) * n_rep < 2:
            raise ValueError(f"{message}; received a batch of {local * n_rep}.")
        check = tf.debugging.assert_greater_equal((tf.shape(x)[0] // self.d_steps) * n_rep, 2,
                                                  message=message + "; received a smaller batch")
        with tf.control_dependencies([check]):
            x = tf.identity(x)
        return x, y


@keras.saving.register_keras_serializable(package="kgan")
class ProjGAN(_ConditionalChecks, GAN):
    """cGAN with a projection discriminator (Miyato & Koyama, ICLR 2018, Eq. 3).

    ``D(x, y) = psi(h(x)) + <E[y], h(x)>``: the label enters the adversarial
    logit through an inner product of a class embedding with the pooled
    features, so no extra loss term is needed. Build D with
    ``heads=("projection",)`` (``kgan.nets``); G is class-conditional (cBN).

    Args: those of :class:`~kgan.models.GAN`; ``num_classes`` is required.

    Example:
        >>> G, D = kgan.nets.build("dcgan", 28, 1, num_classes=10, d_heads=("projection",))
        >>> gan = kgan.models.ProjGAN(G, D, num_classes=10)
    """

    conditional_required = True


class _AuxiliaryGAN(_ConditionalChecks, GAN):
    """ACGAN and ReACGAN: a conditional loss on a discriminator head, weighted by ``cond_lambda``."""

    conditional_required = True
    required_outputs = ()
    head_hint = ""

    def __init__(self, generator, discriminator, num_classes=None, cond_lambda=1.0, classify_fakes=False,
                 track_grad_norm=True, **kwargs):
        super().__init__(generator, discriminator, num_classes=num_classes, **kwargs)
        self.cond_lambda = check_non_negative("cond_lambda", cond_lambda)
        self.classify_fakes = check_bool("classify_fakes", classify_fakes)
        self.track_grad_norm = check_bool("track_grad_norm", track_grad_norm)
        # the output names ({"logit"} for a single tensor); None: unknown until D is called
        out = discriminator_outputs(discriminator)
        keys = None if out is None else set(out) if isinstance(out, dict) else {"logit"}
        if keys is not None:
            missing = [k for k in self.required_outputs if k not in keys]
            if missing:
                raise ValueError(
                    f"{type(self).__name__} needs a discriminator with the output(s) {missing} "
                    f"({self.head_hint}); this discriminator returns {sorted(keys)}.")
            self._check_outputs(discriminator)
        self._head = _find_head(discriminator)
        self._probe = bool(track_grad_norm and self._head is not None and keys is not None
                           and {"features", "pooled"} <= keys)

    def _check_outputs(self, discriminator):
        pass

    def get_config(self):
        config = super().get_config()
        config.update({"cond_lambda": self.cond_lambda, "classify_fakes": self.classify_fakes,
                       "track_grad_norm": self.track_grad_norm})
        return config

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        if self._probe:
            with self.distribute_strategy.scope():
                for name in ("d_cond_grad_norm", "d_cond_feat_grad_norm"):
                    self.trackers[name] = keras.metrics.Mean(name=name)

    def loss_names(self):
        d, g = super().loss_names()
        d = [*d, "d_cond"] + (["d_cond_fake"] if self.classify_fakes else [])
        return d, [*g, "g_cond"]

    # ---------------------------------------------------------------- the conditional loss
    def conditional_per_sample(self, out):
        """Per-sample conditional loss of the D outputs ``out`` (with ``out["labels"]``)."""
        raise NotImplementedError

    def conditional_loss(self, out):
        """Mean conditional loss (unweighted) of the D outputs ``out``."""
        if "labels" not in out:
            raise ValueError(
                f"{type(self).__name__}: the discriminator outputs carry no 'labels'; obtain them "
                "with self.discriminate(x, y), which attaches the labels.")
        missing = [k for k in self.required_outputs if k not in out]
        if missing:
            raise ValueError(
                f"{type(self).__name__} needs the discriminator output(s) {missing} ({self.head_hint}); "
                f"the discriminator returned {sorted(k for k in out if k != 'labels')}.")
        return tf.reduce_mean(self.conditional_per_sample(out))

    def discriminate(self, x, y=None, training=True, augment=True):
        out = dict(super().discriminate(x, y, training=training, augment=augment))
        if y is not None:
            out["labels"] = y
        return out

    def adversarial_d(self, real, fake):
        terms = super().adversarial_d(real, fake)
        terms["d_cond"] = self.cond_lambda * self.conditional_loss(real)
        if self.classify_fakes:
            terms["d_cond_fake"] = self.cond_lambda * self.conditional_loss(fake)
        if self._probe:
            self._log_grad_norms(real)
        return terms

    def adversarial_g(self, fake):
        terms = super().adversarial_g(fake)
        terms["g_cond"] = self.cond_lambda * self.conditional_loss(fake)
        return terms

    def _log_grad_norms(self, real):
        """Norms of the conditional loss's gradient w.r.t. the head's weights and
        the pooled features, recomputed on D's head alone (cheap) and logged."""
        head = self._head
        feats = tf.stop_gradient(real["features"])
        y = real["labels"]
        with tf.GradientTape() as tape:
            tape.watch(feats)
            out = head([feats, y] if len(head.inputs) == 2 else feats, training=False)
            out = dict(out)
            out["labels"] = y
            loss = tf.reduce_mean(self.conditional_per_sample(out))
        variables = head.trainable_variables
        grads = tape.gradient(loss, [variables, out["pooled"]])
        w_grads = [g for g in grads[0] if g is not None]
        w_norm = tf.linalg.global_norm(w_grads) if w_grads else tf.constant(0.0)
        h_grad = grads[1] if grads[1] is not None else tf.zeros_like(out["pooled"])
        n = tf.cast(tf.shape(h_grad)[0], tf.float32)
        h_norm = tf.reduce_mean(tf.norm(h_grad, axis=-1)) * n
        fast_paths.track(self.trackers["d_cond_grad_norm"], tf.stop_gradient(w_norm))
        fast_paths.track(self.trackers["d_cond_feat_grad_norm"], tf.stop_gradient(h_norm))


@keras.saving.register_keras_serializable(package="kgan")
class ACGAN(_AuxiliaryGAN):
    """Auxiliary-classifier GAN (Odena et al., ICML 2017), trained as in StudioGAN.

    D has a linear classifier head (``class_logits``, no bias) on its pooled
    features. Loss terms (docs/conditional.md):

    * D: ``d_adv`` + ``d_cond = cond_lambda * CE(class_logits(x), y)`` on real
      data; with ``classify_fakes=True`` also
      ``d_cond_fake = cond_lambda * CE(class_logits(G(z, c)), c)`` (the original
      paper's ``L_C`` on both sources, Eq. 2-3; StudioGAN's default leaves it out).
    * G: ``g_adv`` + ``g_cond = cond_lambda * CE(class_logits(G(z, c)), c)``.

    Args:
        generator, discriminator: G ``[z, y] -> x``; D ``[x, y] -> dict`` with
            ``"class_logits"`` (``kgan.nets`` ``heads=("classifier",)``).
        num_classes: number of classes (required).
        cond_lambda: weight of the classifier loss (1.0 in StudioGAN).
        classify_fakes: also train D's classifier on fakes (original ACGAN).
        track_grad_norm: log the classifier-gradient norms (module docstring).
        **kwargs: the base GAN's arguments (``ema_decay``, ``augment``, ``seed`` ...).

    Example:
        >>> G, D = kgan.nets.build("dcgan", 28, 1, num_classes=10, d_heads=("classifier",))
        >>> gan = kgan.models.ACGAN(G, D, num_classes=10)
    """

    required_outputs = ("class_logits",)
    head_hint = "a classifier head: kgan.nets.*_discriminator(..., heads=('classifier',))"

    def __init__(self, generator, discriminator, num_classes=None, cond_lambda=1.0, classify_fakes=False,
                 track_grad_norm=True, **kwargs):
        super().__init__(generator, discriminator, num_classes=num_classes, cond_lambda=cond_lambda,
                         classify_fakes=classify_fakes, track_grad_norm=track_grad_norm, **kwargs)
        self.cond_loss_fn = ClassifierCrossEntropy()

    def _check_outputs(self, discriminator):
        width = discriminator.output["class_logits"].shape[-1]
        if width != self.num_classes:
            raise ValueError(
                f"ACGAN: the discriminator's 'class_logits' has {width} columns but "
                f"num_classes={self.num_classes}.")

    def conditional_per_sample(self, out):
        return self.cond_loss_fn.per_sample(out["class_logits"], out["labels"])


@keras.saving.register_keras_serializable(package="kgan")
class ReACGAN(_AuxiliaryGAN):
    """Rebooted ACGAN (Kang et al., NeurIPS 2021): hypersphere projection + D2D-CE.

    D's head maps the pooled features to an embedding and looks up a class
    proxy, both L2-normalised onto the unit hypersphere (``kgan.nets``
    ``heads=("hypersphere",)``: outputs ``"embed"`` and ``"proxy"``). Loss terms:

    * D: ``d_adv`` + ``d_cond = cond_lambda * D2DCE(embed(x), proxy(y), y)`` on
      real data (``classify_fakes=True`` adds the same on fakes, ``d_cond_fake``);
    * G: ``g_adv`` + ``g_cond = cond_lambda * D2DCE(embed(G(z, c)), proxy(c), c)``.

    See :class:`kgan.losses.D2DCE` for the formula, the two variants and the
    false-negative mask. Under ``MirroredStrategy`` the negatives are gathered
    across replicas by default (``gather_negatives=True``), so a distributed step
    equals a single-device step on the same global batch.

    Args:
        generator, discriminator: G ``[z, y] -> x``; D ``[x, y] -> dict`` with
            ``"embed"`` and ``"proxy"``.
        num_classes: number of classes (required).
        cond_lambda: weight of D2D-CE (0.5 in StudioGAN's CIFAR-10 config).
        margin_pos: ``m_p`` (0.98); ``margin_neg``: ``m_n`` (None = ``1 - m_p``).
        temperature: ``T`` (0.5 for CIFAR-10 in StudioGAN).
        d2dce_variant: ``"exact"`` (the paper's formula, default) or
            ``"official"`` (StudioGAN's row-max shift).
        gather_negatives: gather negatives across replicas (default True).
        classify_fakes, track_grad_norm, **kwargs: as :class:`ACGAN`.

    Example:
        >>> G, D = kgan.nets.build("dcgan", 28, 1, num_classes=10, d_heads=("hypersphere",))
        >>> gan = kgan.models.ReACGAN(G, D, num_classes=10, augment=kgan.layers.DiffAugment())
    """

    required_outputs = ("embed", "proxy")
    head_hint = "the hypersphere head: kgan.nets.*_discriminator(..., heads=('hypersphere',))"

    def __init__(self, generator, discriminator, num_classes=None, cond_lambda=0.5, margin_pos=0.98,
                 margin_neg=None, temperature=0.5, d2dce_variant="exact", gather_negatives=True,
                 classify_fakes=False, track_grad_norm=True, **kwargs):
        if d2dce_variant not in D2DCE_VARIANTS:
            raise ValueError(f"`d2dce_variant` must be one of {list(D2DCE_VARIANTS)}; received "
                             f"d2dce_variant={d2dce_variant!r}.")
        loss = D2DCE(margin_pos=margin_pos, margin_neg=margin_neg, temperature=temperature,
                     variant=d2dce_variant, gather=gather_negatives)  # validates before building
        super().__init__(generator, discriminator, num_classes=num_classes, cond_lambda=cond_lambda,
                         classify_fakes=classify_fakes, track_grad_norm=track_grad_norm, **kwargs)
        self.cond_loss_fn = loss

    def _check_outputs(self, discriminator):
        e, p = discriminator.output["embed"].shape[-1], discriminator.output["proxy"].shape[-1]
        if e != p:
            raise ValueError(f"ReACGAN: 'embed' ({e}) and 'proxy' ({p}) must have the same size.")

    def conditional_per_sample(self, out):
        return self.cond_loss_fn.per_sample(out["embed"], out["proxy"], out["labels"])

    def get_config(self):
        config = super().get_config()
        loss = self.cond_loss_fn
        config.update({"margin_pos": loss.margin_pos, "margin_neg": loss.margin_neg,
                       "temperature": loss.temperature, "d2dce_variant": loss.variant,
                       "gather_negatives": loss.gather})
        return config
