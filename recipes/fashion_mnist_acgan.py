"""fashion_mnist_acgan: ACGAN (auxiliary classifier) on Fashion-MNIST, 28x28, DCGAN nets.

Class-conditional DCGAN generator (conditional batch norm) and an SN-DCGAN
discriminator with a linear classifier head (no bias); hinge loss,
Adam(2e-4, 0.5, 0.999), batch 64, classifier cross-entropy with cond_lambda 1.0
on real data for D and on fakes for G (StudioGAN's ACGAN; ``--set
classify_fakes=true`` also trains D's classifier on fakes, as the original
ACGAN). The networks, optimiser and schedule are those of
fashion_mnist_projgan and fashion_mnist_reacgan, so the three compare like for
like (benchmarks/conditional.py).
Runs offline from Debian's dataset-fashion-mnist files.

At the end it evaluates 10,000 class-balanced samples of the EMA generator:
Fréchet distance in the Fashion-MNIST domain classifier's feature space (not an
Inception FID), class-consistency accuracy, precision/recall and
density/coverage; the report also holds the per-epoch loss terms, the
classifier-gradient norms (d_cond_grad_norm, d_cond_feat_grad_norm) and the step time.

    kgan train fashion_mnist_acgan --steps 3000
    kgan train fashion_mnist_acgan --set classify_fakes=true --set diffaugment=true

Options: --set loss=hinge --set width=64 --set lr=2e-4 --set d_steps=1 --set cond_lambda=1.0
         --set classify_fakes=false --set diffaugment=false --set ema_decay=0.999
         --set ema_start=1000 --set eval_samples=10000
         --set save_samples=false
"""
import os
import time

import keras
import numpy as np

import kgan
from kgan.metrics.suite import Evaluator
from kgan.utils import atomic_path

DATASET = "fashion_mnist"
DEFAULTS = dict(steps=10_000, steps_per_epoch=500, batch_size=64)


def build(cfg):
    opt = cfg.extra.get
    width = int(opt("width", 64))
    G = kgan.nets.dcgan_generator(28, 1, latent_dim=128, num_classes=10, width=width)
    D = kgan.nets.dcgan_discriminator(28, 1, num_classes=10, heads=("classifier",), width=width,
                                      spectral_norm=True)
    ema = opt("ema_decay", 0.999)
    gan = kgan.models.ACGAN(
        G, D, num_classes=10, cond_lambda=float(opt("cond_lambda", 1.0)),
        classify_fakes=bool(opt("classify_fakes", False)),
        augment=kgan.layers.DiffAugment(seed=cfg.seed) if opt("diffaugment", False) else None,
        ema_decay=None if ema in (None, "none") else float(ema), ema_start=int(opt("ema_start", 1000)),
        seed=cfg.seed)
    lr = float(opt("lr", 2e-4))
    gan.compile(d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999),
                loss=opt("loss", "hinge"), d_steps=int(opt("d_steps", 1)), **cfg.compile_kwargs)
    return gan


def main(cfg, build=build):
    """Train and evaluate ``build(cfg)``; fashion_mnist/cifar10 projgan and reacgan reuse it."""
    opt = cfg.extra.get
    d_steps = int(opt("d_steps", 1))
    # --batch-size is the batch of one update; each train_step takes d_steps of them
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size * d_steps, labels=True, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    times = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: times.append(time.process_time()),
        on_epoch_end=lambda e, logs: times.append((time.process_time() - times.pop()) / cfg.steps_per_epoch))
    hist = gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
                   callbacks=cfg.callbacks(dataset=DATASET, extra=[timer]), verbose=cfg.verbose)
    report = {"dataset": DATASET, "model": type(gan).__name__, "history": hist.history,
              "step_seconds_cpu": float(np.median(times[1:] or times))}  # epoch 1 includes tracing
    n = int(opt("eval_samples", 10_000))
    if n:
        evaluator = Evaluator("fid,class_acc,prdc", DATASET)
        labels = np.arange(n) % 10
        fake = gan.generate(n, labels=labels, seed=cfg.seed)
        report.update(evaluator.evaluate(fake, labels))
        report["fd_label"] = evaluator.label
        if opt("save_samples", False):  # for benchmarks/conditional.py (per-class metrics, grids)
            with atomic_path(os.path.join(cfg.logdir, "samples.npz")) as tmp:
                np.savez_compressed(tmp, x=np.round((fake + 1) * 127.5).astype("uint8"), y=labels)
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
