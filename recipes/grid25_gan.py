"""grid25_gan: plain GAN on 25 Gaussians, the VEEGAN-protocol baseline (benchmarks.md A).

G: z(256) -> FC128 tanh -> FC128 tanh -> 2; D: 2 -> FC128 tanh -> FC128 tanh -> 1;
Adam(beta1 0.5, eps 1e-8), lr D 1e-4, G 1e-3, batch 512, 25k iterations;
2,500 samples evaluated for modes captured and % high quality.

    kgan train grid25_gan                 # the full protocol
    kgan train grid25_gan --steps 5000    # a 2-minute look
"""
import keras

import kgan

DATASET = "grid25"
DEFAULTS = dict(steps=25_000, steps_per_epoch=1_000, batch_size=512, steps_per_execution=50)


def build(cfg):
    gan = kgan.models.GAN(kgan.nets.mlp_generator(latent_dim=256), kgan.nets.mlp_discriminator(),
                          ema_decay=None, seed=cfg.seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(cfg.extra.get("d_lr", 1e-4), beta_1=0.5, epsilon=1e-8),
                g_optimizer=keras.optimizers.Adam(cfg.extra.get("g_lr", 1e-3), beta_1=0.5, epsilon=1e-8),
                loss=cfg.extra.get("loss", "non_saturating"), **cfg.compile_kwargs)
    return gan


def main(cfg, dataset=DATASET):
    data = kgan.data.load(dataset, batch_size=cfg.batch_size, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=dataset), verbose=cfg.verbose)
    report = kgan.metrics.mode_coverage(gan.generate(2500, seed=cfg.seed), dataset)
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
