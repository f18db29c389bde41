"""kgan: GANs that do not collapse, for Keras 3 on the TensorFlow backend.

``import kgan`` registers every kgan model, layer and loss with Keras (so
``keras.saving.load_model`` can read kgan ``.keras`` files); the heavier
submodules (``kgan.data``, ``kgan.metrics``, ``kgan.tuning``, ...) are imported
on first use.
"""
import importlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

_SUBMODULES = (
    "callbacks", "cli", "data", "layers", "losses", "metrics", "models", "nets", "plots",
    "run", "tuning", "utils",
)


def _check_backend():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ImportError(
            "kgan needs Keras 3 on the TensorFlow backend; KERAS_BACKEND is "
            f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow before importing keras."
        )


def __getattr__(name):
    if name in _SUBMODULES:
        _check_backend()
        module = importlib.import_module(f"kgan.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kgan' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))


_check_backend()
from kgan import losses, layers, nets, models, callbacks  # noqa: E402,F401  (registration)
