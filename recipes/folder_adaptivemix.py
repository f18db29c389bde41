"""folder_adaptivemix: AdaptiveMix on an image folder (FFHQ / AFHQ-Cat style), the AdaptiveMix paper's setting.

Data: ``--set root=/path/to/images`` (a flat folder of PNG/JPEG files, e.g. FFHQ-5k or AFHQ-Cat-5k
as in the official code's scripts; class sub-folders are ignored: unconditional), resized to
``--set size=64`` (kgan's ResNets support 32 and 64; the paper used StyleGAN2 at 256).
Model: AdaptiveMixGAN, ``variant=official`` by default here (the code's adversarial logit
``head(z_mix) + head(f(x_mix))``, shrinkage in D and G, noise 0.05), non-saturating loss and
R1 gamma 1 as the code's ``paper256`` config (kgan's R1 penalises the ordinary D(x), the code
differentiates the mixed logit); SN-ResNet D, Adam(2e-4, 0.0, 0.99), batch 64.
Use ``--set variant=paper`` for the simpler reading (ordinary loss + shrinkage term).

    kgan train folder_adaptivemix --set root=/data/afhq/train/cat
    kgan train folder_adaptivemix --set root=/data/ffhq5k --set variant=paper --set diffaugment=true
"""
import keras

import kgan
from kgan.experiments.options import Option
from kgan.experiments.protocols import ADVERSARIAL_LOSSES

DEFAULTS = dict(steps=100_000, steps_per_epoch=1_000, batch_size=64)
OPTIONS = (
    Option("root", str, None, "the image folder (required)", allow_none=True),
    Option("size", int, 64, "image side: 32 or 64 (the sizes of kgan's ResNets)", low=32, high=64),
    Option("variant", str, "official", "the official code's adversarial logit and shrinkage, or the paper's",
           choices=("paper", "official")),
    Option("alpha", float, 1.0, "mixing ratio lambda ~ Beta(alpha, alpha)", low=0.0, low_open=True),
    Option("noise_std", float, 0.05, "noise added to the mixed features' target", low=0.0),
    Option("shrink_weight", float, 1.0, "weight of the shrinkage term", low=0.0),
    Option("r1", float, 1.0, "R1 penalty weight gamma", low=0.0),
    Option("loss", str, "non_saturating", "adversarial loss", choices=ADVERSARIAL_LOSSES),
    Option("width", int, 64, "channel multiplier of the ResNets", low=1),
    Option("diffaugment", bool, False, "DiffAugment (color, translation, cutout) on D's inputs"),
)


def build(cfg, size):
    opt = cfg.extra.get
    width = int(opt("width", 64))
    gan = kgan.models.AdaptiveMixGAN(
        kgan.nets.resnet_generator(size, 3, latent_dim=128, width=width),
        kgan.nets.resnet_discriminator(size, 3, width=width),
        variant=opt("variant", "official"), alpha=float(opt("alpha", 1.0)), noise_std=float(opt("noise_std", 0.05)),
        shrink_weight=float(opt("shrink_weight", 1.0)), ema_decay=0.999, ema_start=1000, seed=cfg.seed,
        augment=kgan.layers.DiffAugment(seed=cfg.seed) if opt("diffaugment", False) else None)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.99),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.99),
                loss=opt("loss", "non_saturating"), r1_weight=float(opt("r1", 1.0)), **cfg.compile_kwargs)
    return gan


def main(cfg):
    root = cfg.extra.get("root")
    if not root:
        raise ValueError("folder_adaptivemix needs the image folder: --set root=/path/to/images.")
    size = int(cfg.extra.get("size", 64))
    data = kgan.data.load(f"folder:{root}", batch_size=cfg.batch_size, labels=False, seed=cfg.seed,
                          resize=kgan.data.Resize(size, crop="center"))
    with cfg.strategy.scope():
        gan = build(cfg, size)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(extra=()), verbose=cfg.verbose)
    return cfg.finish(gan, {"dataset": f"folder:{root}", "method": "adaptivemix", "variant": gan.variant})


if __name__ == "__main__":
    kgan.run.cli(__file__)
