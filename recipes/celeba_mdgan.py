"""celeba_mdgan: MDGAN (Che et al. 2017) on CelebA 64x64 through TensorFlow Datasets ("celeb_a").

The paper's CelebA experiment with kgan's DCGAN networks: centre 108x108 face crop resized
to 64x64 (DCGAN-tensorflow protocol), G: kgan.nets.dcgan_generator(64, 3, latent_dim=128);
D1 and D2: dcgan_discriminator(64, 3); E: dcgan_encoder(64, 3). Adam(2e-4, beta1 0.5) for
every network, batch 64, non-saturating loss, lambda1 0.2 (pixel L2), lambda2 1.0, generator
EMA 0.999 from step 1000. Needs the prepared tfds "celeb_a" set (downloaded on first use
when online; offline pass --set data_dir=DIR of a `tfds build celeb_a` output). Not run on
the CPU-only development machines (no internet, hours per epoch).

    kgan train celeba_mdgan --strategy mirrored --steps 100000
    kgan train celeba_mdgan --set geometric=features --set loss=hinge
"""
import keras

import kgan
from kgan.experiments.options import Option
from kgan.experiments.protocols import ADVERSARIAL_LOSSES
from kgan.models.mode_regularized import GEOMETRIC_SPACES

DATASET = "celeb_a"
DEFAULTS = dict(steps=100_000, steps_per_epoch=1_000, batch_size=64)
OPTIONS = (
    Option("lambda1", float, 0.2, "manifold step's geometric weight", low=0.0),
    Option("lambda2", float, 1.0, "diffusion step's weight", low=0.0),
    Option("geometric", str, "pixel", "space of the geometric regulariser: pixels or D's features",
           choices=GEOMETRIC_SPACES),
    Option("loss", str, "non_saturating", "adversarial loss", choices=ADVERSARIAL_LOSSES),
    Option("data_dir", str, None, "a prepared TensorFlow Datasets data_dir (offline use)", allow_none=True),
)


def build(cfg):
    adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    gan = kgan.models.MDGAN(
        kgan.nets.dcgan_generator(64, 3, latent_dim=128), kgan.nets.dcgan_discriminator(64, 3),
        kgan.nets.dcgan_encoder(64, 3, latent_dim=128),
        kgan.nets.dcgan_discriminator(64, 3, name="diffusion_discriminator"),
        lambda1=float(cfg.extra.get("lambda1", 0.2)), lambda2=float(cfg.extra.get("lambda2", 1.0)),
        geometric=cfg.extra.get("geometric", "pixel"), ema_decay=0.999, ema_start=1000, seed=cfg.seed)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), d2_optimizer=adam(),
                loss=cfg.extra.get("loss", "non_saturating"), **cfg.compile_kwargs)
    return gan


def main(cfg):
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size, labels=False, seed=cfg.seed,
                          resize=kgan.data.Resize(64, crop=108), data_dir=cfg.extra.get("data_dir"))
    with cfg.strategy.scope():
        gan = build(cfg)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=DATASET), verbose=cfg.verbose)
    return cfg.finish(gan)


if __name__ == "__main__":
    kgan.run.cli(__file__)
