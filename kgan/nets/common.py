"""Shared pieces of the kgan network builders: argument checks, SN-wrapped layers,
global sum pooling and the discriminator head.

Every discriminator is ``backbone -> head``: the backbone maps ``x`` to
``features`` (the last block's output, before pooling) and the head, built by
:func:`discriminator_head`, is a nested functional model named ``"head"``
mapping ``features`` (and ``y`` when a head needs the label) to the dict of
outputs (``pooled``, ``logit`` and the optional heads). It is reachable as
``D.get_layer("head")``, so methods that score mixed features (AdaptiveMix's
official variant scores ``head(z_mix)``) can call it directly.
"""
import keras
from keras import ops

from kgan.layers.conditional import ClassEmbedding, ConditionalBatchNormalization, HypersphereProjection
from kgan.utils import check_bool, check_choice, check_positive_int  # noqa: F401  (check_bool re-exported)

#: Discriminator heads and the outputs they add.
HEADS = {
    "logit": ("logit",),
    "projection": ("logit",),
    "classifier": ("class_logits",),
    "hypersphere": ("embed", "proxy"),
    "code": ("code",),
}
#: How a discriminator head reduces an (H, W, C) feature map to the vector its heads read.
POOLINGS = ("sum", "mean", "flatten")
#: Heads that read the label ``y``.
HEADS_USING_LABELS = ("projection", "hypersphere")
#: Heads that need ``num_classes``.
HEADS_NEEDING_CLASSES = ("projection", "classifier", "hypersphere")


@keras.saving.register_keras_serializable(package="kgan")
class GlobalSumPooling2D(keras.layers.Layer):
    """Sum over the spatial axes: (B, H, W, C) -> (B, C).

    ``h = sum_{i,j} x[:, i, j, :]`` -- the pooling of the SNGAN / projection
    discriminator (Miyato & Koyama 2018 official code) and StudioGAN's ResNet
    and DCGAN discriminators (``torch.sum(h, dim=[2, 3])``). It equals
    ``GlobalAveragePooling2D`` times H*W.
    """

    def call(self, inputs):
        return ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


# --------------------------------------------------------------------------- checks
def check_size(size, sizes, builder):
    """Return ``size`` if it is an int in ``sizes``; else raise ValueError listing them."""
    if not isinstance(size, int) or isinstance(size, bool) or size not in sizes:
        raise ValueError(
            f"{builder}: `size` must be one of {sorted(sizes)} (image height = width in "
            f"pixels); received size={size!r}.")
    return size


#: BatchNorm of the DCGAN and ResNet generators: PyTorch momentum 0.1 (StudioGAN ops.batchnorm_2d), eps 1e-4.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-4


def batch_norm(h, y, num_classes, name):
    """BatchNorm of ``h``, class-conditional (on ``y``) when ``num_classes`` is set."""
    if num_classes is None:
        return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)(h)
    return ConditionalBatchNormalization(num_classes, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                         name=name)([h, y])


def check_common(builder, size, sizes, channels, width, num_classes, spectral_norm):
    """The arguments every image network builder shares; returns the checked ``num_classes``."""
    check_size(size, sizes, builder)
    check_positive_int("channels", channels)
    check_positive_int("width", width)
    check_bool("spectral_norm", spectral_norm)
    return check_num_classes(num_classes)


def check_num_classes(num_classes):
    """Return ``num_classes`` (None or a positive int), else raise ValueError."""
    if num_classes is None:
        return None
    return check_positive_int("num_classes", num_classes)


def check_hidden(hidden):
    """Return ``hidden`` as a tuple of positive ints (a non-empty list or tuple)."""
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if not isinstance(hidden, (list, tuple)) or len(hidden) == 0:
        raise ValueError(
            "`hidden` must be a non-empty list or tuple of positive integers (units per "
            f"hidden layer); received hidden={hidden!r}.")
    for units in hidden:
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                "`hidden` must contain positive integers (units per hidden layer); "
                f"received hidden={hidden!r}.")
    return tuple(hidden)


def check_activation(activation):
    """Return ``activation`` if Keras can resolve it, else raise ValueError."""
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            "`activation` must be a Keras activation name or callable (e.g. 'tanh', "
            f"'relu'); received activation={activation!r}.") from None
    return activation


def check_heads(heads, num_classes):
    """Normalise ``heads`` to a tuple that starts with ``"logit"``; validate it.

    ``heads`` is a string or an iterable of strings from :data:`HEADS`.
    ``"logit"`` is always included. Heads in :data:`HEADS_NEEDING_CLASSES`
    need ``num_classes``; when ``num_classes`` is given, at least one of them
    must be present (otherwise the labels the discriminator receives would be
    silently ignored).
    """
    if isinstance(heads, str):
        heads = (heads,)
    try:
        heads = tuple(heads)
    except TypeError:
        raise ValueError(
            f"`heads` must be a string or a list of strings from {sorted(HEADS)}; "
            f"received heads={heads!r}.") from None
    for head in heads:
        if head not in HEADS:
            raise ValueError(
                f"Unknown discriminator head {head!r} in heads={heads!r}; expected any of "
                f"{sorted(HEADS)}.")
    out = ["logit"] + [h for h in dict.fromkeys(heads) if h != "logit"]
    need = [h for h in out if h in HEADS_NEEDING_CLASSES]
    if num_classes is None and need:
        raise ValueError(
            f"Head(s) {need} need class labels: pass `num_classes` (received "
            f"num_classes=None, heads={heads!r}).")
    if num_classes is not None and not need:
        raise ValueError(
            f"num_classes={num_classes} was given but heads={heads!r} contain no conditional "
            f"head, so the labels would be ignored. Add one of "
            f"{list(HEADS_NEEDING_CLASSES)} (projection: ProjGAN, classifier: ACGAN, "
            "hypersphere: ReACGAN) or drop `num_classes`.")
    return tuple(out)


def check_initializer(init):
    """Return ``init`` if Keras can make an initializer of it, else raise ValueError."""
    try:
        make_initializer(init)
    except (ValueError, TypeError):
        raise ValueError(
            "`init` must be a Keras initializer name (e.g. 'glorot_uniform', 'orthogonal'), its "
            "config dict (e.g. {'class_name': 'Orthogonal', 'config': {'gain': 1.4}}) or an "
            f"initializer; received init={init!r}.") from None
    return init


def make_initializer(init):
    """A NEW initializer from ``init`` (name, config dict or instance), one per layer, so
    unseeded layers never share values."""
    if isinstance(init, keras.initializers.Initializer):
        return type(init).from_config(init.get_config())
    if isinstance(init, dict):
        return keras.initializers.deserialize(dict(init))
    return keras.initializers.get(init)


# --------------------------------------------------------------------------- layers
def maybe_sn(layer, spectral_norm, name):
    """Wrap ``layer`` in ``keras.layers.SpectralNormalization`` named ``name`` when asked.

    The wrapper takes the public name (``name``); the wrapped layer is
    ``name + "_layer"``. Keras' wrapper writes ``W / sigma(W)`` back into the
    kernel on each training call (the TF-Addons behaviour), so the stored
    kernel is always the normalised one.
    """
    if not spectral_norm:
        return layer
    return keras.layers.SpectralNormalization(layer, name=name, dtype=layer.dtype_policy)


def _inner_name(name, spectral_norm):
    return f"{name}_layer" if spectral_norm else name


def dense(units, name, spectral_norm=False, use_bias=True, dtype=None, kernel_initializer=None):
    """``keras.layers.Dense`` optionally wrapped in spectral normalisation."""
    kw = {"dtype": dtype} if dtype is not None else {}
    layer = keras.layers.Dense(
        units, use_bias=use_bias, name=_inner_name(name, spectral_norm),
        kernel_initializer=kernel_initializer or "glorot_uniform", **kw)
    return maybe_sn(layer, spectral_norm, name)


def conv(filters, kernel_size, name, strides=1, spectral_norm=False, use_bias=True,
         dtype=None, kernel_initializer=None, transpose=False):
    """``Conv2D`` / ``Conv2DTranspose`` (padding "same") optionally wrapped in SN."""
    kw = {"dtype": dtype} if dtype is not None else {}
    cls = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    layer = cls(filters, kernel_size, strides=strides, padding="same", use_bias=use_bias,
                name=_inner_name(name, spectral_norm),
                kernel_initializer=kernel_initializer or "glorot_uniform", **kw)
    return maybe_sn(layer, spectral_norm, name)


def f32(name, activation="linear"):
    """An ``Activation`` layer computing in float32 (keeps outputs float32 under mixed precision)."""
    return keras.layers.Activation(activation, dtype="float32", name=name)


def inputs_for(shape, num_classes, name):
    """``keras.Input`` ``name`` (float) plus ``"y"`` (int32, shape (B,)) when conditional."""
    x = keras.Input(shape=shape, name=name)
    if num_classes is None:
        return x, None, x
    y = keras.Input(shape=(), dtype="int32", name="y")
    return x, y, [x, y]


# --------------------------------------------------------------------------- the head
def discriminator_head(feature_shape, heads=("logit",), num_classes=None, pooling="sum",
                       pre_activation=None, spectral_norm=False, embed_dim=512, code_dim=32,
                       kernel_initializer=None, name="head"):
    """Build the functional head ``features (, y) -> {pooled, logit, ...}``.

    ``features`` has shape ``feature_shape`` ((H, W, C) or (F,)). The head:

    1. optional ``pre_activation`` (ReLU for the SN-ResNet discriminator, as
       StudioGAN applies ``activation(h)`` before summing);
    2. ``pooled`` = global ``"sum"`` (default; SNGAN / StudioGAN) or
       ``"mean"`` pooling over H and W, or ``"flatten"`` (the H x W x C map as
       one vector, as the original DCGAN's last layer, SNGAN's standard CNN and
       keras-io's DCGAN: a shallow D needs the spatial layout to see shape);
       for (F,) features ``pooled = features``;
    3. heads, all on ``pooled`` and all computed in float32:

       * ``"logit"``: ``Dense(1)`` -- always present;
       * ``"projection"``: ``logit += <ClassEmbedding(y), pooled>``
         (Miyato & Koyama 2018, Eq. 3);
       * ``"classifier"``: ``class_logits = Dense(num_classes, use_bias=False)``
         (ACGAN, Odena et al. 2017; no bias as StudioGAN);
       * ``"hypersphere"``: ``embed = normalize(Dense(embed_dim))`` and
         ``proxy = normalize(ClassEmbedding(y, embed_dim))`` (ReACGAN,
         Kang et al. 2021, Sec. 4.1; bias on the embed layer as StudioGAN);
       * ``"code"``: ``code = Dense(code_dim)`` (MaEM-GAN's m-dim code V,
         Liu et al. 2023; realness = its mean).

    The head takes ``[features, y]`` when a head reads the label
    (projection, hypersphere), else ``features`` alone. With ``spectral_norm``
    every Dense and the class embeddings are spectrally normalised.
    ``kernel_initializer`` (see :func:`make_initializer`) starts every Dense of
    the head; None is Keras' glorot uniform.
    """
    heads = check_heads(heads, num_classes)
    check_choice("pooling", pooling, POOLINGS)
    embed_dim = check_positive_int("embed_dim", embed_dim)
    code_dim = check_positive_int("code_dim", code_dim)
    f_in = keras.Input(shape=tuple(feature_shape), name="features_in")
    inputs = [f_in]
    y = None
    if any(h in HEADS_USING_LABELS for h in heads):
        y = keras.Input(shape=(), dtype="int32", name="y")
        inputs.append(y)
    h = f_in
    if pre_activation is not None:
        h = keras.layers.Activation(pre_activation, dtype="float32", name="pre_pool_act")(h)
    if len(feature_shape) == 3:
        if pooling == "sum":
            pooled = GlobalSumPooling2D(dtype="float32", name="sum_pool")(h)
        elif pooling == "flatten":
            pooled = keras.layers.Flatten(dtype="float32", name="flatten")(h)
        else:
            pooled = keras.layers.GlobalAveragePooling2D(dtype="float32", name="mean_pool")(h)
    elif len(feature_shape) == 1:
        pooled = h
    else:
        raise ValueError(f"features must be (H, W, C) or (F,); received shape {feature_shape}.")
    pooled = f32("pooled")(pooled)
    channels = int(pooled.shape[-1])

    init = (lambda: None) if kernel_initializer is None else (lambda: make_initializer(kernel_initializer))
    logit = dense(1, "logit_dense", spectral_norm, dtype="float32", kernel_initializer=init())(pooled)
    if "projection" in heads:
        e = ClassEmbedding(num_classes, channels, spectral_norm=spectral_norm, dtype="float32",
                           name="projection_embedding")(y)
        proj = keras.layers.Dot(axes=-1, dtype="float32", name="projection_dot")([e, pooled])
        logit = keras.layers.Add(dtype="float32", name="projection_add")([logit, proj])
    outputs = {"logit": f32("logit")(logit), "pooled": pooled}
    if "classifier" in heads:
        c = dense(num_classes, "classifier_dense", spectral_norm, use_bias=False,
                  dtype="float32", kernel_initializer=init())(pooled)
        outputs["class_logits"] = f32("class_logits")(c)
    if "hypersphere" in heads:
        e = dense(embed_dim, "embed_dense", spectral_norm, dtype="float32",
                  kernel_initializer=init())(pooled)
        outputs["embed"] = HypersphereProjection(dtype="float32", name="embed")(e)
        p = ClassEmbedding(num_classes, embed_dim, spectral_norm=spectral_norm, dtype="float32",
                           name="proxy_embedding")(y)
        outputs["proxy"] = HypersphereProjection(dtype="float32", name="proxy")(p)
    if "code" in heads:
        c = dense(code_dim, "code_dense", spectral_norm, dtype="float32",
                  kernel_initializer=init())(pooled)
        outputs["code"] = f32("code")(c)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=name)


def assemble_discriminator(inputs, x_features, y, head, name):
    """Outer discriminator model: ``{"logit", "features", "pooled", ...}``."""
    head_in = x_features if len(head.inputs) == 1 else [x_features, y]
    out = head(head_in)
    outputs = {"logit": out["logit"], "features": f32("features")(x_features),
               "pooled": out["pooled"]}
    outputs.update({k: v for k, v in out.items() if k not in outputs})
    return keras.Model(inputs, outputs, name=name)
