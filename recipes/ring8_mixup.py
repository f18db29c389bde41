"""ring8_mixup: MixGAN with Mixup on a ring of 8 Gaussians, VEEGAN protocol (benchmarks.md A).

The networks, optimisers, options and protocol of grid25_mixup (read its docstring), on ring8
(8 Gaussians at radius 1, sigma 0.01); 2,500 samples evaluated for modes captured and % high quality.

    kgan train ring8_mixup                 # the full protocol
    kgan train ring8_mixup --steps 5000    # a quick look
"""
import kgan
from grid25_mixup import DEFAULTS, build  # noqa: F401  (same model and settings as on grid25)
from grid25_mixup import main as _main

DATASET = "ring8"


def main(cfg):
    return _main(cfg, dataset=DATASET)


if __name__ == "__main__":
    kgan.run.cli(__file__)
