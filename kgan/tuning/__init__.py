"""keras-tuner searches over the rows of the experiment table (see docs/tuning.md).

    kgan tune grid25_maem --tuner bayesian --trials 20 --steps 2000
    kgan tune gan --dataset grid25 --tuner random --trials 8      # the row grid25_gan

A row's search space is its method's ``search`` in :mod:`kgan.experiments.methods`
(:class:`Param` ranges over the row's options), and a trial's model is the
row's own build with the trial's values as options, so every trial is
``kgan train ROW --set ...`` again. :class:`GANHyperModel` is the
``keras_tuner.HyperModel``; :func:`make_tuner` makes a random / Bayesian /
Hyperband tuner; :func:`search` runs it and saves the best model atomically.
A new method becomes tunable with ``kgan.experiments.add_method(Method(...,
search=COMMON_SEARCH + (Param(...),)))``.
"""
from kgan.experiments.methods import COMMON_SEARCH, GAN_SEARCH
from kgan.experiments.options import Param
from kgan.tuning.targets import Target, available_methods, build_model, get_target
from kgan.tuning.hypermodel import (OBJECTIVES, TUNERS, GANHyperModel, default_objective,
                                    final_metrics_2d, make_hypermodel, make_tuner, objective, search,
                                    trial_table)

__all__ = [
    "COMMON_SEARCH", "GAN_SEARCH", "Param", "Target", "available_methods", "build_model", "get_target",
    "OBJECTIVES", "TUNERS", "GANHyperModel", "default_objective", "final_metrics_2d", "make_hypermodel",
    "make_tuner", "objective", "search", "trial_table",
]
