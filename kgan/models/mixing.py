"""GANs whose discriminator is trained on mixed samples (docs/mixing.md).

* :class:`MixGAN` -- real/fake mixing (Mixup, CutMix or SRMix, the 2021
  sample-mixing study): D also learns to answer the real fraction ``lam`` of
  mixed samples, loss ``lam * l_real(D(x_mix)) + (1 - lam) * l_fake(D(x_mix))``.
* :class:`AdaptiveMixGAN` -- AdaptiveMix (Liu, Zhang et al. CVPR 2023): pairs of
  samples from the same batch are mixed and D's features of the mix are pulled
  towards the mix of the features (the shrinkage term). Two variants: the
  paper's reading (an ordinary adversarial loss plus the weighted shrinkage
  term; default) and the official code's (adversarial logit
  ``head(z_mix) + head(f(x_mix))`` on mixed features, shrinkage in the D and G
  losses).

Both extend :class:`kgan.models.GAN` through ``d_losses``/``g_losses`` and call
``super()``, so they combine with conditional models (``num_classes``), other
methods through the MRO, penalties and DiffAugment (the base GAN's
``augment``).
"""
import keras
import tensorflow as tf

from kgan.layers.mixing import (AdaptiveMix, check_alpha, check_sigma, spatial_axes, beta_inverse_cdf,
                                mixing_layer, MIXING_METHODS)
from kgan.losses.mixing import mixed_sample_loss, shrinkage_loss
from kgan.models.gan import GAN, discriminator_outputs
from kgan.utils import check_bool, check_choice, check_non_negative, check_probability

__all__ = ["MixGAN", "AdaptiveMixGAN"]


def _cached_fakes(model, parent_fake_images, batch, training):
    """``G(z)`` once per update: several loss terms of one update share the fakes
    (same noise, same tensor, so gradients flow as if computed once)."""
    cache = batch.__dict__.setdefault("_fake_cache", {})
    key = bool(training)
    if key not in cache:
        cache[key] = parent_fake_images(batch, training=training)
    return cache[key]


def _per_sample_beta(model, local_n, alpha, name):
    """Per-sample ``Beta(alpha, alpha)`` draws from the stream ``name``, replica-count invariant
    (global draw, local slice)."""
    return beta_inverse_cdf(model.random_uniform(local_n, [], name), alpha)


@keras.saving.register_keras_serializable(package="kgan")
class MixGAN(GAN):
    """GAN whose discriminator also learns the real fraction of real/fake mixes.

    Each D update adds ``d_mix``: every real sample ``x_i`` is mixed, with
    probability ``mix_prob``, with a fake ``G(z_i)`` by ``Mixup``, ``CutMix``
    or ``SRMix`` (:mod:`kgan.layers.mixing`), giving ``x_mix`` with real
    fraction ``lam_i``, and

        ``d_mix = mix_weight * mean_i m_i [lam_i l_real(D(x_mix_i)) + (1 - lam_i) l_fake(D(x_mix_i))]``

    (``m_i`` ~ Bernoulli(``mix_prob``), the mean over the whole batch), added to
    the method's ordinary terms (``super().d_losses``). The generator's loss is
    unchanged. Works with every adversarial loss (for minimax the linear form
    is kgan's design, see :mod:`kgan.losses.mixing`).

    kgan's design choices (the study's training details were not available):
    the mixed term is added to, not substituted for, the ordinary real/fake
    loss; ``mix_prob`` is per sample; default SRMix (the study's proposal, best
    most often), ``mix_prob = 0.5``, ``alpha = 1`` (lambda uniform).

    Conditional models: the mixed sample is scored with the real sample's
    label; its fake partner is generated with that label (``G(z_i, y_i)``, an
    extra generator pass unless ``fake_labels="real"``). ``augment``
    (DiffAugment) is applied to the mixed sample like to every D input.

    Args:
        generator, discriminator, **kwargs: as :class:`kgan.models.GAN`.
        method: ``"mixup"``, ``"cutmix"`` or ``"srmix"`` (default).
        mix_prob: probability that a real sample is mixed (in [0, 1]).
        alpha: lambda distribution ``Beta(alpha, alpha)`` (Mixup's lambda; the
            box area ``1 - lam0`` for CutMix/SRMix); 1 = uniform.
        mix_weight: weight of ``d_mix``.
        sigma: SRMix blur std as a fraction of the image side.
    """

    def __init__(self, generator, discriminator, method="srmix", mix_prob=0.5, alpha=1.0, mix_weight=1.0,
                 sigma=0.1, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        check_choice("method", method, MIXING_METHODS)
        self.method = method
        self.mix_prob = check_probability("mix_prob", mix_prob)
        self.alpha = check_alpha(alpha)
        self.mix_weight = check_non_negative("mix_weight", mix_weight)
        self.sigma = check_sigma(sigma)  # checked for every method, so a config never holds a bad value
        self.mixer = mixing_layer(method, alpha=self.alpha, sigma=self.sigma, seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config.update(method=self.method, mix_prob=self.mix_prob, alpha=self.alpha,
                      mix_weight=self.mix_weight, sigma=self.sigma)
        return config

    def loss_names(self):
        d, g = super().loss_names()
        return d + ["d_mix"], g

    def fake_images(self, batch, training=True):
        return _cached_fakes(self, super().fake_images, batch, training)

    def mixing_partners(self, batch):
        """Fakes to mix with ``batch.x``: ``G(z)``, or ``G(z, y_real)`` for
        conditional models whose fakes carry sampled labels."""
        if self.num_classes is not None and batch.y_fake is not batch.y:
            return self.generator(self.generator_inputs(batch.z, batch.y), training=True)
        return self.fake_images(batch, training=True)

    def mixing_loss(self, batch):
        """``{"d_mix": ...}`` for one D update (see the class docstring)."""
        if self.mix_prob == 0.0 or self.mix_weight == 0.0:
            return {"d_mix": tf.constant(0.0)}
        x = tf.convert_to_tensor(batch.x)
        n = tf.shape(x)[0]
        x_fake = tf.stop_gradient(self.mixing_partners(batch))
        lam0 = _per_sample_beta(self, n, self.alpha, batch.stream("mix/lam0"))
        center = self.random_uniform(n, [len(spatial_axes(x.shape.rank))], batch.stream("mix/center"))
        x_mix, lam = self.mixer(x, x_fake, lam0=lam0, center=center)
        out = self.discriminate(x_mix, batch.y)
        mask = None
        if self.mix_prob < 1.0:
            mask = tf.cast(self.random_uniform(n, [], batch.stream("mix/mask")) < self.mix_prob, tf.float32)
        return {"d_mix": self.mix_weight * mixed_sample_loss(self.loss_fn, lam, out["logit"], mask)}

    def d_losses(self, batch):
        terms = super().d_losses(batch)
        terms.update(self.mixing_loss(batch))
        return terms


VARIANTS = ("paper", "official")


@keras.saving.register_keras_serializable(package="kgan")
class AdaptiveMixGAN(GAN):
    """AdaptiveMix (Liu, Zhang et al. CVPR 2023): shrink the discriminator's
    feature space by pulling the features of a pair mix towards the mix of the
    pair's features.

    For a batch ``x`` (reals, and fakes unless ``mix_fakes=False``): one
    ``lam ~ Beta(alpha, alpha)``, a permutation ``perm`` of the same batch,
    ``x_mix = lam x + (1 - lam) x[perm]``, ``z_mix = lam f(x) + (1 - lam) f(x)[perm]``
    with ``f`` = ``D(.)["features"]`` (the last block's output), and the
    shrinkage term ``1 - cos(f(x_mix), sg(z_mix + N(0, noise_std^2)))``
    (:func:`kgan.losses.mixing.shrinkage_loss`; the code's ``-cos`` plus 1).

    Variants:

    * ``"paper"`` (default; the simpler reading of the paper): the method's
      ordinary adversarial loss (``super()``) plus
      ``d_shrink = shrink_weight * (mean shrink(reals) + mean shrink(fakes))``.
    * ``"official"`` (``WentianZhang-ML/AdaptiveMix``, ``training/loss.py`` and
      ``Discriminator.adaptive_mix``): the adversarial logit of reals and fakes
      is ``head(z_mix) + head(f(x_mix))``; D gets ``d_adv`` on those logits plus
      ``d_shrink`` on reals and fakes; G gets ``g_adv`` on the fakes' mixed logit
      plus ``g_shrink`` on fakes. ``head`` is D's layer named ``head`` (kgan.nets
      discriminators have it). Difference left as is: the code's R1 penalty
      differentiates the mixed logit; kgan's ``r1_weight`` penalises the
      ordinary ``D(x)``.

    ``augment`` (DiffAugment) is applied once to the batch before mixing (as the
    code's ``augment_pipe``), so ``x``, ``x[perm]`` and ``x_mix`` are consistent.
    Conditional models score the mix with the labels of ``x`` (the code does
    not permute the labels either).

    Permutation and ``MirroredStrategy``: see :class:`kgan.layers.AdaptiveMix`;
    the permutation keys are drawn for the global batch from a stateless seed
    and ``lam`` once per global batch, and each replica permutes within its own
    slice (``group_size=None``), so an R-replica step equals a single-device
    step with ``group_size = global_batch / R``.

    Args:
        generator, discriminator, **kwargs: as :class:`kgan.models.GAN`; D must
            return a dict with ``"features"``.
        variant: ``"paper"`` or ``"official"``.
        alpha: ``lam ~ Beta(alpha, alpha)`` (1 in the paper and code).
        noise_std: std of the noise added to ``z_mix`` (0.05 in the code).
        noise_scale: ``"absolute"`` (default, the official code: N(0, noise_std^2) per
            feature, a value tuned for StyleGAN2's 4x4x512 features) or ``"relative"``
            (N(0, (noise_std * rms)^2) with ``rms`` the root mean square of each
            sample's ``z_mix``, held constant): on kgan's DCGAN discriminators the
            absolute noise swamps the features (DCGAN-28 width 64: noise norm 3.96
            against a mean feature norm of 1.16, so ``1 - cos`` against the noisy
            target is 0.77 instead of 0.04).
        shrink_weight: weight of the shrinkage terms (1 in the code).
        g_shrink: add the shrinkage term on fakes to G's loss; None = True for
            ``"official"`` (as the code), False for ``"paper"``.
        mix_fakes: also mix fakes in D's shrinkage term (paper variant; the
            official variant always does).
        group_size: permutation group size (None = each replica's whole slice).
        head: name of D's head layer (official variant).
    """

    def __init__(self, generator, discriminator, variant="paper", alpha=1.0, noise_std=0.05,
                 shrink_weight=1.0, g_shrink=None, mix_fakes=True, group_size=None, head="head",
                 noise_scale="absolute", **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        check_choice("variant", variant, VARIANTS)
        self.variant = variant
        self.alpha = check_alpha(alpha)
        self.noise_std = check_non_negative("noise_std", noise_std)
        self.noise_scale = check_choice("noise_scale", noise_scale, ("absolute", "relative"))
        self.shrink_weight = check_non_negative("shrink_weight", shrink_weight)
        if g_shrink is None:
            g_shrink = variant == "official"
        check_bool("g_shrink", g_shrink)  # None was resolved above
        check_bool("mix_fakes", mix_fakes)
        if variant == "official" and not mix_fakes:
            raise ValueError("variant='official' mixes reals and fakes (the code's adversarial logit is "
                             "computed on mixed fakes); received mix_fakes=False. Use variant='paper'.")
        self.g_shrink = g_shrink
        self.mix_fakes = mix_fakes
        self.group_size = group_size
        self.head_name = head
        outputs = discriminator_outputs(discriminator)
        if not isinstance(outputs, dict) or "features" not in outputs:
            names = sorted(outputs) if isinstance(outputs, dict) else "a single tensor"
            raise ValueError(
                "AdaptiveMixGAN needs a discriminator returning a dict with a 'features' output (the "
                f"last block's output, before pooling); received a discriminator with outputs {names}. "
                "Build it with kgan.nets or add 'features' to its output dict.")
        self.feature_shape = tuple(int(d) for d in outputs["features"].shape[1:])
        if variant == "official":
            try:
                discriminator.get_layer(head)
            except ValueError:
                raise ValueError(
                    f"variant='official' scores mixed features with D's head, but the discriminator has "
                    f"no layer named head={head!r}. kgan.nets discriminators have one ('head'); for your "
                    "own D, name the layer mapping features to the logit and pass head=NAME.") from None
        self.mixer = AdaptiveMix(alpha=self.alpha, group_size=group_size, seed=self.seed, name="adaptive_mix")

    @property
    def head(self):
        """D's head layer (``features -> logit``), looked up by name (not tracked twice)."""
        return self.discriminator.get_layer(self.head_name)

    def get_config(self):
        config = super().get_config()
        config.update(variant=self.variant, alpha=self.alpha, noise_std=self.noise_std,
                      shrink_weight=self.shrink_weight, g_shrink=self.g_shrink, mix_fakes=self.mix_fakes,
                      group_size=self.group_size, head=self.head_name, noise_scale=self.noise_scale)
        return config

    def loss_names(self):
        d, g = super().loss_names()
        d = d + ["d_shrink"]
        if self.g_shrink:
            g = g + ["g_shrink"]
        return d, g

    def fake_images(self, batch, training=True):
        return _cached_fakes(self, super().fake_images, batch, training)

    # ------------------------------------------------------------------ pieces
    def pair_mix(self, x, y, batch, slot):
        """Mix ``x`` with a permutation of itself and run D.

        ``slot`` (0 reals, 1 fakes) selects independent draws within an update:
        the streams ``adaptivemix/{lam,perm,noise}_{real,fake}``.
        Returns a dict: ``f`` (features of ``x``), ``f_mix`` (features of the
        mix), ``z_mix`` (mix of the features), ``shrink`` (per-sample term),
        ``lam``, ``perm``.
        """
        which = ("real", "fake")[slot]
        if self.augment is not None:
            x = self.augment(x, training=True)
        n = tf.shape(x)[0]
        # one lam per global batch (same on every replica), independent for reals and fakes
        lam = beta_inverse_cdf(
            tf.random.stateless_uniform([1], seed=self.stream_seed(batch.stream(f"adaptivemix/lam_{which}"))),
            self.alpha)[0]
        keys = self.random_uniform(n, [], batch.stream(f"adaptivemix/perm_{which}"))
        perm = self.mixer.permutation(keys)
        x_mix = self.mixer.mix(x, lam, perm)
        f = self.discriminate(x, y, augment=False)["features"]
        f_mix = self.discriminate(x_mix, y, augment=False)["features"]
        z_mix = self.mixer.mix(f, lam, perm)
        noise = None
        if self.noise_std > 0:
            noise = self.noise_std * self.random_normal(n, list(self.feature_shape),
                                                        batch.stream(f"adaptivemix/noise_{which}"))
            if self.noise_scale == "relative":  # a fraction of each sample's feature scale
                axes = list(range(1, len(self.feature_shape) + 1))
                rms = tf.sqrt(tf.reduce_mean(tf.square(tf.stop_gradient(tf.cast(z_mix, tf.float32))), axis=axes,
                                             keepdims=True))
                noise = noise * tf.cast(rms, noise.dtype)
        return {"f": f, "f_mix": f_mix, "z_mix": z_mix, "lam": lam, "perm": perm,
                "shrink": shrinkage_loss(f_mix, z_mix, noise)}

    def mixed_logit(self, mix, y):
        """The official code's adversarial logit ``head(z_mix) + head(f(x_mix))``."""

        def score(features):
            inputs = features if len(self.head.inputs) == 1 else [features, y]
            out = self.head(inputs, training=True)
            return out["logit"] if isinstance(out, dict) else out

        return score(mix["z_mix"]) + score(mix["f_mix"])

    # ------------------------------------------------------------------ losses
    def d_losses(self, batch):
        terms = super().d_losses(batch)
        real = self.pair_mix(batch.x, batch.y, batch, 0)
        shrink = tf.reduce_mean(real["shrink"])
        fake = None
        if self.mix_fakes:
            x_fake = tf.stop_gradient(self.fake_images(batch, training=True))
            fake = self.pair_mix(x_fake, batch.y_fake, batch, 1)
            shrink = shrink + tf.reduce_mean(fake["shrink"])
        terms["d_shrink"] = self.shrink_weight * shrink
        if self.variant == "official":
            terms["d_adv"] = (tf.reduce_mean(self.loss_fn.d_real(self.mixed_logit(real, batch.y)))
                              + tf.reduce_mean(self.loss_fn.d_fake(self.mixed_logit(fake, batch.y_fake))))
        return terms

    def g_losses(self, batch):
        terms = super().g_losses(batch)
        if self.variant == "official" or self.g_shrink:
            fake = self.pair_mix(self.fake_images(batch, training=True), batch.y_fake, batch, 1)
            if self.variant == "official":
                terms["g_adv"] = tf.reduce_mean(self.loss_fn.g(self.mixed_logit(fake, batch.y_fake)))
            if self.g_shrink:
                terms["g_shrink"] = self.shrink_weight * tf.reduce_mean(fake["shrink"])
        return terms
