"""cifar10_acgan: ACGAN on CIFAR-10 with StudioGAN's CIFAR-10 hyperparameters (GPU-scale).

The baseline of ReACGAN's CIFAR-10 comparison, with the same schedule as
cifar10_reacgan (StudioGAN's CIFAR-10 hyperparameters, docs/conditional.md):
SN-ResNet generator with conditional batch norm and SN-ResNet discriminator
(SN in G and D, global sum pooling, linear classifier head without bias), hinge loss,
batch 128, lr 2.83e-4 for G and D, Adam(0.5, 0.999), 5 D steps per G step,
100k G steps, G-EMA 0.9999 from step 1000, classifier cross-entropy with
cond_lambda 1.0 (``--set classify_fakes=true`` for the original ACGAN's D loss on
fakes). StudioGAN's published ACGAN-Mod CIFAR-10 figures (IS 7.19, FID 33.39,
TF-Inception, StudioGAN's CIFAR-10 table) come from its own configuration; this recipe has
not been run at full scale here (CPU only).

Data: ``kgan.data.load("cifar10")`` through TensorFlow Datasets (downloads on
first use; offline, prepare it with ``tfds build cifar10 --data_dir DIR`` and pass
``--set data_dir=DIR``). ``--batch-size`` is the batch of ONE update: each
train_step reads ``d_steps * batch_size`` images (a fresh real batch per D step,
as StudioGAN).

At the end (``--set eval_samples=N``, default 10,000; 0 to skip) it computes
FID/IS/precision/recall/density/coverage with Keras' ImageNet InceptionV3
(``--set inception_weights=PATH`` offline). This is NOT the 2015 TF-Inception
graph of the published numbers: compare only runs measured the same way.

    kgan train cifar10_acgan                                   # the full schedule (GPU)
    kgan train cifar10_acgan --strategy mirrored               # several GPUs
    kgan train cifar10_acgan --set classify_fakes=true         # original ACGAN D loss
    kgan train cifar10_acgan --steps 200 --set eval_samples=0  # smoke test
"""
import keras
import numpy as np

import kgan
from kgan.experiments.options import Option, Param
from kgan.experiments.protocols import ADVERSARIAL_LOSSES

DATASET = "cifar10"
DEFAULTS = dict(steps=100_000, steps_per_epoch=2_000, batch_size=128)
#: The options of the shared schedule and evaluation (cifar10_projgan and cifar10_reacgan reuse them).
COMMON_OPTIONS = (
    Option("loss", str, "hinge", "adversarial loss", choices=ADVERSARIAL_LOSSES),
    Option("lr", float, 2.83e-4, "Adam learning rate of G and D", low=0.0, low_open=True),
    Option("d_steps", int, 5, "D steps per G step (each reads its own real batch)", low=1),
    Option("width", int, 64, "channel multiplier (StudioGAN's g_conv_dim / d_conv_dim)", low=1),
    Option("diffaugment", bool, False, "DiffAugment (color, translation, cutout) on D's inputs"),
    Option("ema_decay", float, 0.9999, "generator EMA decay, in [0, 1)", low=0.0, high=1.0),
    Option("ema_start", int, 1000, "step at which the generator EMA starts", low=0),
    Option("eval_samples", int, 10_000, "samples for the final FID/IS/PRDC (0: no evaluation)", low=0),
    Option("inception_weights", str, "imagenet", "InceptionV3 weights: imagenet or a weights file (offline)"),
    Option("data_dir", str, None, "a prepared TensorFlow Datasets data_dir (offline use)", allow_none=True),
)
OPTIONS = COMMON_OPTIONS + (
    Option("cond_lambda", float, 1.0, "weight of the classifier cross-entropy", low=0.0),
    Option("classify_fakes", bool, False, "also train D's classifier on fakes (the original ACGAN's D loss)"),
)
#: ``kgan tune cifar10_acgan``'s search space: the one learning rate of G and D, D steps (shared by
#: cifar10_projgan and cifar10_reacgan), and the classifier's weight.
COMMON_SEARCH = (Param("lr", "float", 1e-5, 1e-3, log=True), Param("d_steps", "int", 1, 5))
SEARCH = COMMON_SEARCH + (Param("cond_lambda", "float", 0.0, 2.0),)


def build_conditional(cfg, model_cls, head, d_kwargs=None, **model_kwargs):
    """The shared SN-ResNet networks, schedule and optimisers with ``model_cls`` and D's ``head``.

    cifar10_projgan and cifar10_reacgan reuse it; ``model_kwargs`` are the method's own arguments.
    """
    opt = cfg.extra.get
    # width = StudioGAN's g_conv_dim / d_conv_dim (64: a 256-channel G and 128-channel D, as SNGAN)
    width = int(opt("width", 64))
    G = kgan.nets.resnet_generator(32, 3, latent_dim=128, num_classes=10, width=width, spectral_norm=True)
    D = kgan.nets.resnet_discriminator(32, 3, num_classes=10, heads=(head,), width=width,
                                       spectral_norm=True, **(d_kwargs or {}))
    gan = model_cls(
        G, D, num_classes=10,
        augment=kgan.layers.DiffAugment(seed=cfg.seed) if opt("diffaugment", False) else None,
        ema_decay=float(opt("ema_decay", 0.9999)), ema_start=int(opt("ema_start", 1000)), seed=cfg.seed,
        **model_kwargs)
    lr = float(opt("lr", 2.83e-4))
    gan.compile(d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999),
                loss=opt("loss", "hinge"), d_steps=int(opt("d_steps", 5)), **cfg.compile_kwargs)
    return gan


def build(cfg):
    opt = cfg.extra.get
    return build_conditional(cfg, kgan.models.ACGAN, "classifier", cond_lambda=float(opt("cond_lambda", 1.0)),
                             classify_fakes=bool(opt("classify_fakes", False)))


def main(cfg, build=build):
    """Train and evaluate ``build(cfg)``; cifar10_projgan and cifar10_reacgan reuse it."""
    opt = cfg.extra.get
    d_steps = int(opt("d_steps", 5))
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size * d_steps, labels=True, seed=cfg.seed,
                          data_dir=opt("data_dir", None) or None)
    with cfg.strategy.scope():
        gan = build(cfg)
    hist = gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
                   callbacks=cfg.callbacks(dataset=DATASET), verbose=cfg.verbose)
    report = {"dataset": DATASET, "model": type(gan).__name__, "history": hist.history}
    n = int(opt("eval_samples", 10_000))
    if n:
        from kgan.metrics.suite import Evaluator

        evaluator = Evaluator("fid,is,prdc", DATASET, extractor="inception",
                              weights=opt("inception_weights", "imagenet"), real_split="train")
        labels = np.arange(n) % 10
        report.update(evaluator.evaluate(gan.generate(n, labels=labels, seed=cfg.seed), labels))
        report["metric_label"] = evaluator.label
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
