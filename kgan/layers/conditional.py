"""Class-conditional layers: conditional batch norm, class embedding, hypersphere projection.

These are the pieces conditional GANs put inside their networks:

* :class:`ConditionalBatchNormalization` -- the class-conditional generator's
  normalisation (de Vries et al. 2017; Miyato & Koyama 2018, Sec. 5; StudioGAN
  ``ops.ConditionalBatchNorm2d``).
* :class:`ClassEmbedding` -- a class id -> vector table, used by the projection
  discriminator (``<embed(y), h>``, Miyato & Koyama 2018, Eq. 3) and for the
  ReACGAN class proxies (Kang et al. 2021, Sec. 4.1).
* :class:`HypersphereProjection` -- L2 normalisation onto the unit sphere
  (ReACGAN, Kang et al. 2021, Sec. 4.1).
"""
import keras
import tensorflow as tf
from keras import ops

from kgan.utils import check_bool, check_non_negative, check_positive_int

__all__ = ["ConditionalBatchNormalization", "ClassEmbedding", "HypersphereProjection"]


def _class_ids(y, layer):
    """Return ``y`` as an int32 vector (B,), after checking its shape and dtype.

    Accepts integer (or integer-valued float) ids of shape (B,) or (B, 1).
    """
    y = tf.convert_to_tensor(y)
    if y.dtype == tf.bool or y.dtype == tf.string or y.dtype.is_complex:
        raise TypeError(
            f"{type(layer).__name__} {layer.name!r}: class ids must be integers; "
            f"received a tensor of dtype {y.dtype.name}.")
    rank = y.shape.rank
    if rank == 2 and y.shape[-1] == 1:
        y = tf.reshape(y, [-1])
    elif rank != 1:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r}: class ids must have shape (batch,) "
            f"or (batch, 1) (integer labels, not one-hot); received shape {tuple(y.shape)}.")
    if y.dtype != tf.int32:
        y = tf.cast(y, tf.int32)
    return y


def _spectral_normalize(kernel, vector_u, power_iterations):
    """One power-iteration estimate of sigma(W) and W / sigma(W).

    Same computation as ``keras.layers.SpectralNormalization.normalized_weights``
    (Miyato et al. 2018, Alg. 1): W is viewed as a (-1, last_dim) matrix.
    """
    shape = kernel.shape
    w = ops.reshape(kernel, [-1, shape[-1]])
    u = vector_u
    for _ in range(power_iterations):
        v = keras.utils.normalize(ops.matmul(u, ops.transpose(w)), axis=None)
        u = keras.utils.normalize(ops.matmul(v, w), axis=None)
    u = ops.stop_gradient(u)
    v = ops.stop_gradient(v)
    sigma = ops.matmul(ops.matmul(v, w), ops.transpose(u))
    return u, ops.reshape(ops.divide(kernel, sigma), shape)


@keras.saving.register_keras_serializable(package="kgan")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalisation with a per-class scale and shift.

    ``out = gamma[y] * (x - mean) / sqrt(var + epsilon) + beta[y]``

    The statistics are the usual batch-norm ones (batch statistics while
    training, moving averages at inference, computed over every axis but the
    last), taken by an inner ``keras.layers.BatchNormalization`` with
    ``center=False, scale=False``; ``gamma`` and ``beta`` are
    ``(num_classes, C)`` tables looked up with the label, initialised to 1 and
    0 so that at initialisation the layer equals plain batch norm. This is the
    conditional batch norm of de Vries et al. 2017 / Dumoulin et al. 2017 used
    in the class-conditional generators of Miyato & Koyama 2018 (Sec. 5) and
    StudioGAN (``ops.ConditionalBatchNorm2d``: ``(1 + embed0(y)) * bn(x) +
    embed1(y)``, which is the same function with ``gamma = 1 + embed0``).

    Defaults follow StudioGAN's ``batchnorm_2d``: PyTorch ``momentum=0.1``, i.e.
    Keras ``momentum=0.9``, and ``epsilon=1e-4``.

    Call it on ``[x, y]``: ``x`` of shape (B, ..., C) -- (B, H, W, C) or (B, C)
    -- and ``y`` integer class ids of shape (B,) or (B, 1).

    Args:
        num_classes: number of classes (rows of the gamma/beta tables).
        momentum: moving-average momentum of the statistics (Keras convention:
            ``moving = momentum * moving + (1 - momentum) * batch``).
        epsilon: added to the variance.
        gamma_initializer, beta_initializer: initialisers of the tables.

    Example:
        >>> cbn = ConditionalBatchNormalization(num_classes=10)
        >>> h = cbn([np.random.randn(4, 8, 8, 16).astype("float32"), np.array([0, 1, 2, 3])])
        >>> h.shape
        TensorShape([4, 8, 8, 16])
    """

    def __init__(self, num_classes, momentum=0.9, epsilon=1e-4,
                 gamma_initializer="ones", beta_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        momentum = check_non_negative("momentum", momentum)
        if momentum >= 1.0:
            raise ValueError(f"`momentum` must be in [0, 1); received momentum={momentum!r}.")
        self.momentum = momentum
        epsilon = check_non_negative("epsilon", epsilon)
        if epsilon <= 0:
            raise ValueError(f"`epsilon` must be > 0; received epsilon={epsilon!r}.")
        self.epsilon = epsilon
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.bn = keras.layers.BatchNormalization(
            axis=-1, momentum=self.momentum, epsilon=self.epsilon, center=False, scale=False,
            dtype=self.dtype_policy, name="bn")

    def _split(self, input_shape):
        if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
                and isinstance(input_shape[0], (list, tuple))):
            raise ValueError(
                f"ConditionalBatchNormalization {self.name!r} must be called on [x, y] "
                f"(features and integer class ids); received input shape {input_shape!r}.")
        return tuple(input_shape[0]), tuple(input_shape[1])

    def build(self, input_shape):
        x_shape, _ = self._split(input_shape)
        if len(x_shape) < 2 or x_shape[-1] is None:
            raise ValueError(
                f"ConditionalBatchNormalization {self.name!r}: x must have rank >= 2 and a "
                f"known last (channel) axis; received x shape {x_shape}.")
        channels = x_shape[-1]
        self.bn.build(x_shape)
        self.gamma = self.add_weight(
            shape=(self.num_classes, channels), initializer=self.gamma_initializer, name="gamma")
        self.beta = self.add_weight(
            shape=(self.num_classes, channels), initializer=self.beta_initializer, name="beta")

    def call(self, inputs, training=None):
        x, y = inputs
        ids = _class_ids(y, self)
        h = self.bn(x, training=training)
        gamma = ops.cast(tf.gather(self.gamma, ids), h.dtype)
        beta = ops.cast(tf.gather(self.beta, ids), h.dtype)
        bshape = [-1] + [1] * (len(x.shape) - 2) + [gamma.shape[-1]]
        return h * ops.reshape(gamma, bshape) + ops.reshape(beta, bshape)

    def compute_output_shape(self, input_shape):
        return self._split(input_shape)[0]

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
        })
        return config


@keras.saving.register_keras_serializable(package="kgan")
class ClassEmbedding(keras.layers.Layer):
    """Class id -> learned vector: ``out = E[y]`` with ``E`` of shape (num_classes, dim).

    Used by the projection discriminator (Miyato & Koyama 2018, Eq. 3:
    ``f(x, y) = psi(phi(x)) + <E[y], phi(x)>``) and for the class proxies of
    ReACGAN (Kang et al. 2021, Sec. 4.1; StudioGAN ``d_embedding``).

    Unlike ``keras.layers.Embedding`` it validates its input: class ids must be
    integers (integer-valued floats are cast) of shape (B,) or (B, 1); a one-hot
    (B, num_classes) matrix or a string tensor raises a clear error. Ids outside
    ``[0, num_classes)`` raise ``InvalidArgumentError`` from ``tf.gather`` on CPU;
    GPUs return zeros for them instead, as TensorFlow documents.

    ``spectral_norm=True`` divides the table by its largest singular value,
    estimated with ``power_iterations`` steps of power iteration on each
    training call (the SN embedding of the official projection-discriminator
    and StudioGAN code). It reproduces ``keras.layers.SpectralNormalization``
    exactly (that wrapper cannot wrap an integer-input layer because it casts
    the output to the input dtype): the normalised table is written back into
    ``embeddings`` during training, and inference uses the stored table.

    Args:
        num_classes: number of classes (rows of the table).
        dim: vector size.
        embeddings_initializer: initialiser of the table (default
            ``"glorot_uniform"``, the Xavier init of Miyato & Koyama's code).
        spectral_norm: apply spectral normalisation to the table.
        power_iterations: power-iteration steps per training call.

    Example:
        >>> emb = ClassEmbedding(num_classes=10, dim=128)
        >>> emb(np.array([3, 7])).shape
        TensorShape([2, 128])
    """

    def __init__(self, num_classes, dim, embeddings_initializer="glorot_uniform",
                 spectral_norm=False, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.dim = check_positive_int("dim", dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.spectral_norm = check_bool("spectral_norm", spectral_norm)
        self.power_iterations = check_positive_int("power_iterations", power_iterations)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.num_classes, self.dim), initializer=self.embeddings_initializer,
            name="embeddings")
        if self.spectral_norm:
            self.vector_u = self.add_weight(
                shape=(1, self.dim), initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                trainable=False, name="vector_u")

    def call(self, inputs, training=False):
        ids = _class_ids(inputs, self)
        if self.spectral_norm and training:
            new_u, new_table = ops.cond(
                ops.all(ops.equal(self.embeddings.value, 0)),
                lambda: (self.vector_u.value, self.embeddings.value),
                lambda: _spectral_normalize(
                    self.embeddings.value, self.vector_u.value, self.power_iterations))
            self.vector_u.assign(new_u)
            self.embeddings.assign(new_table)
        return ops.cast(tf.gather(self.embeddings, ids), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "dim": self.dim,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            "spectral_norm": self.spectral_norm,
            "power_iterations": self.power_iterations,
        })
        return config


@keras.saving.register_keras_serializable(package="kgan")
class HypersphereProjection(keras.layers.Layer):
    """Project vectors onto the unit hypersphere: ``v / max(||v||_2, epsilon)`` on the last axis.

    ReACGAN's hypersphere projection (Kang et al. 2021, Sec. 4.1), applied to
    the discriminator embedding and to the class proxies before the D2D-CE
    loss; identical to ``torch.nn.functional.normalize(v, dim=-1, eps=1e-12)``
    as used in StudioGAN. The norm is computed in float32 even under mixed
    precision (a float16 sum of squares overflows easily); the output has the
    layer's compute dtype.

    Args:
        epsilon: lower bound of the norm, so a zero vector maps to zero.

    Example:
        >>> HypersphereProjection()(np.array([[3.0, 4.0]], "float32")).numpy()
        array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        epsilon = check_non_negative("epsilon", epsilon)
        if epsilon <= 0:
            raise ValueError(f"`epsilon` must be > 0; received epsilon={epsilon!r}.")
        self.epsilon = epsilon

    def call(self, inputs):
        v = ops.cast(inputs, "float32")
        sq = ops.sum(ops.square(v), axis=-1, keepdims=True)
        out = v * ops.rsqrt(ops.maximum(sq, self.epsilon ** 2))
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
