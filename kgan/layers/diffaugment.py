"""Differentiable augmentation (DiffAugment; Zhao et al., "Differentiable Augmentation for
Data-Efficient GAN Training", NeurIPS 2020).

The same random, differentiable transforms are applied to every image the
discriminator sees -- real and generated alike -- so the generator still
receives gradients through them. Pass the layer as ``augment=`` to any kgan
model (``GAN(..., augment=kgan.layers.DiffAugment())``); the base model
applies it in ``discriminate`` to real samples, fakes, and penalty
interpolates.
"""
import keras
import tensorflow as tf

from kgan.utils import check_probability

__all__ = ["DiffAugment", "DIFFAUGMENT_OPS"]

#: The transforms of the official DiffAugment code, in the order they are applied.
DIFFAUGMENT_OPS = ("color", "translation", "cutout")


def _replica_info():
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return 1, 0
    return ctx.num_replicas_in_sync, ctx.replica_id_in_sync_group


def _uniform(seed, key, local_n, shape, minval, maxval, dtype=tf.float32):
    """Stateless per-sample draws, identical for a sample whatever the replica count:
    the global batch is drawn and each replica keeps its slice (as kgan's GAN does)."""
    n_rep, rid = _replica_info()
    s = tf.stack([seed[0] * 16 + key, seed[1]])
    if n_rep == 1:
        return tf.random.stateless_uniform([local_n, *shape], s, minval, maxval, dtype=dtype)
    values = tf.random.stateless_uniform([local_n * n_rep, *shape], s, minval, maxval, dtype=dtype)
    return values[rid * local_n:(rid + 1) * local_n]


def _shift_axis(x, shift, axis):
    """Translate each image of ``x`` by ``shift[b]`` pixels along ``axis`` (1 or 2),
    filling with zeros (the official code pads by one zero pixel and clips indices)."""
    size = tf.shape(x)[axis]
    pad = [[0, 0], [0, 0], [0, 0], [0, 0]]
    pad[axis] = [1, 1]
    padded = tf.pad(x, pad)
    idx = tf.clip_by_value(tf.range(size)[None, :] + shift[:, None] + 1, 0, size + 1)  # (B, size)
    return tf.gather(padded, idx, axis=axis, batch_dims=1)


@keras.saving.register_keras_serializable(package="kgan")
class DiffAugment(keras.layers.Layer):
    """DiffAugment (Zhao et al. 2020): random colour, translation and cutout.

    Each transform is drawn independently per sample (official
    ``DiffAugment_tf.py``), for images in [-1, 1] (NHWC):

    * ``color``: brightness ``x + (u - 0.5)``; saturation
      ``(x - mean_c x) * 2u + mean_c x`` (channel mean); contrast
      ``(x - mean_hwc x) * (u + 0.5) + mean_hwc x``; u ~ U[0, 1) per sample.
    * ``translation``: shift by integers in ``[-r, r]`` on each axis,
      ``r = int(size * translation_ratio + 0.5)`` (ratio 1/8), zeros shifted in.
    * ``cutout``: zero a square of side ``int(size * cutout_ratio + 0.5)``
      (ratio 1/2) centred at a random position (it may be clipped by the border).

    All are differentiable in ``x`` (additions, products and gathers), so the
    generator is trained through the augmentation. The policy (which
    transforms) is the same for real and fake batches; the random parameters
    are drawn afresh for every call, as in the official code.

    Randomness: stateless. Each call while training uses the seed
    ``(seed, counter)``, where ``counter`` is a non-trainable variable
    incremented by one per call (saved with the model, so a resumed run
    continues the same stream). Draws are made for the global batch and each
    replica keeps its slice, so a ``MirroredStrategy`` step augments every
    sample exactly as a single-device step does. Pass ``seed=`` (a shape-[2]
    int tensor) to ``call`` to control the draw yourself.

    Args:
        policy: a string ``"color,translation,cutout"`` or a list of any of
            ``DIFFAUGMENT_OPS``; ``""`` or ``()`` disables the layer.
        translation_ratio: maximal shift as a fraction of the image size.
        cutout_ratio: cutout side as a fraction of the image size.
        probability: probability of augmenting each sample (1.0 = always, as
            DiffAugment; lower values give ADA-style partial augmentation).
        seed: integer seed of the stateless stream.

    The layer is the identity when ``training`` is false (evaluation, sampling).

    Example:
        >>> aug = DiffAugment("color,translation,cutout")
        >>> gan = kgan.models.ReACGAN(G, D, num_classes=10, augment=aug)
    """

    def __init__(self, policy="color,translation,cutout", translation_ratio=0.125, cutout_ratio=0.5,
                 probability=1.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.policy = _parse_policy(policy)
        self.translation_ratio = check_probability("translation_ratio", translation_ratio)
        self.cutout_ratio = check_probability("cutout_ratio", cutout_ratio)
        self.probability = check_probability("probability", probability)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"`seed` must be an integer; received seed={seed!r}.")
        self.seed = seed
        self.counter = self.add_weight(shape=(), dtype="int64", initializer="zeros", trainable=False,
                                       name="counter", aggregation="only_first_replica")
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs, training=None, seed=None):
        if not training or not self.policy:
            return inputs
        x = tf.convert_to_tensor(inputs)
        if x.shape.rank != 4:
            raise ValueError(
                f"DiffAugment expects images of shape (batch, height, width, channels); received "
                f"shape {tuple(x.shape)}.")
        if seed is None:
            step = tf.identity(self.counter.value)
            with tf.control_dependencies([step]):
                self.counter.assign_add(1)
            seed = tf.stack([tf.constant(self.seed, tf.int64), step])
        seed = tf.cast(seed, tf.int64)
        return self.augment(x, seed)

    def augment(self, x, seed):
        """Apply the policy to ``x`` with the stateless ``seed`` (shape [2])."""
        dtype = x.dtype
        x = tf.cast(x, tf.float32)
        n = tf.shape(x)[0]
        h, w = tf.shape(x)[1], tf.shape(x)[2]
        out = x
        if "color" in self.policy:
            u = _uniform(seed, 0, n, [3], 0.0, 1.0)
            b, s, c = (tf.reshape(u[:, i], [-1, 1, 1, 1]) for i in range(3))
            out = out + (b - 0.5)
            mean = tf.reduce_mean(out, axis=3, keepdims=True)
            out = (out - mean) * (s * 2.0) + mean
            mean = tf.reduce_mean(out, axis=[1, 2, 3], keepdims=True)
            out = (out - mean) * (c + 0.5) + mean
        if "translation" in self.policy:
            sh = tf.cast(tf.cast(h, tf.float32) * self.translation_ratio + 0.5, tf.int32)
            sw = tf.cast(tf.cast(w, tf.float32) * self.translation_ratio + 0.5, tf.int32)
            u = _uniform(seed, 1, n, [2], 0.0, 1.0)
            ty = tf.cast(tf.floor(u[:, 0] * tf.cast(2 * sh + 1, tf.float32)), tf.int32) - sh
            tx = tf.cast(tf.floor(u[:, 1] * tf.cast(2 * sw + 1, tf.float32)), tf.int32) - sw
            out = _shift_axis(out, ty, 1)
            out = _shift_axis(out, tx, 2)
        if "cutout" in self.policy:
            ch = tf.cast(tf.cast(h, tf.float32) * self.cutout_ratio + 0.5, tf.int32)
            cw = tf.cast(tf.cast(w, tf.float32) * self.cutout_ratio + 0.5, tf.int32)
            u = _uniform(seed, 2, n, [2], 0.0, 1.0)
            # centre in [0, size + (1 - cut % 2)), as the official offsets
            oy = tf.cast(tf.floor(u[:, 0] * tf.cast(h + 1 - ch % 2, tf.float32)), tf.int32)
            ox = tf.cast(tf.floor(u[:, 1] * tf.cast(w + 1 - cw % 2, tf.float32)), tf.int32)
            y0, x0 = oy - ch // 2, ox - cw // 2
            rows = tf.range(h)[None, :]
            cols = tf.range(w)[None, :]
            in_y = tf.logical_and(rows >= y0[:, None], rows < (y0 + ch)[:, None])    # (B, H)
            in_x = tf.logical_and(cols >= x0[:, None], cols < (x0 + cw)[:, None])    # (B, W)
            cut = tf.logical_and(in_y[:, :, None], in_x[:, None, :])                  # (B, H, W)
            out = out * tf.cast(tf.logical_not(cut), tf.float32)[..., None]
        if self.probability < 1.0:
            keep = _uniform(seed, 3, n, [], 0.0, 1.0) < self.probability
            out = tf.where(tf.reshape(keep, [-1, 1, 1, 1]), out, x)
        return tf.cast(out, dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"policy": ",".join(self.policy), "translation_ratio": self.translation_ratio,
                       "cutout_ratio": self.cutout_ratio, "probability": self.probability,
                       "seed": self.seed})
        return config


def _parse_policy(policy):
    if isinstance(policy, str):
        items = [p.strip() for p in policy.split(",") if p.strip()]
    elif isinstance(policy, (list, tuple)):
        items = list(policy)
    else:
        raise ValueError(
            f"`policy` must be a comma-separated string or a list of {list(DIFFAUGMENT_OPS)}; "
            f"received policy={policy!r}.")
    for p in items:
        if p not in DIFFAUGMENT_OPS:
            raise ValueError(
                f"Unknown DiffAugment op {p!r} in policy={policy!r}; expected any of "
                f"{list(DIFFAUGMENT_OPS)}.")
    return tuple(p for p in DIFFAUGMENT_OPS if p in items)
