"""MaEM-GAN: manifold entropy estimation with DLLE and DIsoMap (Liu et al., AAAI 2023).

The discriminator is a feature embedding: it returns an m-dim ``"code"`` (the
``"code"`` head of the kgan.nets discriminators) whose mean is the realness
scored by the MaF loss (:class:`kgan.losses.MaF`). Three regularisers, each
switchable, shape that embedding and use it:

* ``entropy`` (:class:`kgan.losses.ManifoldEntropy`, generator step): spread
  the generated codes, searched against a FIFO replay buffer
  (:class:`kgan.layers.ReplayBuffer`) of the last ``buffer_size`` codes;
* ``dlle`` (:class:`kgan.losses.DLLE`, discriminator step): codes invariant to
  a small transform ``F``, on real and fake samples;
* ``disomap`` (:class:`kgan.losses.DIsoMap`, discriminator step): the code of
  a mix is the mix of the codes.

The paper's ablation is four constructor calls::

    MaEMGAN(G, D, entropy=None, dlle=None, disomap=None)   # MaF-GAN baseline
    MaEMGAN(G, D, entropy=None, dlle=None)                 # + DIsoMap
    MaEMGAN(G, D, entropy=None, disomap=None)              # + DLLE
    MaEMGAN(G, D, dlle=None, disomap=None)                 # + RB-MaEM entropy
    MaEMGAN(G, D)                                          # all three
"""
import keras
import tensorflow as tf

from kgan.layers.replay_buffer import ReplayBuffer
from kgan.losses.maem import DIsoMap, DLLE, MaF, ManifoldEntropy, reparameterize
from kgan.models.gan import GAN, discriminator_outputs
from kgan.utils import check_bool, check_positive_int


#: The paper's ablation (Table 4): which regularisers each row switches on.
ABLATIONS = {
    "baseline": (),
    "disomap": ("disomap",),
    "dlle": ("dlle",),
    "entropy": ("entropy",),
    "all": ("entropy", "dlle", "disomap"),
}


def ablation_kwargs(name, entropy=True, dlle=True, disomap=True):
    """Constructor keywords of one ablation row: the named regularisers get the
    given objects, the others None. ``name`` is a key of :data:`ABLATIONS`."""
    if name not in ABLATIONS:
        raise ValueError(f"`ablation` must be one of {sorted(ABLATIONS)}; received ablation={name!r}.")
    on = ABLATIONS[name]
    return {"entropy": entropy if "entropy" in on else None, "dlle": dlle if "dlle" in on else None,
            "disomap": disomap if "disomap" in on else None}


def _mean(loss, y_true, y_pred):
    """Batch mean of ``loss.call`` (not ``loss(...)``: Keras' ``Loss.__call__``
    already divides by the replica count under ``tf.distribute``, and
    :meth:`GAN.scaled` does that once for the whole sum)."""
    return tf.reduce_mean(loss.call(y_true, y_pred))


def _code_width(discriminator, code_key):
    """Static width of the discriminator's ``code_key`` output."""
    out = discriminator_outputs(discriminator)
    if out is None:
        spec_in = [keras.KerasTensor(tuple(t.shape), dtype=t.dtype) for t in discriminator.inputs]
        out = discriminator.compute_output_spec(spec_in[0] if len(spec_in) == 1 else spec_in)
    if not isinstance(out, dict) or code_key not in out:
        have = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise ValueError(
            f"MaEMGAN needs a discriminator returning a dict with a {code_key!r} output (the m-dim "
            f"code V); it returns {have}. Build it with heads=('logit', 'code'), e.g. "
            "kgan.nets.dcgan_discriminator(..., heads=('logit', 'code'), code_dim=16).")
    width = out[code_key].shape[-1]
    if width is None or len(out[code_key].shape) != 2:
        raise ValueError(
            f"The discriminator's {code_key!r} output must have shape (batch, m); it has "
            f"{tuple(out[code_key].shape)}.")
    return int(width)


def _as_regulariser(name, value, cls):
    if value is None or value is False:
        return None
    if value is True:
        return cls()
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if not isinstance(value, cls):
        raise TypeError(
            f"`{name}` must be None/False (off), True (defaults) or a kgan.losses.{cls.__name__}; "
            f"received {name}={value!r}.")
    return value


@keras.saving.register_keras_serializable(package="kgan")
class MaEMGAN(GAN):
    """MaEM-GAN (Liu et al., "Combating Mode Collapse via Manifold Entropy Estimation", AAAI 2023).

    Discriminator step (on each of the ``d_steps`` slices)::

        V_r, V_f = D(x), D(sg(G(z)))                       # (B, m) codes
        L_D = MaF(V_r, V_f)                                 # mean_k V_f - mean_k V_r
              + dlle.weight * DLLE(real and fake)           # if dlle
              + disomap.weight * DIsoMap(mixes)             # if disomap
              + sigma_t * L_ent(V_r; real buffer)           # if entropy_on_real (official code)

    Generator step::

        V = D(G(z));  L_G = -mean_k V + sigma_t * L_ent(V; buffer)    # entropy, if on
        buffer <- V  (FIFO, after the loss, stop-gradient)

    Args:
        generator: ``z -> x``.
        discriminator: returns a dict with ``code_key`` (B, m) -- or (B, 2m)
            ``[mu, logvar]`` when ``reparameterize`` (e.g.
            ``kgan.nets.dcgan_discriminator(..., heads=("logit", "code"), code_dim=2 * m)``).
            Its ``"logit"`` head, if any, is not used (realness is the code's
            mean) and gets no gradient.
        entropy: a :class:`kgan.losses.ManifoldEntropy`, True (defaults: cosine,
            sigma 5e-4, no warm-up) or None/False to switch it off.
        dlle: a :class:`kgan.losses.DLLE`, True (defaults), or None/False.
        disomap: a :class:`kgan.losses.DIsoMap`, True (defaults), or None/False.
        buffer_size: replay-buffer length N (paper 1024; >= 1).
        code_dim: m, or None to read it from the discriminator; a value that
            disagrees with the discriminator is an error.
        reparameterize: D's code is ``[mu, logvar]`` and the adversarial loss
            scores ``mu + eps * exp(logvar / 2)`` (official code's adaptive
            reparameterisation). The regularisers and the buffer use ``mu``
            (the official code's ``embedding()``), not the noisy sample.
        entropy_on_real: also let D minimise ``sigma_t * L_ent`` of the real
            codes against a second buffer of real codes (official code; the
            paper trains only G with the entropy term). Default False.
        code_key: name of the code output.
        **kwargs: :class:`kgan.models.GAN` arguments (``ema_decay``, ``seed``...).

    The replay buffers are :class:`kgan.layers.ReplayBuffer` layers created here
    (inside the strategy scope when the model is), saved with the model; under
    ``tf.distribute`` the global batch's codes are gathered so every replica's
    buffer is identical.

    ``compile`` defaults to ``loss="maf"`` (:class:`kgan.losses.MaF`); any
    kgan adversarial loss can be used instead and then scores the realness
    ``mean_k V_k``.

    Composition: :meth:`d_losses` and :meth:`g_losses` reuse the D outputs of
    the adversarial terms for the regularisers (no extra forward pass), so they
    do not call ``super().d_losses``; a subclass adds MaEM to another method by
    calling :meth:`maem_d_terms` / :meth:`maem_g_terms` from its own losses.
    """

    #: D's "logit" head, if any, gets no gradient (realness is the code's mean): skipped, not warned about.
    skip_missing_gradients = True

    def __init__(self, generator, discriminator, entropy=True, dlle=True, disomap=True, buffer_size=1024,
                 code_dim=None, reparameterize=False, entropy_on_real=False, code_key="code", **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if self.num_classes is not None:
            raise ValueError("MaEMGAN is unconditional; received num_classes="
                             f"{self.num_classes}. Build G and D without num_classes.")
        self.code_key = str(code_key)
        self.reparameterize = check_bool("reparameterize", reparameterize)
        self.entropy_on_real = check_bool("entropy_on_real", entropy_on_real)
        self.entropy = _as_regulariser("entropy", entropy, ManifoldEntropy)
        self.dlle = _as_regulariser("dlle", dlle, DLLE)
        self.disomap = _as_regulariser("disomap", disomap, DIsoMap)
        if entropy_on_real and self.entropy is None:
            raise ValueError("`entropy_on_real=True` needs the entropy term; received entropy=None.")
        self.buffer_size = check_positive_int("buffer_size", buffer_size)
        width = _code_width(discriminator, self.code_key)
        if reparameterize and width % 2:
            raise ValueError(
                f"reparameterize=True needs a code of width 2m ([mu, logvar]); the discriminator's "
                f"{self.code_key!r} output has odd width {width}.")
        m = width // 2 if reparameterize else width
        if code_dim is not None:
            check_positive_int("code_dim", code_dim)
            if code_dim != m:
                raise ValueError(
                    f"Code dimension mismatch: code_dim={code_dim} but the discriminator's "
                    f"{self.code_key!r} output gives m={m} (width {width}"
                    f"{', split into [mu, logvar]' if reparameterize else ''}). Pass code_dim=None or "
                    "build D with the matching code_dim.")
        self.code_dim = m
        self.buffer = ReplayBuffer(self.buffer_size, m, name="replay_buffer") if self.entropy else None
        self.real_buffer = (ReplayBuffer(self.buffer_size, m, name="real_replay_buffer")
                            if entropy_on_real else None)

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        ser = lambda o: None if o is None else keras.saving.serialize_keras_object(o)
        config.update(entropy=ser(self.entropy), dlle=ser(self.dlle), disomap=ser(self.disomap),
                      buffer_size=self.buffer_size, code_dim=self.code_dim,
                      reparameterize=self.reparameterize, entropy_on_real=self.entropy_on_real,
                      code_key=self.code_key)
        return config

    def compile(self, d_optimizer, g_optimizer, loss="maf", **kwargs):
        """As :meth:`GAN.compile`; ``loss="maf"`` (default) is :class:`kgan.losses.MaF`."""
        if isinstance(loss, str) and loss == "maf":
            loss = MaF()
        super().compile(d_optimizer, g_optimizer, loss=loss, **kwargs)

    def loss_names(self):
        d, g = super().loss_names()
        if self.dlle is not None:
            d.append("d_dlle")
        if self.disomap is not None:
            d.append("d_disomap")
        if self.entropy_on_real:
            d.append("d_entropy")
        if self.entropy is not None:
            g.append("g_entropy")
        return d, g

    # ------------------------------------------------------------------ building blocks
    def discriminate(self, x, y=None, training=True, augment=True, eps=None):
        """D's outputs plus ``"code"`` (B, m: ``mu`` when reparameterised),
        ``"code_sample"`` (the reparameterised sample, or the code) and
        ``"logit"`` replaced by the realness ``mean_k code_sample_k`` (B, 1)."""
        out = dict(super().discriminate(x, y, training=training, augment=augment))
        if self.code_key not in out:
            raise ValueError(f"The discriminator returned no {self.code_key!r} output; got {sorted(out)}.")
        code = tf.cast(out[self.code_key], tf.float32)
        if self.reparameterize:
            mu = tf.split(code, 2, axis=-1)[0]
            if eps is None:
                eps = tf.zeros_like(mu)
            sample = reparameterize(code, eps)
            code = mu
        else:
            sample = code
        out["code"] = code
        out["code_sample"] = sample
        out["logit"] = tf.reduce_mean(sample, axis=-1, keepdims=True)
        return out

    def _eps(self, n, name):
        return self.random_normal(n, [self.code_dim], name) if self.reparameterize else None

    def maem_d_terms(self, batch, x_fake, real, fake):
        """DLLE, DIsoMap and (official option) real-code entropy terms for one D update.

        Random draws use the streams ``maem/dlle_*`` and ``maem/disomap_*`` of
        the update (``maem/eps_real`` / ``maem/eps_fake``: the reparameterisation
        noise of the real and fake codes). Penalties (R1, WGAN-GP) act on the
        realness ``"logit"`` = ``mean_k V_k``.
        """
        terms = {}
        n = tf.shape(batch.x)[0]
        if self.dlle is not None:
            both = tf.concat([batch.x, tf.cast(x_fake, batch.x.dtype)], axis=0)
            u = tf.concat([self.random_uniform(n, [2], batch.stream("maem/dlle_u_real")),
                           self.random_uniform(n, [2], batch.stream("maem/dlle_u_fake"))], axis=0)
            shape = list(batch.x.shape[1:])
            eps = tf.concat([self.random_normal(n, shape, batch.stream("maem/dlle_eps_real")),
                             self.random_normal(n, shape, batch.stream("maem/dlle_eps_fake"))], axis=0)
            transformed = tf.stop_gradient(self.dlle.apply_transform(both, u, eps))
            code_fx = self.discriminate(transformed, training=True)["code"]
            code_x = tf.concat([real["code"], fake["code"]], axis=0)
            y_true, y_pred = self.dlle.pair(code_x, code_fx)
            terms["d_dlle"] = self.dlle.weight * _mean(self.dlle, y_true, y_pred)
        if self.disomap is not None:
            iso = self.disomap
            a_real = iso.alphas(self.random_uniform(n, [1], batch.stream("maem/disomap_u_real")),
                                self.random_normal(n, [1], batch.stream("maem/disomap_n_real")))
            x_real, x_f = batch.x, tf.cast(x_fake, batch.x.dtype)
            if iso.pairs == "real_fake":
                mixes = iso.mix(x_real, x_f, a_real)
                target = iso.target(real["code"], fake["code"], a_real,
                                    self.random_normal(n, [self.code_dim], batch.stream("maem/disomap_noise_real")))
            else:
                a_fake = iso.alphas(self.random_uniform(n, [1], batch.stream("maem/disomap_u_fake")),
                                    self.random_normal(n, [1], batch.stream("maem/disomap_n_fake")))
                j = iso.partners(n)
                mixes = tf.concat([iso.mix(x_real, tf.gather(x_real, j), a_real),
                                   iso.mix(x_f, tf.gather(x_f, j), a_fake)], axis=0)
                noise = tf.concat([self.random_normal(n, [self.code_dim], batch.stream("maem/disomap_noise_real")),
                                   self.random_normal(n, [self.code_dim], batch.stream("maem/disomap_noise_fake"))],
                                  axis=0)
                target = iso.target(
                    tf.concat([real["code"], fake["code"]], axis=0),
                    tf.concat([tf.gather(real["code"], j), tf.gather(fake["code"], j)], axis=0),
                    tf.concat([a_real, a_fake], axis=0), noise)
            code_mix = self.discriminate(tf.stop_gradient(mixes), training=True)["code"]
            terms["d_disomap"] = iso.weight * _mean(iso, target, code_mix)
        if self.entropy_on_real:
            memory = self.real_buffer.read()
            value = _mean(self.entropy, memory, real["code"])
            with tf.control_dependencies([value]):
                self.real_buffer.write(real["code"])
            terms["d_entropy"] = self.entropy.weight(self.step_counter) * value
        return terms

    def maem_g_terms(self, batch, fake):
        """The generator's manifold-entropy term; pushes the codes into the buffer."""
        if self.entropy is None:
            return {}
        memory = self.buffer.read()
        value = _mean(self.entropy, memory, fake["code"])
        with tf.control_dependencies([value]):
            self.buffer.write(fake["code"])
        return {"g_entropy": self.entropy.weight(self.step_counter) * value}

    # ------------------------------------------------------------------ the losses
    def d_losses(self, batch):
        """MaF (or the compiled loss on the code's mean), penalties, DLLE, DIsoMap."""
        x_fake = tf.stop_gradient(self.fake_images(batch, training=True))
        n = tf.shape(batch.x)[0]
        real = self.discriminate(batch.x, batch.y, eps=self._eps(n, batch.stream("maem/eps_real")))
        fake = self.discriminate(x_fake, batch.y_fake, eps=self._eps(n, batch.stream("maem/eps_fake")))
        terms = self.adversarial_d(real, fake)
        terms.update(self.penalties(batch, x_fake))
        terms.update(self.maem_d_terms(batch, x_fake, real, fake))
        return terms

    def g_losses(self, batch):
        """``-mean_k V_k(G(z))`` (MaF) plus ``sigma_t * L_ent``."""
        n = tf.shape(batch.z)[0]
        fake = self.discriminate(self.fake_images(batch, training=True), batch.y_fake,
                                 eps=self._eps(n, batch.stream("maem/eps_fake")))
        terms = self.adversarial_g(fake)
        terms.update(self.maem_g_terms(batch, fake))
        return terms
