"""fashion_mnist_dcgan: unconditional DCGAN on Fashion-MNIST (28x28), non-saturating loss.

Runs offline from Debian's dataset-fashion-mnist files (or tfds when online).

    kgan train fashion_mnist_dcgan --steps 3000
"""
import keras

import kgan

DATASET = "fashion_mnist"
DEFAULTS = dict(steps=10_000, steps_per_epoch=500, batch_size=64)


def build(cfg):
    gan = kgan.models.GAN(
        kgan.nets.dcgan_generator(28, channels=1, latent_dim=128),
        kgan.nets.dcgan_discriminator(28, channels=1),
        ema_decay=0.999, ema_start=1000, seed=cfg.seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                loss=cfg.extra.get("loss", "non_saturating"), **cfg.compile_kwargs)
    return gan


def main(cfg):
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size, labels=False, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=DATASET), verbose=cfg.verbose)
    return cfg.finish(gan)


if __name__ == "__main__":
    kgan.run.cli(__file__)
