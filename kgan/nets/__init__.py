"""kgan networks: builders of generators, discriminators and encoders.

Every builder returns a functional ``keras.Model`` that saves to and loads
from ``.keras`` (import ``kgan.nets`` or ``kgan.layers`` before
``keras.saving.load_model`` so the custom layers are registered).

Conventions (docs/CONTRIBUTING.md): generators take ``z`` or ``[z, y]``;
discriminators take ``x`` or ``[x, y]`` and return a dict with ``"logit"``
(B, 1), ``"features"`` (last block's output before pooling), ``"pooled"``
(B, C) and the outputs of the requested heads; encoders map ``x`` to ``z``.
See docs/nets.md.
"""
import inspect

from kgan.nets.common import HEADS, GlobalSumPooling2D, discriminator_head
from kgan.nets.dcgan import DCGAN_SIZES, dcgan_discriminator, dcgan_encoder, dcgan_generator
from kgan.nets.mlp import mlp_discriminator, mlp_encoder, mlp_generator
from kgan.nets.resnet import RESNET_SIZES, resnet_discriminator, resnet_encoder, resnet_generator

__all__ = [
    "build", "HEADS", "DCGAN_SIZES", "RESNET_SIZES", "GlobalSumPooling2D", "discriminator_head",
    "mlp_generator", "mlp_discriminator", "mlp_encoder",
    "dcgan_generator", "dcgan_discriminator", "dcgan_encoder",
    "resnet_generator", "resnet_discriminator", "resnet_encoder",
]

_ARCHS = {
    "mlp": (mlp_generator, mlp_discriminator, mlp_encoder),
    "dcgan": (dcgan_generator, dcgan_discriminator, dcgan_encoder),
    "resnet": (resnet_generator, resnet_discriminator, resnet_encoder),
}


def _accepts(fn):
    return set(inspect.signature(fn).parameters)


def build(arch, size=None, channels=None, encoder=False, **kwargs):
    """Build a matching ``(generator, discriminator)`` pair (plus an encoder if asked).

    Each keyword argument goes to every builder of ``arch`` that accepts it
    (``num_classes``, ``spectral_norm`` go to G and D; ``width`` / ``hidden``
    to every network; ``latent_dim`` to G and the encoder; ``heads``,
    ``embed_dim``, ``code_dim``, ``pooling`` to D). Prefix a keyword with ``g_``, ``d_`` or ``e_`` to send it to one
    network only, e.g. ``d_spectral_norm=True, g_spectral_norm=False``.

    Args:
        arch: ``"mlp"``, ``"dcgan"`` or ``"resnet"``.
        size: image size (conv archs only; MLPs use ``in_dim`` / ``out_dim``).
        channels: image channels (conv archs only).
        encoder: also build the encoder (mode-regularised GAN) and return
            ``(G, D, E)``.
        **kwargs: builder arguments, see above.

    Example:
        >>> G, D = kgan.nets.build("dcgan", 28, 1, num_classes=10, heads=("logit", "projection"))
    """
    if arch not in _ARCHS:
        raise ValueError(f"`arch` must be one of {sorted(_ARCHS)}; received arch={arch!r}.")
    builders = dict(zip("gde", _ARCHS[arch]))
    if not encoder:
        del builders["e"]
    per = {k: {} for k in builders}
    if arch == "mlp":
        if size is not None or channels is not None:
            raise ValueError(
                "arch='mlp' takes no `size`/`channels` (use in_dim= / out_dim=); received "
                f"size={size!r}, channels={channels!r}.")
    else:
        for k in builders:
            per[k].update(size=size, channels=channels)
    accepted = {k: _accepts(fn) - {"name", "size", "channels"}
                for k, fn in zip("gde", _ARCHS[arch])}
    for key, value in kwargs.items():
        prefix, _, rest = key.partition("_")
        if prefix in accepted and rest in accepted[prefix]:
            if prefix in builders:  # e_* is ignored without encoder=True
                per[prefix][rest] = value
            continue
        targets = [k for k in builders if key in accepted[k]]
        if not targets:
            known = sorted(set().union(*(accepted[k] for k in builders)))
            raise TypeError(
                f"build(arch={arch!r}): no builder accepts the keyword {key!r}; accepted: "
                f"{known} (prefix with g_/d_/e_ to target one network).")
        for k in targets:
            per[k].setdefault(key, value)
    return tuple(builders[k](**per[k]) for k in builders)
