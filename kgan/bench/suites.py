"""The benchmark suites: which rows of the experiment table run, at what budget, how many seeds.

A suite is a list of entries (a row of :mod:`kgan.experiments`, optionally a
named variant with ``--set`` overrides) run for ``seeds`` seeds at ``steps``
steps, and the metrics its page shows. Each entry is compared with its
baseline: the first entry on the same protocol in the suite whose method is the
protocol's ``baseline_method`` (``gan``; ``plain`` for the classification protocols). A run is
identified by its row, resolved options, steps and seed; suites (or variant
names) that ask for the same run share it.
"""
import dataclasses

from kgan.experiments import get_row


@dataclasses.dataclass(frozen=True)
class Metric:
    """A column: ``key`` in report.json, shown as ``label``, multiplied by ``scale``."""

    key: str
    label: str
    better: str  # "max" or "min"
    fmt: str = "{:.3f}"
    scale: float = 1.0


METRICS = {
    "modes": Metric("modes", "modes", "max", "{:.1f}"),
    "hq": Metric("hq_fraction", "% HQ", "max", "{:.1f}", 100.0),
    "reverse_kl": Metric("reverse_kl", "reverse KL", "min", "{:.3f}"),
    "fid": Metric("fid", "FD (domain)", "min", "{:.1f}"),
    "precision": Metric("precision", "precision", "max"),
    "recall": Metric("recall", "recall", "max"),
    "density": Metric("density", "density", "max"),
    "coverage": Metric("coverage", "coverage", "max"),
    "class_acc": Metric("class_acc", "class consistency", "max"),
    "kl": Metric("kl", "KL to uniform", "min", "{:.3f}"),
    "raw_fid": Metric("raw_fid", "FD raw G", "min", "{:.1f}"),
}
# the classification rows (kgan.experiments.classify): test accuracy, OOD AUROC / FPR at 95% TPR in %
METRICS["acc"] = Metric("acc", "test acc %", "max", "{:.2f}", 100.0)
for _score, _name in (("msp", "MSP"), ("energy", "energy"), ("feat", "feature")):
    for _set in ("digits", "gaussian", "uniform", "held_out", "mean"):
        _label = f"{_name} {_set.replace('_', '-')}"
        METRICS[f"auroc_{_score}_{_set}"] = Metric(f"auroc_{_score}_{_set}", f"AUROC {_label}", "max", "{:.1f}", 100.0)
        METRICS[f"fpr95_{_score}_{_set}"] = Metric(f"fpr95_{_score}_{_set}", f"FPR95 {_label}", "min", "{:.1f}", 100.0)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of the experiment table in a suite, optionally as a named variant."""

    row: str
    variant: str = "default"
    sets: tuple = ()  # ((key, value), ...) --set overrides of the variant
    precision: str = "float32"  # kgan train --precision
    budget: float = 1.0  # this entry's steps = round(budget x the suite's steps): a compute-matched baseline

    def __post_init__(self):
        if "," in self.variant:  # kgan bench --only takes a comma-separated list of labels
            raise ValueError(f"An entry's variant name cannot hold a comma; received variant={self.variant!r}.")

    def steps(self, suite_steps):
        """The entry's training steps when the suite runs ``suite_steps``."""
        return max(1, int(round(self.budget * suite_steps)))

    @property
    def label(self):
        return self.row if self.variant == "default" else f"{self.row} [{self.variant}]"

    @property
    def experiment(self):
        row = get_row(self.row)
        if row is None:
            raise ValueError(f"Benchmark entry names row {self.row!r}, which is not in the experiment table.")
        return row


@dataclasses.dataclass
class Suite:
    """A benchmark: entries x seeds at a budget, and the page that shows them."""

    name: str
    title: str
    entries: tuple
    seeds: int
    steps: int
    metrics: tuple
    about: str = ""
    published: tuple = ()  # keys of kgan.bench.published.PUBLISHED: a dataset, or a family prefix ("stacked")
    reading: str = ""  # a hand-written page that reads the results (a path under docs/), linked from the pages

    def baseline(self, entry):
        """The entry this one is compared with: the first entry on the same protocol whose method is the
        protocol's ``baseline_method`` (default ``gan``) (None for the baseline itself)."""
        protocol = entry.experiment.protocol.name
        method = getattr(entry.experiment.protocol, "baseline_method", "gan")
        for e in self.entries:
            if e.experiment.protocol.name == protocol and e.experiment.method.name == method:
                return None if e == entry else e
        return None


_2D_METHODS = ("gan", "mixup", "cutmix", "srmix", "adaptivemix", "maem", "regan", "mdgan")
_IMAGE_METHODS = _2D_METHODS + ("acgan", "projgan", "reacgan")
_2D_METRICS = ("modes", "hq", "reverse_kl")

SUITES = {}


def add_suite(suite):
    SUITES[suite.name] = suite
    return suite


add_suite(Suite(
    "veegan2d", "Every method on ring8 and grid25, VEEGAN protocol", seeds=5, steps=25_000,
    entries=tuple(Entry(f"{d}_{m}") for d in ("ring8", "grid25") for m in _2D_METHODS),
    metrics=_2D_METRICS, published=("ring8", "grid25"),
    about="The published 2D protocol with the corrected learning rates (D = G = 1e-3). Every method "
          "uses the plain GAN's networks, initialisation, optimisers and budget."))
add_suite(Suite(
    "init2d", "Initialisation of the 2D networks: Keras' glorot uniform against orthogonal (gain 1.4)",
    seeds=5, steps=25_000,
    entries=tuple(e for d in ("ring8", "grid25") for e in (
        Entry(f"{d}_gan", "glorot", (("init", "glorot"),)),
        Entry(f"{d}_gan", "orthogonal", (("init", "orthogonal"),)))),
    metrics=_2D_METRICS, published=("ring8", "grid25"),
    about="The plain GAN on the VEEGAN protocol with each initialisation, 5 seeds: the measurement "
          "behind the protocol's default."))
add_suite(Suite(
    "hard2d_search", "Looking for a 2D setting where the plain GAN fails: more modes, a smaller generator",
    seeds=2, steps=25_000,
    entries=(Entry("grid49_gan"), Entry("grid100_gan"),
             Entry("grid49_gan", "g_hidden 64", (("g_hidden", 64),))),
    metrics=_2D_METRICS,
    about="Candidates for a 2D setting that separates the methods, 2 seeds each: the plain GAN should fail "
          "in most seeds while the task stays learnable (same spacing and width of the modes, the VEEGAN "
          "networks and optimisers unless stated)."))
_FASHION = ("fid", "precision", "recall", "density", "coverage")
add_suite(Suite(
    "fashion_fixes", "Fashion-MNIST: the two causes of the blob-like samples, measured",
    seeds=3, steps=2_000,
    entries=(Entry("fashion_mnist_gan", "flatten head + EMA ramp-up", (("eval_raw", True),)),
             Entry("fashion_mnist_gan", "sum-pooled head", (("eval_raw", True), ("pooling", "sum"))),
             Entry("fashion_mnist_gan", "fixed EMA from step 1000",
                   (("eval_raw", True), ("ema_rampup", None), ("ema_start", 1000)))),
    metrics=("fid", "raw_fid", "precision", "recall"),
    about="The plain DCGAN at 2,000 steps (width 32, 3 seeds) with today's defaults, with the old global "
          "sum-pooled discriminator head, and with the old EMA schedule (decay 0.999 from step 1000, no "
          "ramp-up). FD is the EMA generator's, 'FD raw G' the raw generator's, both on 10,000 samples."))
add_suite(Suite(
    "fashion", "Every image method on Fashion-MNIST, one protocol", seeds=3, steps=5_000,
    entries=tuple(Entry(f"fashion_mnist_{m}") for m in _IMAGE_METHODS)
    + (Entry("fashion_mnist_adaptivemix", "relative noise", (("noise_scale", "relative"),)),
       # MDGAN updates G twice per step and costs 2.2x the plain GAN's CPU per step, Reg-GAN (encoder and
       # reconstructions) 1.7x (measured here): the plain GAN given the same CPU
       Entry("fashion_mnist_gan", "2.2x steps: MDGAN's CPU", budget=2.2),
       Entry("fashion_mnist_gan", "1.7x steps: Reg-GAN's CPU", budget=1.7)),
    metrics=_FASHION + ("class_acc",), published=("fashion_mnist",),
    about="Every method on the same DCGAN networks (width 32, flattened D head), non-saturating loss, "
          "Adam(2e-4, 0.5), batch 64, generator EMA with ramp-up, 5,000 steps, 3 seeds; 10,000 samples of "
          "the EMA generator (class-balanced for the conditional models) in the Fashion-MNIST domain "
          "classifier's feature space (not an Inception FID). Class consistency: the share of samples the "
          "domain classifier puts in the class they were generated for. The budget is in steps; methods "
          "that do more per step cost more CPU (the last column), and two entries give the plain GAN the CPU "
          "of MDGAN (2.2x the steps) and of Reg-GAN (1.7x), to tell a method's gain from its extra compute."))
add_suite(Suite(
    "stacked_fashion", "Mode collapse on stacked Fashion-MNIST (1000 modes)", seeds=3, steps=5_000,
    entries=tuple(Entry(f"stacked_fashion_mnist_{m}") for m in ("gan", "regan", "mdgan", "maem")),
    metrics=("modes", "kl", "fid"), published=("stacked",),
    about="Three Fashion-MNIST images as the channels of one 28x28x3 image (1000 modes: a mode is the triple "
          "of classes). GAN, Reg-GAN, MDGAN and MaEM-GAN (the MaEM ablation's endpoints) on the same DCGAN "
          "networks, 5,000 steps, 3 seeds; 26,000 samples, each channel classified by the Fashion-MNIST "
          "domain classifier: modes covered and KL(generated mode histogram || uniform)."))
add_suite(Suite(
    "fashion_bf16", "Fashion-MNIST baseline in mixed_bfloat16 against float32", seeds=3, steps=5_000,
    entries=(Entry("fashion_mnist_gan"), Entry("fashion_mnist_gan", "mixed_bfloat16", precision="mixed_bfloat16")),
    metrics=_FASHION,
    about="The plain DCGAN of the fashion suite in float32 and with --precision mixed_bfloat16 (bfloat16 "
          "compute, float32 variables and outputs), same seeds: does the speed cost quality?"))
add_suite(Suite(
    "hard2d", "Every method on 100 Gaussians (10x10 grid), where the plain GAN misses modes", seeds=5,
    steps=25_000, entries=tuple(Entry(f"grid100_{m}") for m in _2D_METHODS)
    + (Entry("grid100_maem", "paper's DLLE side", (("dlle_detach", "original"),)),),
    metrics=_2D_METRICS,
    about="The VEEGAN networks, optimisers and budget on a 10x10 grid of Gaussians with the grid25 spacing "
          "(2) and width (sigma 0.05). The search (hard2d_search) found the plain GAN covering 43-67 of the "
          "100 modes here, against 20-25 of 25 on grid25, with the same networks: a setting where a method "
          "against mode collapse has room to show it. 2,500 samples, as on grid25 (25 per mode)."))
_CLS_MODES = ("plain", "mixup", "adaptivemix", "adaptivemix_official")
_CLS_ABOUT = ("Plain cross-entropy vs Mixup vs AdaptiveMix (kgan's reading: clean CE + cosine shrinkage of the mixed "
              "features) vs AdaptiveMix (the official code: L2-normalised features, a frozen orthogonal |W e| head, "
              "mixed-label CE + MSE shrinkage), on the same small_cnn (width 32), Adam(1e-3), batch 128 and 3,000 "
              "steps, 3 seeds (docs/adaptivemix_classification.md). AUROC and FPR at 95% TPR in %, in-distribution "
              "= the Fashion-MNIST test images of the trained classes; scores: MSP, energy, and the Mahalanobis "
              "feature distance fitted on 10,000 training images. The picture of each entry: the scores' histograms "
              "(seed 0).")
add_suite(Suite(
    "adaptivemix_classification", "AdaptiveMix for classification: Fashion-MNIST accuracy and OOD detection",
    seeds=3, steps=3_000, entries=tuple(Entry(f"fashion_mnist_cls_{m}") for m in _CLS_MODES),
    metrics=("acc", "auroc_msp_digits", "auroc_energy_digits", "auroc_feat_digits", "auroc_msp_gaussian",
             "auroc_msp_uniform", "fpr95_msp_digits"),
    reading="adaptivemix_classification.md",
    about=_CLS_ABOUT + " OOD sets: sklearn digits upscaled to 28x28, Gaussian and uniform noise images (1,797 each)."))
add_suite(Suite(
    "adaptivemix_openset", "AdaptiveMix for open-set recognition: Fashion-MNIST classes 0-4 against 5-9",
    seeds=3, steps=3_000, entries=tuple(Entry(f"fashion_mnist_openset_{m}") for m in _CLS_MODES),
    metrics=("acc", "auroc_msp_held_out", "auroc_energy_held_out", "auroc_feat_held_out", "fpr95_msp_held_out",
             "auroc_msp_digits", "auroc_feat_digits"),
    reading="adaptivemix_classification.md",
    about=_CLS_ABOUT + " Trained on classes 0-4 only; near OOD ('held-out'): the 5,000 test images of classes 5-9."))
