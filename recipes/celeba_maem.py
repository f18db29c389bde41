"""celeba_maem: MaEM-GAN on CelebA 64x64 (Liu et al., AAAI 2023: FID 9.13 vs MaF-GAN 12.43).

The CIFAR-10 recipe's paper schedule (cifar10_maem: DCGAN with SN in D, Adam(1e-4, (0, 0.999))
decayed x0.9 every 50 epochs, a G step every 3 D steps, batch 64, MaF loss, buffer 1024,
100-epoch linear warm-up) with the paper's CelebA entropy weight sigma 5e-2, z 64 and code
m = 32 (the paper: m = 16 on CIFAR-10, 32 otherwise). Images: CelebA from TensorFlow Datasets,
centre 108x108 face crop resized to 64x64 (the usual DCGAN protocol; the paper does not state
its crop). An "epoch" is the 162,770 training images. Evaluation: Keras ImageNet InceptionV3
features (not the paper's TF-Inception FID), I-Variance. The options are cifar10_maem's, with
CelebA's defaults.

    kgan train celeba_maem
"""
import kgan
from cifar10_maem import paper_options
from kgan.experiments.options import Option

DATASET = "celeb_a"
IMAGES_PER_EPOCH = 162_770
STEPS_PER_EPOCH = IMAGES_PER_EPOCH // (64 * 3)
DEFAULTS = dict(steps=100 * STEPS_PER_EPOCH, steps_per_epoch=STEPS_PER_EPOCH, batch_size=64)
OPTIONS = paper_options(code_dim=32, sigma=5e-2) + (
    Option("data_dir", str, None, "a prepared TensorFlow Datasets data_dir (offline use)", allow_none=True),
)


def main(cfg):
    paper = kgan.run.load_recipe("cifar10_maem")
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size * paper.D_STEPS, labels=False, seed=cfg.seed,
                          resize=kgan.data.Resize(64, crop=108), data_dir=cfg.extra.get("data_dir"))
    if cfg.extra.get("epochs") is not None:
        cfg.steps = int(cfg.extra["epochs"]) * STEPS_PER_EPOCH
    cfg.set_epoch_length(STEPS_PER_EPOCH)  # whole epochs that divide the budget: exactly cfg.steps steps
    with cfg.strategy.scope():
        gan = paper.build_paper(cfg, 64, code_dim=32, sigma=5e-2, steps_per_epoch=STEPS_PER_EPOCH)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=DATASET), verbose=cfg.verbose)
    return cfg.finish(gan, paper.evaluate(gan, cfg, DATASET))


if __name__ == "__main__":
    kgan.run.cli(__file__)
