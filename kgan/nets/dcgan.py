"""DCGAN-style convolutional generator, discriminator and encoder (8, 16, 28, 32, 64 px).

Generator (Radford et al. 2016, with StudioGAN ``deep_conv.py``'s final 3x3
conv): ``Dense -> reshape (s0, s0, width * 2**n) -> BN -> ReLU``, then ``n``
times ``ConvTranspose 4x4 stride 2 -> BN -> ReLU`` halving the channels, then
``Conv 3x3 -> tanh``.

Discriminator: ``n`` times ``Conv 4x4 stride 2 -> LeakyReLU(0.2)`` doubling
the channels from ``width`` (DCGAN without batch norm in D, so gradient
penalties, mixing and spectral norm behave per sample), then the head of
:func:`kgan.nets.common.discriminator_head` on the FLATTENED feature map by
default, as the original DCGAN (its last 4x4 conv covers the whole map),
SNGAN's standard CNN and keras-io's DCGAN example. Global sum pooling
(``pooling="sum"``) suits deep discriminators (StudioGAN's DCGAN pools after
seven convs); after two or three convs it throws away where things are:
measured on Fashion-MNIST (width 32, 2,000 steps, seed 0) a pooled head gave a
domain-classifier FD of 121 with lopsided classes (26 bags per trouser), the
flattened head 35 with balanced classes.

=====  ======  ===  =====================================
size   s0      n    D features (H, W, C)
=====  ======  ===  =====================================
8      2       2    2 x 2 x 2*width
16     4       2    4 x 4 x 2*width
28     7       2    7 x 7 x 2*width
32     4       3    4 x 4 x 4*width
64     4       4    4 x 4 x 8*width
=====  ======  ===  =====================================
"""
import keras

from kgan.nets.common import (POOLINGS, assemble_discriminator, batch_norm, check_common, check_heads, check_size,
                              conv, dense, discriminator_head, f32, inputs_for)
from kgan.utils import check_choice, check_positive_int

__all__ = ["dcgan_generator", "dcgan_discriminator", "dcgan_encoder", "DCGAN_SIZES"]

#: size -> (start resolution, number of stride-2 stages)
_PLANS = {8: (2, 2), 16: (4, 2), 28: (7, 2), 32: (4, 3), 64: (4, 4)}
#: Image sizes the DCGAN builders support.
DCGAN_SIZES = tuple(sorted(_PLANS))



def _init():
    # N(0, 0.02), the DCGAN initialisation (Radford et al. 2016, Sec. 4); a new
    # instance per layer so unseeded layers do not share values.
    return keras.initializers.RandomNormal(stddev=0.02)






def dcgan_generator(size, channels, latent_dim=128, num_classes=None, width=64,
                    spectral_norm=False, name="dcgan_generator"):
    """DCGAN generator for ``size`` x ``size`` x ``channels`` images in [-1, 1].

    ``z -> Dense(s0*s0*width*2**n) -> reshape -> BN -> ReLU ->
    n x [ConvT 4x4/2 -> BN -> ReLU] -> Conv 3x3 -> tanh`` (see the module
    table for ``s0`` and ``n``; the last stage has ``width`` channels). With
    ``num_classes`` every BN is :class:`~kgan.layers.ConditionalBatchNormalization`
    (class-conditional G of Miyato & Koyama 2018 / StudioGAN "cBN") and the
    model takes ``[z, y]``. Weights start from N(0, 0.02) (Radford et al.
    2016). BN: momentum 0.9, epsilon 1e-4 (StudioGAN).

    Args:
        size: image size, one of ``DCGAN_SIZES`` (8, 16, 28, 32, 64).
        channels: image channels.
        latent_dim: size of ``z``.
        num_classes: None or the number of classes.
        width: channels of the last up-sampling stage (doubling towards the input).
        spectral_norm: spectral normalisation on every Dense / conv.
        name: model name.

    Returns:
        A functional ``keras.Model`` mapping ``z`` (B, latent_dim) [and ``y``
        (B,)] to images (B, size, size, channels), float32 in [-1, 1].
    """
    num_classes = check_common("dcgan_generator", size, _PLANS, channels, width, num_classes,
                                spectral_norm)
    latent_dim = check_positive_int("latent_dim", latent_dim)
    start, n = _PLANS[size]
    ch = width * 2 ** n
    z, y, inputs = inputs_for((latent_dim,), num_classes, "z")
    h = dense(start * start * ch, "g_dense", spectral_norm, use_bias=False,
              kernel_initializer=_init())(z)
    h = keras.layers.Reshape((start, start, ch), name="g_reshape")(h)
    h = batch_norm(h, y, num_classes, "g_bn0")
    h = keras.layers.ReLU(name="g_relu0")(h)
    for i in range(1, n + 1):
        ch //= 2
        h = conv(ch, 4, f"g_deconv{i}", strides=2, spectral_norm=spectral_norm, use_bias=False,
                 kernel_initializer=_init(), transpose=True)(h)
        h = batch_norm(h, y, num_classes, f"g_bn{i}")
        h = keras.layers.ReLU(name=f"g_relu{i}")(h)
    h = conv(channels, 3, "g_out", spectral_norm=spectral_norm, dtype="float32",
             kernel_initializer=_init())(h)
    return keras.Model(inputs, f32("output", "tanh")(h), name=name)


def _backbone(x, n, width, spectral_norm, prefix):
    h = x
    for i in range(n):
        h = conv(width * 2 ** i, 4, f"{prefix}_conv{i}", strides=2, spectral_norm=spectral_norm,
                 kernel_initializer=_init())(h)
        h = keras.layers.LeakyReLU(negative_slope=0.2, name=f"{prefix}_lrelu{i}")(h)
    return h


def dcgan_discriminator(size, channels, num_classes=None, heads=("logit",), width=64,
                        spectral_norm=False, embed_dim=512, code_dim=32, pooling="flatten",
                        name="dcgan_discriminator"):
    """DCGAN discriminator returning the kgan output dict.

    ``x -> n x [Conv 4x4/2 -> LeakyReLU(0.2)]`` (channels ``width, 2*width,
    ...``; no batch norm) gives ``features`` (B, s0, s0, width*2**(n-1));
    ``pooled`` is that map flattened (``pooling="flatten"``, the default: the
    original DCGAN and SNGAN's standard CNN, whose linear head sees every
    position), its global SUM over H, W (``pooling="sum"``, StudioGAN's
    deeper discriminators) or the mean (``pooling="mean"``); the heads act on
    ``pooled`` (see
    :func:`kgan.nets.common.discriminator_head`). With ``spectral_norm``
    every conv, Dense and class embedding is spectrally normalised (SNGAN,
    Miyato et al. 2018).

    Args:
        size: image size, one of ``DCGAN_SIZES``.
        channels: image channels.
        num_classes: None or the number of classes (then the model takes ``[x, y]``).
        heads: any of ``"logit"`` (always built), ``"projection"``,
            ``"classifier"``, ``"hypersphere"``, ``"code"``.
        width: channels of the first conv (doubling at each stage).
        spectral_norm: spectral normalisation everywhere in D.
        embed_dim: size of the ``"hypersphere"`` embedding (512 in ReACGAN's CIFAR-10 config).
        code_dim: size of the ``"code"`` output (MaEM-GAN m: 16 CIFAR-10, 32 otherwise).
        pooling: ``"flatten"`` (default), ``"sum"`` or ``"mean"``.
        name: model name.

    Returns:
        A functional ``keras.Model`` returning a dict with ``"logit"`` (B, 1),
        ``"features"`` (B, s0, s0, C), ``"pooled"`` (B, s0*s0*C when flattened,
        else (B, C)) and the heads' outputs, all float32.
    """
    num_classes = check_common("dcgan_discriminator", size, _PLANS, channels, width, num_classes,
                                spectral_norm)
    heads = check_heads(heads, num_classes)
    check_choice("pooling", pooling, POOLINGS)
    start, n = _PLANS[size]
    x, y, inputs = inputs_for((size, size, channels), num_classes, "x")
    features = _backbone(x, n, width, spectral_norm, "d")
    head = discriminator_head(tuple(features.shape[1:]), heads, num_classes, pooling=pooling,
                              spectral_norm=spectral_norm, embed_dim=embed_dim,
                              code_dim=code_dim)
    return assemble_discriminator(inputs, features, y, head, name)


def dcgan_encoder(size, channels, latent_dim=128, width=64, name="dcgan_encoder"):
    """DCGAN encoder ``x -> z`` for the mode-regularised GAN (Che et al. 2017, Sec. 3).

    The discriminator's convolutional backbone (``n x [Conv 4x4/2 ->
    LeakyReLU(0.2)]``), flattened, then ``Dense(latent_dim)`` with a linear
    float32 output, matching :func:`dcgan_generator`'s ``z``.
    """
    check_size(size, _PLANS, "dcgan_encoder")
    check_positive_int("channels", channels)
    check_positive_int("width", width)
    latent_dim = check_positive_int("latent_dim", latent_dim)
    _, n = _PLANS[size]
    x = keras.Input(shape=(size, size, channels), name="x")
    h = _backbone(x, n, width, False, "e")
    h = keras.layers.Flatten(name="e_flatten")(h)
    z = dense(latent_dim, "e_out", dtype="float32", kernel_initializer=_init())(h)
    return keras.Model(x, f32("z")(z), name=name)
