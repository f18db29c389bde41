"""fashion_mnist_reacgan: ReACGAN (hypersphere projection + D2D-CE) on Fashion-MNIST, 28x28, DCGAN nets.

Class-conditional DCGAN generator (conditional batch norm) and an SN-DCGAN
discriminator with the hypersphere head (embedding + class proxies on the unit
sphere); hinge loss, Adam(2e-4, 0.5, 0.999), batch 64, D2D-CE with
cond_lambda 0.5, m_p 0.98, T 0.5 (StudioGAN's ReACGAN values). The networks,
optimiser and schedule are those of fashion_mnist_acgan and
fashion_mnist_projgan, so the three compare like for like (benchmarks/conditional.py).
Runs offline from Debian's dataset-fashion-mnist files.

At the end it evaluates 10,000 class-balanced samples of the EMA generator:
Fréchet distance in the Fashion-MNIST domain classifier's feature space (not an
Inception FID), class-consistency accuracy, precision/recall and
density/coverage; the report also holds the per-epoch loss terms, the
classifier-gradient norms (d_cond_grad_norm, d_cond_feat_grad_norm) and the step time.

    kgan train fashion_mnist_reacgan --steps 3000
    kgan train fashion_mnist_reacgan --set diffaugment=true --set variant=official

Options: --set loss=hinge --set width=64 --set lr=2e-4 --set d_steps=1 --set cond_lambda=0.5
         --set temperature=0.5 --set margin_pos=0.98 --set variant=exact --set embed_dim=128
         --set diffaugment=false --set ema_decay=0.999 --set ema_start=1000 --set eval_samples=10000
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
    D = kgan.nets.dcgan_discriminator(28, 1, num_classes=10, heads=("hypersphere",), width=width,
                                      spectral_norm=True, embed_dim=int(opt("embed_dim", 128)))
    ema = opt("ema_decay", 0.999)
    gan = kgan.models.ReACGAN(
        G, D, num_classes=10, cond_lambda=float(opt("cond_lambda", 0.5)),
        temperature=float(opt("temperature", 0.5)), margin_pos=float(opt("margin_pos", 0.98)),
        d2dce_variant=opt("variant", "exact"),
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
