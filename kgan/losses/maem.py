"""MaEM-GAN losses: the MaF adversarial loss on an m-dim code, the replay-buffer
manifold entropy, DLLE and DIsoMap (Liu et al., "Combating Mode Collapse via
Manifold Entropy Estimation", AAAI 2023; official code HaozheLiu-ST/MEE).

The discriminator is read as a feature embedding: it outputs an m-dimensional
code ``V = D(x)`` (m = 16 on CIFAR-10, 32 otherwise) and its "realness" is the
mean of the code. On top of the MaF loss the paper adds

* :class:`ManifoldEntropy` -- the generator spreads its codes apart by
  minimising the similarity of each new code to its nearest neighbour in a
  replay buffer of past codes (a nearest-neighbour entropy estimate);
* :class:`DLLE` -- deep local linear embedding: D must map a slightly
  transformed sample ``F(x)`` to (nearly) the same code;
* :class:`DIsoMap` -- deep isometric mapping: the code of a mix of two samples
  must be the same mix of their codes.

Where the paper and the official code differ, the paper's version is the
default and the official one an option (each docstring says which is which);
docs/maem.md lists the differences.

All classes are ``keras.losses.Loss`` subclasses whose ``call(y_true, y_pred)``
returns per-sample values (mean-reduced by Keras), plus the helpers the model
needs (transforms, mixing, weights). They draw no random numbers themselves:
the model passes its stateless, replica-invariant draws in, which keeps a
``MirroredStrategy`` step equal to a single-device step.
"""
import math

import keras
import tensorflow as tf

from kgan.losses.adversarial import AdversarialLoss
from kgan.utils import check_choice, check_non_negative, check_positive_int


# --------------------------------------------------------------------------- MaF
@keras.saving.register_keras_serializable(package="kgan")
class MaF(AdversarialLoss):
    """MaF adversarial loss on the m-dim code (MaEM-GAN, Sec. 3; official ``train.py``).

    Realness is the mean of the discriminator's m outputs, and the loss is
    Wasserstein-like on it:

    * D minimises ``mean_k V_k(G(z)) - mean_k V_k(x)``
      (``d_real(V) = -mean_k V_k``, ``d_fake(V) = mean_k V_k``);
    * G minimises ``-mean_k V_k(G(z))``.

    Each function takes the code ``V`` (B, m) -- or the realness (B, 1), for
    which it is the plain Wasserstein loss -- and returns (B, 1). Like any
    critic loss it needs a Lipschitz constraint: the paper and the official code
    use spectral normalisation in D.
    """

    def d_real(self, d):
        return -tf.reduce_mean(d, axis=-1, keepdims=True)

    def d_fake(self, d):
        return tf.reduce_mean(d, axis=-1, keepdims=True)

    def g(self, d):
        return -tf.reduce_mean(d, axis=-1, keepdims=True)


def reparameterize(stats, eps):
    """The official code's "adaptive reparameterisation" of D's output.

    ``stats`` (B, 2m) holds ``[mu, logvar]``; returns ``mu + eps * exp(logvar / 2)``
    with ``eps ~ N(0, 1)`` of shape (B, m) (official ``DCGAN_D.forward`` with
    ``use_adaptive_reparam=True``; its ``embedding()`` returns ``mu``).
    """
    stats = tf.convert_to_tensor(stats)
    if stats.shape[-1] is not None and stats.shape[-1] % 2:
        raise ValueError(
            "reparameterize needs [mu, logvar] of even width 2m; received a code of width "
            f"{stats.shape[-1]}.")
    mu, logvar = tf.split(stats, 2, axis=-1)
    return mu + tf.cast(eps, mu.dtype) * tf.exp(0.5 * logvar)


# --------------------------------------------------------------------------- entropy
ENTROPY_METRICS = ("cosine", "squared_l2")


def _normalize(v, eps=1e-12):
    return v * tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(v), axis=-1, keepdims=True), eps))


@keras.saving.register_keras_serializable(package="kgan")
class ManifoldEntropy(keras.losses.Loss):
    """Replay-buffer manifold entropy, "RB-MaEM" (MaEM-GAN, Sec. 3.3).

    For each code ``V0`` of the current batch, its nearest neighbour ``V*`` is
    searched among *all* codes ``R`` of a FIFO replay buffer of past codes
    (:class:`kgan.layers.ReplayBuffer`, 1024 by default). Then, per metric:

    * ``"cosine"`` (paper, default):
      ``V* = argmax_{V in R} cos(V0, V)``,
      ``L_ent = mean_B [cos(V0, V*) + lam * ||V0||]``;
    * ``"squared_l2"`` (official code ``enrtopy_loss``):
      ``d(V0, V) = mean_k (V0_k - V_k)^2``, ``d* = min_{V in R} d(V0, V)``,
      ``L_ent = -log(mean_B d*) + lam * mean_B ||V0||`` (the official code has no
      ``lam`` term; it is kept for symmetry and is 0 by default). The batch
      mean inside the log is taken over the *global* batch under
      ``tf.distribute`` (an ``all_reduce``), so a replicated step equals a
      single-device one.

    The generator minimises ``sigma_t * L_ent``: it pushes every new code away
    from its most similar predecessor, which maximises the nearest-neighbour
    entropy estimate ``E log d(x_i, x_i*)`` in the embedding space. The weight
    ramps linearly from 0: ``sigma_t = sigma * min(1, step / warmup_steps)``
    (the paper: sigma 5e-4 on CIFAR-10 and ANIME-FACE, 5e-2 on CelebA, over
    the first 100 epochs; lam 0 on CIFAR-10, 5 on ANIME-FACE).

    The buffer is a constant (stop-gradient): gradients reach the generator
    only through the current batch's codes. With an empty buffer the term is 0.

    Args:
        sigma: weight of the term (>= 0).
        warmup_steps: steps of the linear warm-up (0: full weight from the start).
        lam: weight of the ``||V0||`` term (>= 0).
        metric: ``"cosine"`` (paper) or ``"squared_l2"`` (official code).

    Example:
        >>> ent = kgan.losses.ManifoldEntropy(sigma=1.0)
        >>> memory = tf.constant([[1., 0.], [0., 1.]])
        >>> ent(memory, tf.constant([[1., 1.]])).numpy()   # cos 45 deg = 0.7071
    """

    def __init__(self, sigma=5e-4, warmup_steps=0, lam=0.0, metric="cosine", name="manifold_entropy",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.sigma = check_non_negative("sigma", sigma)
        self.warmup_steps = check_positive_int("warmup_steps", warmup_steps, allow_zero=True)
        self.lam = check_non_negative("lam", lam)
        self.metric = check_choice("metric", metric, ENTROPY_METRICS)

    def weight(self, step):
        """``sigma_t = sigma * min(1, step / warmup_steps)`` as a float32 tensor."""
        if self.warmup_steps == 0:
            return tf.constant(self.sigma, tf.float32)
        ramp = tf.minimum(tf.cast(step, tf.float32) / float(self.warmup_steps), 1.0)
        return self.sigma * ramp

    @staticmethod
    def _check(memory, codes):
        memory, codes = tf.convert_to_tensor(memory, tf.float32), tf.convert_to_tensor(codes, tf.float32)
        if codes.shape.rank != 2 or memory.shape.rank != 2:
            raise ValueError(
                "ManifoldEntropy takes codes (batch, m) and a buffer (N, m); received codes of shape "
                f"{tuple(codes.shape)} and buffer of shape {tuple(memory.shape)}.")
        if None not in (codes.shape[-1], memory.shape[-1]) and codes.shape[-1] != memory.shape[-1]:
            raise ValueError(
                f"Code dimension mismatch: the discriminator's codes have width {codes.shape[-1]} but "
                f"the replay buffer holds codes of width {memory.shape[-1]}.")
        return memory, codes

    def similarity(self, memory, codes):
        """(B, N) similarities of each code to each buffer entry: cosine (higher is
        closer) or the *negative* mean squared distance."""
        memory, codes = self._check(memory, codes)
        memory = tf.stop_gradient(memory)
        if self.metric == "cosine":
            return tf.matmul(_normalize(codes), _normalize(memory), transpose_b=True)
        sq = (tf.reduce_sum(tf.square(codes), -1, keepdims=True) - 2.0 * tf.matmul(codes, memory, transpose_b=True)
              + tf.reduce_sum(tf.square(memory), -1)[None, :])
        return -tf.maximum(sq, 0.0) / tf.cast(tf.shape(codes)[-1], tf.float32)

    def nearest(self, memory, codes):
        """``(index, value)`` of each code's nearest buffer entry: value is the
        cosine (paper) or the mean squared distance (official). With an empty
        buffer the index is -1 and the value 0."""
        sim = self.similarity(memory, codes)
        # a sentinel column that never wins unless the buffer is empty (no tf.cond:
        # the official variant all-reduces, which must not sit inside control flow)
        sim = tf.concat([sim, tf.fill([tf.shape(sim)[0], 1], -1e9)], axis=1)
        empty = tf.equal(tf.shape(memory)[0], 0)
        idx = tf.argmax(sim, axis=-1, output_type=tf.int32)
        best = tf.reduce_max(sim, axis=-1)
        idx = tf.where(empty, -1, idx)
        best = tf.where(empty, 0.0, best)
        return idx, (best if self.metric == "cosine" else -best)

    def call(self, y_true, y_pred):
        """Unweighted ``L_ent`` per sample. ``y_true``: the buffer (N, m);
        ``y_pred``: the current codes (B, m). (For ``"squared_l2"`` the value
        ``-log(mean_B d*)`` is not a per-sample sum, so it is repeated on every
        sample; mean reduction gives it back.)"""
        memory, codes = self._check(y_true, y_pred)
        _, best = self.nearest(memory, codes)
        if self.metric == "cosine":
            value = best
        else:
            empty = tf.equal(tf.shape(memory)[0], 0)
            ctx = tf.distribute.get_replica_context()
            n_rep = ctx.num_replicas_in_sync if ctx is not None else 1
            if n_rep > 1 and not tf.distribute.in_cross_replica_context():
                # -log of the GLOBAL batch mean: gather the (stop-gradient) nearest
                # distances, and give each replica a surrogate whose value is the
                # global loss and whose gradient, summed over replicas and divided
                # by n_rep as GAN.scaled does, is the global loss's gradient.
                local_sum = tf.reduce_sum(best)
                everything = ctx.all_gather(tf.stop_gradient(best), axis=0)
                count = tf.cast(tf.shape(everything)[0], tf.float32)
                mean = tf.where(empty, 1.0, tf.reduce_mean(everything)) + 1e-12
                log_term = -tf.math.log(mean) - (n_rep / (count * mean)) * (
                    local_sum - tf.stop_gradient(local_sum))
            else:
                log_term = -tf.math.log(tf.where(empty, 1.0, tf.reduce_mean(best)) + 1e-12)
            value = tf.fill(tf.shape(best), tf.where(empty, 0.0, log_term))
        if self.lam > 0:
            value = value + self.lam * tf.norm(codes, axis=-1)
        return value

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "sigma": self.sigma,
                "warmup_steps": self.warmup_steps, "lam": self.lam, "metric": self.metric}


# --------------------------------------------------------------------------- DLLE
TRANSFORMS = ("rotation", "flip", "noise")
_DEFAULT_NOISE = {"rotation": 0.01, "flip": 0.001, "noise": 0.01}


def rotate(x, angles, fill_mode="REFLECT"):
    """Rotate each image of ``x`` (B, H, W, C) about its centre by ``angles``
    (B,) radians (bilinear), or each vector (B, F) in the plane of its first
    two coordinates about the origin."""
    x = tf.convert_to_tensor(x)
    angles = tf.cast(tf.reshape(angles, [-1]), tf.float32)
    c, s = tf.cos(angles), tf.sin(angles)
    if x.shape.rank == 2:
        if x.shape[-1] is not None and x.shape[-1] < 2:
            raise ValueError(f"rotation needs vectors of width >= 2; received shape {tuple(x.shape)}.")
        c, s = tf.cast(c, x.dtype)[:, None], tf.cast(s, x.dtype)[:, None]
        a, b = x[:, :1], x[:, 1:2]
        return tf.concat([c * a - s * b, s * a + c * b, x[:, 2:]], axis=-1)
    if x.shape.rank != 4:
        raise ValueError(f"rotation needs images (B, H, W, C) or vectors (B, F); received shape {tuple(x.shape)}.")
    h, w = tf.cast(tf.shape(x)[1], tf.float32), tf.cast(tf.shape(x)[2], tf.float32)
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    # output pixel (col, row) samples input at R(-angle) about the centre
    a0, a1 = c, s
    a2 = cx - c * cx - s * cy
    b0, b1 = -s, c
    b2 = cy + s * cx - c * cy
    zeros = tf.zeros_like(c)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(x, tf.float32), transforms=transforms, output_shape=tf.shape(x)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode=fill_mode)
    return tf.cast(out, x.dtype)


def flip(x, u):
    """Flip each image of ``x`` (B, H, W, C) vertically (``u < 0.5``) or
    horizontally (official ``data_aug``: ``torch.flip`` along H or W)."""
    x = tf.convert_to_tensor(x)
    if x.shape.rank != 4:
        raise ValueError(
            f"transform='flip' needs images (B, H, W, C); received shape {tuple(x.shape)}. "
            "Use transform='noise' or 'rotation' for vectors.")
    vertical = tf.reshape(u, [-1, 1, 1, 1]) < 0.5
    return tf.where(vertical, tf.reverse(x, axis=[1]), tf.reverse(x, axis=[2]))


@keras.saving.register_keras_serializable(package="kgan")
class DLLE(keras.losses.Loss):
    """Deep Local Linear Embedding (MaEM-GAN, Sec. 3.2).

    ``L_LLE = E_{x in real and fake} dist(D(F(x)), sg(D(x)))``: a small
    transformation ``F`` must keep a sample's code (locally linear structure).

    Variants:

    * ``transform`` -- ``"rotation"`` (paper's best: rotation by an angle
      ~ U(-max_angle, max_angle) degrees plus Gaussian noise, default),
      ``"flip"`` (official code: a vertical or horizontal flip plus 0.001 N(0, 1)),
      ``"noise"`` (Gaussian noise only, e.g. for 2D points) or a callable
      ``F(x, u, eps) -> x'`` with ``u`` (B, 2) ~ U(0, 1) and ``eps`` ~ N(0, 1) of
      ``x``'s shape (register it with ``keras.saving`` to save the model);
    * ``distance`` -- ``"l2"`` (paper: Euclidean norm per sample, default) or
      ``"mse"`` (official: mean squared error);
    * ``detach`` -- which side is the stop-gradient target: ``"original"``
      (paper, ``sg(D(x))``, default) or ``"transformed"`` (official code:
      ``mse(D(x), D(F(x)).detach())``). Both are semi-gradients; the paper's
      side diverged on a 28-px DCGAN discriminator (``d_dlle`` from 1e-3 to 1e5
      within 400 steps) where the official side stayed stable, so the
      experiment table's rows use ``"transformed"``.

    ``weight`` multiplies the term (the official code uses 1).

    Args:
        transform, max_angle (degrees), noise_std (None: 0.01 for rotation and
        noise, 0.001 for flip), distance, detach, weight: see above.
    """

    def __init__(self, transform="rotation", max_angle=15.0, noise_std=None, distance="l2",
                 detach="original", weight=1.0, name="dlle", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(transform, dict):
            transform = keras.saving.deserialize_keras_object(transform)
        if not callable(transform):
            if not isinstance(transform, str) or transform not in TRANSFORMS:
                raise ValueError(
                    f"`transform` must be one of {list(TRANSFORMS)} or a callable F(x, u, eps); "
                    f"received transform={transform!r}.")
        self.transform = transform
        self.max_angle = check_non_negative("max_angle", max_angle)
        if noise_std is None:
            noise_std = _DEFAULT_NOISE.get(transform, 0.0) if isinstance(transform, str) else 0.0
        self.noise_std = check_non_negative("noise_std", noise_std)
        self.distance = check_choice("distance", distance, ("l2", "mse"))
        self.detach = check_choice("detach", detach, ("original", "transformed"))
        self.weight = check_non_negative("weight", weight)

    def apply_transform(self, x, u, eps):
        """``F(x)`` given per-sample uniforms ``u`` (B, 2) and normal noise ``eps`` (x's shape)."""
        x = tf.convert_to_tensor(x)
        if callable(self.transform):
            return self.transform(x, u, eps)
        if self.transform == "rotation":
            angles = (2.0 * u[:, 0] - 1.0) * (self.max_angle * math.pi / 180.0)
            x = rotate(x, angles)
        elif self.transform == "flip":
            x = flip(x, u[:, 0])
        if self.noise_std > 0:
            x = x + self.noise_std * tf.cast(eps, x.dtype)
        return x

    def pair(self, code_x, code_fx):
        """``(y_true, y_pred)`` for :meth:`call` with the stop-gradient on the
        side chosen by ``detach``."""
        if self.detach == "original":
            return tf.stop_gradient(code_x), code_fx
        return tf.stop_gradient(code_fx), code_x

    def call(self, y_true, y_pred):
        """Per-sample distance between ``y_pred`` and the target ``y_true``
        (pass them through :meth:`pair` first)."""
        diff = tf.cast(y_pred, tf.float32) - tf.stop_gradient(tf.cast(y_true, tf.float32))
        sq = tf.reduce_sum(tf.square(diff), axis=-1)
        if self.distance == "mse":
            return sq / tf.cast(tf.shape(diff)[-1], tf.float32)
        return tf.sqrt(sq + 1e-12)

    def get_config(self):
        transform = self.transform
        if callable(transform):
            transform = keras.saving.serialize_keras_object(transform)
        return {"name": self.name, "reduction": self.reduction, "transform": transform,
                "max_angle": self.max_angle, "noise_std": self.noise_std, "distance": self.distance,
                "detach": self.detach, "weight": self.weight}


# --------------------------------------------------------------------------- DIsoMap
@keras.saving.register_keras_serializable(package="kgan")
class DIsoMap(keras.losses.Loss):
    """Deep Isometric feature Mapping (MaEM-GAN, Sec. 3.2).

    For a mix ``x_ij = a x_i + (1 - a) x_j`` the code must be the same mix of
    the codes: ``L_Iso = E dist(D(x_ij), sg(a D(x_i) + (1 - a) D(x_j)) + s * n)``.
    It is 0 for any affine ``D``.

    Variants (paper default first):

    * ``weights``: ``"uniform"`` (``a ~ U(0, 1)``) or ``"normal"`` (official:
      ``a ~ N(0, 1)``, i.e. mostly extrapolation);
    * ``pairs``: ``"within"`` (real with real and fake with fake) or
      ``"real_fake"`` (official: real ``x_i`` with the fake ``G(z_i)``). In
      ``"within"`` sample ``i`` is mixed with sample ``i XOR 1`` of the same
      (shuffled) batch -- adjacent pairs, which stay the same pairs when the
      batch is split over replicas (needs an even per-replica batch; with an odd
      one the last sample is mixed with itself and contributes 0);
    * ``distance``: ``"cosine"`` (``1 - cos``) or ``"mse"`` (official);
    * ``target_noise``: std ``s`` of N(0, s^2) noise added to the target
      (official 0.05; default 0).

    Args:
        weights, pairs, distance, target_noise: see above.
        weight: multiplies the term (official 1).
    """

    def __init__(self, weights="uniform", pairs="within", distance="cosine", target_noise=0.0,
                 weight=1.0, name="disomap", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.weights = check_choice("weights", weights, ("uniform", "normal"))
        self.pairs = check_choice("pairs", pairs, ("within", "real_fake"))
        self.distance = check_choice("distance", distance, ("cosine", "mse"))
        self.target_noise = check_non_negative("target_noise", target_noise)
        self.weight = check_non_negative("weight", weight)

    @staticmethod
    def partners(n):
        """Index of each sample's partner in ``"within"`` mode: ``i XOR 1``
        (clipped to ``n - 1``)."""
        i = tf.range(n)
        return tf.minimum(tf.bitwise.bitwise_xor(i, 1), n - 1)

    def alphas(self, uniform, normal):
        """Mixing weights (B, 1) from per-sample draws ``uniform`` ~ U(0,1) or ``normal`` ~ N(0,1)."""
        a = uniform if self.weights == "uniform" else normal
        return tf.reshape(tf.cast(a, tf.float32), [-1, 1])

    @staticmethod
    def mix(a, b, alpha):
        """``alpha * a + (1 - alpha) * b`` with ``alpha`` (B, 1) broadcast over a's axes."""
        a = tf.convert_to_tensor(a)
        alpha = tf.cast(tf.reshape(alpha, [-1] + [1] * (a.shape.rank - 1)), a.dtype)
        return alpha * a + (1.0 - alpha) * tf.cast(b, a.dtype)

    def target(self, code_a, code_b, alpha, noise=None):
        """``sg(alpha V_a + (1 - alpha) V_b) + target_noise * noise``."""
        t = self.mix(tf.stop_gradient(code_a), tf.stop_gradient(code_b), alpha)
        if self.target_noise > 0 and noise is not None:
            t = t + self.target_noise * tf.cast(noise, t.dtype)
        return tf.stop_gradient(t)

    def call(self, y_true, y_pred):
        """Per-sample ``1 - cos`` or mean squared error of ``y_pred`` (codes of
        mixes) against the target ``y_true`` (stop-gradient)."""
        y_true = tf.stop_gradient(tf.cast(y_true, tf.float32))
        y_pred = tf.cast(y_pred, tf.float32)
        if self.distance == "cosine":
            return 1.0 - tf.reduce_sum(_normalize(y_pred) * _normalize(y_true), axis=-1)
        return tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "weights": self.weights, "pairs": self.pairs,
                "distance": self.distance, "target_noise": self.target_noise, "weight": self.weight}
