"""celeba_mixing: SNGAN-ResNet on CelebA 64x64 (tfds "celeb_a") with sample mixing, for the mixing study at paper scale.

Data: TensorFlow Datasets ``celeb_a`` (prepare it once with tfds; it needs the internet or a
local tfds data_dir), centre 108x108 face crop resized to 64x64 (the DCGAN-tensorflow protocol).
Networks: kgan.nets ResNet-64 generator and SN-ResNet discriminator (SNGAN / StudioGAN),
hinge loss, Adam(2e-4, beta 0.0, 0.999), batch 64, 100k steps, G-EMA 0.9999 from step 1000.
``--set method=`` chooses ``baseline``, ``mixup``, ``cutmix``, ``srmix`` (default; MixGAN,
mix_prob 0.5) or ``adaptivemix`` (AdaptiveMixGAN, variant paper or official).
Evaluation (optional, off by default): ``--set eval_every=5000 --set extractor=inception``
logs an FID with Keras' ImageNet InceptionV3 (NOT the TF-Inception FID of papers).

    kgan train celeba_mixing --set method=srmix
    kgan train celeba_mixing --set method=mixup --set data_dir=/data/tfds --strategy mirrored
"""
import keras

import kgan
from kgan.experiments.options import Option
from kgan.experiments.protocols import ADVERSARIAL_LOSSES

DATASET = "celeb_a"
RESIZE = kgan.data.Resize(64, crop=108)
METHODS = ("baseline", "mixup", "cutmix", "srmix", "adaptivemix")
DEFAULTS = dict(steps=100_000, steps_per_epoch=1_000, batch_size=64)
OPTIONS = (
    Option("method", str, "srmix", "the mixing method (baseline: none)", choices=METHODS),
    Option("loss", str, "hinge", "adversarial loss", choices=ADVERSARIAL_LOSSES),
    Option("width", int, 64, "channel multiplier of the ResNets", low=1),
    Option("diffaugment", bool, False, "DiffAugment (color, translation, cutout) on D's inputs"),
    Option("mix_prob", float, 0.5, "mixup/cutmix/srmix: probability that a real sample is mixed",
           low=0.0, high=1.0),
    Option("alpha", float, 1.0, "mixing ratio lambda ~ Beta(alpha, alpha) (mixup/cutmix/srmix/adaptivemix)",
           low=0.0, low_open=True),
    Option("mix_weight", float, 1.0, "mixup/cutmix/srmix: weight of the mixed-sample loss", low=0.0),
    Option("sigma", float, 0.1, "srmix: mask smoothing (fraction of the image side)", low=0.0, low_open=True),
    Option("variant", str, "paper", "adaptivemix: the paper's shrinkage or the official code's",
           choices=("paper", "official")),
    Option("noise_std", float, 0.05, "adaptivemix: noise added to the mixed features' target", low=0.0),
    Option("shrink_weight", float, 1.0, "adaptivemix: weight of the shrinkage term", low=0.0),
    Option("data_dir", str, None, "a prepared TensorFlow Datasets data_dir (offline use)", allow_none=True),
    Option("eval_every", int, 0, "log an FID every N steps (0: no evaluation)", low=0),
    Option("extractor", str, "inception", "features of the FID (Keras' ImageNet InceptionV3)",
           choices=("inception",)),
)


def build(cfg, size=64):
    opt = cfg.extra.get
    method = opt("method", "srmix")
    if method not in METHODS:
        raise ValueError(f"--set method must be one of {list(METHODS)}; received method={method!r}.")
    width = int(opt("width", 64))
    G = kgan.nets.resnet_generator(size, 3, latent_dim=128, width=width)
    D = kgan.nets.resnet_discriminator(size, 3, width=width)
    common = dict(ema_decay=0.9999, ema_start=1000, seed=cfg.seed,
                  augment=kgan.layers.DiffAugment(seed=cfg.seed) if opt("diffaugment", False) else None)
    if method == "baseline":
        gan = kgan.models.GAN(G, D, **common)
    elif method == "adaptivemix":
        gan = kgan.models.AdaptiveMixGAN(G, D, variant=opt("variant", "paper"), alpha=float(opt("alpha", 1.0)),
                                         noise_std=float(opt("noise_std", 0.05)),
                                         shrink_weight=float(opt("shrink_weight", 1.0)), **common)
    else:
        gan = kgan.models.MixGAN(G, D, method=method, mix_prob=float(opt("mix_prob", 0.5)),
                                 alpha=float(opt("alpha", 1.0)), mix_weight=float(opt("mix_weight", 1.0)),
                                 sigma=float(opt("sigma", 0.1)), **common)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.999),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.999),
                loss=opt("loss", "hinge"), **cfg.compile_kwargs)
    return gan


def main(cfg, dataset=DATASET, resize=RESIZE):
    opt = cfg.extra.get
    data = kgan.data.load(dataset, batch_size=cfg.batch_size, labels=False, seed=cfg.seed, resize=resize,
                          data_dir=opt("data_dir", None))
    with cfg.strategy.scope():
        gan = build(cfg)
    extra = []
    if int(opt("eval_every", 0)) > 0:
        cfg.steps_per_epoch = min(int(opt("eval_every")), cfg.steps)
        extra.append(kgan.callbacks.Evaluate("fid", dataset=dataset, extractor=opt("extractor", "inception"),
                                             seed=cfg.seed, logdir=cfg.logdir))
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=dataset, extra=extra), verbose=cfg.verbose)
    report = {"dataset": dataset, "method": opt("method", "srmix")}
    if extra:
        report["fid"] = extra[0].last_results
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
