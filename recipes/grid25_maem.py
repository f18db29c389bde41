"""grid25_maem: MaEM-GAN on 25 Gaussians, VEEGAN protocol (benchmarks.md A).

G: z(256) -> FC128 tanh -> FC128 tanh -> 2; D: 2 -> FC128 tanh -> FC128 tanh -> code (m = 32);
realness = mean of the code. Adam(beta1 0.5, eps 1e-8), lr D 1e-4, G 1e-3, batch 512, 25k
iterations; 2,500 samples evaluated for modes captured and % high quality.

Loss: the non-saturating loss on the realness and no spectral norm, i.e. exactly the networks,
loss and optimisers of the kgan GAN baseline of this protocol (grid25_gan), so the table
compares the regularisers alone. (The paper's MaF critic loss needs a Lipschitz D; with SN at
this protocol's D learning rate it had learned nothing after 2,000 steps in a probe: use
``--set loss=maf --set spectral_norm=true`` to run it.)

Regularisers (kgan choices for 2D data, where the paper gives no settings): entropy with
cosine similarity over a 1024-code buffer, sigma 0.05 warmed up over the first 10% of the steps;
DLLE with Gaussian noise of the data's std (0.05) as the transform (rotations and flips are
image transforms), measured with the official code's mean squared error (the paper's unsquared
L2 norm has a gradient of constant size however close the codes are; at weight 1 it flattened
D and collapsed ring8 to one mode in a 5k-step probe; ``--set dlle_distance=l2`` restores it); DIsoMap with U(0,1) mixes within the real and within the fake batch.

Options: --set ablation=baseline|disomap|dlle|entropy|all  --set sigma=0.05 --set warmup=0.1
--set code_dim=32 --set buffer=1024 --set loss=non_saturating --set spectral_norm=false
--set d_steps=1 --set dlle_distance=mse --set dlle_weight=1

    kgan train grid25_maem                            # the full protocol
    kgan train grid25_maem --set ablation=baseline    # the same model without the regularisers
    kgan train grid25_maem --steps 5000               # a quick look
"""
import time

import keras

import kgan
from kgan.models.maem import ablation_kwargs

DATASET = "grid25"
NOISE = 0.05  # the mixture's standard deviation
DEFAULTS = dict(steps=25_000, steps_per_epoch=1_000, batch_size=512, steps_per_execution=50)


def adam(lr):
    return keras.optimizers.Adam(lr, beta_1=0.5, epsilon=1e-8)


def build(cfg, noise=NOISE):
    x = cfg.extra
    m = int(x.get("code_dim", 32))
    G = kgan.nets.mlp_generator(latent_dim=256)
    D = kgan.nets.mlp_discriminator(heads=("logit", "code"), code_dim=m,
                                    spectral_norm=bool(x.get("spectral_norm", False)))
    warmup = int(float(x.get("warmup", 0.1)) * cfg.steps)
    regs = ablation_kwargs(
        x.get("ablation", "all"),
        entropy=kgan.losses.ManifoldEntropy(sigma=float(x.get("sigma", 0.05)), warmup_steps=warmup),
        dlle=kgan.losses.DLLE("noise", noise_std=noise, distance=x.get("dlle_distance", "mse"),
                              weight=float(x.get("dlle_weight", 1.0))),
        disomap=kgan.losses.DIsoMap())
    gan = kgan.models.MaEMGAN(G, D, buffer_size=int(x.get("buffer", 1024)), ema_decay=None,
                              seed=cfg.seed, **regs)
    gan.compile(d_optimizer=adam(1e-4), g_optimizer=adam(1e-3), loss=x.get("loss", "non_saturating"),
                d_steps=int(x.get("d_steps", 1)), **cfg.compile_kwargs)
    return gan


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


def main(cfg, dataset=DATASET):
    d_steps = int(cfg.extra.get("d_steps", 1))
    data = kgan.data.load(dataset, batch_size=cfg.batch_size * d_steps, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg, noise=kgan.data.mode_means(dataset)[1])
    timer = StepTimer(cfg.steps_per_epoch)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=dataset, extra=[timer]), verbose=cfg.verbose)
    report = kgan.metrics.mode_coverage(gan.generate(2500, seed=cfg.seed), dataset)
    report.update(dataset=dataset, ablation=cfg.extra.get("ablation", "all"), **timer.report())
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
