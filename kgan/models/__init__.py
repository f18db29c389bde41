"""Keras models, one per method, on the base GAN's one ``train_step``: each adds loss terms through the
``d_losses``/``g_losses`` hooks and, when its algorithm has other steps, declares them in ``phases()``."""
import kgan.layers  # noqa: F401  (registers layers for loading .keras files)
import kgan.nets  # noqa: F401
from kgan.models.gan import GAN, Batch, Phase, Update
from kgan.models.mode_regularized import MDGAN, RegularizedGAN
from kgan.models.mixing import AdaptiveMixGAN, MixGAN
from kgan.models.maem import MaEMGAN
from kgan.models.conditional import ACGAN, ProjGAN, ReACGAN
from kgan.models.classifier import AdaptiveMixClassifier
