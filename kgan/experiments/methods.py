"""Methods: how each kgan model is built on a protocol, with its own options.

A :class:`Method` takes the protocol's networks, optimisers, loss and EMA and
adds only what the method itself is: its model class, the discriminator heads
and extra networks it needs, and its weights. So ``grid25_mixup`` and
``grid25_gan`` differ in the mixing and nothing else, and the same holds on
every protocol.

A method's option may share a name with a protocol option: the method's
declaration then replaces the protocol's (MaEM-GAN's ``loss`` also accepts
``maf``).

A method's ``search`` is its keras-tuner search space (``kgan tune ROW``): a
tuple of :class:`~kgan.experiments.options.Param`, each the range of one of the
row's options, so a trial is a set of option values and ``kgan train ROW --set
...`` reproduces it. :data:`COMMON_SEARCH` (learning rates, D steps) is every
GAN method's; each method adds its own weights. Ranges are centred on the
papers' values (docs/mixing.md, maem.md, mode_regularized.md, conditional.md)
and reach "off" (weight 0) where a weight switches a regulariser.
"""
import dataclasses

from kgan.experiments.options import Option, Param
from kgan.experiments.protocols import ADVERSARIAL_LOSSES

#: Searched for every GAN method: the protocol's learning rates and D steps.
COMMON_SEARCH = (
    Param("d_lr", "float", 1e-5, 1e-3, log=True),
    Param("g_lr", "float", 1e-5, 1e-2, log=True),
    Param("d_steps", "int", 1, 5),
)

#: The base GAN's: COMMON_SEARCH and the penalties WGAN-GP (Gulrajani et al. 2017) and R1 (Mescheder et al. 2018).
GAN_SEARCH = COMMON_SEARCH + (
    Param("gp_weight", "float", 0.0, 10.0),
    Param("r1_weight", "float", 0.0, 10.0),
)


@dataclasses.dataclass
class Method:
    """One method on any protocol of its kinds.

    Args:
        name: the method's name (rows are ``<protocol>_<name>``).
        model: class name in ``kgan.models``.
        build: ``build(protocol, o, seed, num_classes, steps)`` returning an uncompiled model
            (``o``: the run's resolved options; ``steps``: the run's length, for warm-ups).
        options: the method's options (tuple of :class:`Option`).
        kinds: protocol kinds it runs on (``"2d"``, ``"image"``).
        conditional: needs class labels (then only on labelled sets).
        optimizers: the optimizer roles ``compile`` takes besides ``d`` and ``g``.
        description: one line for ``kgan list`` and the benchmark pages.
        paper: the paper (and equation) it implements, for the docs.
        version: bump when the method's behaviour changes, so finished benchmark runs of the old
            behaviour no longer match.
        search: the ``kgan tune`` search space, a tuple of :class:`~kgan.experiments.options.Param`
            over the rows' options (default :data:`COMMON_SEARCH`; ``()``: not tunable).
    """

    name: str
    model: str
    build: object
    options: tuple = ()
    kinds: tuple = ("2d", "image")
    conditional: bool = False
    optimizers: tuple = ()
    description: str = ""
    paper: str = ""
    version: int = 1
    search: tuple = COMMON_SEARCH

    def applies_to(self, protocol):
        if protocol.kind not in self.kinds:
            return False
        if self.conditional:  # labelled sets; a stacked set's 1000 "classes" are its modes
            return not protocol.dataset.startswith("stacked") and bool(protocol.info().num_classes)
        return True

    def compile(self, model, protocol, o, compile_kwargs):
        """Compile ``model`` with the protocol's optimisers and loss."""
        opts = {f"{role}_optimizer": protocol.optimizer(o, role) for role in ("d", "g", *self.optimizers)}
        model.compile(**opts, **protocol.compile_kwargs(o), **compile_kwargs)
        return model


def _models():
    import kgan.models

    return kgan.models


# ------------------------------------------------------------------ builders
def _gan(p, o, seed, num_classes, steps):
    return _models().GAN(p.generator(o), p.discriminator(o), **p.model_kwargs(o, seed))


def _mix(method):
    def build(p, o, seed, num_classes, steps):
        return _models().MixGAN(p.generator(o), p.discriminator(o), method=method, mix_prob=o["mix_prob"],
                                alpha=o["alpha"], mix_weight=o["mix_weight"], sigma=o.get("sigma", 0.1),
                                **p.model_kwargs(o, seed))
    return build


def _adaptivemix(p, o, seed, num_classes, steps):
    return _models().AdaptiveMixGAN(p.generator(o), p.discriminator(o), variant=o["variant"], alpha=o["alpha"],
                                    noise_std=o["noise_std"], noise_scale=o["noise_scale"],
                                    shrink_weight=o["shrink_weight"], **p.model_kwargs(o, seed))


#: MaEM options that only act through one regulariser
_MAEM_TERM_OPTIONS = {"entropy": ("sigma", "warmup"), "dlle": ("dlle_weight", "dlle_distance", "dlle_detach"),
                      "disomap": ("disomap_weight",)}


def _check_ablation_weights(o):
    """Refuse a setting of a regulariser that ``ablation`` switches off (it would be silently ignored)."""
    from kgan.models.maem import ABLATIONS

    defaults = {x.name: x.default for x in METHODS["maem"].options}
    on = ABLATIONS.get(o["ablation"], ())
    for term, keys in _MAEM_TERM_OPTIONS.items():
        for key in keys:
            if term not in on and o.get(key, defaults[key]) != defaults[key]:
                raise ValueError(
                    f"{key}={o[key]!r} sets the {term} regulariser, which ablation={o['ablation']!r} switches "
                    f"off (that row uses {', '.join(on) or 'no regulariser'}); drop {key} or choose an "
                    f"ablation that includes {term}.")


def _maem(p, o, seed, num_classes, steps):
    import kgan.losses
    from kgan.models.maem import ablation_kwargs

    if p.kind == "2d":  # rotations and flips are image transforms: noise of the mixture's width
        dlle = kgan.losses.DLLE("noise", noise_std=p.noise_std(), distance=o["dlle_distance"],
                                detach=o["dlle_detach"], weight=o["dlle_weight"])
    else:
        dlle = kgan.losses.DLLE("rotation", max_angle=15.0, noise_std=0.01, distance=o["dlle_distance"],
                                detach=o["dlle_detach"], weight=o["dlle_weight"])
    _check_ablation_weights(o)
    regs = ablation_kwargs(
        o["ablation"],
        entropy=kgan.losses.ManifoldEntropy(sigma=o["sigma"], warmup_steps=int(o["warmup"] * steps)),
        dlle=dlle, disomap=kgan.losses.DIsoMap(weight=o["disomap_weight"]))
    D = p.discriminator(o, heads=("logit", "code"), code_dim=o["code_dim"], spectral_norm=o["spectral_norm"])
    return _models().MaEMGAN(p.generator(o), D, buffer_size=o["buffer"], **regs, **p.model_kwargs(o, seed))


def _regan(p, o, seed, num_classes, steps):
    return _models().RegularizedGAN(p.generator(o), p.discriminator(o), p.encoder(o), lambda1=o["lambda1"],
                                    lambda2=o["lambda2"], **p.model_kwargs(o, seed))


def _mdgan(p, o, seed, num_classes, steps):
    return _models().MDGAN(p.generator(o), p.discriminator(o), p.encoder(o),
                           p.discriminator(o, name="diffusion_discriminator"), lambda1=o["lambda1"],
                           lambda2=o["lambda2"], **p.model_kwargs(o, seed))


def _conditional(cls, head, **fixed):
    def build(p, o, seed, num_classes, steps):
        kw = {k: o[k] for k in fixed}
        return getattr(_models(), cls)(p.generator(o, num_classes=num_classes),
                                       p.discriminator(o, heads=(head,), num_classes=num_classes),
                                       num_classes=num_classes, **kw, **p.model_kwargs(o, seed))
    return build


# ------------------------------------------------------------------ options
_MIX = (
    Option("mix_prob", float, 0.5, "probability that a real sample is mixed with a fake (per sample)",
           low=0.0, high=1.0),
    Option("alpha", float, 1.0, "Beta(alpha, alpha) of the mixing ratio", low=0.0, low_open=True),
    Option("mix_weight", float, 1.0, "weight of the mixed-sample loss", low=0.0),
)

METHODS = {}


def add_method(method, replace=False):
    """Register ``method``; it then runs on every protocol of its kinds."""
    if method.name in METHODS and not replace:
        raise ValueError(f"Method {method.name!r} is already registered; pass replace=True.")
    METHODS[method.name] = method
    return method


add_method(Method("gan", "GAN", _gan, description="plain GAN: the protocol's networks, loss and optimisers",
                  search=GAN_SEARCH))
_MIX_SEARCH = COMMON_SEARCH + (
    Param("mix_prob", "float", 0.0, 1.0),
    Param("mix_weight", "float", 0.0, 5.0),
    Param("alpha", "float", 0.1, 2.0),
)
for _name, _what in (("mixup", "Mixup: D learns the real fraction of lam x_real + (1 - lam) x_fake"),
                     ("cutmix", "CutMix: D scores a real/fake patch collage per pixel share"),
                     ("srmix", "SRMix: CutMix with a Gaussian-smoothed mask")):
    add_method(Method(_name, "MixGAN", _mix(_name),
                      options=_MIX + ((Option("sigma", float, 0.1, "mask smoothing (fraction of the image size)",
                                              low=0.0, low_open=True),) if _name == "srmix" else ()),
                      description=f"{_what} (mix_prob 0.5)",
                      paper="sample mixing for GAN discriminators (docs/mixing.md)",
                      search=_MIX_SEARCH + ((Param("sigma", "float", 0.01, 0.5),) if _name == "srmix" else ())))
add_method(Method(
    "adaptivemix", "AdaptiveMixGAN", _adaptivemix,
    options=(Option("variant", str, "paper", "the paper's shrinkage or the official code's",
                    choices=("paper", "official")),
             Option("alpha", float, 1.0, "Beta(alpha, alpha) of the mixing ratio", low=0.0, low_open=True),
             Option("noise_std", float, 0.05, "noise added to the mixed features' target", low=0.0),
             Option("noise_scale", str, "absolute", "noise_std per feature (official code) or relative to each "
                    "sample's feature RMS", choices=("absolute", "relative")),
             Option("shrink_weight", float, 1.0, "weight of the shrinkage term", low=0.0)),
    description="AdaptiveMix: shrink D's features of mixed hard samples towards their mix",
    paper="Liu, Zhang et al., CVPR 2023",
    search=COMMON_SEARCH + (Param("shrink_weight", "float", 0.0, 5.0), Param("alpha", "float", 0.1, 2.0),
                            Param("noise_std", "float", 0.0, 0.2))))
add_method(Method(
    "maem", "MaEMGAN", _maem,
    options=(Option("loss", str, "non_saturating", "adversarial loss on the code's mean (maf: the paper's "
                    "MaF critic, which needs a Lipschitz D: add spectral_norm=true)",
                    choices=ADVERSARIAL_LOSSES + ("maf",)),
             Option("ablation", str, "all", "which regularisers are on (the paper's Table 4 rows)",
                    choices=("baseline", "disomap", "dlle", "entropy", "all")),
             Option("sigma", float, 0.05, "manifold-entropy weight", low=0.0),
             Option("warmup", float, 0.1, "fraction of the steps over which the entropy weight ramps up",
                    low=0.0, high=1.0),
             Option("code_dim", int, 32, "size m of D's code", low=1),
             Option("buffer", int, 1024, "replay-buffer size of generated codes", low=1),
             Option("dlle_distance", str, "mse", "DLLE distance: mse (official code) or l2 (paper; its "
                    "constant-size gradient flattened D in a 2D probe)", choices=("mse", "l2")),
             Option("dlle_weight", float, 1.0, "DLLE weight", low=0.0),
             Option("dlle_detach", str, "transformed", "DLLE's stop-gradient side: transformed (official code, "
                    "mse(D(x), sg D(F(x)))) or original (paper, sg D(x); diverged on the Fashion-MNIST DCGAN)",
                    choices=("transformed", "original")),
             Option("spectral_norm", bool, False, "spectral normalisation in D"),
             # added after benchmark runs were recorded: left out of a run's settings while 1 (omit_default)
             Option("disomap_weight", float, 1.0, "DIsoMap weight", low=0.0, omit_default=True)),
    description="MaEM-GAN: manifold entropy + DLLE + DIsoMap on D's code",
    paper="Liu et al., AAAI 2023",
    version=2,  # 2: DLLE's stop-gradient on the transformed side (official code) by default
    search=COMMON_SEARCH + (Param("sigma", "float", 1e-5, 1e-1, log=True), Param("dlle_weight", "float", 0.0, 5.0),
                            Param("disomap_weight", "float", 0.0, 5.0))))
_LAMBDA_SEARCH = (Param("lambda1", "float", 0.0, 2.0), Param("lambda2", "float", 0.0, 2.0))
add_method(Method(
    "regan", "RegularizedGAN", _regan, optimizers=("e",),
    options=(Option("lambda1", float, 0.2, "geometric regulariser ||x - G(E(x))||^2", low=0.0),
             Option("lambda2", float, 0.4, "mode regulariser -log D(G(E(x)))", low=0.0)),
    description="mode-regularised GAN: encoder, geometric and mode regularisers",
    paper="Che et al., ICLR 2017, Eq. 3", search=COMMON_SEARCH + _LAMBDA_SEARCH))
add_method(Method(
    "mdgan", "MDGAN", _mdgan, optimizers=("e", "d2"),
    options=(Option("lambda1", float, 0.2, "manifold step's geometric weight ||x - G(E(x))||^2", low=0.0),
             Option("lambda2", float, 1.0, "weight of the manifold step's realism term -log D1(G(E(x)))",
                    low=0.0)),
    description="MDGAN: manifold step (D1, encoder) then diffusion step (D2)",
    paper="Che et al., ICLR 2017, Sec. 3.3", search=COMMON_SEARCH + _LAMBDA_SEARCH))
add_method(Method(
    "acgan", "ACGAN", _conditional("ACGAN", "classifier", cond_lambda=1.0, classify_fakes=False),
    kinds=("image",), conditional=True,
    options=(Option("cond_lambda", float, 1.0, "classifier cross-entropy weight", low=0.0),
             Option("classify_fakes", bool, False, "also train D's classifier on fakes (original ACGAN)")),
    description="ACGAN: auxiliary classifier head", paper="Odena et al. 2017",
    search=COMMON_SEARCH + (Param("cond_lambda", "float", 0.0, 2.0),)))
add_method(Method(
    "projgan", "ProjGAN", _conditional("ProjGAN", "projection"), kinds=("image",), conditional=True,
    description="projection discriminator", paper="Miyato & Koyama 2018, Eq. 3"))
add_method(Method(
    "reacgan", "ReACGAN", _conditional("ReACGAN", "hypersphere", cond_lambda=0.5, temperature=0.5,
                                       margin_pos=0.98, d2dce_variant="exact"),
    kinds=("image",), conditional=True,
    options=(Option("cond_lambda", float, 0.5, "D2D-CE weight", low=0.0),
             Option("temperature", float, 0.5, "D2D-CE temperature", low=0.0, low_open=True),
             Option("margin_pos", float, 0.98, "D2D-CE positive margin", low=-1.0, high=1.0),
             Option("d2dce_variant", str, "exact", "the paper's formula or StudioGAN's row-max shift",
                    choices=("exact", "official"))),
    description="ReACGAN: D2D-CE on the hypersphere", paper="Kang et al., NeurIPS 2021, Eq. 7",
    search=COMMON_SEARCH + (Param("cond_lambda", "float", 0.0, 2.0), Param("temperature", "float", 0.05, 1.0),
                            Param("margin_pos", "float", 0.5, 1.0))))
