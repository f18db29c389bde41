"""Keras models, one per method, each overriding ``train_step`` (via the base GAN's hooks)."""
import kgan.layers  # noqa: F401  (registers layers for loading .keras files)
import kgan.nets  # noqa: F401
from kgan.models.gan import GAN, Batch
