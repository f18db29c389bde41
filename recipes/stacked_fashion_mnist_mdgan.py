"""stacked_fashion_mnist_mdgan: MDGAN on stacked Fashion-MNIST (28x28x3, 1000 modes), DCGAN-size networks.

The offline stand-in for stacked MNIST closest in size (benchmarks.md B): three Fashion-MNIST
images as the R, G, B channels, label 100a + 10b + c. G: kgan.nets.dcgan_generator(28, 3,
latent_dim=128) (Dense -> 7x7x256 -> ConvT 128 -> ConvT 64 -> Conv 3x3 tanh, BN); D1, D2:
dcgan_discriminator(28, 3) (Conv 64 -> Conv 128, LeakyReLU, no BN); E: dcgan_encoder(28, 3).
Adam(2e-4, beta1 0.5) for every network, batch 64, non-saturating loss, generator EMA 0.999
from step 1000. Evaluated on 26,000 samples: modes covered of 1000 and KL to uniform
(per-channel domain classifier), MODE score, missing modes by a third-party discriminator.

``--set model=regan`` trains the mode-regularised GAN and ``--set model=gan`` the plain
DCGAN baseline on the same protocol (what benchmarks/mode_regularized.py compares).
Other options: --set lambda1=0.2 --set lambda2=... --set loss=hinge --set eval_samples=26000.

    kgan train stacked_fashion_mnist_mdgan                         # the full protocol (20k steps)
    kgan train stacked_fashion_mnist_mdgan --set model=gan         # the baseline
    kgan train stacked_fashion_mnist_mdgan --steps 2000            # a quick look
"""
import kgan
from stacked_digits_mdgan import DEFAULTS, METRICS  # noqa: F401  (same models, options and protocol)
from stacked_digits_mdgan import build as _build
from stacked_digits_mdgan import main as _main

DATASET = "stacked_fashion_mnist"
SIZE, CHANNELS = 28, 3


def build(cfg):
    """stacked_digits_mdgan's models at 28x28x3."""
    return _build(cfg, size=SIZE, channels=CHANNELS)


def main(cfg):
    return _main(cfg, dataset=DATASET, size=SIZE, channels=CHANNELS)


if __name__ == "__main__":
    kgan.run.cli(__file__)
