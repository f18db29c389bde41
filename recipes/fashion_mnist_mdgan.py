"""fashion_mnist_mdgan: MDGAN (Che et al. 2017) on Fashion-MNIST (28x28x1), DCGAN networks.

G: kgan.nets.dcgan_generator(28, 1, latent_dim=128); D1 (manifold step) and D2 (diffusion
step): dcgan_discriminator(28, 1); E: dcgan_encoder(28, 1). Adam(2e-4, beta1 0.5) for every
network, batch 64, non-saturating loss, lambda1 0.2 (pixel L2), lambda2 1.0, generator EMA
0.999 from step 1000. Runs offline from Debian's dataset-fashion-mnist files (or tfds when
online). At the end: Frechet distance in the Fashion-MNIST domain classifier's feature space
(not an Inception FID), MODE score and classes covered, on 10,000 samples.
Options: --set lambda1=0.2 --set lambda2=1.0 --set loss=hinge --set geometric=features
--set metrics=fid,mode_score,modes (or metrics=none).

    kgan train fashion_mnist_mdgan --steps 3000
"""
import keras

import kgan

DATASET = "fashion_mnist"
DEFAULTS = dict(steps=10_000, steps_per_epoch=500, batch_size=64)


def build(cfg):
    adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    gan = kgan.models.MDGAN(
        kgan.nets.dcgan_generator(28, 1, latent_dim=128), kgan.nets.dcgan_discriminator(28, 1),
        kgan.nets.dcgan_encoder(28, 1, latent_dim=128),
        kgan.nets.dcgan_discriminator(28, 1, name="diffusion_discriminator"),
        lambda1=float(cfg.extra.get("lambda1", 0.2)), lambda2=float(cfg.extra.get("lambda2", 1.0)),
        geometric=cfg.extra.get("geometric", "pixel"), ema_decay=0.999, ema_start=1000, seed=cfg.seed)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), d2_optimizer=adam(),
                loss=cfg.extra.get("loss", "non_saturating"), **cfg.compile_kwargs)
    return gan


def main(cfg):
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size, labels=False, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=DATASET), verbose=cfg.verbose)
    report = {}
    metrics = str(cfg.extra.get("metrics", "fid,mode_score,modes"))
    if metrics != "none":
        from kgan.metrics.suite import Evaluator

        report = Evaluator(metrics, DATASET, seed=cfg.seed).evaluate(gan.generate(10_000, seed=cfg.seed))
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
