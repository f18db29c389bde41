"""fashion_mnist_maem: MaEM-GAN on Fashion-MNIST (28x28x1), DCGAN-size networks.

The networks, loss and regularisers of stacked_digits_maem at 28x28x1: G
kgan.nets.dcgan_generator(28, 1, latent_dim=128), D dcgan_discriminator(28, 1, heads=("logit",
"code"), code_dim=32, spectral_norm=True), MaF loss on the code, Adam(2e-4, (0.5, 0.999)),
batch 64, generator EMA 0.999 from step 1000; entropy (cosine, buffer 1024, sigma 0.05 warmed up
over 10% of the steps), DLLE (rotation +-15 degrees + noise, MSE), DIsoMap (U(0,1), cosine).
Evaluated on 10,000 samples: Frechet distance in the Fashion-MNIST domain classifier's feature
space and I-Variance of its class probabilities. Runs offline from Debian's
dataset-fashion-mnist files.

Options: those of stacked_digits_maem (--set ablation=baseline|disomap|dlle|entropy|all ...).

    kgan train fashion_mnist_maem --steps 3000
    kgan train fashion_mnist_maem --set ablation=baseline
"""
import kgan

DATASET = "fashion_mnist"
DEFAULTS = dict(steps=10_000, steps_per_epoch=500, batch_size=64)


def main(cfg):
    base = kgan.run.load_recipe("stacked_digits_maem")
    d_steps = int(cfg.extra.get("d_steps", 1))
    cfg.extra.setdefault("eval_samples", 10_000)
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size * d_steps, labels=False, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = base.build(cfg, size=28, channels=1)
    timer = base.StepTimer(cfg.steps_per_epoch)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=DATASET, extra=[timer]), verbose=cfg.verbose)
    report = base.evaluate(gan, cfg, dataset=DATASET, metrics=("fid", "i_variance"))
    report.update(timer.report())
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
