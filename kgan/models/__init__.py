"""Keras models, one per method, each overriding ``train_step`` (via the base GAN's hooks)."""
import kgan.layers  # noqa: F401  (registers layers for loading .keras files)
import kgan.nets  # noqa: F401
from kgan.models.gan import GAN, Batch
from kgan.models.mode_regularized import MDGAN, RegularizedGAN
from kgan.models.mixing import AdaptiveMixGAN, MixGAN
from kgan.models.maem import MaEMGAN
from kgan.models.conditional import ACGAN, ProjGAN, ReACGAN
from kgan.models.classifier import AdaptiveMixClassifier
