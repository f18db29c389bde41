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

Options: --set method=... --set loss=hinge --set width=64 --set mix_prob=0.5 --set alpha=1.0
         --set sigma=0.1 --set variant=paper --set shrink_weight=1.0 --set diffaugment=false
         --set data_dir=PATH --set eval_every=0 --set extractor=inception
"""
import keras

import kgan

DATASET = "celeb_a"
RESIZE = kgan.data.Resize(64, crop=108)
METHODS = ("baseline", "mixup", "cutmix", "srmix", "adaptivemix")
DEFAULTS = dict(steps=100_000, steps_per_epoch=1_000, batch_size=64)


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
