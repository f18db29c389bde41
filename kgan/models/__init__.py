"""Keras models, one per method, each overriding ``train_step`` (via the base GAN's hooks)."""
from kgan.models.gan import GAN, Batch
