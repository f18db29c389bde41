"""animeface_maem: MaEM-GAN on an ANIME-FACE image folder at 64x64 (Liu et al., AAAI 2023: IS 2.80).

The CIFAR-10 recipe's paper schedule (cifar10_maem: DCGAN with SN in D, Adam(1e-4, (0, 0.999))
decayed x0.9 every 50 epochs, a G step every 3 D steps, batch 64, MaF loss, buffer 1024,
100-epoch linear warm-up) with the paper's ANIME-FACE entropy settings: sigma 5e-4 and
lambda 5 (the ``lambda ||V0||`` term), z 64, code m = 32. Images come from a local folder (any
layout ``kgan.data`` reads: flat or class sub-folders), resized to 64x64 with a centred square
crop. An "epoch" is one pass over the folder. Evaluation: Keras ImageNet InceptionV3 IS / features
(not the paper's TF-Inception numbers), I-Variance. ``--set data_dir=PATH`` (the image folder) is
required; the other options are cifar10_maem's, with ANIME-FACE's defaults.

    kgan train animeface_maem --set data_dir=/data/anime-faces
"""
import kgan
from cifar10_maem import paper_options
from kgan.experiments.options import Option

DEFAULTS = dict(steps=100_000, steps_per_epoch=500, batch_size=64)
OPTIONS = paper_options(code_dim=32, sigma=5e-4, lam=5.0, eval_samples=5000, eval_low=0) + (
    Option("data_dir", str, None, "the image folder (required)", allow_none=True),
)


def main(cfg):
    paper = kgan.run.load_recipe("cifar10_maem")
    data_dir = cfg.extra.get("data_dir")
    if not data_dir:
        raise ValueError("animeface_maem needs the image folder: --set data_dir=/path/to/anime-faces.")
    dataset = f"folder:{data_dir}"
    info = kgan.data.info(dataset)
    steps_per_epoch = max(1, int(info.size or 0) // (cfg.batch_size * paper.D_STEPS)) if info.size else 500
    data = kgan.data.load(dataset, batch_size=cfg.batch_size * paper.D_STEPS, labels=False, seed=cfg.seed,
                          resize=kgan.data.Resize(64, crop="center"))
    if cfg.extra.get("epochs") is not None:
        cfg.steps = int(cfg.extra["epochs"]) * steps_per_epoch
    cfg.set_epoch_length(steps_per_epoch)  # whole epochs that divide the budget: exactly cfg.steps steps
    with cfg.strategy.scope():
        gan = paper.build_paper(cfg, 64, code_dim=32, sigma=5e-4, lam=5.0, steps_per_epoch=steps_per_epoch)
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(), verbose=cfg.verbose)
    report = {"ablation": cfg.extra.get("ablation", "all")}
    if int(cfg.extra.get("eval_samples", 5000)) > 0:
        from kgan.metrics.suite import Evaluator

        n = int(cfg.extra.get("eval_samples", 5000))
        ev = Evaluator(("is", "i_variance"), dataset, extractor="inception", seed=cfg.seed)
        report.update(ev.evaluate(gan.generate(n, seed=cfg.seed, use_ema=False)), features=ev.label)
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
