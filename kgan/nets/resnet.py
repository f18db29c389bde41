"""SNGAN / BigGAN-style ResNet generator, SN-ResNet discriminator and encoder (32, 64 px).

Layout and channel multipliers follow StudioGAN ``src/models/resnet.py``
(itself the SNGAN / projection-discriminator ResNets of Miyato et al. 2018
and Miyato & Koyama 2018), with ``width`` = StudioGAN's ``g_conv_dim`` /
``d_conv_dim`` (64 by default):

=====  ===========================================  ==========================================
size   generator blocks (channels, 4x4 -> size)     discriminator blocks (channels, downsample)
=====  ===========================================  ==========================================
32     4w, 4w, 4w                                   2w/, 2w/, 2w, 2w  -> features 8 x 8 x 2w
64     8w, 4w, 2w, w  (input 16w)                   w/, 2w/, 4w/, 8w/, 16w -> 4 x 4 x 16w
=====  ===========================================  ==========================================

Generator block (pre-activation, up-sampling): ``BN -> ReLU -> upsample x2
(nearest) -> conv3x3 -> BN -> ReLU -> conv3x3`` plus the shortcut ``upsample
-> conv1x1``; BN is class-conditional when ``num_classes`` is set. The
generator ends with ``BN -> ReLU -> conv3x3 -> tanh``.

Discriminator: the first block is the "optimized" block ``conv3x3 -> ReLU ->
conv3x3 -> avgpool`` + ``avgpool -> conv1x1``; the others ``ReLU -> conv3x3
-> ReLU -> conv3x3 [-> avgpool]`` + ``conv1x1 [-> avgpool]`` (shortcut conv
only when downsampling or changing channels). Head: ``ReLU -> global SUM
pooling -> heads``. Weights start orthogonal (StudioGAN's ``"ortho"`` init).
"""
import keras

from kgan.nets.common import (BN_EPSILON, BN_MOMENTUM, assemble_discriminator, batch_norm, check_common,
                              check_heads, check_size, conv, dense, discriminator_head, f32, inputs_for)
from kgan.utils import check_choice, check_positive_int

__all__ = ["resnet_generator", "resnet_discriminator", "resnet_encoder", "RESNET_SIZES"]

#: Image sizes the ResNet builders support.
RESNET_SIZES = (32, 64)
_G_PLANS = {32: ((4, 4, 4), (4, 4, 4)), 64: ((16, 8, 4, 2), (8, 4, 2, 1))}
_D_PLANS = {32: ((2, 2, 2, 2), (True, True, False, False)),
            64: ((1, 2, 4, 8, 16), (True, True, True, True, False))}
_BOTTOM = 4


def _init():
    # Orthogonal init, StudioGAN's "ortho" (a new instance per layer).
    return keras.initializers.Orthogonal()






def _gen_block(x, y, out_ch, num_classes, sn, p):
    h = batch_norm(x, y, num_classes, f"{p}_bn1")
    h = keras.layers.ReLU(name=f"{p}_relu1")(h)
    h = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{p}_up")(h)
    h = conv(out_ch, 3, f"{p}_conv1", spectral_norm=sn, kernel_initializer=_init())(h)
    h = batch_norm(h, y, num_classes, f"{p}_bn2")
    h = keras.layers.ReLU(name=f"{p}_relu2")(h)
    h = conv(out_ch, 3, f"{p}_conv2", spectral_norm=sn, kernel_initializer=_init())(h)
    s = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{p}_sc_up")(x)
    s = conv(out_ch, 1, f"{p}_sc_conv", spectral_norm=sn, kernel_initializer=_init())(s)
    return keras.layers.Add(name=f"{p}_add")([h, s])


def resnet_generator(size, channels, latent_dim=128, num_classes=None, width=64,
                     spectral_norm=False, name="resnet_generator"):
    """ResNet generator (SNGAN / StudioGAN ``resnet.py``) for images in [-1, 1].

    ``z -> Dense(4*4*C0) -> reshape -> GenBlocks (x2 upsampling each) -> BN ->
    ReLU -> conv3x3 -> tanh`` (channels in the module table). With
    ``num_classes`` the blocks use :class:`~kgan.layers.ConditionalBatchNormalization`
    (StudioGAN ``g_cond_mtd="cBN"``; the final BN stays unconditional, as there)
    and the model takes ``[z, y]``. ``spectral_norm=True`` puts SN on every
    Dense / conv of G (StudioGAN's ReACGAN / BigGAN configs apply SN to G).

    Args:
        size: 32 or 64.
        channels: image channels.
        latent_dim: size of ``z``.
        num_classes: None or the number of classes.
        width: StudioGAN's ``g_conv_dim`` (channel multiplier).
        spectral_norm: SN on every Dense / conv.
        name: model name.

    Returns:
        A functional ``keras.Model``: ``z`` [, ``y``] -> (B, size, size,
        channels) float32 in [-1, 1].
    """
    num_classes = check_common("resnet_generator", size, RESNET_SIZES, channels, width, num_classes,
                                spectral_norm)
    latent_dim = check_positive_int("latent_dim", latent_dim)
    in_mult, out_mult = _G_PLANS[size]
    z, y, inputs = inputs_for((latent_dim,), num_classes, "z")
    c0 = in_mult[0] * width
    h = dense(_BOTTOM * _BOTTOM * c0, "g_dense", spectral_norm, kernel_initializer=_init())(z)
    h = keras.layers.Reshape((_BOTTOM, _BOTTOM, c0), name="g_reshape")(h)
    for i, m in enumerate(out_mult):
        h = _gen_block(h, y, m * width, num_classes, spectral_norm, f"g_block{i}")
    h = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                        name="g_bn_out")(h)
    h = keras.layers.ReLU(name="g_relu_out")(h)
    h = conv(channels, 3, "g_out", spectral_norm=spectral_norm, dtype="float32",
             kernel_initializer=_init())(h)
    return keras.Model(inputs, f32("output", "tanh")(h), name=name)


def _disc_backbone(x, width, size, sn, prefix):
    mults, down = _D_PLANS[size]
    avg = keras.layers.AveragePooling2D
    in_ch = x.shape[-1]
    h = x
    for i, (m, d) in enumerate(zip(mults, down)):
        out_ch, p = m * width, f"{prefix}_block{i}"
        if i == 0:  # DiscOptBlock
            r = conv(out_ch, 3, f"{p}_conv1", spectral_norm=sn, kernel_initializer=_init())(h)
            r = keras.layers.ReLU(name=f"{p}_relu1")(r)
            r = conv(out_ch, 3, f"{p}_conv2", spectral_norm=sn, kernel_initializer=_init())(r)
            r = avg(2, name=f"{p}_pool")(r)
            s = avg(2, name=f"{p}_sc_pool")(h)
            s = conv(out_ch, 1, f"{p}_sc_conv", spectral_norm=sn, kernel_initializer=_init())(s)
        else:  # DiscBlock
            r = keras.layers.ReLU(name=f"{p}_relu1")(h)
            r = conv(out_ch, 3, f"{p}_conv1", spectral_norm=sn, kernel_initializer=_init())(r)
            r = keras.layers.ReLU(name=f"{p}_relu2")(r)
            r = conv(out_ch, 3, f"{p}_conv2", spectral_norm=sn, kernel_initializer=_init())(r)
            s = h
            if d or in_ch != out_ch:
                s = conv(out_ch, 1, f"{p}_sc_conv", spectral_norm=sn,
                         kernel_initializer=_init())(s)
            if d:
                r = avg(2, name=f"{p}_pool")(r)
                s = avg(2, name=f"{p}_sc_pool")(s)
        h = keras.layers.Add(name=f"{p}_add")([r, s])
        in_ch = out_ch
    return h


def resnet_discriminator(size, channels, num_classes=None, heads=("logit",), width=64,
                         spectral_norm=True, embed_dim=512, code_dim=32, pooling="sum",
                         name="resnet_discriminator"):
    """SN-ResNet discriminator (SNGAN / StudioGAN ``resnet.py``) returning the kgan dict.

    ``features`` is the last block's output (before the final ReLU); the
    head applies ``ReLU -> global SUM pooling`` (``pooling="sum"``, as
    StudioGAN's ``torch.sum(h, dim=[2, 3])``; ``"mean"`` is the alternative)
    to get ``pooled`` and builds the heads on it (see
    :func:`kgan.nets.common.discriminator_head`). SN is on by default on every
    conv, Dense and class embedding. Without SN there is no other
    normalisation (StudioGAN would put BN in D then; kgan does not).

    Args:
        size: 32 or 64.
        channels: image channels.
        num_classes: None or the number of classes (then the model takes ``[x, y]``).
        heads: any of ``"logit"`` (always built), ``"projection"``,
            ``"classifier"``, ``"hypersphere"``, ``"code"``.
        width: StudioGAN's ``d_conv_dim`` (channel multiplier).
        spectral_norm: spectral normalisation everywhere in D (default True).
        embed_dim: size of the ``"hypersphere"`` embedding (512 in ReACGAN's CIFAR-10 config).
        code_dim: size of the ``"code"`` output.
        pooling: ``"sum"`` (default) or ``"mean"``.
        name: model name.

    Returns:
        A functional ``keras.Model`` returning a dict with ``"logit"`` (B, 1),
        ``"features"`` (B, H, W, C), ``"pooled"`` (B, C) and the heads'
        outputs, all float32.
    """
    num_classes = check_common("resnet_discriminator", size, RESNET_SIZES, channels, width, num_classes,
                                spectral_norm)
    heads = check_heads(heads, num_classes)
    check_choice("pooling", pooling, ("sum", "mean"))
    x, y, inputs = inputs_for((size, size, channels), num_classes, "x")
    features = _disc_backbone(x, width, size, spectral_norm, "d")
    head = discriminator_head(tuple(features.shape[1:]), heads, num_classes, pooling=pooling,
                              pre_activation="relu", spectral_norm=spectral_norm,
                              embed_dim=embed_dim, code_dim=code_dim)
    return assemble_discriminator(inputs, features, y, head, name)


def resnet_encoder(size, channels, latent_dim=128, width=64, name="resnet_encoder"):
    """ResNet encoder ``x -> z`` for the mode-regularised GAN (Che et al. 2017, Sec. 3).

    The discriminator's ResNet backbone without spectral norm, then ``ReLU ->
    flatten -> Dense(latent_dim)`` with a linear float32 output, matching
    :func:`resnet_generator`'s ``z``.
    """
    check_size(size, RESNET_SIZES, "resnet_encoder")
    check_positive_int("channels", channels)
    check_positive_int("width", width)
    latent_dim = check_positive_int("latent_dim", latent_dim)
    x = keras.Input(shape=(size, size, channels), name="x")
    h = _disc_backbone(x, width, size, False, "e")
    h = keras.layers.ReLU(name="e_relu_out")(h)
    h = keras.layers.Flatten(name="e_flatten")(h)
    z = dense(latent_dim, "e_out", dtype="float32", kernel_initializer=_init())(h)
    return keras.Model(x, f32("z")(z), name=name)
