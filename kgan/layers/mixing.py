"""Sample-mixing layers for training discriminators (docs/mixing.md).

Real/fake mixing (the 2021 sample-mixing study; docs/mixing.md):

* :class:`Mixup`   -- ``x = lam x_r + (1 - lam) x_f`` (Zhang et al. 2018, applied
  to a real and a fake sample);
* :class:`CutMix`  -- a random box of ``x_f`` pasted into ``x_r`` (Yun et al.
  2019); ``lam`` = the fraction of ``x_r`` kept;
* :class:`SRMix`   -- Smoothed Regional Mix: the CutMix box mask with its
  edges smoothed by a Gaussian blur; ``lam`` = the mean of the real mask.

Each returns ``(mixed, lam)`` with ``lam`` (B,) the fraction of *real* content
of every mixed sample: ``mixed = M * x_r + (1 - M) * x_f`` with a per-sample
mask ``M`` in [0, 1] (a constant ``lam`` for Mixup) and ``lam = mean(M)``, so
``lam`` is exactly the real fraction for all three layers.

Pair mixing inside one batch (AdaptiveMix, Liu, Zhang et al. CVPR 2023):

* :class:`AdaptiveMix` -- one ``lam ~ Beta(alpha, alpha)`` per batch and a
  partner for every sample from a permutation of the same batch:
  ``x_mix = lam x + (1 - lam) x[perm]``; :meth:`AdaptiveMix.mix` applies the
  same mix to the discriminator's features (``z_mix``).

Randomness: when called alone the layers draw from their own
``keras.random.SeedGenerator``; kgan models pass the draws in (``lam0``,
``center``, ``keys``) from stateless, replica-count-invariant seeds, which is
what makes a ``MirroredStrategy`` step equal a single-device step.

Images are (B, H, W, C); rank-3 (B, L, C) sequences and rank-2 (B, F) vectors
are accepted too: CutMix/SRMix then cut an interval of the L (or F) axis --
kgan's extension, used on the 2D sets, where a "region" of a
2-vector is one coordinate (see docs/mixing.md, limitations).
"""
import math

import keras
import tensorflow as tf

from kgan.utils import check_positive_int

__all__ = ["Mixup", "CutMix", "SRMix", "AdaptiveMix", "mixing_layer", "MIXING_METHODS"]


def check_alpha(alpha):
    """Return ``alpha`` as float if it is a finite number > 0 (the Beta(alpha, alpha)
    parameter of the mixing ratio), else raise ValueError."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"`alpha` must be a number > 0; received alpha={alpha!r}.") from None
    if not a > 0 or math.isinf(a):
        raise ValueError(f"`alpha` must be a finite number > 0 (lambda ~ Beta(alpha, alpha)); "
                         f"received alpha={alpha!r}.")
    return a


def check_sigma(sigma):
    """Return ``sigma`` as float if it is a finite number > 0 (SRMix's region size,
    a fraction of the image side), else raise ValueError."""
    try:
        s = float(sigma)
    except (TypeError, ValueError):
        raise ValueError(f"`sigma` must be a number > 0; received sigma={sigma!r}.") from None
    if not 0 < s < math.inf:
        raise ValueError(f"`sigma` must be a finite number > 0 (a fraction of the image side); "
                         f"received sigma={sigma!r}.")
    return s


def _check_same_shape(real, fake):
    rs, fs = tuple(real.shape), tuple(fake.shape)
    if len(rs) != len(fs) or any(a is not None and b is not None and a != b
                                 for a, b in zip(rs[1:], fs[1:])):
        raise ValueError(
            "Real and fake samples must have the same shape to be mixed; received real shape "
            f"{rs} and fake shape {fs}.")
    if len(rs) not in (2, 3, 4):
        raise ValueError(
            "Mixing layers take (B, H, W, C) images, (B, L, C) sequences or (B, F) vectors; "
            f"received shape {rs}.")


def beta_inverse_cdf(u, alpha, iterations=40):
    """``Beta(alpha, alpha)`` samples from uniforms ``u`` by inverting the CDF.

    ``x`` with ``I_x(alpha, alpha) = u`` (regularised incomplete beta, ``tf.math.betainc``)
    found by ``iterations`` bisection steps (error < 2^-40); ``alpha == 1`` returns ``u``
    (Beta(1, 1) is uniform). Unlike gamma-based samplers this compiles with XLA
    (``jit_compile=True``) and is a function of stateless uniforms, so draws are
    replica-count invariant.
    """
    u = tf.convert_to_tensor(u, tf.float32)
    if float(alpha) == 1.0:
        return u
    a = tf.constant(float(alpha), tf.float32)
    lo, hi = tf.zeros_like(u), tf.ones_like(u)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        below = tf.math.betainc(a, a, mid) < u
        lo = tf.where(below, mid, lo)
        hi = tf.where(below, hi, mid)
    return 0.5 * (lo + hi)


def spatial_axes(rank):
    """Axes the region masks live on: H, W for images, L for sequences, F for vectors."""
    return {4: (1, 2), 3: (1,), 2: (1,)}[rank]


def _mask_shape(x):
    """Per-sample mask shape broadcastable to ``x``: (B, H, W, 1), (B, L, 1) or (B, F)."""
    shape = tf.shape(x)
    rank = x.shape.rank
    if rank == 4:
        return tf.stack([shape[0], shape[1], shape[2], 1])
    if rank == 3:
        return tf.stack([shape[0], shape[1], 1])
    return tf.stack([shape[0], shape[1]])


def _reshape_per_sample(v, rank):
    return tf.reshape(v, [-1] + [1] * (rank - 1))


class _RealFakeMix(keras.layers.Layer):
    """Base of :class:`Mixup`, :class:`CutMix`, :class:`SRMix`.

    ``call(real, fake, lam0=None, center=None)`` returns ``(mixed, lam)``.
    ``lam0`` (B,) is the ratio drawn from ``Beta(alpha, alpha)`` (for CutMix and
    SRMix it sets the box area, ``1 - lam0`` of the sample); ``center`` (B, k)
    uniform in [0, 1) places the box (k = number of region axes). Missing draws
    come from the layer's seed generator.
    """

    needs_center = False

    def __init__(self, alpha=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_alpha(alpha)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # no weights to build (an unbuilt sublayer would make fit() call the model)

    def sample_lam0(self, n):
        return keras.random.beta((n,), self.alpha, self.alpha, seed=self.seed_generator)

    def real_mask(self, x, lam0, center):
        raise NotImplementedError

    def call(self, real, fake, lam0=None, center=None, training=None):
        real = tf.convert_to_tensor(real)
        fake = tf.convert_to_tensor(fake)
        _check_same_shape(real, fake)
        fake = tf.cast(fake, real.dtype)
        n = tf.shape(real)[0]
        if lam0 is None:
            lam0 = self.sample_lam0(n)
        lam0 = tf.reshape(tf.cast(lam0, tf.float32), [-1])
        if self.needs_center and center is None:
            k = len(spatial_axes(real.shape.rank))
            center = keras.random.uniform((n, k), seed=self.seed_generator)
        mask = self.real_mask(real, lam0, center)  # float32 in [0, 1]
        axes = list(range(1, mask.shape.rank))
        lam = tf.reduce_mean(mask, axis=axes)
        m = tf.cast(mask, real.dtype)
        return m * real + (1.0 - m) * fake, lam

    def compute_output_shape(self, real_shape, fake_shape=None, **kwargs):
        return real_shape, (real_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="kgan")
class Mixup(_RealFakeMix):
    """Mixup of a real and a fake sample: ``x = lam x_r + (1 - lam) x_f``,
    ``lam ~ Beta(alpha, alpha)`` per sample (Zhang et al. 2018, Eq. 1; used on
    real/fake pairs by the sample-mixing study, docs/mixing.md).
    ``lam`` is the fraction of real content, exactly.

    Args:
        alpha: Beta parameter (1 = uniform lambda, the default).
        seed: seed of the layer's own draws (used only when ``lam0`` is not passed).

    Example:
        >>> mixed, lam = kgan.layers.Mixup()(x_real, x_fake)
    """

    def real_mask(self, x, lam0, center):
        return tf.reshape(lam0, [-1] + [1] * (x.shape.rank - 1))


def box_mask(x, lam0, center):
    """The CutMix box of the *fake* content, as a float32 {0, 1} mask.

    Box side along each of the k region axes: ``round(size * (1 - lam0)^(1/k))``
    (Yun et al. 2019, Eq. 2 for k = 2: ``r_w = W sqrt(1 - lam)``), centred on
    ``floor(center * size)`` and clipped to the sample (as the official CutMix
    ``rand_bbox``); the clipped box may be smaller than asked, which is why
    the returned ``lam`` is computed from the mask.
    """
    rank = x.shape.rank
    axes = spatial_axes(rank)
    k = len(axes)
    shape = tf.shape(x)
    # the mask is built in float32 whatever the compute dtype (mixed precision autocasts inputs)
    lam0 = tf.clip_by_value(tf.cast(lam0, tf.float32), 0.0, 1.0)
    center = tf.cast(center, tf.float32)
    side_frac = tf.pow(1.0 - lam0, 1.0 / k)  # (B,)
    inside = None
    for j, axis in enumerate(axes):
        size = shape[axis]
        size_f = tf.cast(size, tf.float32)
        cut = tf.round(size_f * side_frac)  # (B,)
        c = tf.floor(tf.clip_by_value(center[:, j], 0.0, 1.0 - 1e-7) * size_f)
        lo = tf.clip_by_value(c - tf.floor(cut / 2.0), 0.0, size_f)
        hi = tf.clip_by_value(c - tf.floor(cut / 2.0) + cut, 0.0, size_f)
        idx = tf.cast(tf.range(size), tf.float32)[tf.newaxis, :]
        along = tf.cast((idx >= lo[:, None]) & (idx < hi[:, None]), tf.float32)  # (B, size)
        if rank == 4:
            along = along[:, :, None, None] if j == 0 else along[:, None, :, None]
        elif rank == 3:
            along = along[:, :, None]
        inside = along if inside is None else inside * along
    return inside


def gaussian_kernel_1d(sigma, size):
    """Normalised Gaussian taps with standard deviation ``sigma`` (pixels),
    radius ``min(ceil(3 sigma), size - 1)`` (so symmetric padding fits)."""
    radius = max(0, min(int(math.ceil(3.0 * sigma)), int(size) - 1))
    taps = [math.exp(-0.5 * (i / sigma) ** 2) for i in range(-radius, radius + 1)]
    total = sum(taps)
    return [t / total for t in taps]


def gaussian_blur_mask(mask, sigmas):
    """Separable Gaussian blur of a (B, H, W, 1), (B, L, 1) or (B, F) mask with
    symmetric (mirror) padding, so a box touching the border is not darkened.
    ``sigmas`` gives one standard deviation in pixels per region axis.
    The output stays in [0, 1] (a convex combination of mask values)."""
    rank = mask.shape.rank
    squeeze = rank == 2
    m = mask[..., tf.newaxis] if squeeze else mask
    axes = spatial_axes(m.shape.rank)
    for axis, sigma in zip(axes, sigmas):
        size = m.shape[axis]
        taps = gaussian_kernel_1d(sigma, size)
        r = len(taps) // 2
        if r == 0:
            continue
        pad = [[0, 0]] * m.shape.rank
        pad[axis] = [r, r]
        padded = tf.pad(m, pad, mode="SYMMETRIC")
        t = tf.constant(taps, m.dtype)
        if m.shape.rank == 4:
            kshape = [len(taps), 1, 1, 1] if axis == 1 else [1, len(taps), 1, 1]
            m = tf.nn.conv2d(padded, tf.reshape(t, kshape), strides=1, padding="VALID")
        else:
            m = tf.nn.conv1d(padded, tf.reshape(t, [len(taps), 1, 1]), stride=1, padding="VALID")
    m = tf.clip_by_value(m, 0.0, 1.0)
    return m[..., 0] if squeeze else m


@keras.saving.register_keras_serializable(package="kgan")
class CutMix(_RealFakeMix):
    """CutMix of a real and a fake sample (Yun et al. 2019): a box covering a
    fraction ``1 - lam0`` of the sample, ``lam0 ~ Beta(alpha, alpha)``, is
    taken from ``x_f``; the rest from ``x_r``. Returns ``lam`` = the fraction
    of the sample kept from ``x_r`` (the mask mean: exact, also when the box
    is clipped at the border). Mask edges are hard (jumps of 1).

    Args:
        alpha: Beta parameter for the box area (1 = uniform).
        seed: seed of the layer's own draws.
    """

    needs_center = True

    def real_mask(self, x, lam0, center):
        return 1.0 - box_mask(x, lam0, center)


@keras.saving.register_keras_serializable(package="kgan")
class SRMix(_RealFakeMix):
    """Smoothed Regional Mix (the sample-mixing study's proposal, docs/mixing.md
    section 2): the CutMix box mask of the fake region, blurred with a Gaussian
    of standard deviation ``sigma * size`` pixels along each region axis
    (mirror padding), ``M = 1 - blur(box)``; ``x = M x_r + (1 - M) x_f`` and
    ``lam = mean(M)`` (the fraction of real content). Adjacent mask values
    differ by at most the kernel's centre tap, about ``1 / (sqrt(2 pi) sigma)``.

    The exact smoothing of the paper was not available to us; a Gaussian-blurred
    box (with ``sigma`` 0.1 of the side by default) is kgan's reading of
    "regional mask with smoothed edges".

    Args:
        alpha: Beta parameter for the box area (1 = uniform).
        sigma: blur standard deviation as a fraction of each region axis' size.
        seed: seed of the layer's own draws.
    """

    needs_center = True

    def __init__(self, alpha=1.0, sigma=0.1, seed=None, **kwargs):
        super().__init__(alpha=alpha, seed=seed, **kwargs)
        self.sigma = check_sigma(sigma)

    def sigmas(self, x):
        return [self.sigma * int(x.shape[a]) for a in spatial_axes(x.shape.rank)]

    def real_mask(self, x, lam0, center):
        for a in spatial_axes(x.shape.rank):
            if x.shape[a] is None:
                raise ValueError(f"SRMix needs static spatial sizes; received shape {tuple(x.shape)}.")
        box = box_mask(x, lam0, center)
        return 1.0 - gaussian_blur_mask(box, self.sigmas(x))

    def get_config(self):
        config = super().get_config()
        config["sigma"] = self.sigma
        return config


MIXING_METHODS = {"mixup": Mixup, "cutmix": CutMix, "srmix": SRMix}


def mixing_layer(method, alpha=1.0, sigma=0.1, seed=None):
    """Build ``Mixup``/``CutMix``/``SRMix`` by name (``sigma`` is used by SRMix only)."""
    if method not in MIXING_METHODS:
        raise ValueError(f"`method` must be one of {sorted(MIXING_METHODS)}; received method={method!r}.")
    if method == "srmix":
        return SRMix(alpha=alpha, sigma=sigma, seed=seed, name="mixer")
    return MIXING_METHODS[method](alpha=alpha, seed=seed, name="mixer")


@keras.saving.register_keras_serializable(package="kgan")
class AdaptiveMix(keras.layers.Layer):
    """AdaptiveMix's pair mixing (Liu, Zhang et al. CVPR 2023; official code
    ``Discriminator.adaptive_mix``): ``lam ~ Beta(alpha, alpha)`` once per
    batch, a partner ``x[perm]`` for each sample from a random permutation of
    the same batch, ``x_mix = lam x + (1 - lam) x[perm]``. The discriminator's
    features are mixed the same way with :meth:`mix` to give ``z_mix``.

    ``call(x, lam=None, keys=None)`` returns ``(x_mix, lam, perm)``; ``keys``
    (B,) are uniform numbers whose order (argsort) within each group of
    ``group_size`` consecutive samples defines the permutation.

    Permutation under ``tf.distribute``: the official code permutes the whole
    (per-GPU) batch. kgan permutes within groups of ``group_size`` consecutive
    samples (None: the whole batch the layer sees, i.e. each replica's slice
    under ``MirroredStrategy``). The model draws ``keys`` for the *global*
    batch from a stateless seed and each replica takes its slice, and one
    ``lam`` for the global batch, so a run on R replicas equals a single-device
    run with ``group_size = global_batch / R``.

    Args:
        alpha: Beta parameter (1, the paper's and code's value: lam ~ U(0, 1)).
        group_size: permutation group size (must divide the batch) or None.
        seed: seed of the layer's own draws (used when ``lam``/``keys`` are not passed).
    """

    def __init__(self, alpha=1.0, group_size=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_alpha(alpha)
        if group_size is not None:
            check_positive_int("group_size", group_size)
        self.group_size = group_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # no weights to build (an unbuilt sublayer would make fit() call the model)

    def permutation(self, keys):
        """Indices (B,) permuting each group of ``group_size`` samples by the order of ``keys``."""
        keys = tf.reshape(tf.convert_to_tensor(keys, tf.float32), [-1])
        n = tf.shape(keys)[0]
        if self.group_size is None:
            return tf.argsort(keys, stable=True)
        g = self.group_size
        static_n = keys.shape[0]
        if static_n is not None and static_n % g:
            raise ValueError(f"`group_size`={g} must divide the batch size; received a batch of {static_n}.")
        check = tf.debugging.assert_equal(
            n % g, 0, message=f"AdaptiveMix: group_size={g} must divide the (per-replica) batch size")
        with tf.control_dependencies([check]):
            grouped = tf.reshape(keys, [-1, g])
        order = tf.argsort(grouped, axis=1, stable=True)
        offsets = tf.range(tf.shape(grouped)[0])[:, None] * g
        return tf.reshape(order + offsets, [-1])

    @staticmethod
    def mix(a, lam, perm):
        """``lam * a + (1 - lam) * a[perm]`` (images or features)."""
        a = tf.convert_to_tensor(a)
        lam = tf.cast(lam, a.dtype)
        return lam * a + (1.0 - lam) * tf.gather(a, perm)

    def call(self, x, lam=None, keys=None, training=None):
        x = tf.convert_to_tensor(x)
        n = tf.shape(x)[0]
        if lam is None:
            lam = keras.random.beta((), self.alpha, self.alpha, seed=self.seed_generator)
        if keys is None:
            keys = keras.random.uniform((n,), seed=self.seed_generator)
        lam = tf.reshape(tf.cast(lam, tf.float32), [])
        perm = self.permutation(keys)
        return self.mix(x, lam, perm), lam, perm

    def compute_output_shape(self, x_shape, **kwargs):
        return x_shape, (), (x_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, group_size=self.group_size, seed=self.seed)
        return config
