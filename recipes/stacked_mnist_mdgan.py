"""stacked_mnist_mdgan: MDGAN on Stacked MNIST (28x28x3, 1000 modes), DCGAN-size networks. Needs internet.

The Stacked-MNIST protocol of benchmarks.md B (Metz et al. 2017; VEEGAN, PacGAN, GDPP): three
MNIST digits drawn independently as the R, G, B channels, label 100a + 10b + c. MNIST is read
through TensorFlow Datasets (kgan.data "stacked_mnist" -> tfds "mnist"), which downloads it on
first use (about 11 MB into $TFDS_DATA_DIR or ~/tensorflow_datasets): this recipe needs
internet once. Offline, it stops at once with a FileNotFoundError saying how to prepare MNIST on
another machine (`tfds build mnist --data_dir DIR`) and point $TFDS_DATA_DIR at the copy.

G: kgan.nets.dcgan_generator(28, 3, latent_dim=128) (Dense -> 7x7x256 -> ConvT 128 -> ConvT 64
-> Conv 3x3 tanh, BN); D1, D2: dcgan_discriminator(28, 3) (Conv 64 -> Conv 128, LeakyReLU, no
BN); E: dcgan_encoder(28, 3). Adam(2e-4, beta1 0.5) for every network, batch 64, 20,000
steps, non-saturating loss, generator EMA 0.999 from step 1000. Evaluated on 26,000 samples:
modes covered of 1000 and KL to uniform (per-channel MNIST domain classifier, trained on first
use and cached; kgan.metrics.DomainClassifier.for_dataset("stacked_mnist")), MODE score,
missing modes by a third-party discriminator. The published figures of benchmarks.md B (e.g.
DCGAN 99 modes / KL 3.40, Reg-GAN 955 / 0.925, PacDCGAN2 1000 / 0.06) come from other
implementations and training lengths: compare with them for orientation only.

``--set model=regan`` trains the mode-regularised GAN and ``--set model=gan`` the plain
DCGAN baseline on the same protocol. Options (as stacked_digits_mdgan): --set lambda1=0.2
--set lambda2=... --set loss=hinge --set width=64 --set eval_samples=26000
--set metrics=modes,kl,mode_score,missing_modes (or metrics=none).

    kgan train stacked_mnist_mdgan                         # the full protocol (20k steps)
    kgan train stacked_mnist_mdgan --set model=gan         # the baseline
    kgan train stacked_mnist_mdgan --steps 2000            # a quick look
"""
import kgan
from stacked_digits_mdgan import DEFAULTS, METRICS  # noqa: F401  (same models, options and protocol)
from stacked_digits_mdgan import build as _build
from stacked_digits_mdgan import main as _main

DATASET = "stacked_mnist"
SIZE, CHANNELS = 28, 3


def build(cfg):
    """stacked_digits_mdgan's models at 28x28x3."""
    return _build(cfg, size=SIZE, channels=CHANNELS)


def main(cfg):
    return _main(cfg, dataset=DATASET, size=SIZE, channels=CHANNELS)


if __name__ == "__main__":
    kgan.run.cli(__file__)
