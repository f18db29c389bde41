"""Sample grids, atomic backups and the non-finite-loss guard.

The drawing helpers live in :mod:`kgan.plots`; ``image_grid``, ``scatter_png`` and
``save_samples_png`` are re-exported here.
"""
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kgan.plots import image_grid, save_samples_png, scatter_png  # noqa: F401  (re-exported)
from kgan.utils import atomic_path, check_positive_int


class NonFiniteLossError(RuntimeError):
    """Raised when a training loss becomes NaN or infinite."""


#: ``kgan train``'s exit status when training diverged (a usage or data error exits with 2): the
#: benchmark runner records such a run as "diverged", a result, instead of a crash to retry.
EXIT_DIVERGED = 3


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop ``fit`` with :class:`NonFiniteLossError` when training diverges, naming the step and the loss.

    Two cases: a logged loss becomes NaN or infinite (checked after every batch),
    or a loss stays above ``max_abs`` in size for ``patience`` epochs in a row (a
    learning rate of 1e30 drives a loss to ~1e31 without ever reaching NaN).
    A non-finite *real batch* is caught earlier, by the model's input check, with
    a message that blames the data.

    Raising (rather than setting ``stop_training``) means no later callback
    writes a checkpoint of the broken weights: the last backup in ``backup_dir``,
    written at the end of the previous epoch, stays as it was, and the message
    says whether there is one.
    """

    def __init__(self, backup_dir=None, max_abs=1e8, patience=2):
        super().__init__()
        self._epoch = 0
        self.backup_dir = backup_dir
        self.max_abs, self.patience = float(max_abs), int(patience)
        self._above = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _backup_note(self):
        meta = os.path.join(self.backup_dir, "training_metadata.json") if self.backup_dir else None
        if meta and os.path.exists(meta):
            try:
                with open(meta) as f:
                    epoch = int(json.load(f)["epoch"]) + 1
                return f"The backup written at the end of epoch {epoch} is left intact."
            except (OSError, ValueError, KeyError):
                pass
        return "No backup exists to resume from (backups off, or no epoch finished)."

    def _stop(self, what):
        step = int(self.model.step_counter.numpy()) if hasattr(self.model, "step_counter") else "?"
        self.model.stop_training = True
        raise NonFiniteLossError(
            f"Training diverged: {what} at generator step {step} (epoch {self._epoch + 1}); the real batches "
            f"were finite, so training itself diverged. {self._backup_note()} Lower the learning rates or "
            "add a penalty (gp_weight, r1_weight).")

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            v = float(np.mean(value))
            if not math.isfinite(v):
                self._stop(f"loss '{name}' became {v}")

    def on_epoch_end(self, epoch, logs=None):
        big = {k: float(np.mean(v)) for k, v in (logs or {}).items() if "loss" in k or k.startswith(("d_", "g_"))}
        big = {k: v for k, v in big.items() if abs(v) > self.max_abs}
        self._above = self._above + 1 if big else 0
        if self._above >= self.patience:
            name, v = max(big.items(), key=lambda kv: abs(kv[1]))
            self._stop(f"loss '{name}' = {v:.3g}, above {self.max_abs:.0e} in size for {self._above} epochs")


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose files are written atomically.

    The weights (G, D, EMA, both optimizers, the step counter) and the epoch
    counter are written to temporary names and renamed, so a process killed
    mid-save leaves the previous backup intact; a restarted ``fit`` resumes
    from the last completed epoch. As in Keras, the backup is deleted when
    ``fit`` completes with ``delete_checkpoint=True`` (the default here).
    ``kgan train`` passes ``delete_checkpoint=False`` and deletes the backup
    only once the model and the report are written, so a run killed while it
    is evaluated after ``fit`` resumes instead of starting again.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint,
                         double_checkpoint=False)

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        with atomic_path(self._weights_path) as tmp:
            self.model.save_weights(tmp)
        with atomic_path(self._training_metadata_path) as tmp:
            with open(tmp, "w") as f:
                json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)


class SampleGrid(keras.callbacks.Callback):
    """Draw samples from fixed noise every ``every`` epochs (EMA generator).

    Writes ``<logdir>/samples/epoch_0001.png`` (and ``latest.png``) and the same
    picture to TensorBoard under ``<logdir>/samples``. Images are tiled into a
    grid; 2D data (the sets of ``kgan.data.synthetic.NAMES``) is drawn as a scatter plot
    over the true modes. Conditional models get balanced labels (one row a class).

    Args:
        logdir: run directory.
        n: number of samples (2D: points in the scatter plot).
        every: period in epochs.
        dataset: dataset name, used to draw the true modes of 2D sets.
        seed: noise seed (fixed across epochs, so grids are comparable).
    """

    def __init__(self, logdir, n=64, every=1, dataset=None, seed=1234):
        super().__init__()
        self.logdir = os.fspath(logdir)
        self.n = check_positive_int("n", n)
        self.every = check_positive_int("every", every)
        self.dataset = dataset
        self.seed = seed
        self._writer = None

    def _labels(self):
        k = self.model.num_classes
        if k is None:
            return None
        return np.arange(self.n) % k if k <= 20 else np.random.default_rng(self.seed).integers(0, k, self.n)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        samples = self.model.generate(self.n, labels=self._labels(), seed=self.seed)
        out_dir = os.path.join(self.logdir, "samples")
        png = save_samples_png(samples, os.path.join(out_dir, f"epoch_{epoch + 1:04d}.png"),
                               dataset=self.dataset, title=f"epoch {epoch + 1}")
        with atomic_path(os.path.join(out_dir, "latest.png")) as tmp:
            with open(tmp, "wb") as f:
                f.write(png)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(out_dir)
        image = tf.io.decode_png(png, channels=0)[tf.newaxis]
        step = int(self.model.step_counter.numpy()) if hasattr(self.model, "step_counter") else epoch
        with self._writer.as_default():
            tf.summary.image("samples", image, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class StepTimer(keras.callbacks.Callback):
    """Wall and process-CPU seconds per generator step, per epoch.

    Put it before callbacks that evaluate at the end of an epoch, so their time is
    not counted. :meth:`report` gives the medians over the epochs that are not the
    first of their process (that one includes tracing) and the training CPU seconds
    in total.

    Args:
        state_path: optional JSON file where the epochs timed so far are kept
            (written atomically at each epoch's end, read when training begins), so a
            run resumed from a backup reports the time of all its epochs, including
            those of the process that was stopped. ``kgan train`` keeps it in the
            run's backup folder, which is deleted with the backup once the run is
            written; without it, a run resumed after its last epoch would report no
            time at all.
    """

    def __init__(self, state_path=None):
        super().__init__()
        self.state_path = None if state_path is None else os.fspath(state_path)
        self.wall, self.cpu, self.steps, self.first = [], [], [], []
        self.cpu_total = 0.0

    def on_train_begin(self, logs=None):
        self._fresh = True
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path) as f:
                state = json.load(f)
            self.wall, self.cpu = list(state["wall"]), list(state["cpu"])
            self.steps, self.first = list(state["steps"]), list(state["first"])
            self.cpu_total = float(state["cpu_total"])

    def on_epoch_begin(self, epoch, logs=None):
        self._t = (time.perf_counter(), time.process_time(), self._step())

    def _step(self):
        counter = getattr(self.model, "step_counter", None)
        return int(counter.numpy()) if counter is not None else 0

    def on_epoch_end(self, epoch, logs=None):
        steps = max(self._step() - self._t[2], 1)
        cpu = time.process_time() - self._t[1]
        self.cpu_total += cpu
        self.wall.append((time.perf_counter() - self._t[0]) / steps)
        self.cpu.append(cpu / steps)
        self.steps.append(steps)
        self.first.append(self._fresh)
        self._fresh = False
        if self.state_path:
            os.makedirs(os.path.dirname(self.state_path) or ".", exist_ok=True)
            with atomic_path(self.state_path) as tmp:
                with open(tmp, "w") as f:
                    json.dump({"wall": self.wall, "cpu": self.cpu, "steps": self.steps, "first": self.first,
                               "cpu_total": self.cpu_total}, f)

    def report(self):
        """``{"wall_ms_per_step", "cpu_ms_per_step", "cpu_s_per_1k_steps", "train_cpu_seconds"}``
        (``{}`` when no epoch was timed)."""
        if not self.wall:
            return {}
        warm = [i for i, first in enumerate(self.first) if not first] or list(range(len(self.wall)))
        wall, cpu = [self.wall[i] for i in warm], [self.cpu[i] for i in warm]
        med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
        return {"wall_ms_per_step": round(1e3 * med(wall), 3), "cpu_ms_per_step": round(1e3 * med(cpu), 3),
                "cpu_s_per_1k_steps": round(1e3 * med(cpu), 2), "train_cpu_seconds": round(self.cpu_total, 1)}
