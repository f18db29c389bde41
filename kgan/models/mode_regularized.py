"""Mode-regularised GAN and MDGAN (Che et al., ICLR 2017; docs/mode_regularized.md).

* :class:`RegularizedGAN` ("Reg-GAN"): G, D and an encoder E. D is the usual
  GAN discriminator (real ``x`` vs ``G(z)``). G minimises (paper Eq. 3, with
  the mode regulariser's sign as the paper intends, see
  :mod:`kgan.losses.mode_regularized`)::

      T_G = adv_G(D(G(z))) + lambda1 d(x, G(E(x))) + lambda2 [-log D(G(E(x)))]

  and E minimises ``T_E = lambda1 d(x, G(E(x))) + lambda2 [-log D(G(E(x)))]``,
  with its own optimizer.
* :class:`MDGAN` (Manifold-Diffusion GAN, Sec. 3.3 / Algorithm 1): two steps
  per iteration with two discriminators.
  Manifold step: D1 separates ``x`` (real) from ``G(E(x))`` (fake); G and E
  minimise ``lambda1 d(x, G(E(x))) + lambda2 adv_G(D1(G(E(x))))``.
  Diffusion step: D2 separates ``G(E(x))`` (as real) from ``G(z)`` (fake); G
  minimises ``adv_G(D2(G(z)))``, spreading the mass over the learned manifold.

Both work with any adversarial loss of :mod:`kgan.losses.adversarial`, R1 and
WGAN-GP penalties (for D2 too), conditional networks (E sees ``x`` only; G and
D get the real labels for reconstructions), ``d_steps``, EMA, MirroredStrategy
and mixed precision, and save/load every network and optimizer.
"""
import keras
import tensorflow as tf

from kgan import losses as kgan_losses
from kgan.losses.mode_regularized import DISTANCES, GeometricRegularizer, ModeRegularizer, check_lambdas
from kgan.models.gan import (GAN, Phase, Update, discriminator_outputs, input_shapes, unwrap_loss_scale,
                             wrap_loss_scale)
from kgan.utils import check_choice, check_positive_int

GEOMETRIC_SPACES = ("pixel", "features")


def _check_encoder(encoder, data_shape, latent_dim):
    if encoder is None:
        raise ValueError(
            "`encoder` is required: a keras.Model mapping x of shape "
            f"{data_shape} to z of shape ({latent_dim},), e.g. kgan.nets.mlp_encoder / "
            "dcgan_encoder / resnet_encoder; received encoder=None.")
    if not isinstance(encoder, keras.Model):
        raise TypeError(f"`encoder` must be a keras.Model; received encoder={type(encoder).__name__}.")
    in_shapes = input_shapes(encoder)
    if len(in_shapes) != 1 or tuple(in_shapes[0][1:]) != tuple(data_shape):
        raise ValueError(
            f"The encoder's input shape(s) {[s[1:] for s in in_shapes]} do not match the data shape "
            f"{tuple(data_shape)} the generator produces; the encoder must take x alone.")
    outputs = encoder.outputs
    out_shapes = [tuple(t.shape[1:]) for t in outputs]
    if len(out_shapes) != 1 or out_shapes[0] != (latent_dim,):
        raise ValueError(
            f"The encoder's output shape {out_shapes[0] if len(out_shapes) == 1 else out_shapes} does "
            f"not match the generator's latent shape ({latent_dim},); build the encoder with "
            f"latent_dim={latent_dim}.")
    return encoder


def _check_feature_key(discriminator, key, role):
    out = discriminator_outputs(discriminator)
    if out is None:  # subclassed model: checked when first called
        return
    if not isinstance(out, dict) or key not in out:
        found = sorted(out) if isinstance(out, dict) else "a single tensor"
        raise ValueError(
            f"geometric='features' uses the {role}'s {key!r} output, but it returns {found}. "
            "Use a kgan.nets discriminator (dict with 'features' and 'pooled'), set "
            "feature_key to one of its outputs, or use geometric='pixel'.")


@keras.saving.register_keras_serializable(package="kgan")
class RegularizedGAN(GAN):
    """Mode-regularised GAN (Che et al. 2017, Sec. 3.1-3.2, Eq. 3): G, D and an encoder E.

    Each ``train_step``: ``d_steps`` updates of D on real ``x`` vs ``G(z)`` (the
    base GAN's, with any adversarial loss and penalty), then one joint update of
    G on ``T_G`` and of E on ``T_E`` (one forward pass; G's gradient of
    ``T_G`` and E's gradient of ``T_E``, each applied by its own optimizer)::

        T_G = mean g(D(G(z))) + lambda1 mean d(x, G(E(x))) + lambda2 mean m(D(G(E(x))))
        T_E =                   lambda1 mean d(x, G(E(x))) + lambda2 mean m(D(G(E(x))))

    ``d`` is :class:`~kgan.losses.GeometricRegularizer` (default: mean squared
    pixel difference) and ``m`` is :class:`~kgan.losses.ModeRegularizer`
    (the compiled loss's generator term by default: ``-log D`` for the default
    non-saturating loss, the paper's intended realism term).
    The ``x`` of the generator update is the last D step's real slice. A term
    whose lambda is 0 is not computed at all, so with ``lambda1 = lambda2 = 0``
    the generator update is exactly the base GAN's and E is not trained.

    Logs: ``d_loss``, ``d_adv`` (+ penalties), ``g_loss`` (= ``T_G``), ``g_adv``,
    ``g_geometric`` (``lambda1 d``), ``g_mode`` (``lambda2 m``), ``e_loss`` (= ``T_E``).

    Args:
        generator, discriminator: as :class:`~kgan.models.GAN`.
        encoder: a keras.Model ``x -> z`` whose input is G's output shape and
            whose output is G's latent shape (``kgan.nets.mlp_encoder``,
            ``dcgan_encoder``, ``resnet_encoder``).
        lambda1: weight of the geometric regulariser (finite, >= 0). kgan's
            default 0.2 is a starting point, not a value from the paper (which
            grid-searches it).
        lambda2: weight of the mode regulariser (finite, >= 0); default 0.4,
            likewise kgan's choice.
        geometric: ``"pixel"`` (default: ``d`` on pixels, the paper's L2) or
            ``"features"`` (``d`` between D's ``feature_key`` outputs of ``x``
            and ``G(E(x))``, a feature-space distance; D is not updated by it).
        distance: ``"l2"`` (default) or ``"l1"``.
        feature_key: the D output used by ``geometric="features"`` (``"features"``
            or ``"pooled"`` for kgan.nets discriminators).
        mode_loss: adversarial loss whose generator term is the mode
            regulariser. None (default) follows the compiled ``loss``: with the
            default ``"non_saturating"`` that is the paper's ``-log D(G(E(x)))``;
            with ``"hinge"``/``"wasserstein"`` it is ``-D(G(E(x)))``. Any name /
            object of ``kgan.losses.LOSSES`` fixes it instead.
        **kwargs: the base GAN's (``num_classes``, ``ema_decay``, ``ema_start``,
            ``augment``, ``seed``, ``fake_labels``, ``name``).

    Example:
        >>> G, D, E = kgan.nets.build("dcgan", 28, 1, encoder=True, latent_dim=128)
        >>> gan = kgan.models.RegularizedGAN(G, D, E, lambda1=0.2, lambda2=0.4)
        >>> gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5),
        ...             g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
        ...             e_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    """

    #: The regularisers join the generator update (RegularizedGAN) or a
    #: separate manifold step (MDGAN).
    regularize_generator_step = True

    def __init__(self, generator, discriminator, encoder=None, lambda1=0.2, lambda2=0.4,
                 geometric="pixel", distance="l2", feature_key="features",
                 mode_loss=None, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.encoder = _check_encoder(encoder, self.data_shape, self.latent_dim)
        self.lambda1, self.lambda2 = check_lambdas(lambda1, lambda2)
        self.geometric = check_choice("geometric", geometric, GEOMETRIC_SPACES)
        self.distance = check_choice("distance", distance, DISTANCES)
        if not isinstance(feature_key, str):
            raise ValueError(f"`feature_key` must be a string; received feature_key={feature_key!r}.")
        self.feature_key = feature_key
        if self.geometric == "features" and self.lambda1 > 0:
            _check_feature_key(discriminator, feature_key, "discriminator")
        if isinstance(mode_loss, dict):
            mode_loss = keras.saving.deserialize_keras_object(mode_loss)
        if mode_loss is not None:
            kgan_losses.get(mode_loss)  # validate now
        self.mode_loss = mode_loss
        self.geometric_regularizer = GeometricRegularizer(self.distance, self.lambda1)
        self.mode_regularizer = None  # made in compile (it may follow the compiled loss)
        self.e_optimizer = None

    # ------------------------------------------------------------------ compile
    def _extra_optimizer(self, name, opt, template, others):
        """Validate an extra optimizer, or copy ``template``'s config when None."""
        if opt is None:
            template = unwrap_loss_scale(template)
            with self.distribute_strategy.scope():
                opt = type(template).from_config(template.get_config())
        if not isinstance(opt, keras.optimizers.Optimizer):
            raise TypeError(f"`{name}` must be a keras optimizer instance; received {name}={opt!r}.")
        if any(opt is o for o in others):
            raise ValueError(f"`{name}` must be its own optimizer object, not one passed for another network.")
        return wrap_loss_scale(opt)

    def compile(self, d_optimizer, g_optimizer, e_optimizer=None, **kwargs):
        """Configure training (see :meth:`GAN.compile`).

        Args:
            e_optimizer: the encoder's optimizer. None uses a fresh copy of
                ``g_optimizer``'s configuration (with its own state). Must not be
                the D or G optimizer object.
            **kwargs: :meth:`GAN.compile` arguments (``loss``, ``d_steps``,
                ``gp_weight``, ``r1_weight``, ``jit_compile``...).
        """
        if isinstance(g_optimizer, keras.optimizers.Optimizer):
            self.e_optimizer = self._extra_optimizer("e_optimizer", e_optimizer, g_optimizer,
                                                     (d_optimizer, g_optimizer))
        super().compile(d_optimizer, g_optimizer, **kwargs)
        self.mode_regularizer = ModeRegularizer(
            self.loss_fn if self.mode_loss is None else self.mode_loss, self.lambda2)

    def build_optimizers(self):
        super().build_optimizers()
        self.e_optimizer.build(self.e_variables)

    def extra_compile_config(self):
        config = super().extra_compile_config()
        config["e_optimizer"] = keras.saving.serialize_keras_object(unwrap_loss_scale(self.e_optimizer))
        return config

    @property
    def e_variables(self):
        """Variables updated with ``T_E`` (the encoder's)."""
        return self.encoder.trainable_variables

    def regularizer_names(self, prefix):
        """Names of the regulariser terms that are computed (lambda > 0)."""
        names = []
        if self.lambda1 > 0:
            names.append(f"{prefix}_geometric")
        if self.lambda2 > 0:
            names.append(f"{prefix}_mode")
        return names

    def loss_names(self):
        d, g = super().loss_names()
        if self.regularize_generator_step:
            g = [*g, *self.regularizer_names("g")]
        return d, g

    def phases(self):
        """Che et al. 2017, Sec. 3.2 (Eq. 3), per iteration:

        1. ``d_steps`` times: update D on real ``x`` vs ``G(z)`` (the base GAN's D step);
        2. from one forward pass on the last real slice ``x`` and fresh ``z``:
           update G on ``T_G`` (every term) and E on ``T_E`` (the regularisers,
           logged as ``e_loss``; skipped when both lambdas are 0).
        """
        d, g = self.loss_names()
        return (
            Phase("d", "d_losses", d, [Update("d_optimizer", "d_variables")], total="d_loss",
                  repeat="d_steps", data="slice"),
            Phase("g", "g_losses", g, [Update("g_optimizer", "g_variables"),
                                       Update("e_optimizer", "e_variables", terms=self.regularizer_names("g"),
                                              log="e_loss")],
                  total="g_loss", data="last"),
        )

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        mode_loss = self.mode_loss
        if mode_loss is not None and not isinstance(mode_loss, str):
            mode_loss = keras.saving.serialize_keras_object(mode_loss)
        config.update({
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "lambda1": self.lambda1,
            "lambda2": self.lambda2,
            "geometric": self.geometric,
            "distance": self.distance,
            "feature_key": self.feature_key,
            "mode_loss": mode_loss,
        })
        return config

    # ------------------------------------------------------------------ building blocks
    def reconstruct_images(self, x, y=None, training=True):
        """``G(E(x))`` (``G(E(x), y)`` for conditional models, with the real labels)."""
        z = self.encoder(x, training=training)
        return self.generator(self.generator_inputs(z, y), training=training)

    def reconstruct(self, x, labels=None, batch_size=500):
        """``G(E(x))`` for a numpy array ``x`` (inference mode), as numpy."""
        import numpy as np

        check_positive_int("batch_size", batch_size)
        x = np.asarray(x, dtype="float32")
        if x.shape[1:] != self.data_shape:
            raise ValueError(f"`x` must have shape (N, *{self.data_shape}); received shape {x.shape}.")
        if self.num_classes is not None:
            if labels is None:
                raise ValueError("This model is class-conditional: pass `labels` (N,) for reconstruct().")
            labels = np.asarray(labels).reshape(-1).astype("int32")
        out = []
        for i in range(0, len(x), batch_size):
            y = None if labels is None else tf.constant(labels[i:i + batch_size])
            out.append(np.asarray(self.reconstruct_images(x[i:i + batch_size], y, training=False)))
        return np.concatenate(out, axis=0) if out else np.zeros((0, *self.data_shape), "float32")

    def geometric_inputs(self, x, x_rec, y, discriminate):
        """What the geometric distance compares: pixels, or D features (no augmentation)."""
        if self.geometric == "pixel":
            return x, x_rec
        real = discriminate(x, y, training=True, augment=False)
        fake = discriminate(x_rec, y, training=True, augment=False)
        if self.feature_key not in real:
            raise ValueError(
                f"geometric='features' needs the discriminator output {self.feature_key!r}; it returns "
                f"{sorted(real)}.")
        return tf.stop_gradient(real[self.feature_key]), fake[self.feature_key]

    def regularizer_terms(self, x, y, prefix="g", discriminate=None):
        """``{prefix_geometric: lambda1 mean d(x, G(E(x))), prefix_mode: lambda2 mean m(D(G(E(x))))}``.

        Terms with a zero weight are left out (and nothing is computed when both are zero).
        ``discriminate`` is the discriminator call (``self.discriminate`` by default).
        """
        if x is None:
            raise ValueError(f"{type(self).__name__}: the regularisers need the real batch x.")
        if self.mode_regularizer is None:
            raise ValueError(f"{type(self).__name__}: call compile() before computing the regularisers.")
        discriminate = discriminate or self.discriminate
        terms = {}
        if self.lambda1 == 0 and self.lambda2 == 0:
            return terms
        x_rec = self.reconstruct_images(x, y, training=True)
        if self.lambda1 > 0:
            a, b = self.geometric_inputs(x, x_rec, y, discriminate)
            terms[f"{prefix}_geometric"] = tf.reduce_mean(self.geometric_regularizer.call(a, b))
        if self.lambda2 > 0:
            logit = discriminate(x_rec, y)["logit"]
            terms[f"{prefix}_mode"] = tf.reduce_mean(self.mode_regularizer.call(None, logit))
        return terms

    def g_losses(self, batch):
        """``T_G``: the base adversarial term plus the geometric and mode regularisers."""
        terms = super().g_losses(batch)
        if self.regularize_generator_step:
            terms.update(self.regularizer_terms(batch.x, batch.y, "g"))
        return terms


@keras.saving.register_keras_serializable(package="kgan")
class MDGAN(RegularizedGAN):
    """Manifold-Diffusion GAN (Che et al. 2017, Sec. 3.3, Algorithm 1).

    Each ``train_step`` runs the two steps of the paper on the same batch:

    1. **Manifold step.** ``d_steps`` updates of D1 (``discriminator``) on real
       ``x`` vs fake ``G(E(x))``; then one joint update of G and E on
       ``lambda1 mean d(x, G(E(x))) + lambda2 mean g(D1(G(E(x))))`` (docs/mode_regularized.md:
       ``l1 d(x, G(E(x))) - log D1(G(E(x)))``; ``lambda2 = 1`` by default).
    2. **Diffusion step.** ``d_steps`` updates of D2 (``diffusion_discriminator``)
       on ``G(E(x))`` as *real* vs ``G(z)`` as fake; then one update of G on
       ``mean g(D2(G(z)))``.

    ``g`` / ``d_real`` / ``d_fake`` are the compiled adversarial loss (any of
    ``kgan.losses.LOSSES``) for both discriminators; the mode term of step 1
    uses ``mode_loss`` (default: the compiled loss's ``g``, i.e. ``-log D1`` for
    the default non-saturating loss). R1 / WGAN-GP
    penalties apply to both discriminators (D2's real samples are ``G(E(x))``).
    G's two updates share ``g_optimizer``; E has ``e_optimizer`` and D2
    ``d2_optimizer``. The EMA is updated once per step, after the diffusion step.

    Logs: ``d_loss``/``d_adv`` (D1), ``m_loss``/``m_geometric``/``m_mode``
    (manifold step of G and E), ``d2_loss``/``d2_adv`` (D2), ``g_loss``/``g_adv``
    (diffusion step of G).

    Args:
        generator, discriminator, encoder: G, D1, E (see :class:`RegularizedGAN`).
        diffusion_discriminator: D2, a second discriminator with D1's input
            signature (required).
        lambda1: geometric regulariser weight (default 0.2, kgan's choice).
        lambda2: weight of the manifold step's realism term (default 1.0, the
            paper's unweighted ``-log D1(G(E(x)))``).
        **kwargs: as :class:`RegularizedGAN`.

    Example:
        >>> G, D1, E = kgan.nets.build("dcgan", 28, 1, encoder=True)
        >>> D2 = kgan.nets.dcgan_discriminator(28, 1, name="d2")
        >>> gan = kgan.models.MDGAN(G, D1, E, D2)
        >>> gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5),
        ...             g_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    """

    regularize_generator_step = False

    def __init__(self, generator, discriminator, encoder=None, diffusion_discriminator=None,
                 lambda1=0.2, lambda2=1.0, **kwargs):
        if diffusion_discriminator is None:
            raise ValueError(
                "MDGAN needs a second discriminator for the diffusion step: pass "
                "diffusion_discriminator=D2 (a model with the same input as `discriminator`, e.g. "
                "another kgan.nets.dcgan_discriminator); received diffusion_discriminator=None. "
                "For a single discriminator use kgan.models.RegularizedGAN.")
        if not isinstance(diffusion_discriminator, keras.Model):
            raise TypeError("`diffusion_discriminator` must be a keras.Model; received "
                            f"diffusion_discriminator={type(diffusion_discriminator).__name__}.")
        if diffusion_discriminator is discriminator:
            raise ValueError("`diffusion_discriminator` must be a different model from `discriminator` "
                             "(MDGAN trains two discriminators).")
        super().__init__(generator, discriminator, encoder, lambda1=lambda1, lambda2=lambda2, **kwargs)
        d_in = input_shapes(discriminator)
        d2_in = input_shapes(diffusion_discriminator)
        if [s[1:] for s in d2_in] != [s[1:] for s in d_in]:
            raise ValueError(
                f"The diffusion discriminator's input shape(s) {[s[1:] for s in d2_in]} do not match "
                f"the discriminator's {[s[1:] for s in d_in]}.")
        self.diffusion_discriminator = diffusion_discriminator
        self.d2_optimizer = None

    def compile(self, d_optimizer, g_optimizer, e_optimizer=None, d2_optimizer=None, **kwargs):
        """Configure training (see :meth:`RegularizedGAN.compile`).

        Args:
            d2_optimizer: D2's optimizer; None uses a fresh copy of ``d_optimizer``'s
                configuration.
            **kwargs: as :meth:`RegularizedGAN.compile`.
        """
        if isinstance(d_optimizer, keras.optimizers.Optimizer):
            self.d2_optimizer = self._extra_optimizer(
                "d2_optimizer", d2_optimizer, d_optimizer, (d_optimizer, g_optimizer, e_optimizer))
        super().compile(d_optimizer, g_optimizer, e_optimizer, **kwargs)

    def build_optimizers(self):
        super().build_optimizers()
        self.d2_optimizer.build(self.d2_variables)

    def extra_compile_config(self):
        config = super().extra_compile_config()
        config["d2_optimizer"] = keras.saving.serialize_keras_object(unwrap_loss_scale(self.d2_optimizer))
        return config

    @property
    def d2_variables(self):
        """Variables of the diffusion discriminator D2."""
        return self.diffusion_discriminator.trainable_variables

    def d2_loss_names(self):
        names = ["d2_adv"]
        if self.gp_weight > 0:
            names.append("d2_gp")
        if self.r1_weight > 0:
            names.append("d2_r1")
        return names

    def phases(self):
        """Che et al. 2017, Algorithm 1, per iteration (all on the same real batch):

        Manifold step
          1. ``d_steps`` times: update D1 on ``x`` (real) vs ``G(E(x))`` (fake);
          2. update G and E on ``lambda1 d(x, G(E(x))) + lambda2 g(D1(G(E(x))))``
             (last real slice; skipped when both lambdas are 0).
        Diffusion step
          3. ``d_steps`` times: update D2 on ``G(E(x))`` (real) vs ``G(z)`` (fake);
          4. update G on ``g(D2(G(z)))``.
        """
        d, g = self.loss_names()
        return (
            Phase("manifold_d", "d_losses", d, [Update("d_optimizer", "d_variables")], total="d_loss",
                  repeat="d_steps", data="slice"),
            Phase("manifold_g", "manifold_losses", self.regularizer_names("m"),
                  [Update("g_optimizer", "g_variables"), Update("e_optimizer", "e_variables")],
                  total="m_loss", data="last"),
            Phase("diffusion_d", "d2_losses", self.d2_loss_names(), [Update("d2_optimizer", "d2_variables")],
                  total="d2_loss", repeat="d_steps", data="slice"),
            Phase("diffusion_g", "g_losses", g, [Update("g_optimizer", "g_variables")], total="g_loss",
                  data="labels"),
        )

    def get_config(self):
        config = super().get_config()
        config["diffusion_discriminator"] = keras.saving.serialize_keras_object(self.diffusion_discriminator)
        return config

    # ------------------------------------------------------------------ building blocks
    def discriminate2(self, x, y=None, training=True, augment=True):
        """D2's outputs as a dict (``self.augment`` applied first, as for D1)."""
        if augment and self.augment is not None:
            x = self.augment(x, training=training)
        inputs = [x, y] if self.num_classes is not None else x
        out = self.diffusion_discriminator(inputs, training=training)
        if not isinstance(out, dict):
            out = {"logit": out}
        return out

    def d_losses(self, batch):
        """Manifold step, D1: real ``x`` vs fake ``G(E(x))`` (plus penalties)."""
        x_rec = tf.stop_gradient(self.reconstruct_images(batch.x, batch.y, training=True))
        real = self.discriminate(batch.x, batch.y)
        fake = self.discriminate(x_rec, batch.y)
        terms = self.adversarial_d(real, fake)
        terms.update(self.penalties(batch, x_rec))
        return terms

    def manifold_losses(self, batch):
        """Manifold step, G and E: ``lambda1 d(x, G(E(x))) + lambda2 g(D1(G(E(x))))``."""
        return self.regularizer_terms(batch.x, batch.y, "m", self.discriminate)

    def d2_losses(self, batch):
        """Diffusion step, D2: ``G(E(x))`` as real vs ``G(z)`` as fake (plus penalties)."""
        x_rec = tf.stop_gradient(self.reconstruct_images(batch.x, batch.y, training=True))
        x_fake = tf.stop_gradient(self.fake_images(batch, training=True))
        real = self.discriminate2(x_rec, batch.y)
        fake = self.discriminate2(x_fake, batch.y_fake)
        loss = self.loss_fn
        terms = {"d2_adv": tf.reduce_mean(loss.d_real(real["logit"])) + tf.reduce_mean(loss.d_fake(fake["logit"]))}

        def logit_fn(t):
            return self.discriminate2(t, batch.y, training=True)["logit"]

        if self.gp_weight > 0:
            u = self.random_uniform(tf.shape(x_rec)[0], [], batch.stream("wgan_gp/u"))
            terms["d2_gp"] = self.gp_weight * tf.reduce_mean(
                kgan_losses.gradient_penalty(logit_fn, x_rec, x_fake, u))
        if self.r1_weight > 0:
            terms["d2_r1"] = 0.5 * self.r1_weight * tf.reduce_mean(kgan_losses.r1_penalty(logit_fn, x_rec))
        return terms

    def g_losses(self, batch):
        """Diffusion step, G: ``mean g(D2(G(z)))``."""
        fake = self.discriminate2(self.fake_images(batch, training=True), batch.y_fake)
        return {"g_adv": tf.reduce_mean(self.loss_fn.g(fake["logit"]))}
