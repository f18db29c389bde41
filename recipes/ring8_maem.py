"""ring8_maem: MaEM-GAN on a ring of 8 Gaussians, VEEGAN protocol (benchmarks.md A).

The networks, optimisers, options and protocol of grid25_maem (read its docstring), on ring8
(8 Gaussians at radius 1, sigma 0.01); 2,500 samples evaluated for modes captured and % high quality.

    kgan train ring8_maem                 # the full protocol
    kgan train ring8_maem --steps 5000    # a quick look
"""
import kgan
from grid25_maem import DEFAULTS  # noqa: F401  (same model and settings as on grid25)
from grid25_maem import build as _build
from grid25_maem import main as _main

DATASET = "ring8"


def build(cfg):
    """grid25_maem's model with the DLLE noise set to ring8's sigma (0.01)."""
    return _build(cfg, noise=kgan.data.mode_means(DATASET)[1])


def main(cfg):
    return _main(cfg, dataset=DATASET)


if __name__ == "__main__":
    kgan.run.cli(__file__)
