"""cifar10_reacgan: ReACGAN on CIFAR-10 with StudioGAN's CIFAR-10 hyperparameters (GPU-scale).

StudioGAN's ReACGAN CIFAR-10 configuration (docs/conditional.md): SN-ResNet
generator with conditional batch norm and SN-ResNet discriminator (SN in G and
D, D head on global sum pooling, 512-d hypersphere embedding), hinge loss,
batch 128, lr 2.83e-4 for G and D, Adam(0.5, 0.999), 5 D steps per G step,
100k G steps, G-EMA 0.9999 from step 1000, D2D-CE with cond_lambda 0.5,
m_p 0.98, T 0.5. StudioGAN's published ReACGAN CIFAR-10 figures (IS 9.85, FID
3.87, TF-Inception, train-set reference, about 26 h on one GPU; StudioGAN's CIFAR-10 table)
come from its own backbone, which may be larger than this SN-ResNet; this
recipe has not been run at full scale here (CPU only).

Data: ``kgan.data.load("cifar10")`` through TensorFlow Datasets (downloads on
first use; offline, prepare it with ``tfds build cifar10 --data_dir DIR`` and pass
``--set data_dir=DIR``). ``--batch-size`` is the batch of ONE update: each
train_step reads ``d_steps * batch_size`` images (a fresh real batch per D step,
as StudioGAN).

At the end (``--set eval_samples=N``, default 10,000; 0 to skip) it computes
FID/IS/precision/recall/density/coverage with Keras' ImageNet InceptionV3
(``--set inception_weights=PATH`` offline). This is NOT the 2015 TF-Inception
graph of the published numbers: compare only runs measured the same way.

    kgan train cifar10_reacgan                                   # the full schedule (GPU)
    kgan train cifar10_reacgan --strategy mirrored               # several GPUs
    kgan train cifar10_reacgan --set diffaugment=true            # ReACGAN + DiffAugment
    kgan train cifar10_reacgan --steps 200 --set eval_samples=0  # smoke test
"""
import kgan
from cifar10_acgan import COMMON_OPTIONS, COMMON_SEARCH, build_conditional, main as _main  # the same training and evaluation
from kgan.experiments.options import Option, Param

DATASET = "cifar10"
DEFAULTS = dict(steps=100_000, steps_per_epoch=2_000, batch_size=128)
OPTIONS = COMMON_OPTIONS + (
    Option("embed_dim", int, 512, "size of D's hypersphere embedding", low=1),
    Option("cond_lambda", float, 0.5, "weight of the D2D-CE loss", low=0.0),
    Option("temperature", float, 0.5, "D2D-CE temperature T", low=0.0, low_open=True),
    Option("margin_pos", float, 0.98, "D2D-CE positive margin m_p (a cosine similarity)", low=0.0, high=1.0),
    Option("variant", str, "exact", "D2D-CE: the paper's formula (exact) or StudioGAN's row-max shift (official)",
           choices=("exact", "official")),
)
#: kgan tune: the learning rate, D steps and the D2D-CE settings
SEARCH = COMMON_SEARCH + (Param("cond_lambda", "float", 0.0, 2.0), Param("temperature", "float", 0.05, 1.0),
                          Param("margin_pos", "float", 0.5, 1.0))


def build(cfg):
    opt = cfg.extra.get
    return build_conditional(
        cfg, kgan.models.ReACGAN, "hypersphere", d_kwargs=dict(embed_dim=int(opt("embed_dim", 512))),
        cond_lambda=float(opt("cond_lambda", 0.5)), temperature=float(opt("temperature", 0.5)),
        margin_pos=float(opt("margin_pos", 0.98)), d2dce_variant=opt("variant", "exact"))


def main(cfg):
    return _main(cfg, build=build)


if __name__ == "__main__":
    kgan.run.cli(__file__)
