"""tiny_imagenet_reacgan: ReACGAN (or ACGAN / ProjGAN) at 64x64 on Tiny-ImageNet, CUB-200 or any labelled image set.

The many-class setting where ReACGAN's paper reports ACGAN's early collapse
(Tiny-ImageNet: 200 classes; CUB-200: 200 bird species). SN-ResNet 64x64
networks (class-conditional BN in G, hypersphere / classifier / projection head
in D), hinge loss, DiffAugment optional. Data through an image folder or
TensorFlow Datasets:

* Tiny-ImageNet: unpack ``tiny-imagenet-200.zip`` and point at its ``train``
  folder (class sub-folders ``train/<wnid>/images/*.JPEG``, 64x64 already):
  ``--set dataset=folder:/data/tiny-imagenet-200/train``.
* CUB-200-2011 through tfds (``caltech_birds2011``; images of varying size,
  centre-cropped and resized to 64): ``--set dataset=caltech_birds2011``.
* any folder of class sub-folders: ``--set dataset=folder:/path``.

Schedule (a GPU job): batch 256 per update, 2 D steps per G step, TTUR learning
rates 1e-4 (G) / 4e-4 (D) with Adam(0.0, 0.999), G-EMA 0.9999 from step 1000,
D2D-CE cond_lambda 0.5, m_p 0.98, T 0.5. These are BigGAN/StudioGAN-style
choices for 64x64 data; they are not a verified copy of StudioGAN's
Tiny-ImageNet file, and the recipe has not been run at full scale here.
``--set model=acgan`` / ``projgan`` trains the baselines with the same networks
and schedule; the log's ``d_cond_grad_norm`` shows the classifier-gradient norms
whose early explosion the paper reports for ACGAN.

    kgan train tiny_imagenet_reacgan --set dataset=folder:/data/tiny-imagenet-200/train
    kgan train tiny_imagenet_reacgan --set dataset=caltech_birds2011 --set diffaugment=true
    kgan train tiny_imagenet_reacgan --set model=acgan --set dataset=folder:/data/tiny-imagenet-200/train
"""
import keras
import numpy as np

import kgan
from kgan.experiments.options import Option
from kgan.experiments.protocols import ADVERSARIAL_LOSSES

DEFAULTS = dict(steps=100_000, steps_per_epoch=1_000, batch_size=256)
MODELS = {"reacgan": ("ReACGAN", "hypersphere"), "acgan": ("ACGAN", "classifier"),
          "projgan": ("ProjGAN", "projection")}
OPTIONS = (
    Option("dataset", str, None, "the labelled data: folder:PATH (one sub-folder per class) or a tfds name "
           "(required)", allow_none=True),
    Option("data_dir", str, None, "a prepared TensorFlow Datasets data_dir (offline use)", allow_none=True),
    Option("model", str, "reacgan", "the conditional GAN", choices=tuple(MODELS)),
    Option("width", int, 64, "channel multiplier of the ResNets", low=1),
    Option("embed_dim", int, 512, "size of D's hypersphere embedding (reacgan)", low=1),
    Option("loss", str, "hinge", "adversarial loss", choices=ADVERSARIAL_LOSSES),
    Option("g_lr", float, 1e-4, "Adam learning rate of G", low=0.0, low_open=True),
    Option("d_lr", float, 4e-4, "Adam learning rate of D", low=0.0, low_open=True),
    Option("d_steps", int, 2, "D steps per G step (each reads its own real batch)", low=1),
    Option("cond_lambda", float, None, "weight of the D2D-CE (reacgan) or classifier (acgan) loss "
           "(none: 0.5 for reacgan, 1.0 for acgan)", low=0.0, allow_none=True),
    Option("temperature", float, 0.5, "D2D-CE temperature T (reacgan)", low=0.0, low_open=True),
    Option("margin_pos", float, 0.98, "D2D-CE positive margin m_p, a cosine similarity (reacgan)",
           low=0.0, high=1.0),
    Option("variant", str, "exact", "reacgan's D2D-CE: the paper's formula (exact) or StudioGAN's row-max "
           "shift (official)", choices=("exact", "official")),
    Option("diffaugment", bool, False, "DiffAugment (color, translation, cutout) on D's inputs"),
    Option("ema_decay", float, 0.9999, "generator EMA decay, in [0, 1)", low=0.0, high=1.0),
    Option("ema_start", int, 1000, "step at which the generator EMA starts", low=0),
    Option("eval_samples", int, 10_000, "samples for the final FID/IS/PRDC (0: no evaluation)", low=0),
    Option("inception_weights", str, "imagenet", "InceptionV3 weights: imagenet or a weights file (offline)"),
)


def dataset_name(cfg):
    name = cfg.extra.get("dataset")
    if not name:
        raise ValueError("Pass the data: --set dataset=folder:/path/to/tiny-imagenet-200/train "
                         "or --set dataset=caltech_birds2011 (tfds).")
    return str(name)


def build(cfg, num_classes):
    opt = cfg.extra.get
    model = opt("model", "reacgan")
    if model not in MODELS:
        raise ValueError(f"--set model must be one of {sorted(MODELS)}; received model={model!r}.")
    cls_name, head = MODELS[model]
    width = int(opt("width", 64))
    G = kgan.nets.resnet_generator(64, 3, latent_dim=128, num_classes=num_classes, width=width,
                                   spectral_norm=True)
    D = kgan.nets.resnet_discriminator(64, 3, num_classes=num_classes, heads=(head,), width=width,
                                       spectral_norm=True, embed_dim=int(opt("embed_dim", 512)))
    kwargs = dict(num_classes=num_classes, seed=cfg.seed,
                  augment=kgan.layers.DiffAugment(seed=cfg.seed) if opt("diffaugment", False) else None,
                  ema_decay=float(opt("ema_decay", 0.9999)), ema_start=int(opt("ema_start", 1000)))
    cond_lambda = opt("cond_lambda")  # None (or absent): the model's own default
    if model == "reacgan":
        kwargs.update(cond_lambda=float(0.5 if cond_lambda is None else cond_lambda),
                      temperature=float(opt("temperature", 0.5)), margin_pos=float(opt("margin_pos", 0.98)),
                      d2dce_variant=opt("variant", "exact"))
    elif model == "acgan":
        kwargs.update(cond_lambda=float(1.0 if cond_lambda is None else cond_lambda))
    gan = getattr(kgan.models, cls_name)(G, D, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.Adam(float(opt("d_lr", 4e-4)), beta_1=0.0, beta_2=0.999),
                g_optimizer=keras.optimizers.Adam(float(opt("g_lr", 1e-4)), beta_1=0.0, beta_2=0.999),
                loss=opt("loss", "hinge"), d_steps=int(opt("d_steps", 2)), **cfg.compile_kwargs)
    return gan


def evaluate(gan, name, resize, data_dir, n, num_classes, seed, weights):
    """FID / IS / PRDC with Keras' ImageNet InceptionV3 (not the TF-Inception graph of published
    FIDs) on ``n`` class-balanced samples vs ``n`` training images (resized like the training data)."""
    from kgan.metrics import InceptionFeatures, frechet_distance, inception_score, prdc

    real = kgan.data.load(name, batch_size=500, labels=False, resize=resize, data_dir=data_dir,
                          seed=seed, repeat=False)
    real = np.concatenate([np.asarray(x) for x in real.take(max(1, n // 500))])
    labels = np.arange(n) % num_classes
    extractor = InceptionFeatures(weights=weights)
    f_real, _ = extractor.features_and_probs(real)
    f_fake, p_fake = extractor.features_and_probs(gan.generate(n, labels=labels, seed=seed))
    out = {"fid": frechet_distance(f_real, f_fake), "is": inception_score(p_fake)[0],
           "metric_label": f"Keras ImageNet InceptionV3 ({weights}), {len(real)} real training images"}
    out.update(prdc(f_real, f_fake))
    return out


def main(cfg):
    opt = cfg.extra.get
    name = dataset_name(cfg)
    data_dir = opt("data_dir", None) or None
    info = kgan.data.info(name, data_dir=data_dir)
    if not info.num_classes:
        raise ValueError(f"Dataset {name!r} has no labels; a conditional GAN needs class labels "
                         "(an image folder with one sub-folder per class, or a labelled tfds set).")
    resize = None if tuple(info.shape[:2]) == (64, 64) else kgan.data.Resize(64, crop="center")
    d_steps = int(opt("d_steps", 2))
    data = kgan.data.load(name, batch_size=cfg.batch_size * d_steps, labels=True, seed=cfg.seed,
                          resize=resize, data_dir=data_dir)
    with cfg.strategy.scope():
        gan = build(cfg, int(info.num_classes))
    hist = gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
                   callbacks=cfg.callbacks(dataset=name), verbose=cfg.verbose)
    report = {"dataset": name, "model": type(gan).__name__, "history": hist.history}
    n = int(opt("eval_samples", 10_000))
    if n:
        report.update(evaluate(gan, name, resize, data_dir, n, int(info.num_classes), cfg.seed,
                               opt("inception_weights", "imagenet")))
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
