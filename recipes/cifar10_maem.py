"""cifar10_maem: MaEM-GAN on CIFAR-10 with the paper's DCGAN settings (Liu et al., AAAI 2023).

Paper settings (Liu et al. 2023): DCGAN backbone with spectral norm in D, z 64, batch 64,
Adam(lr 1e-4, beta (0, 0.999)) for G and D, lr decayed x0.9 every 50 epochs, one G step every 3 D
steps (``d_steps=3``: each train step reads 3 x 64 images), code m = 16, MaF loss, replay buffer
1024, entropy weight sigma 5e-4 ramped linearly over the first 100 epochs, lambda 0; DLLE with
rotation + Gaussian noise, DIsoMap with U(0,1) mixes and cosine (the paper's variants; ``--set
official=true`` switches to the official code's: squared-L2 entropy with -log also on real
codes, flip DLLE, N(0,1) real-with-fake DIsoMap with MSE, reparameterised code). An "epoch" is
50,000 images = 260 train steps. Training length (500 epochs) and DCGAN widths are kgan's
choices: the paper does not give them. The paper reports FID 29.22 (TF-Inception, 50k
samples); the evaluation here uses Keras' ImageNet InceptionV3 (downloads its weights; a
different number, labelled as such) on ``eval_samples`` samples.

Needs CIFAR-10 from TensorFlow Datasets (``--set data_dir=...`` for a prepared tfds dir).

    kgan train cifar10_maem                       # the paper's schedule (GPU advised)
    kgan train cifar10_maem --set ablation=baseline
"""
import keras

import kgan
from kgan.experiments.options import Option
from kgan.models.maem import ABLATIONS, ablation_kwargs

DATASET = "cifar10"
IMAGES_PER_EPOCH = 50_000
BATCH, D_STEPS = 64, 3
STEPS_PER_EPOCH = IMAGES_PER_EPOCH // (BATCH * D_STEPS)  # 260 generator steps
DEFAULTS = dict(steps=500 * STEPS_PER_EPOCH, steps_per_epoch=STEPS_PER_EPOCH, batch_size=BATCH)


def paper_options(code_dim=16, sigma=5e-4, lam=0.0, eval_samples=10_000, eval_low=1):
    """The options of :func:`build_paper` and the schedule, with a dataset's defaults (the
    celeba_maem and animeface_maem recipes declare theirs with this; each adds its data_dir)."""
    return (
        Option("ablation", str, "all", "which regularisers are on (the paper's Table 4 rows)",
               choices=tuple(ABLATIONS)),
        Option("official", bool, False, "the official code's regularisers instead of the paper's"),
        Option("code_dim", int, code_dim, "size m of D's code", low=1),
        Option("sigma", float, sigma, "manifold-entropy weight (ramped up over the first 100 epochs)", low=0.0),
        Option("lam", float, lam, "weight lambda of the entropy's ||V0|| term", low=0.0),
        Option("buffer", int, 1024, "replay-buffer size of generated codes", low=1),
        Option("epochs", int, None, "training length in epochs (overrides --steps)", low=1, allow_none=True),
        Option("eval_samples", int, eval_samples,
               "samples for the final IS/FID/I-Variance" + (" (0: no evaluation)" if eval_low == 0 else ""),
               low=eval_low),
    )


OPTIONS = paper_options() + (
    Option("data_dir", str, None, "a prepared TensorFlow Datasets data_dir (offline use)", allow_none=True),
)


def paper_regularisers(official, sigma, lam, warmup_steps):
    """The three regularisers: the paper's variants, or the official code's."""
    if official:
        return dict(entropy=kgan.losses.ManifoldEntropy(sigma, warmup_steps, lam, metric="squared_l2"),
                    dlle=kgan.losses.DLLE("flip", distance="mse", detach="transformed"),
                    disomap=kgan.losses.DIsoMap("normal", "real_fake", "mse", target_noise=0.05))
    return dict(entropy=kgan.losses.ManifoldEntropy(sigma, warmup_steps, lam),
                dlle=kgan.losses.DLLE("rotation"), disomap=kgan.losses.DIsoMap())


def build_paper(cfg, size, channels=3, latent_dim=64, code_dim=16, sigma=5e-4, lam=0.0,
                steps_per_epoch=STEPS_PER_EPOCH, d_steps=D_STEPS):
    """MaEM-GAN with the paper's CIFAR-10 schedule at image ``size`` (shared by the
    celeba_maem and animeface_maem recipes)."""
    x = cfg.extra
    official = bool(x.get("official", False))
    m = int(x.get("code_dim", code_dim))
    G = kgan.nets.dcgan_generator(size, channels, latent_dim=latent_dim)
    D = kgan.nets.dcgan_discriminator(size, channels, heads=("logit", "code"),
                                      code_dim=2 * m if official else m, spectral_norm=True)
    regs = ablation_kwargs(x.get("ablation", "all"), **paper_regularisers(
        official, float(x.get("sigma", sigma)), float(x.get("lam", lam)), warmup_steps=100 * steps_per_epoch))
    gan = kgan.models.MaEMGAN(G, D, buffer_size=int(x.get("buffer", 1024)), reparameterize=official,
                              entropy_on_real=official and regs["entropy"] is not None,
                              ema_decay=None, seed=cfg.seed, **regs)

    def adam(iterations_per_epoch):  # x0.9 every 50 epochs, counted in the optimizer's own updates
        lr = keras.optimizers.schedules.ExponentialDecay(
            1e-4, decay_steps=50 * iterations_per_epoch, decay_rate=0.9, staircase=True)
        return keras.optimizers.Adam(lr, beta_1=0.0, beta_2=0.999)

    gan.compile(d_optimizer=adam(d_steps * steps_per_epoch), g_optimizer=adam(steps_per_epoch),
                loss="maf", d_steps=d_steps, **cfg.compile_kwargs)
    return gan


def evaluate(gan, cfg, dataset):
    """Inception-feature metrics (Keras ImageNet weights: not the paper's FID) and I-Variance."""
    from kgan.metrics.suite import Evaluator

    n = int(cfg.extra.get("eval_samples", 10_000))
    ev = Evaluator(("fid", "is", "i_variance"), dataset, extractor="inception", seed=cfg.seed)
    report = ev.evaluate(gan.generate(n, seed=cfg.seed, use_ema=False))
    report.update(features=ev.label, eval_samples=n, ablation=cfg.extra.get("ablation", "all"))
    return report


def main(cfg):
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size * D_STEPS, labels=False, seed=cfg.seed,
                          data_dir=cfg.extra.get("data_dir"))
    epochs = cfg.extra.get("epochs")
    if epochs is not None:
        cfg.steps = int(epochs) * STEPS_PER_EPOCH
    cfg.set_epoch_length(STEPS_PER_EPOCH)  # whole epochs that divide the budget: exactly cfg.steps steps
    with cfg.strategy.scope():
        gan = build_paper(cfg, 32)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=DATASET), verbose=cfg.verbose)
    return cfg.finish(gan, evaluate(gan, cfg, DATASET))


if __name__ == "__main__":
    kgan.run.cli(__file__)
