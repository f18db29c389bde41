"""Fully connected generator, discriminator and encoder for 2D (or any vector) data.

Defaults are the VEEGAN 2D mode-collapse protocol (Srivastava et al. 2017,
Sec. 5.1; docs/benchmarks section A): G: z in R^256 -> FC128 tanh -> FC128
tanh -> 2; D: 2 -> FC128 tanh -> FC128 tanh -> 1.
"""
import keras

from kgan.nets.common import (assemble_discriminator, check_activation, check_heads,
                              check_hidden, check_initializer, check_num_classes, dense,
                              discriminator_head, f32, inputs_for, make_initializer)
from kgan.utils import check_bool, check_positive_int

__all__ = ["mlp_generator", "mlp_discriminator", "mlp_encoder"]


def _mlp(h, hidden, activation, spectral_norm, prefix, init):
    for i, units in enumerate(hidden):
        h = dense(units, f"{prefix}_dense{i}", spectral_norm, kernel_initializer=make_initializer(init))(h)
        h = keras.layers.Activation(activation, name=f"{prefix}_act{i}")(h)
    return h


def mlp_generator(latent_dim=256, hidden=(128, 128), activation="tanh", out_dim=2,
                  num_classes=None, spectral_norm=False, init="glorot_uniform", name="mlp_generator"):
    """MLP generator ``z -> FC(hidden[0]) act -> ... -> FC(out_dim)`` (linear output).

    Default: the VEEGAN 2D protocol generator (z 256 -> FC128 tanh -> FC128
    tanh -> 2). The output is linear (2D targets such as the 25-Gaussian grid
    at +-4 are not in [-1, 1]) and float32.

    Conditional (``num_classes`` set): the model takes ``[z, y]`` and feeds
    ``concat(z, one_hot(y))`` to the first layer, as the conditional GAN of
    Mirza & Osindero 2014.

    Args:
        latent_dim: size of ``z``.
        hidden: units of each hidden layer.
        activation: hidden activation (any Keras activation).
        out_dim: size of a sample.
        num_classes: None (unconditional) or the number of classes.
        spectral_norm: wrap every Dense in ``keras.layers.SpectralNormalization``.
        init: kernel initializer of every Dense (a Keras name, config dict or
            initializer; see :func:`kgan.nets.common.make_initializer`). Keras'
            ``"glorot_uniform"`` by default; the GDPP 2D code uses
            ``{"class_name": "Orthogonal", "config": {"gain": 1.4}}``.
        name: model name.

    Returns:
        A functional ``keras.Model``: ``z`` (B, latent_dim) [and ``y`` (B,)]
        -> (B, out_dim) float32.
    """
    latent_dim = check_positive_int("latent_dim", latent_dim)
    out_dim = check_positive_int("out_dim", out_dim)
    hidden = check_hidden(hidden)
    check_activation(activation)
    num_classes = check_num_classes(num_classes)
    check_bool("spectral_norm", spectral_norm)
    check_initializer(init)
    z, y, inputs = inputs_for((latent_dim,), num_classes, "z")
    h = z
    if y is not None:
        onehot = keras.layers.CategoryEncoding(num_classes, output_mode="one_hot",
                                               name="y_one_hot")(y)
        h = keras.layers.Concatenate(name="z_y")([z, onehot])
    h = _mlp(h, hidden, activation, spectral_norm, "g", init)
    out = dense(out_dim, "g_out", spectral_norm, dtype="float32", kernel_initializer=make_initializer(init))(h)
    out = f32("output")(out)
    return keras.Model(inputs, out, name=name)


def mlp_discriminator(in_dim=2, hidden=(128, 128), activation="tanh", num_classes=None,
                      heads=("logit",), spectral_norm=False, embed_dim=512, code_dim=32,
                      init="glorot_uniform", name="mlp_discriminator"):
    """MLP discriminator ``x -> FC(hidden[0]) act -> ... -> heads``.

    Default: the VEEGAN 2D protocol discriminator (2 -> FC128 tanh -> FC128 tanh -> 1).
    ``features`` = ``pooled`` = the last hidden layer's output (B, hidden[-1]).
    The heads (``"logit"``, ``"projection"``, ``"classifier"``,
    ``"hypersphere"``, ``"code"``) are those of
    :func:`kgan.nets.common.discriminator_head`; the labels enter only
    through the heads.

    Args:
        in_dim: size of a sample.
        hidden: units of each hidden layer.
        activation: hidden activation.
        num_classes: None or the number of classes (then the model takes ``[x, y]``).
        heads: heads to build (``"logit"`` is always built).
        spectral_norm: spectral normalisation on every Dense and class embedding.
        embed_dim: size of the ``"hypersphere"`` embedding.
        code_dim: size of the ``"code"`` output.
        init: kernel initializer of every Dense, heads included (see :func:`mlp_generator`).
        name: model name.

    Returns:
        A functional ``keras.Model`` returning a dict with ``"logit"`` (B, 1),
        ``"features"`` and ``"pooled"`` (B, hidden[-1]) and the heads' outputs,
        all float32.
    """
    in_dim = check_positive_int("in_dim", in_dim)
    hidden = check_hidden(hidden)
    check_activation(activation)
    num_classes = check_num_classes(num_classes)
    heads = check_heads(heads, num_classes)
    check_bool("spectral_norm", spectral_norm)
    check_initializer(init)
    x, y, inputs = inputs_for((in_dim,), num_classes, "x")
    features = _mlp(x, hidden, activation, spectral_norm, "d", init)
    head = discriminator_head((hidden[-1],), heads, num_classes, spectral_norm=spectral_norm,
                              embed_dim=embed_dim, code_dim=code_dim, kernel_initializer=init)
    return assemble_discriminator(inputs, features, y, head, name)


def mlp_encoder(in_dim=2, latent_dim=256, hidden=(128, 128), activation="tanh",
                init="glorot_uniform", name="mlp_encoder"):
    """MLP encoder ``x -> FC(hidden) act ... -> FC(latent_dim)`` (linear, float32).

    The encoder E of the mode-regularised GAN (Che et al. 2017, Sec. 3),
    mirroring :func:`mlp_generator` so that ``G(E(x))`` reconstructs ``x``.
    """
    in_dim = check_positive_int("in_dim", in_dim)
    latent_dim = check_positive_int("latent_dim", latent_dim)
    hidden = check_hidden(hidden)
    check_activation(activation)
    check_initializer(init)
    x = keras.Input(shape=(in_dim,), name="x")
    h = _mlp(x, hidden, activation, False, "e", init)
    z = dense(latent_dim, "e_out", dtype="float32", kernel_initializer=make_initializer(init))(h)
    return keras.Model(x, f32("z")(z), name=name)
