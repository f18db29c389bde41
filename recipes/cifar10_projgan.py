"""cifar10_projgan: projection-discriminator cGAN on CIFAR-10 with StudioGAN's CIFAR-10 hyperparameters (GPU-scale).

The projection baseline of ReACGAN's CIFAR-10 comparison, with the same
schedule as cifar10_reacgan (StudioGAN's CIFAR-10 hyperparameters, docs/conditional.md
section 1): SN-ResNet generator with conditional batch norm and SN-ResNet
discriminator (SN in G and D, global sum pooling, logit psi(h) + <embed(y), h>), hinge loss,
batch 128, lr 2.83e-4 for G and D, Adam(0.5, 0.999), 5 D steps per G step,
100k G steps, G-EMA 0.9999 from step 1000. StudioGAN's published ProjGAN
CIFAR-10 figures (IS 7.25, FID 31.54, TF-Inception, StudioGAN's CIFAR-10 table) come from
its own configuration; this recipe has not been run at full scale here (CPU only).

Data: ``kgan.data.load("cifar10")`` through TensorFlow Datasets (downloads on
first use; offline, prepare it with ``tfds build cifar10 --data_dir DIR`` and pass
``--set data_dir=DIR``). ``--batch-size`` is the batch of ONE update: each
train_step reads ``d_steps * batch_size`` images (a fresh real batch per D step,
as StudioGAN).

At the end (``--set eval_samples=N``, default 10,000; 0 to skip) it computes
FID/IS/precision/recall/density/coverage with Keras' ImageNet InceptionV3
(``--set inception_weights=PATH`` offline). This is NOT the 2015 TF-Inception
graph of the published numbers: compare only runs measured the same way.

    kgan train cifar10_projgan                                   # the full schedule (GPU)
    kgan train cifar10_projgan --strategy mirrored               # several GPUs
    kgan train cifar10_projgan --set diffaugment=true            # + DiffAugment
    kgan train cifar10_projgan --steps 200 --set eval_samples=0  # smoke test
"""
import kgan
from cifar10_acgan import COMMON_OPTIONS, COMMON_SEARCH, build_conditional, main as _main  # the same training and evaluation

DATASET = "cifar10"
DEFAULTS = dict(steps=100_000, steps_per_epoch=2_000, batch_size=128)
OPTIONS = COMMON_OPTIONS
SEARCH = COMMON_SEARCH  # kgan tune: the learning rate and D steps


def build(cfg):
    return build_conditional(cfg, kgan.models.ProjGAN, "projection")


def main(cfg):
    return _main(cfg, build=build)


if __name__ == "__main__":
    kgan.run.cli(__file__)
