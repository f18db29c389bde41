"""fashion_mnist_mixing: DCGAN on Fashion-MNIST with sample mixing (baseline, Mixup, CutMix, SRMix, AdaptiveMix).

One recipe for the mixing study on Fashion-MNIST (28x28): the networks, optimisers and
seeds of fashion_mnist_dcgan, with the discriminator trained on mixed samples as chosen by
``--set method=``:

* ``baseline``    -- kgan.models.GAN (no mixing);
* ``mixup`` / ``cutmix`` / ``srmix`` -- kgan.models.MixGAN (real/fake mixing, ``mix_prob`` 0.5);
* ``adaptivemix`` -- kgan.models.AdaptiveMixGAN (``variant`` paper by default, or official).

The Fréchet distance in the Fashion-MNIST domain classifier's feature space (kgan.metrics
DomainClassifier; not an Inception FID) is computed every ``eval_every`` steps (one epoch),
so the curve shows convergence speed, the mixing study's claim; the report lists it.

    kgan train fashion_mnist_mixing --set method=srmix
    kgan train fashion_mnist_mixing --set method=adaptivemix --set variant=official
    kgan train fashion_mnist_mixing --set method=mixup --steps 2000 --set width=32

Options: --set method=... --set loss=non_saturating --set width=64 --set mix_prob=0.5
         --set alpha=1.0 --set mix_weight=1.0 --set sigma=0.1 --set variant=paper
         --set shrink_weight=1.0 --set noise_std=0.05 --set diffaugment=false
         --set eval_every=500 --set eval_samples=5000
"""
import time

import keras

import kgan

DATASET = "fashion_mnist"
METHODS = ("baseline", "mixup", "cutmix", "srmix", "adaptivemix")
DEFAULTS = dict(steps=10_000, steps_per_epoch=500, batch_size=64)


def build(cfg):
    opt = cfg.extra.get
    method = opt("method", "srmix")
    if method not in METHODS:
        raise ValueError(f"--set method must be one of {list(METHODS)}; received method={method!r}.")
    width = int(opt("width", 64))
    G = kgan.nets.dcgan_generator(28, channels=1, latent_dim=128, width=width)
    D = kgan.nets.dcgan_discriminator(28, channels=1, width=width)
    common = dict(ema_decay=0.999, ema_start=1000, seed=cfg.seed,
                  augment=kgan.layers.DiffAugment(seed=cfg.seed) if opt("diffaugment", False) else None)
    if method == "baseline":
        gan = kgan.models.GAN(G, D, **common)
    elif method == "adaptivemix":
        gan = kgan.models.AdaptiveMixGAN(
            G, D, variant=opt("variant", "paper"), alpha=float(opt("alpha", 1.0)),
            noise_std=float(opt("noise_std", 0.05)), shrink_weight=float(opt("shrink_weight", 1.0)), **common)
    else:
        gan = kgan.models.MixGAN(
            G, D, method=method, mix_prob=float(opt("mix_prob", 0.5)), alpha=float(opt("alpha", 1.0)),
            mix_weight=float(opt("mix_weight", 1.0)), sigma=float(opt("sigma", 0.1)), **common)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                loss=opt("loss", "non_saturating"), **cfg.compile_kwargs)
    return gan


class StepTimer(keras.callbacks.Callback):
    """Wall and process-CPU seconds per generator step, per epoch (put it before Evaluate)."""

    def __init__(self, steps_per_epoch):
        super().__init__()
        self.steps_per_epoch, self.wall, self.cpu = steps_per_epoch, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append((time.perf_counter() - self._t[0]) / self.steps_per_epoch)
        self.cpu.append((time.process_time() - self._t[1]) / self.steps_per_epoch)


def main(cfg):
    opt = cfg.extra.get
    cfg.steps_per_epoch = min(int(opt("eval_every", cfg.steps_per_epoch)), cfg.steps)
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size, labels=False, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = build(cfg)
    evaluate = kgan.callbacks.Evaluate("fid", dataset=DATASET, n_samples=int(opt("eval_samples", 5000)),
                                       seed=cfg.seed, verbose=0)
    timer = StepTimer(cfg.steps_per_epoch)
    extra = [timer, evaluate]
    hist = gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
                   callbacks=cfg.callbacks(dataset=DATASET, extra=extra), verbose=cfg.verbose)
    steps = [cfg.steps_per_epoch * (i + 1) for i in range(len(hist.history["fid"]))]
    report = {"dataset": DATASET, "method": opt("method", "srmix"), "width": int(opt("width", 64)),
              "fd_domain_curve": [[s, float(v)] for s, v in zip(steps, hist.history["fid"])],
              "fd_domain": float(hist.history["fid"][-1]), "fd_label": str(evaluate.evaluator.label),
              # epoch 1 includes tracing: step times are medians over the later epochs
              "step_seconds_wall": sorted(timer.wall[1:] or timer.wall)[len(timer.wall[1:] or timer.wall) // 2],
              "step_seconds_cpu": sorted(timer.cpu[1:] or timer.cpu)[len(timer.cpu[1:] or timer.cpu) // 2]}
    return cfg.finish(gan, report)


if __name__ == "__main__":
    kgan.run.cli(__file__)
