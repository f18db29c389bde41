"""stacked_digits_maem: MaEM-GAN on stacked sklearn digits (8x8x3, 1000 modes), DCGAN-size networks.

The offline stand-in for stacked MNIST (benchmarks.md B) and the data of the MaEM ablation
benchmark (benchmarks/maem.py). G: kgan.nets.dcgan_generator(8, 3, latent_dim=128);
D: dcgan_discriminator(8, 3, heads=("logit", "code"), code_dim=32, spectral_norm=True), the code
V (m = 32) is D's output and realness its mean (MaF loss). Adam(2e-4, beta (0.5, 0.999)) for both,
batch 64, one D step per G step (``--set d_steps=3`` for the paper's schedule), generator EMA 0.999
from step 1000.

Regularisers (paper defaults unless noted): RB-MaEM entropy, cosine, buffer 1024, sigma 0.05
(the paper's CelebA value; 5e-4 on CIFAR-10) warmed up over the first 10% of the steps; DLLE
with rotation (+-15 degrees) + N(0, 0.01^2) noise, measured with the official code's mean squared
error (the paper's unsquared L2 norm at weight 1 overpowered the MaF loss in a probe: D's
adversarial loss turned positive; ``--set dlle_distance=l2`` restores it); DIsoMap with U(0,1)
mixes and cosine. Evaluation on 26,000 samples: modes covered of 1000 and KL to uniform
(per-channel domain classifier), Frechet distance in the domain classifier's feature space,
I-Variance of its class probabilities.

Options: --set ablation=baseline|disomap|dlle|entropy|all  --set sigma=0.05 --set warmup=0.1
--set code_dim=32 --set buffer=1024 --set loss=maf --set d_steps=1 --set width=64
--set spectral_norm=true --set max_angle=15 --set dlle_distance=mse --set official=true (the
official code's variants: squared-L2 entropy with -log, flip DLLE, N(0,1) real-with-fake
DIsoMap with MSE, entropy on real codes too, reparameterised code) --set eval_samples=26000

    kgan train stacked_digits_maem                             # the full protocol (20k steps)
    kgan train stacked_digits_maem --set ablation=baseline     # MaF-GAN baseline
    kgan train stacked_digits_maem --steps 2000                # a quick look
"""
import time

import keras

import kgan
from kgan.models.maem import ablation_kwargs

DATASET = "stacked_digits"
SIZE, CHANNELS = 8, 3
DEFAULTS = dict(steps=20_000, steps_per_epoch=1_000, batch_size=64)
METRICS = ("modes", "kl", "fid", "i_variance")


def regularisers(cfg):
    """The three regularisers of the recipe (paper defaults or ``--set official=true``)."""
    x = cfg.extra
    warmup = int(float(x.get("warmup", 0.1)) * cfg.steps)
    sigma = float(x.get("sigma", 0.05))
    if x.get("official", False):
        return dict(entropy=kgan.losses.ManifoldEntropy(sigma=sigma, warmup_steps=warmup, metric="squared_l2"),
                    dlle=kgan.losses.DLLE("flip", distance="mse", detach="transformed"),
                    disomap=kgan.losses.DIsoMap("normal", "real_fake", "mse", target_noise=0.05))
    return dict(entropy=kgan.losses.ManifoldEntropy(sigma=sigma, warmup_steps=warmup, lam=float(x.get("lam", 0.0))),
                dlle=kgan.losses.DLLE("rotation", max_angle=float(x.get("max_angle", 15.0)), noise_std=0.01,
                                      distance=x.get("dlle_distance", "mse")),
                disomap=kgan.losses.DIsoMap())


def build(cfg, size=SIZE, channels=CHANNELS, latent_dim=128):
    x = cfg.extra
    official = bool(x.get("official", False))
    m = int(x.get("code_dim", 32))
    width = int(x.get("width", 64))
    G = kgan.nets.dcgan_generator(size, channels, latent_dim=latent_dim, width=width)
    D = kgan.nets.dcgan_discriminator(size, channels, heads=("logit", "code"), width=width,
                                      code_dim=2 * m if official else m,
                                      spectral_norm=bool(x.get("spectral_norm", True)))
    regs = ablation_kwargs(x.get("ablation", "all"), **regularisers(cfg))
    gan = kgan.models.MaEMGAN(G, D, buffer_size=int(x.get("buffer", 1024)), reparameterize=official,
                              entropy_on_real=official and regs["entropy"] is not None,
                              ema_decay=0.999, ema_start=1000, seed=cfg.seed, **regs)
    adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)  # noqa: E731
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss=x.get("loss", "maf"),
                d_steps=int(x.get("d_steps", 1)), **cfg.compile_kwargs)
    return gan


def evaluate(gan, cfg, dataset=DATASET, metrics=METRICS):
    """Modes / KL / Frechet distance / I-Variance on ``eval_samples`` (26,000) samples."""
    from kgan.metrics.suite import Evaluator

    n = int(cfg.extra.get("eval_samples", 26_000))
    report = Evaluator(metrics, dataset, seed=cfg.seed).evaluate(gan.generate(n, seed=cfg.seed))
    report.update(dataset=dataset, ablation=cfg.extra.get("ablation", "all"), eval_samples=n)
    return report


class StepTimer(keras.callbacks.Callback):
    """Wall and CPU (process) seconds per step of each epoch (the first epoch includes tracing)."""

    def __init__(self, steps_per_epoch):
        super().__init__()
        self.steps_per_epoch, self.wall, self.cpu = steps_per_epoch, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append((time.perf_counter() - self._t[0]) / self.steps_per_epoch)
        self.cpu.append((time.process_time() - self._t[1]) / self.steps_per_epoch)

    def report(self):
        """Median ms/step over the epochs after the first (all epochs if there is one)."""
        import statistics

        wall, cpu = (self.wall[1:], self.cpu[1:]) if len(self.wall) > 1 else (self.wall, self.cpu)
        return {"wall_ms_per_step": 1e3 * statistics.median(wall), "cpu_ms_per_step": 1e3 * statistics.median(cpu)}


def main(cfg):
    d_steps = int(cfg.extra.get("d_steps", 1))
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size * d_steps, labels=False, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    timer = StepTimer(cfg.steps_per_epoch)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=DATASET, extra=[timer]), verbose=cfg.verbose)
    report = evaluate(gan, cfg)
    report.update(timer.report())
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
