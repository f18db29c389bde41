"""keras-tuner searches for every kgan method (see docs/tuning.md).

    kgan tune grid25_gan --tuner bayesian --trials 20 --steps 2000
    kgan tune gan --dataset grid25 --tuner random --trials 8

``METHODS`` maps a method name to its :class:`MethodSpec` (model class,
search space of :class:`Param`, recipes); ``register_method`` adds one.
``GANHyperModel`` is the ``keras_tuner.HyperModel``; ``make_tuner`` makes a
random / Bayesian / Hyperband tuner; ``search`` runs it and saves the best
model atomically.
"""
from kgan.tuning.registry import (COMMON_PARAMS, GAN_PARAMS, METHODS, MethodSpec, Param,
                                  apply_values, available_methods, build_base, build_model,
                                  current_values, generic_build, get_method, register_method,
                                  spec_for_model)
from kgan.tuning import methods as _methods  # noqa: F401  (registers the methods beyond the base GAN)
from kgan.tuning.hypermodel import (OBJECTIVES, TUNERS, GANHyperModel, default_objective,
                                final_metrics_2d, make_hypermodel, make_tuner, objective, search,
                                trial_table)

__all__ = [
    "COMMON_PARAMS", "GAN_PARAMS", "METHODS", "MethodSpec", "Param", "apply_values",
    "available_methods", "build_base", "build_model", "current_values", "generic_build",
    "get_method", "register_method", "spec_for_model", "OBJECTIVES", "TUNERS", "GANHyperModel",
    "default_objective", "final_metrics_2d", "make_hypermodel", "make_tuner", "objective",
    "search", "trial_table",
]
