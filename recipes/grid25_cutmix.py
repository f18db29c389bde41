"""grid25_cutmix: MixGAN with CutMix (real/fake sample mixing) on 25 Gaussians, VEEGAN protocol (benchmarks.md A).

The plain-GAN networks and optimisers of grid25_gan (G: z(256) -> FC128 tanh -> FC128 tanh -> 2;
D: 2 -> FC128 tanh -> FC128 tanh -> 1; Adam(beta1 0.5, eps 1e-8), lr D 1e-4, G 1e-3, batch 512,
25k iterations); D also learns the real fraction lam of mixes that take one coordinate from the real point and the other from the fake
(docs/mixing.md). 2,500 samples evaluated for modes captured and % high quality.
On 2D points a 'region' is one of the two coordinates (kgan's extension of CutMix to vectors).
Options: --set mix_prob=0.5 --set alpha=1.0 --set mix_weight=1.0 --set loss=non_saturating

    kgan train grid25_cutmix                 # the full protocol
    kgan train grid25_cutmix --steps 5000    # a quick look
"""
import keras

import kgan

DATASET = "grid25"
METHOD = "cutmix"
DEFAULTS = dict(steps=25_000, steps_per_epoch=1_000, batch_size=512, steps_per_execution=50)


def build(cfg):
    opt = cfg.extra.get
    gan = kgan.models.MixGAN(
        kgan.nets.mlp_generator(latent_dim=256), kgan.nets.mlp_discriminator(),
        method=METHOD, mix_prob=float(opt("mix_prob", 0.5)), alpha=float(opt("alpha", 1.0)),
        mix_weight=float(opt("mix_weight", 1.0)), ema_decay=None, seed=cfg.seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5, epsilon=1e-8),
                g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-8),
                loss=opt("loss", "non_saturating"), **cfg.compile_kwargs)
    return gan


def main(cfg, dataset=DATASET):
    data = kgan.data.load(dataset, batch_size=cfg.batch_size, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=dataset), verbose=cfg.verbose)
    report = kgan.metrics.mode_coverage(gan.generate(2500, seed=cfg.seed), dataset)
    report.update(dataset=dataset, method=METHOD)
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
