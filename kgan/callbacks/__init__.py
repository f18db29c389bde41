"""Keras callbacks for GAN training: sample grids, live evaluation, safe resume,
and stopping on non-finite losses."""
from kgan.callbacks.core import (EXIT_DIVERGED, BackupAndRestore, NonFiniteLossError, SampleGrid, StepTimer,
                                 StopOnNonFinite)


def __getattr__(name):  # Evaluate pulls in the metrics package: import it on use
    if name == "Evaluate":
        from kgan.callbacks.evaluate import Evaluate
        return Evaluate
    raise AttributeError(f"module 'kgan.callbacks' has no attribute {name!r}")
