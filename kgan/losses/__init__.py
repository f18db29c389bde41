"""Losses: adversarial losses as real/fake terms, penalties, and each method's regularisers."""
from kgan.losses.adversarial import (LOSSES, AdversarialLoss, Hinge, LeastSquares, Minimax,
                                     NonSaturating, Wasserstein, get)
from kgan.losses.penalties import gradient_penalty, r1_penalty
from kgan.losses.mode_regularized import GeometricRegularizer, ModeRegularizer, check_lambdas
from kgan.losses.conditional import D2DCE, D2DCE_VARIANTS, ClassifierCrossEntropy
from kgan.losses.mixing import FeatureShrinkage, MixedSampleLoss, cosine_similarity, mixed_sample_loss, shrinkage_loss
from kgan.losses.maem import DIsoMap, DLLE, MaF, ManifoldEntropy, reparameterize
