"""ring8_gan: plain GAN on a ring of 8 Gaussians, VEEGAN protocol (benchmarks.md A).

The networks, optimisers, options and protocol of grid25_gan (read its docstring), on ring8
(8 Gaussians at radius 1, sigma 0.01); 2,500 samples evaluated for modes captured and % high quality.

    kgan train ring8_gan                 # the full protocol
    kgan train ring8_gan --steps 5000    # a quick look
"""
import kgan
from grid25_gan import DEFAULTS, build  # noqa: F401  (same model and settings as on grid25)
from grid25_gan import main as _main

DATASET = "ring8"


def main(cfg):
    return _main(cfg, dataset=DATASET)


if __name__ == "__main__":
    kgan.run.cli(__file__)
