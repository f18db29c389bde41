"""grid25_mdgan: MDGAN (Che et al. 2017) on 25 Gaussians, VEEGAN protocol (benchmarks.md A).

G: z(256) -> FC128 tanh -> FC128 tanh -> 2; D1 and D2: 2 -> FC128 tanh -> FC128 tanh -> 1;
E: 2 -> FC128 tanh -> FC128 tanh -> 256. Adam(beta1 0.5, eps 1e-8), lr D1/D2 1e-4, G/E 1e-3,
batch 512, 25k iterations (each iteration = manifold step + diffusion step);
2,500 samples evaluated for modes captured and % high quality.
Options: --set lambda1=0.2 --set lambda2=1.0 --set loss=non_saturating.

    kgan train grid25_mdgan                 # the full protocol
    kgan train grid25_mdgan --steps 5000    # a quick look
"""
import keras

import kgan

DATASET = "grid25"
DEFAULTS = dict(steps=25_000, steps_per_epoch=1_000, batch_size=512, steps_per_execution=50)


def adam(lr):
    return keras.optimizers.Adam(lr, beta_1=0.5, epsilon=1e-8)


def build(cfg):
    gan = kgan.models.MDGAN(
        kgan.nets.mlp_generator(latent_dim=256), kgan.nets.mlp_discriminator(),
        kgan.nets.mlp_encoder(latent_dim=256), kgan.nets.mlp_discriminator(name="mlp_discriminator_2"),
        lambda1=float(cfg.extra.get("lambda1", 0.2)), lambda2=float(cfg.extra.get("lambda2", 1.0)),
        ema_decay=None, seed=cfg.seed)
    gan.compile(d_optimizer=adam(1e-4), g_optimizer=adam(1e-3), e_optimizer=adam(1e-3),
                d2_optimizer=adam(1e-4), loss=cfg.extra.get("loss", "non_saturating"), **cfg.compile_kwargs)
    return gan


def main(cfg, dataset=DATASET):
    data = kgan.data.load(dataset, batch_size=cfg.batch_size, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=dataset), verbose=cfg.verbose)
    report = kgan.metrics.mode_coverage(gan.generate(2500, seed=cfg.seed), dataset)
    report["dataset"] = dataset
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
