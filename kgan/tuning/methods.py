"""Search spaces of the methods beyond the base GAN.

A method's base model on a dataset is the experiment table's row
``<dataset>_<method>`` (``kgan.experiments``) when it exists. Ranges are
centred on the papers' values (docs/mixing.md, maem.md, mode_regularized.md,
conditional.md) and wide enough to include "off" (weight 0) where a weight
switches a regulariser.
"""
from kgan.tuning.registry import (COMMON_PARAMS, MethodSpec, Param, default_optimizers, dataset_info,
                                  register_method)


# ------------------------------------------------------------------ extra-network builders
def _nets_with_encoder(dataset, seed):
    import keras

    import kgan.nets

    info = dataset_info(dataset)
    keras.utils.set_random_seed(seed)
    if info.kind == "2d":
        G, D, E = (kgan.nets.mlp_generator(latent_dim=256), kgan.nets.mlp_discriminator(),
                   kgan.nets.mlp_encoder(latent_dim=256))
        D2 = kgan.nets.mlp_discriminator(name="diffusion_discriminator")
    else:
        size, channels = info.shape[0], info.shape[-1]
        G, D, E = kgan.nets.build("dcgan", size, channels, latent_dim=128, encoder=True)
        D2 = kgan.nets.dcgan_discriminator(size, channels, name="diffusion_discriminator")
    return G, D, E, D2


def _build_regan(dataset, seed, compile_kwargs):
    import kgan.models

    G, D, E, _ = _nets_with_encoder(dataset, seed)
    two_d = dataset_info(dataset).kind == "2d"
    gan = kgan.models.RegularizedGAN(G, D, E, ema_decay=None if two_d else 0.999, seed=seed)
    d_opt, g_opt = default_optimizers(dataset)
    gan.compile(d_optimizer=d_opt, g_optimizer=g_opt, **compile_kwargs)
    return gan


def _build_mdgan(dataset, seed, compile_kwargs):
    import kgan.models

    G, D, E, D2 = _nets_with_encoder(dataset, seed)
    two_d = dataset_info(dataset).kind == "2d"
    gan = kgan.models.MDGAN(G, D, E, D2, ema_decay=None if two_d else 0.999, seed=seed)
    d_opt, g_opt = default_optimizers(dataset)
    gan.compile(d_optimizer=d_opt, g_optimizer=g_opt, **compile_kwargs)
    return gan


# ------------------------------------------------------------------ sample mixing
_MIX_PARAMS = COMMON_PARAMS + (
    Param("mix_prob", "float", 0.0, 1.0, target="init"),
    Param("mix_weight", "float", 0.0, 5.0, target="init"),
    Param("alpha", "float", 0.1, 2.0, target="init"),
)
for _method in ("mixup", "cutmix", "srmix"):
    register_method(MethodSpec(
        _method, model="MixGAN", params=_MIX_PARAMS + ((Param("sigma", "float", 0.01, 0.5, target="init"),)
                                                       if _method == "srmix" else ()),
        init_kwargs={"method": _method},
        description=f"MixGAN with {_method} real/fake mixing (weights: mix_prob, mix_weight)"))

register_method(MethodSpec(
    "adaptivemix", model="AdaptiveMixGAN",
    params=COMMON_PARAMS + (
        Param("shrink_weight", "float", 0.0, 5.0, target="init"),
        Param("alpha", "float", 0.1, 2.0, target="init"),
        Param("noise_std", "float", 0.0, 0.2, target="init"),
    ),
    description="AdaptiveMix shrinkage of mixed-sample features (weight: shrink_weight)"))

# ------------------------------------------------------------------ MaEM-GAN
register_method(MethodSpec(
    "maem", model="MaEMGAN", heads=("logit", "code"),
    params=COMMON_PARAMS + (
        Param("entropy_sigma", "float", 1e-5, 1e-1, log=True, target="init", key="entropy.sigma"),
        Param("dlle_weight", "float", 0.0, 5.0, target="init", key="dlle.weight"),
        Param("disomap_weight", "float", 0.0, 5.0, target="init", key="disomap.weight"),
    ),
    description="MaEM-GAN: manifold entropy + DLLE + DIsoMap (weights: entropy_sigma, dlle_weight, "
                "disomap_weight)"))

# ------------------------------------------------------------------ mode regularisers
register_method(MethodSpec(
    "regan", model="RegularizedGAN", build_fn=_build_regan,
    params=COMMON_PARAMS + (
        Param("lambda1", "float", 0.0, 2.0, target="init"),
        Param("lambda2", "float", 0.0, 2.0, target="init"),
    ),
    description="mode-regularised GAN: encoder, geometric (lambda1) and mode (lambda2) regularisers"))

register_method(MethodSpec(
    "mdgan", model="MDGAN", build_fn=_build_mdgan,
    params=COMMON_PARAMS + (
        Param("lambda1", "float", 0.0, 2.0, target="init"),
        Param("lambda2", "float", 0.0, 2.0, target="init"),
    ),
    description="MDGAN: manifold step (D1, lambda1) then diffusion step (D2)"))

# ------------------------------------------------------------------ conditional GANs
register_method(MethodSpec(
    "acgan", model="ACGAN", conditional=True, heads=("logit", "classifier"),
    params=COMMON_PARAMS + (Param("cond_lambda", "float", 0.0, 2.0, target="init"),),
    description="ACGAN: auxiliary classifier (weight: cond_lambda)"))

register_method(MethodSpec(
    "projgan", model="ProjGAN", conditional=True, heads=("logit", "projection"),
    params=COMMON_PARAMS,
    description="projection discriminator (no extra weight)"))

register_method(MethodSpec(
    "reacgan", model="ReACGAN", conditional=True, heads=("logit", "hypersphere"),
    params=COMMON_PARAMS + (
        Param("cond_lambda", "float", 0.0, 2.0, target="init"),
        Param("temperature", "float", 0.05, 1.0, target="init"),
        Param("margin_pos", "float", 0.5, 1.0, target="init"),
    ),
    description="ReACGAN: D2D-CE on the hypersphere (weight: cond_lambda; temperature, margin)"))
