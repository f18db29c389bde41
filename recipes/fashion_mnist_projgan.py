"""fashion_mnist_projgan: cGAN with a projection discriminator on Fashion-MNIST, 28x28, DCGAN nets.

Class-conditional DCGAN generator (conditional batch norm) and an SN-DCGAN
discriminator whose logit is ``psi(h) + <embed(y), h>`` (Miyato & Koyama
2018); hinge loss, Adam(2e-4, 0.5, 0.999), batch 64, no extra loss term. The
networks, optimiser and schedule are those of fashion_mnist_acgan and
fashion_mnist_reacgan, so the three compare like for like (benchmarks/conditional.py).
Runs offline from Debian's dataset-fashion-mnist files.

At the end it evaluates 10,000 class-balanced samples of the EMA generator:
Fréchet distance in the Fashion-MNIST domain classifier's feature space (not an
Inception FID), class-consistency accuracy, precision/recall and
density/coverage; the report also holds the per-epoch loss terms and the step time.

    kgan train fashion_mnist_projgan --steps 3000
    kgan train fashion_mnist_projgan --set diffaugment=true

Options: --set loss=hinge --set width=64 --set lr=2e-4 --set d_steps=1 --set diffaugment=false
         --set ema_decay=0.999 --set ema_start=1000 --set eval_samples=10000
         --set save_samples=false
"""
import keras

import kgan
from fashion_mnist_acgan import main as _main  # the same training and evaluation

DATASET = "fashion_mnist"
DEFAULTS = dict(steps=10_000, steps_per_epoch=500, batch_size=64)


def build(cfg):
    opt = cfg.extra.get
    width = int(opt("width", 64))
    G = kgan.nets.dcgan_generator(28, 1, latent_dim=128, num_classes=10, width=width)
    D = kgan.nets.dcgan_discriminator(28, 1, num_classes=10, heads=("projection",), width=width,
                                      spectral_norm=True)
    ema = opt("ema_decay", 0.999)
    gan = kgan.models.ProjGAN(
        G, D, num_classes=10,
        augment=kgan.layers.DiffAugment(seed=cfg.seed) if opt("diffaugment", False) else None,
        ema_decay=None if ema in (None, "none") else float(ema), ema_start=int(opt("ema_start", 1000)),
        seed=cfg.seed)
    lr = float(opt("lr", 2e-4))
    gan.compile(d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999),
                loss=opt("loss", "hinge"), d_steps=int(opt("d_steps", 1)), **cfg.compile_kwargs)
    return gan


def main(cfg):
    return _main(cfg, build=build)


if __name__ == "__main__":
    kgan.run.cli(__file__)
