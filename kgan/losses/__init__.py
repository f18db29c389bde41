"""Losses: adversarial losses as real/fake terms, penalties, and each method's regularisers."""
from kgan.losses.adversarial import (LOSSES, AdversarialLoss, Hinge, LeastSquares, Minimax,
                                     NonSaturating, Wasserstein, get)
from kgan.losses.penalties import gradient_penalty, r1_penalty
