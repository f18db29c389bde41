"""The base GAN model every kgan method extends.

A method is a subclass that overrides :meth:`GAN.d_losses` and/or
:meth:`GAN.g_losses` (each returns a dict of named loss terms) and declares
the names in :meth:`GAN.loss_names`; a method whose algorithm has other steps
(more networks, more optimizers) declares them as data in :meth:`GAN.phases`
(:class:`Phase`, :class:`Update`). Everything else is here, once:

* ``train_step``: the declared phases in order (by default ``d_steps``
  discriminator updates on equal slices of the batch, then one generator
  update), then the generator EMA;
* named random streams (:mod:`kgan.models.phases`): every draw of a step is keyed by a string (e.g.
  ``"d/0/z"``, ``"d/1/maem/eps_real"``) hashed with a stable hash, together
  with the model seed, into a stateless seed ``(hash, step)``; a global batch
  is drawn and each replica takes its slice, so a ``MirroredStrategy`` step
  equals a single-device step on the same global batch, and two different
  names never share a draw;
* loss scaling for ``tf.distribute`` (a replica's loss is divided by the number
  of replicas because gradients are all-reduced with SUM; logs stay unscaled)
  and for mixed precision (``LossScaleOptimizer``);
* R1 and WGAN-GP penalties, optional augmentation (e.g. DiffAugment) applied
  to every discriminator input, metric trackers, ``.keras`` save/load of
  G, D, EMA and both optimizers.
"""
import keras
import tensorflow as tf

from kgan import losses as kgan_losses
from kgan.models import fast_paths
# the phase and stream vocabulary lives in kgan.models.phases; importable from here as before
from kgan.models.phases import (PHASE_DATA, _STREAM_RECORDERS, Batch, Phase, Update,  # noqa: F401
                                record_streams, stream_key)  # noqa: F401
from kgan.utils import check_non_negative, check_positive_int


#: The message of the check that a real batch is finite (the CLI prints it as one line).
NONFINITE_DATA = ("kgan: a batch of real data holds NaN or infinite values: the dataset is at fault, "
                  "not the training; check how it is loaded and scaled")


def input_shapes(model):
    """The shapes of ``model``'s inputs, batch dimension included: ``[(None, ...), ...]``."""
    return [tuple(t.shape) for t in model.inputs]


def discriminator_outputs(discriminator):
    """The discriminator's symbolic outputs, known without calling it: a dict of
    named ``KerasTensor``s (the kgan.nets discriminators), a single ``KerasTensor``,
    or None when they are only known once it is called (a subclassed model)."""
    try:
        return discriminator.output
    except (AttributeError, ValueError):
        return None


def deserialize_nested(config, keys=()):
    """A copy of ``config`` whose serialised Keras objects are objects again: the
    values of ``keys`` always, then every other value that is a serialised object
    (a dict with ``"class_name"`` and ``"config"``), as ``from_config`` and
    ``compile_from_config`` need."""
    config = dict(config)
    for key in keys:
        config[key] = keras.saving.deserialize_keras_object(config[key])
    for key, value in list(config.items()):
        if isinstance(value, dict) and "class_name" in value and "config" in value:
            config[key] = keras.saving.deserialize_keras_object(value)
    return config


def wrap_loss_scale(optimizer):
    """``optimizer`` in a ``LossScaleOptimizer`` when the global dtype policy is
    ``mixed_float16`` (unless it is one already); else ``optimizer`` itself."""
    if keras.config.dtype_policy().name == "mixed_float16" and not isinstance(
            optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def unwrap_loss_scale(optimizer):
    """The inner optimizer of a ``LossScaleOptimizer`` (what configs store, so a
    model saved under ``mixed_float16`` loads under any policy); else ``optimizer``."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.inner_optimizer
    return optimizer


@keras.saving.register_keras_serializable(package="kgan")
class GAN(keras.Model):
    """A generative adversarial network trained with ``fit``.

    Args:
        generator: a Keras model ``z -> x``, or ``[z, y] -> x`` when
            ``num_classes`` is set.
        discriminator: a Keras model ``x -> logit`` (or ``[x, y] -> ...``) that
            returns either the logit tensor (B, 1) or a dict with a ``"logit"``
            entry (kgan.nets discriminators return dicts with "logit",
            "features", "pooled" and optional heads).
        num_classes: number of classes for a class-conditional GAN, else None.
        ema_decay: decay of the generator's exponential moving average, used by
            :meth:`generate` and evaluation, once the ramp-up allows it; None
            disables the EMA.
        ema_start: step before which the EMA simply copies the generator
            (StudioGAN's ``ema_start``).
        ema_rampup: StyleGAN2-ADA's EMA ramp-up (Karras et al. 2020,
            ``training_loop.py``: ``ema_nimg = min(ema_nimg, cur_nimg *
            ema_rampup)``). In steps: the EMA's half-life is at most
            ``ema_rampup * t`` steps at step ``t``, i.e. the decay used at step
            ``t`` is ``min(ema_decay, 0.5 ** (1 / (ema_rampup * t)))``, so the
            average never reaches further back than a fixed fraction of the run:
            a 2k-step run averages over its last ~100 steps, a 100k-step run over
            the ``ema_decay`` horizon (693 steps at 0.999). The default 0.05 is
            StyleGAN2-ADA's. None: the fixed ``ema_decay`` from ``ema_start`` on
            (StudioGAN's schedule, made for 100k+-step runs: measured on
            Fashion-MNIST at 2k steps it scored FD 167 against the raw
            generator's 121).
        augment: a layer applied to every discriminator input, real and fake
            alike, while training (e.g. ``kgan.layers.DiffAugment``); it must be
            differentiable.
        seed: seed of all the noise the model draws.
        fake_labels: ``"sample"`` (labels of fakes drawn uniformly, as
            StudioGAN) or ``"real"`` (reuse the real batch's labels).

    Example:
        >>> gan = kgan.models.GAN(kgan.nets.mlp_generator(), kgan.nets.mlp_discriminator())
        >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-4, 0.5),
        ...             g_optimizer=keras.optimizers.Adam(1e-3, 0.5))
        >>> gan.fit(kgan.data.load("grid25", 512), epochs=1, steps_per_epoch=100)
        >>> points = gan.generate(2500)
    """

    conditional_required = False  # subclasses that need labels set True

    def __init__(self, generator, discriminator, num_classes=None, ema_decay=0.999,
                 ema_start=0, augment=None, seed=0, fake_labels="sample", ema_rampup=0.05, **kwargs):
        kwargs.setdefault("name", self.__class__.__name__.lower())
        super().__init__(**kwargs)
        if not isinstance(generator, keras.Model) or not isinstance(discriminator, keras.Model):
            raise TypeError(
                "`generator` and `discriminator` must be keras.Model instances; received "
                f"generator={type(generator).__name__}, discriminator={type(discriminator).__name__}.")
        self.generator = generator
        self.discriminator = discriminator
        g_inputs = input_shapes(generator)
        d_inputs = input_shapes(discriminator)
        if num_classes is not None:
            check_positive_int("num_classes", num_classes)
            if num_classes < 2:
                raise ValueError(f"`num_classes` must be >= 2; received num_classes={num_classes}.")
        if self.conditional_required and num_classes is None:
            raise ValueError(
                f"{type(self).__name__} is a class-conditional GAN: pass num_classes=K and a "
                "generator/discriminator built with num_classes (inputs [z, y] and [x, y]).")
        expected = 2 if num_classes is not None else 1
        for role, shapes in (("generator", g_inputs), ("discriminator", d_inputs)):
            if len(shapes) != expected:
                raise ValueError(
                    f"The {role} takes {len(shapes)} input(s) {shapes} but num_classes={num_classes} "
                    f"needs {expected} ({'[z, y] / [x, y]' if expected == 2 else 'z / x'}). Build it "
                    "with num_classes to match the model.")
        self.num_classes = num_classes
        self.latent_dim = int(g_inputs[0][-1])
        self.data_shape = tuple(generator.outputs[0].shape[1:])
        if self.data_shape != tuple(d_inputs[0][1:]):
            raise ValueError(
                f"The generator's output shape {self.data_shape} does not match the "
                f"discriminator's input shape {tuple(d_inputs[0][1:])}.")
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"`ema_decay` must be in [0, 1) or None; received ema_decay={ema_decay!r}.")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_start = check_positive_int("ema_start", ema_start, allow_zero=True)
        if ema_rampup is not None and not (isinstance(ema_rampup, (int, float)) and not isinstance(
                ema_rampup, bool) and ema_rampup > 0):
            raise ValueError(f"`ema_rampup` must be a positive number or None; received ema_rampup={ema_rampup!r}.")
        self.ema_rampup = None if ema_rampup is None else float(ema_rampup)
        if fake_labels not in ("sample", "real"):
            raise ValueError(f"`fake_labels` must be 'sample' or 'real'; received fake_labels={fake_labels!r}.")
        self.fake_labels = fake_labels
        self.augment = augment
        self.seed = int(seed)
        if self.ema_decay is not None:
            self.generator_ema = keras.models.clone_model(generator)
            self.generator_ema.set_weights(generator.get_weights())
        else:
            self.generator_ema = generator
        # One counter of generator updates drives the noise seeds and the EMA start.
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False, name="step_counter",
                                           aggregation="only_first_replica")
        self.d_optimizer = None
        self.g_optimizer = None
        self.built = True

    # ------------------------------------------------------------------ compile
    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", d_steps=1, gp_weight=0.0,
                r1_weight=0.0, **kwargs):
        """Configure training.

        Args:
            d_optimizer, g_optimizer: Keras optimizers (built here, eagerly and
                inside the model's distribution strategy, as MirroredStrategy needs).
            loss: an adversarial loss name (``kgan.losses.LOSSES``) or object.
            d_steps: discriminator updates per generator update (the repeat of
                every phase declared with ``repeat="d_steps"``). Each
                ``train_step`` splits its batch into ``d_steps`` equal slices, one
                per D update (a fresh real batch per D step, as StudioGAN), so
                batch the data with ``d_steps * batch_size``.
            gp_weight: WGAN-GP weight lambda (Gulrajani et al. 2017), 0 disables.
            r1_weight: R1 weight gamma (Mescheder et al. 2018); the term is
                ``gamma / 2 * ||grad D(x)||^2``; 0 disables.
            **kwargs: passed to ``keras.Model.compile`` (``jit_compile``,
                ``steps_per_execution``, ``run_eagerly``).
        """
        for name, opt in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)):
            if not isinstance(opt, keras.optimizers.Optimizer):
                raise TypeError(f"`{name}` must be a keras optimizer instance; received {name}={opt!r}.")
        if d_optimizer is g_optimizer:
            raise ValueError("`d_optimizer` and `g_optimizer` must be two different optimizer objects.")
        for key in ("optimizer", "loss_weights", "metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(f"GAN.compile does not take `{key}`; pass d_optimizer and g_optimizer.")
            kwargs.pop(key, None)
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=None, **kwargs)
        self.loss_fn = kgan_losses.get(loss)
        self.d_steps = check_positive_int("d_steps", d_steps)
        self.gp_weight = check_non_negative("gp_weight", gp_weight)
        self.r1_weight = check_non_negative("r1_weight", r1_weight)
        self.d_optimizer, self.g_optimizer = wrap_loss_scale(d_optimizer), wrap_loss_scale(g_optimizer)
        with self.distribute_strategy.scope():
            self.build_optimizers()
            self.trackers = {n: keras.metrics.Mean(name=n) for n in self.tracker_names()}

    def build_optimizers(self):
        """Create the optimizers' variables now (under MirroredStrategy, Keras 3
        cannot create slot variables lazily inside ``strategy.run``)."""
        self.d_optimizer.build(self.d_variables)
        self.g_optimizer.build(self.g_variables)

    @property
    def d_variables(self):
        """Variables updated by the discriminator step (override to add e.g. heads)."""
        return self.discriminator.trainable_variables

    @property
    def g_variables(self):
        """Variables updated by the generator step."""
        return self.generator.trainable_variables

    def phases(self):
        """The training algorithm as data: the :class:`Phase` s one ``train_step`` runs, in order.

        The base GAN (Goodfellow et al. 2014, Algorithm 1, with ``k = d_steps``):

        1. ``d_steps`` times: update D on :meth:`d_losses` (real ``x`` vs ``G(z)``),
           each time on the next slice of the batch and fresh noise;
        2. update G on :meth:`g_losses` (fresh noise).

        A method with other steps overrides this (e.g. :class:`kgan.models.MDGAN`);
        a method that only adds loss terms overrides :meth:`loss_names` and
        :meth:`d_losses` / :meth:`g_losses` instead.
        """
        d, g = self.loss_names()
        return (
            Phase("d", "d_losses", d, [Update("d_optimizer", "d_variables")], total="d_loss",
                  repeat="d_steps", data="slice"),
            Phase("g", "g_losses", g, [Update("g_optimizer", "g_variables")], total="g_loss", data="labels"),
        )

    def active_phases(self):
        """:meth:`phases` without the skipped ones (no terms), checked."""
        phases = tuple(p for p in self.phases() if p.names)
        seen = set()
        for p in phases:
            where = f"{type(self).__name__}.phases(): phase {p.name!r}"
            if not isinstance(p, Phase):
                raise TypeError(f"{type(self).__name__}.phases() must return Phase objects; received {p!r}.")
            if p.name in seen:
                raise ValueError(f"{where} is declared twice; phase names must be unique.")
            seen.add(p.name)
            if not callable(getattr(self, p.losses, None)):
                raise ValueError(f"{where}: losses={p.losses!r} is not a method of the model.")
            if not (p.repeat == "d_steps" or isinstance(p.repeat, int) and not isinstance(p.repeat, bool)
                    and p.repeat >= 1):
                raise ValueError(f"{where}: repeat must be a positive int or 'd_steps'; received "
                                 f"repeat={p.repeat!r}.")
            if p.data not in PHASE_DATA:
                raise ValueError(f"{where}: data must be one of {PHASE_DATA}; received data={p.data!r}.")
            if p.data == "slice" and p.repeat != "d_steps":
                raise ValueError(f"{where}: data='slice' gives update k the k-th of d_steps slices, so it "
                                 f"needs repeat='d_steps'; received repeat={p.repeat!r}.")
            if not p.updates:
                raise ValueError(f"{where} declares no Update.")
            for u in p.updates:
                if not isinstance(getattr(self, u.optimizer, None), keras.optimizers.Optimizer):
                    raise ValueError(f"{where}: optimizer={u.optimizer!r} is not an optimizer of the model "
                                     "(compile sets it).")
                unknown = sorted(set(u.terms or ()) - set(p.names))
                if unknown:
                    raise ValueError(f"{where}: the update of {u.variables!r} minimises terms {unknown} the "
                                     f"phase does not declare (declared: {list(p.names)}).")
        return phases

    def tracker_names(self):
        """The metric trackers, from the declared phases: every phase's ``total``,
        then its terms, then the updates' ``log`` s (each name once)."""
        phases = self.active_phases()
        names = ([p.total for p in phases] + [n for p in phases for n in p.names]
                 + [u.log for p in phases for u in p.updates if u.log and u.terms != ()])
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"{type(self).__name__}.phases(): the logged names {dup} are declared more than "
                             "once; every phase total, term and update log needs its own name.")
        return names

    def loss_names(self):
        """Names of the terms :meth:`d_losses` and :meth:`g_losses` return."""
        d = ["d_adv"]
        if self.gp_weight > 0:
            d.append("d_gp")
        if self.r1_weight > 0:
            d.append("d_r1")
        return d, ["g_adv"]

    @property
    def metrics(self):
        return list(getattr(self, "trackers", {}).values())

    def get_compile_config(self):
        if self.d_optimizer is None:
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(unwrap_loss_scale(self.d_optimizer)),
            "g_optimizer": keras.saving.serialize_keras_object(unwrap_loss_scale(self.g_optimizer)),
            "loss": keras.saving.serialize_keras_object(self.loss_fn),
            "d_steps": self.d_steps,
            "gp_weight": self.gp_weight,
            "r1_weight": self.r1_weight,
            **self.extra_compile_config(),
        }

    def extra_compile_config(self):
        """Compile arguments a subclass adds (returned dict is passed back to compile)."""
        return {}

    def compile_from_config(self, config):
        self.compile(**deserialize_nested(config, keys=("d_optimizer", "g_optimizer", "loss")))

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "num_classes": self.num_classes,
            "ema_decay": self.ema_decay,
            "ema_start": self.ema_start,
            "ema_rampup": self.ema_rampup,
            "augment": None if self.augment is None else keras.saving.serialize_keras_object(self.augment),
            "seed": self.seed,
            "fake_labels": self.fake_labels,
            "name": self.name,
        }
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_nested(config))

    # ------------------------------------------------------------------ sampling
    def call(self, inputs, training=False):
        """Run the (non-EMA) generator on ``z`` or ``[z, y]``."""
        return self.generator(inputs, training=training)

    def generate(self, n, labels=None, batch_size=500, use_ema=True, seed=0):
        """Draw ``n`` samples as a numpy array (EMA generator by default).

        Args:
            n: number of samples.
            labels: for conditional models, an int array of ``n`` labels; None
                draws them uniformly. Ignored by unconditional models.
            batch_size: generation batch size.
            use_ema: use the EMA generator (if the model keeps one).
            seed: the noise seed; the same seed gives the same samples.
        """
        import numpy as np

        check_positive_int("n", n)
        check_positive_int("batch_size", batch_size)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.latent_dim)).astype("float32")
        if self.num_classes is not None:
            if labels is None:
                labels = rng.integers(0, self.num_classes, size=n)
            labels = np.asarray(labels).reshape(-1).astype("int32")
            if labels.shape[0] != n:
                raise ValueError(f"`labels` must hold n={n} labels; received {labels.shape[0]}.")
            if labels.min() < 0 or labels.max() >= self.num_classes:
                raise ValueError(
                    f"`labels` must be in [0, {self.num_classes}); received values in "
                    f"[{labels.min()}, {labels.max()}].")
        net = self.generator_ema if use_ema else self.generator
        out = []
        for i in range(0, n, batch_size):
            inputs = z[i:i + batch_size]
            if self.num_classes is not None:
                inputs = [inputs, labels[i:i + batch_size]]
            out.append(np.asarray(net(inputs, training=False), dtype="float32"))
        return np.concatenate(out, axis=0)

    # ------------------------------------------------------------------ randomness
    def stream_seed(self, name):
        """The stateless seed ``[stream_key(seed, name), step]`` of the random
        stream ``name`` (a string, e.g. ``batch.stream("mix/lam")``) at the
        current generator step: the same on every replica and for every
        replica count, different for every name, step and model seed."""
        key = stream_key(self.seed, name)
        for draws in _STREAM_RECORDERS:
            draws.append((name, key))
        step = tf.cast(self.step_counter, tf.int64)
        return tf.stack([tf.constant(key, tf.int64), step])

    def _replica_slice(self, draw, local_n):
        """Draw ``local_n * replicas`` rows with ``draw(global_n)`` and keep this
        replica's rows, so the result does not depend on the replica count."""
        ctx = tf.distribute.get_replica_context()
        n_rep = ctx.num_replicas_in_sync if ctx is not None else 1
        rid = ctx.replica_id_in_sync_group if ctx is not None else 0
        if n_rep == 1:
            return draw(local_n)
        values = draw(local_n * n_rep)
        return values[rid * local_n:(rid + 1) * local_n]

    def random_normal(self, local_n, shape, name):
        """Per-sample N(0, 1) draws of ``shape`` from the stream ``name``
        (``batch.stream(...)``), replica-count invariant."""
        seed = self.stream_seed(name)
        return self._replica_slice(lambda n: tf.random.stateless_normal([n, *shape], seed=seed), local_n)

    def random_uniform(self, local_n, shape, name, minval=0.0, maxval=1.0, dtype=tf.float32):
        """Per-sample uniform draws of ``shape`` from the stream ``name``, replica-count invariant."""
        seed = self.stream_seed(name)
        return self._replica_slice(
            lambda n: tf.random.stateless_uniform([n, *shape], seed=seed, minval=minval, maxval=maxval,
                                                  dtype=dtype), local_n)

    def make_batch(self, x, y, local_n, update):
        """The :class:`Batch` of the update named ``update`` (``"d/0"``, ``"g/0"``...):
        ``z`` from the stream ``"<update>/z"``, sampled fake labels from ``"<update>/y_fake"``."""
        batch = Batch(x, y, None, None, update)
        batch.z = self.random_normal(local_n, [self.latent_dim], batch.stream("z"))
        if self.num_classes is not None:
            if self.fake_labels == "real" and y is not None:
                batch.y_fake = y
            else:
                batch.y_fake = self.random_uniform(local_n, [], batch.stream("y_fake"), 0, self.num_classes,
                                                   tf.int32)
        return batch

    # ------------------------------------------------------------------ building blocks
    def generator_inputs(self, z, y):
        return [z, y] if self.num_classes is not None else z

    def fake_images(self, batch, training=True):
        """``G(z)`` (or ``G(z, y_fake)``) for ``batch``."""
        return self.generator(self.generator_inputs(batch.z, batch.y_fake), training=training)

    def discriminate(self, x, y=None, training=True, augment=True):
        """Discriminator outputs as a dict (``"logit"`` always present).

        Applies ``self.augment`` first when set and ``augment`` is True.
        """
        if augment and self.augment is not None:
            x = self.augment(x, training=training)
        inputs = [x, y] if self.num_classes is not None else x
        out = self.discriminator(inputs, training=training)
        if not isinstance(out, dict):
            out = {"logit": out}
        return out

    def adversarial_d(self, real, fake):
        """``{"d_adv": mean d_real(D(x)) + mean d_fake(D(G(z)))}``."""
        return {"d_adv": tf.reduce_mean(self.loss_fn.d_real(real["logit"]))
                + tf.reduce_mean(self.loss_fn.d_fake(fake["logit"]))}

    def adversarial_g(self, fake):
        """``{"g_adv": mean g(D(G(z)))}``."""
        return {"g_adv": tf.reduce_mean(self.loss_fn.g(fake["logit"]))}

    def penalties(self, batch, x_fake):
        """R1 and WGAN-GP terms, as configured."""
        terms = {}

        def logit_fn(x):
            return self.discriminate(x, batch.y, training=True)["logit"]

        if self.gp_weight > 0:
            u = self.random_uniform(tf.shape(batch.x)[0], [], batch.stream("wgan_gp/u"))
            gp = kgan_losses.gradient_penalty(logit_fn, batch.x, x_fake, u)
            terms["d_gp"] = self.gp_weight * tf.reduce_mean(gp)
        if self.r1_weight > 0:
            terms["d_r1"] = 0.5 * self.r1_weight * tf.reduce_mean(kgan_losses.r1_penalty(logit_fn, batch.x))
        return terms

    # ------------------------------------------------------------------ the two losses
    def d_losses(self, batch):
        """Discriminator loss terms for one D update: the adversarial loss on
        real ``x`` and ``G(z)``, plus configured penalties."""
        x_fake = tf.stop_gradient(self.fake_images(batch, training=True))
        real = self.discriminate(batch.x, batch.y)
        fake = self.discriminate(x_fake, batch.y_fake)
        terms = self.adversarial_d(real, fake)
        terms.update(self.penalties(batch, x_fake))
        return terms

    def g_losses(self, batch):
        """Generator loss terms for one G update."""
        fake = self.discriminate(self.fake_images(batch, training=True), batch.y_fake)
        return self.adversarial_g(fake)

    # ------------------------------------------------------------------ the step
    #: Skip variables that get no gradient instead of handing None to the
    #: optimizer (which warns); MaEM-GAN sets it (D's unused "logit" head).
    skip_missing_gradients = False

    def scaled(self, optimizer, loss):
        """``loss`` divided by the replica count and loss-scaled (call inside the tape)."""
        ctx = tf.distribute.get_replica_context()
        n_rep = ctx.num_replicas_in_sync if ctx is not None else 1
        loss = tf.cast(loss, tf.float32)
        if n_rep > 1:  # (a division by 1 is exact: skipping it drops it and its gradient from the graph)
            loss = loss / n_rep
        return optimizer.scale_loss(loss)

    def apply_update(self, optimizer, grads, variables):
        """Apply ``grads`` (of a :meth:`scaled` loss) to ``variables``; the
        optimizer all-reduces them across replicas and undoes the loss scale.

        A plain ``keras.optimizers.Adam`` on one device is applied with about 14
        kernels per variable instead of Keras's 29, the same numbers
        (:func:`kgan.models.fast_paths.fused_adam_apply`); anything else goes
        through ``optimizer.apply``."""
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None or not self.skip_missing_gradients]
        grads = [g if g is None else tf.cast(g, v.dtype) for g, v in pairs]
        variables = [v for _, v in pairs]
        if not fast_paths.fused_adam_apply(optimizer, grads, variables):
            optimizer.apply(grads, variables)

    def run_update(self, phase, batch):
        """One update of ``phase`` on ``batch``: its terms in one tape, every
        :class:`Update`'s gradient (all taken before any is applied), then the trackers."""
        updates = [u for u in phase.updates if u.terms != ()]
        with tf.GradientTape(persistent=len(updates) > 1) as tape:
            terms = getattr(self, phase.losses)(batch)
            if set(terms) != set(phase.names):
                raise ValueError(
                    f"{type(self).__name__}: phase {phase.name!r} returned the loss terms {sorted(terms)}, not "
                    f"the declared {sorted(phase.names)} (loss_names() / phases()).")
            total = tf.add_n([tf.cast(v, tf.float32) for v in terms.values()])
            sums = [total if u.terms is None else tf.add_n([tf.cast(terms[n], tf.float32) for n in u.terms])
                    for u in updates]
            losses = [self.scaled(getattr(self, u.optimizer), value) for u, value in zip(updates, sums)]
        grads = [tape.gradient(loss, getattr(self, u.variables)) for u, loss in zip(updates, losses)]
        del tape
        for u, g in zip(updates, grads):
            self.apply_update(getattr(self, u.optimizer), g, getattr(self, u.variables))
        fast_paths.track(self.trackers[phase.total], total)
        for u, value in zip(updates, sums):
            if u.log:
                fast_paths.track(self.trackers[u.log], value)
        for name, value in terms.items():
            fast_paths.track(self.trackers[name], value)

    def unpack(self, data):
        """``(x, y)`` from a batch; checks labels for conditional models."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(x, (tuple, list)) and y is None and len(x) == 2:
            x, y = x
        x = tf.convert_to_tensor(x)
        if x.dtype.is_floating:  # a NaN in the data is the data's fault: say so, not "lower the learning rate"
            x = tf.debugging.assert_all_finite(x, NONFINITE_DATA)
        if self.num_classes is not None:
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} is class-conditional (num_classes={self.num_classes}) "
                    "but the dataset yields images without labels. Load it with labels, e.g. "
                    "kgan.data.load(name, batch_size, labels=True).")
            y = tf.convert_to_tensor(y)
            if not y.dtype.is_integer or (y.shape.rank or 0) > 1 and y.shape[-1] not in (None, 1):
                raise ValueError(
                    f"{type(self).__name__}: labels must be integer class ids of shape (batch,); the dataset "
                    f"yields {y.dtype.name} labels of shape {tuple(y.shape)}"
                    + (" (one-hot? pass tf.argmax(y, axis=-1))" if (y.shape.rank or 0) > 1 else "")
                    + (" (floats are not rounded: cast class ids to int32)" if not y.dtype.is_integer else "")
                    + ".")
            y = tf.cast(tf.reshape(y, [-1]), tf.int32)
            message = f"labels must be in [0, num_classes={self.num_classes})"
            checks = [tf.debugging.assert_non_negative(y, message=message),
                      tf.debugging.assert_less(y, tf.constant(self.num_classes, tf.int32), message=message)]
            with tf.control_dependencies(checks):
                y = tf.identity(y)
        else:
            y = None
        return x, y

    def train_step(self, data):
        """Run the declared :meth:`phases` in order, each ``repeat`` times on a
        fresh :class:`Batch` (noise from the update's named streams), then the EMA."""
        x, y = self.unpack(data)
        local_n = tf.shape(x)[0] // self.d_steps
        xs = tf.split(x, self.d_steps) if self.d_steps > 1 else [x]
        ys = tf.split(y, self.d_steps) if (y is not None and self.d_steps > 1) else [y] * self.d_steps
        for phase in self.active_phases():
            for k in range(self.d_steps if phase.repeat == "d_steps" else phase.repeat):
                if phase.data == "slice":
                    real_x, real_y = xs[k], ys[k]
                else:
                    real_x, real_y = (xs[-1] if phase.data == "last" else None), ys[-1]
                self.run_update(phase, self.make_batch(real_x, real_y, local_n, f"{phase.name}/{k}"))
        self.update_ema()
        self.step_counter.assign_add(1)
        return self.logs()

    def logs(self):
        logs = {m.name: m.result() for m in self.metrics}
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # scalar logs fail in strategy.reduce(..., axis=0) under multi-worker training
            logs = {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

    def ema_decay_at(self, step):
        """The EMA decay used after generator step ``step`` (0-based): 0 before
        ``ema_start``, then ``ema_decay`` capped by the ramp-up (see ``ema_rampup``)."""
        step = tf.cast(step, tf.float32)
        decay = tf.constant(self.ema_decay, tf.float32)
        if self.ema_rampup is not None:
            t = tf.maximum(step + 1.0 - float(self.ema_start), 1.0)  # steps averaged so far
            decay = tf.minimum(decay, tf.pow(0.5, 1.0 / (self.ema_rampup * t)))
        return tf.where(step >= float(self.ema_start), decay, 0.0)

    def update_ema(self):
        """``ema = decay * ema + (1 - decay) * w`` for the generator's trainable
        weights (a copy before ``ema_start``; ``decay`` from :meth:`ema_decay_at`);
        other weights (BN statistics, spectral-norm vectors) are copied."""
        if self.ema_decay is None:
            return
        decay = self.ema_decay_at(self.step_counter)
        trainable = {id(v) for v in self.generator.trainable_weights}
        for e, w in zip(self.generator_ema.weights, self.generator.weights):
            if id(w) in trainable:
                e.assign(tf.cast(decay, e.dtype) * e + tf.cast(1.0 - decay, e.dtype) * w)
            else:
                e.assign(w)
