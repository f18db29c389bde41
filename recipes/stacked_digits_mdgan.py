"""stacked_digits_mdgan: MDGAN on stacked sklearn digits (8x8x3, 1000 modes), DCGAN-size networks.

The offline stand-in for stacked MNIST (benchmarks.md B): three 8x8 digits as the R, G, B
channels, label 100a + 10b + c. G: kgan.nets.dcgan_generator(8, 3, latent_dim=128)
(Dense -> 2x2x256 -> ConvT 128 -> ConvT 64 -> Conv 3x3 tanh, BN); D1, D2:
dcgan_discriminator(8, 3) (Conv 64 -> Conv 128, LeakyReLU, no BN); E: dcgan_encoder(8, 3).
Adam(2e-4, beta1 0.5) for every network, batch 64, non-saturating loss, generator EMA 0.999
from step 1000. Evaluated on 26,000 samples: modes covered of 1000 and KL to uniform
(per-channel domain classifier), MODE score, missing modes by a third-party discriminator.

``--set model=regan`` trains the mode-regularised GAN and ``--set model=gan`` the plain
DCGAN baseline on the same protocol (what benchmarks/mode_regularized.py compares).
Other options: --set lambda1=0.2 --set lambda2=... --set loss=hinge --set eval_samples=26000
--set width=64 (channels of G's last / D's and E's first conv stage; 64 is DCGAN size)
--set metrics=modes,kl,mode_score,missing_modes (the default; metrics=none: no evaluation).

    kgan train stacked_digits_mdgan                         # the full protocol (20k steps)
    kgan train stacked_digits_mdgan --set model=gan         # the baseline
    kgan train stacked_digits_mdgan --steps 2000            # a quick look
"""
import keras

import kgan

DATASET = "stacked_digits"
SIZE, CHANNELS = 8, 3
DEFAULTS = dict(steps=20_000, steps_per_epoch=1_000, batch_size=64)
METRICS = ("modes", "kl", "mode_score", "missing_modes")
MODELS = ("mdgan", "regan", "gan")


def build(cfg, size=SIZE, channels=CHANNELS):
    """The model named by ``--set model=`` (mdgan, regan or gan), compiled."""
    kind = cfg.extra.get("model", "mdgan")
    if kind not in MODELS:
        raise ValueError(f"--set model must be one of {list(MODELS)}; received model={kind!r}.")
    adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    width = cfg.extra.get("width", 64)  # validated by the nets (a positive int)
    G = kgan.nets.dcgan_generator(size, channels, latent_dim=128, width=width)
    D = kgan.nets.dcgan_discriminator(size, channels, width=width)
    common = dict(ema_decay=0.999, ema_start=1000, seed=cfg.seed)
    compile_kw = dict(loss=cfg.extra.get("loss", "non_saturating"), **cfg.compile_kwargs)
    if kind == "gan":
        gan = kgan.models.GAN(G, D, **common)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), **compile_kw)
        return gan
    E = kgan.nets.dcgan_encoder(size, channels, latent_dim=128, width=width)
    lambda1 = float(cfg.extra.get("lambda1", 0.2))
    if kind == "regan":
        gan = kgan.models.RegularizedGAN(G, D, E, lambda1=lambda1,
                                         lambda2=float(cfg.extra.get("lambda2", 0.4)), **common)
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), **compile_kw)
        return gan
    D2 = kgan.nets.dcgan_discriminator(size, channels, width=width, name="diffusion_discriminator")
    gan = kgan.models.MDGAN(G, D, E, D2, lambda1=lambda1, lambda2=float(cfg.extra.get("lambda2", 1.0)),
                            **common)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), d2_optimizer=adam(),
                **compile_kw)
    return gan


def eval_metrics(cfg, metrics=METRICS):
    """The metric names of ``--set metrics=`` (default ``metrics``; ``none`` -> ``()``), checked
    before training so that a typo does not cost a whole run."""
    from kgan.metrics.suite import IMAGE_METRICS, parse_metrics

    chosen = cfg.extra.get("metrics", ",".join(metrics))
    if isinstance(chosen, str) and chosen.strip().lower() == "none":
        return ()
    try:
        names = parse_metrics(chosen)
    except (TypeError, ValueError):
        names = None
    if names is None or any(m not in IMAGE_METRICS for m in names):
        raise ValueError(
            f"--set metrics must be 'none' or a comma-separated list of {sorted(IMAGE_METRICS)}; "
            f"received metrics={chosen!r}.")
    return names


def evaluate(gan, cfg, dataset=DATASET, metrics=METRICS):
    """The stacked-data metrics (``--set metrics=``, default ``metrics``) on ``eval_samples``
    (26,000) generated samples; just the run's description with ``--set metrics=none``."""
    from kgan.metrics.suite import Evaluator

    names = eval_metrics(cfg, metrics)
    n = int(cfg.extra.get("eval_samples", 26_000))
    report = {}
    if names:
        report = Evaluator(names, dataset, seed=cfg.seed).evaluate(gan.generate(n, seed=cfg.seed))
    report.update(dataset=dataset, model=cfg.extra.get("model", "mdgan"), eval_samples=n if names else 0)
    return report


def main(cfg, dataset=DATASET, size=SIZE, channels=CHANNELS):
    eval_metrics(cfg)  # bad --set metrics: an error now, not after training
    data = kgan.data.load(dataset, batch_size=cfg.batch_size, labels=False, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg, size=size, channels=channels)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=dataset), verbose=cfg.verbose)
    return cfg.finish(gan, evaluate(gan, cfg, dataset=dataset))


if __name__ == "__main__":
    kgan.run.cli(__file__)
