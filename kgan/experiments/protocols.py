"""Protocols: a dataset with its networks, initialisation, optimisers, schedule and evaluation.

A protocol is defined once here, and every method runs on it through the same
networks and optimisers (:mod:`kgan.experiments.methods` only adds the
method's terms), so a table of methods on one protocol compares like with like.

* :class:`TwoD` -- the VEEGAN 2D mode-collapse protocol on ``ring8``, ``grid25``
  and kgan's harder grids (Srivastava et al. 2017, Sec. 5.1): G z(256) -> FC128
  tanh -> FC128 tanh -> 2, D 2 -> FC128 tanh -> FC128 tanh -> 1, one
  Adam(1e-3, beta1 0.5, eps 1e-8) for both networks (VEEGAN's released 2D code),
  batch 512, 25k iterations; 2,500 samples: modes captured, % high-quality
  samples (within 3 sigma of a mode), reverse KL.

  The learning rates were D 1e-4, G 1e-3 before: that split comes from the
  Unrolled-GAN demo notebook, whose text says its settings differ from the
  paper. With D at 1e-4 the discriminator stays at chance (d_loss = 2 ln 2 for
  the whole run) and every model smears its samples along the ring or the grid
  lines (1-4% HQ), in kgan and in an independent PyTorch loop alike.
* :class:`Image` -- DCGAN networks on an image set (Fashion-MNIST, stacked
  Fashion-MNIST): Adam(2e-4, beta1 0.5), batch 64, the flattened-head DCGAN
  discriminator, a generator EMA with StyleGAN2-ADA's ramp-up; Fréchet distance
  and precision/recall/density/coverage in the dataset's domain-classifier
  feature space (modes and KL for stacked sets), on the EMA generator.
"""
import os

from kgan.experiments.options import Option

ADVERSARIAL_LOSSES = ("non_saturating", "minimax", "hinge", "wasserstein", "least_squares")

_COMMON = (
    Option("loss", str, "non_saturating", "adversarial loss (kgan.losses)", choices=ADVERSARIAL_LOSSES),
    Option("d_steps", int, 1, "discriminator updates per generator update (a fresh real batch each)",
           low=1, high=255),
    # added after benchmark runs were recorded: left out of a run's settings while 0 (omit_default)
    Option("gp_weight", float, 0.0, "WGAN-GP weight lambda (Gulrajani et al. 2017; 0: off)", low=0.0,
           omit_default=True),
    Option("r1_weight", float, 0.0, "R1 weight gamma (Mescheder et al. 2018; 0: off)", low=0.0,
           omit_default=True),
)


def _lr(name, default, who):
    return Option(name, float, default, f"Adam learning rate of {who}", low=0.0, low_open=True)


class Protocol:
    """Base class: a dataset and everything a method on it shares.

    Subclasses define :attr:`options` and the builders. ``o`` below is the
    resolved option dict of a run (protocol and method options together).
    """

    kind = None
    #: the Option tuple of the protocol
    options = ()

    def __init__(self, name, dataset, title, steps, batch_size, steps_per_epoch, seeds,
                 steps_per_execution=1, defaults=None, version=1):
        self.name, self.dataset, self.title = name, dataset, title
        self.version = version  # bump when the protocol's behaviour changes: finished runs then mismatch
        self.steps, self.batch_size, self.steps_per_epoch = steps, batch_size, steps_per_epoch
        self.steps_per_execution = steps_per_execution
        self.seeds = seeds
        if defaults:  # per-protocol defaults of shared options
            by = {o.name: o for o in self.options}
            unknown = set(defaults) - set(by)
            if unknown:
                raise ValueError(f"Protocol {name!r}: defaults for unknown options {sorted(unknown)}.")
            import dataclasses

            self.options = tuple(dataclasses.replace(o, default=defaults[o.name]) if o.name in defaults else o
                                 for o in self.options)

    @property
    def run_defaults(self):
        """The ``kgan train`` flag defaults of a run on this protocol."""
        return dict(steps=self.steps, batch_size=self.batch_size, steps_per_epoch=self.steps_per_epoch,
                    steps_per_execution=self.steps_per_execution)

    def info(self):
        import kgan.data

        return kgan.data.info(self.dataset)

    def data(self, o, batch_size, labels, seed):
        """The training stream: ``d_steps`` update batches per step."""
        import kgan.data

        return kgan.data.load(self.dataset, batch_size=batch_size * o["d_steps"], labels=labels, seed=seed)

    def adam(self, lr):
        raise NotImplementedError

    def optimizer(self, o, role):
        """A new Adam for ``role``: ``"d"``, ``"g"``, ``"e"`` (encoder, G's rate) or ``"d2"`` (D's rate)."""
        return self.adam(o["d_lr"] if role in ("d", "d2") else o["g_lr"])

    def compile_kwargs(self, o):
        return {"loss": o["loss"], "d_steps": o["d_steps"], "gp_weight": o["gp_weight"], "r1_weight": o["r1_weight"]}

    def describe(self):
        raise NotImplementedError


class TwoD(Protocol):
    """The VEEGAN 2D protocol on a Gaussian mixture (see the module docstring)."""

    kind = "2d"
    options = _COMMON + (
        _lr("d_lr", 1e-3, "D (and MDGAN's D2)"),
        _lr("g_lr", 1e-3, "G (and the encoder)"),
        Option("init", str, "glorot", "kernel initialisation of every Dense: Keras' glorot uniform, or "
               "orthogonal with gain 1.4 (the GDPP 2D code)", choices=("glorot", "orthogonal")),
        Option("g_hidden", int, 128, "units of each of G's two hidden layers", low=1),
        Option("eval_samples", int, 2500, "samples drawn for the mode metrics", low=1),
    )

    def __init__(self, name, dataset, title, steps=25_000, batch_size=512, seeds=5, **kw):
        super().__init__(name, dataset, title, steps, batch_size, steps_per_epoch=1_000, seeds=seeds,
                         steps_per_execution=50, **kw)

    def adam(self, lr):
        import keras

        return keras.optimizers.Adam(lr, beta_1=0.5, epsilon=1e-8)

    @staticmethod
    def initializer(o):
        if o["init"] == "orthogonal":
            return {"class_name": "Orthogonal", "config": {"gain": 1.4}}
        return "glorot_uniform"

    def generator(self, o, num_classes=None):
        import kgan.nets

        return kgan.nets.mlp_generator(latent_dim=256, hidden=(o["g_hidden"],) * 2, num_classes=num_classes,
                                       init=self.initializer(o))

    def discriminator(self, o, heads=("logit",), num_classes=None, name="mlp_discriminator", **kw):
        import kgan.nets

        return kgan.nets.mlp_discriminator(heads=heads, num_classes=num_classes, init=self.initializer(o),
                                           name=name, **kw)

    def encoder(self, o):
        import kgan.nets

        return kgan.nets.mlp_encoder(latent_dim=256, init=self.initializer(o))

    def model_kwargs(self, o, seed):
        return {"ema_decay": None, "seed": seed}

    def noise_std(self):
        """The mixture's standard deviation (DLLE's transform noise on this set)."""
        import kgan.data

        return kgan.data.mode_means(self.dataset)[1]

    def evaluate(self, model, o, seed, logdir=None):
        import kgan.metrics
        from kgan.callbacks.core import save_samples_png

        samples = model.generate(o["eval_samples"], seed=seed)
        report = kgan.metrics.mode_coverage(samples, self.dataset)
        report.update(dataset=self.dataset, generator="raw (no EMA on 2D)")
        if logdir:
            save_samples_png(samples, os.path.join(logdir, "samples.png"), dataset=self.dataset,
                             title=f"{model.name}, {int(model.step_counter.numpy())} steps")
        return report

    def describe(self):
        return (f"{self.title}. G z(256) -> FC128 tanh -> FC128 tanh -> 2, D 2 -> FC128 tanh -> FC128 tanh "
                f"-> 1; Adam(beta1 0.5, eps 1e-8), lr D = G = 1e-3; batch {self.batch_size}, "
                f"{self.steps:,} iterations by default; modes captured, % high quality (within 3 sigma) and "
                "reverse KL on 2,500 samples.")


class Image(Protocol):
    """DCGAN networks on an image set (see the module docstring)."""

    kind = "image"
    options = _COMMON + (
        _lr("d_lr", 2e-4, "D (and MDGAN's D2)"),
        _lr("g_lr", 2e-4, "G (and the encoder)"),
        Option("width", int, 32, "DCGAN width: channels of G's last and D's first conv stage", low=1),
        Option("pooling", str, "flatten", "how D's head reads its last feature map: flatten (DCGAN), or "
               "global sum / mean pooling", choices=("flatten", "sum", "mean")),
        Option("ema_decay", float, 0.999, "decay of the generator EMA used for evaluation (none: no EMA)",
               low=0.0, high=0.99999, allow_none=True),
        Option("ema_rampup", float, 0.05, "StyleGAN2-ADA EMA ramp-up: half-life at most this fraction "
               "of the steps done (none: fixed decay)", low=0.0, low_open=True, allow_none=True),
        Option("ema_start", int, 0, "step before which the EMA copies the generator", low=0),
        Option("eval_samples", int, 10_000, "samples evaluated at the end (0: no evaluation)", low=0),
        Option("eval_every", int, 0, "also evaluate FD every N steps, for the curve (0: only at the end)",
               low=0),
        Option("eval_raw", bool, False, "also evaluate the raw (non-EMA) generator"),
    )

    def __init__(self, name, dataset, title, steps, seeds=3, metrics=("fid", "prdc"), **kw):
        super().__init__(name, dataset, title, steps, batch_size=64, steps_per_epoch=500, seeds=seeds, **kw)
        self.metrics = metrics

    def adam(self, lr):
        import keras

        return keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999)

    def _shape(self):
        shape = self.info().shape
        return shape[0], shape[-1]

    def generator(self, o, num_classes=None):
        import kgan.nets

        size, ch = self._shape()
        return kgan.nets.dcgan_generator(size, ch, latent_dim=128, num_classes=num_classes, width=o["width"])

    def discriminator(self, o, heads=("logit",), num_classes=None, name="dcgan_discriminator", **kw):
        import kgan.nets

        size, ch = self._shape()
        return kgan.nets.dcgan_discriminator(size, ch, num_classes=num_classes, heads=heads, width=o["width"],
                                             pooling=o["pooling"], name=name, **kw)

    def encoder(self, o):
        import kgan.nets

        size, ch = self._shape()
        return kgan.nets.dcgan_encoder(size, ch, latent_dim=128, width=o["width"])

    def model_kwargs(self, o, seed):
        return {"ema_decay": o["ema_decay"], "ema_rampup": o["ema_rampup"], "ema_start": o["ema_start"], "seed": seed}

    def callbacks(self, o, seed):
        """An FD-curve callback when ``eval_every`` is set."""
        if not o["eval_every"]:
            return []
        import kgan.callbacks

        return [kgan.callbacks.Evaluate("fid", dataset=self.dataset, n_samples=5000, seed=seed, verbose=0)]

    def evaluate(self, model, o, seed, logdir=None):
        import numpy as np

        from kgan.callbacks.core import save_samples_png
        from kgan.metrics.suite import Evaluator, balanced_labels

        report = {"dataset": self.dataset}
        ema = model.ema_decay is not None
        report["generator"] = "ema" if ema else "raw"
        labels = None
        if model.num_classes is not None:
            labels = balanced_labels(max(o["eval_samples"], 100), model.num_classes)
        if logdir:
            grid_labels = None if labels is None else np.arange(100) % model.num_classes
            save_samples_png(model.generate(100, labels=grid_labels, seed=1234), os.path.join(logdir, "samples.png"))
        if not o["eval_samples"]:
            return report
        metrics = ",".join(self.metrics) + (",class_acc" if labels is not None else "")
        evaluator = Evaluator(metrics, self.dataset, seed=0)
        n = o["eval_samples"]
        for use_ema in ([True, False] if (ema and o["eval_raw"]) else [ema]):
            fake = model.generate(n, labels=None if labels is None else labels[:n], seed=seed, use_ema=use_ema)
            values = evaluator.evaluate(fake, None if labels is None else labels[:n])
            prefix = "" if use_ema == ema else "raw_"
            report.update({prefix + k: v for k, v in values.items()})
        report["features"] = str(evaluator.label)
        report["extractor"] = evaluator.extractor_kind
        return report

    def describe(self):
        width = next(o.default for o in self.options if o.name == "width")
        return (f"{self.title}. DCGAN G and D (width {width}, D's head on the flattened feature map), "
                f"Adam(2e-4, beta1 0.5) for every network, batch {self.batch_size}, {self.steps:,} steps by "
                "default, generator EMA 0.999 with StyleGAN2-ADA's ramp-up; evaluated on the EMA generator: "
                + ", ".join(self.metrics) + ".")


#: The protocols, by name.
PROTOCOLS = {}


def add_protocol(protocol, replace=False):
    """Register ``protocol`` (its methods become rows ``<protocol>_<method>``)."""
    if protocol.name in PROTOCOLS and not replace:
        raise ValueError(f"Protocol {protocol.name!r} is already registered; pass replace=True.")
    PROTOCOLS[protocol.name] = protocol
    return protocol


add_protocol(TwoD("ring8", "ring8", "8 Gaussians on a ring (radius 1, sigma 0.01), VEEGAN protocol"))
add_protocol(TwoD("grid25", "grid25", "25 Gaussians on a 5x5 grid (spacing 2, sigma 0.05), VEEGAN protocol"))
add_protocol(TwoD("grid49", "grid49", "49 Gaussians on a 7x7 grid (spacing 2, sigma 0.05), VEEGAN networks"))
add_protocol(TwoD("grid100", "grid100", "100 Gaussians on a 10x10 grid (spacing 2, sigma 0.05), VEEGAN networks"))
add_protocol(Image("fashion_mnist", "fashion_mnist", "Fashion-MNIST (28x28)", steps=5_000))
_STACKED = dict(metrics=("modes", "kl", "fid"), defaults={"eval_samples": 26_000})
add_protocol(Image("stacked_fashion_mnist", "stacked_fashion_mnist",
                   "Stacked Fashion-MNIST (28x28x3, 1000 modes)", steps=5_000, **_STACKED))
add_protocol(Image("stacked_digits", "stacked_digits", "Stacked sklearn digits (8x8x3, 1000 modes)",
                   steps=5_000, **_STACKED))
add_protocol(Image("stacked_mnist", "stacked_mnist", "Stacked MNIST (28x28x3, 1000 modes; tfds, needs "
                   "internet once)", steps=10_000, **_STACKED))
