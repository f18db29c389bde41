"""Callbacks: non-finite guard with an intact checkpoint, atomic backups, sample grids."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.callbacks import BackupAndRestore, NonFiniteLossError, SampleGrid, StopOnNonFinite
from kgan.models import GAN
from conftest import tiny_mlp_gan_nets


class ExplodingLR(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that becomes absurd after ``at`` updates (a diverging run)."""

    def __init__(self, at):
        self.at = at

    def __call__(self, step):
        return tf.where(step < self.at, 1e-3, 1e30)


def data(n=64):
    return tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).normal(size=(n, 2)).astype("float32")).batch(
        16).repeat()


def test_non_finite_loss_names_step_and_leaves_last_backup_intact(tmp_path):
    G, D = tiny_mlp_gan_nets()
    gan = GAN(G, D, ema_decay=None)
    gan.compile(d_optimizer=keras.optimizers.SGD(ExplodingLR(25)), g_optimizer=keras.optimizers.SGD(1e-3),
                loss="least_squares")
    backup = tmp_path / "backup"
    with pytest.raises(NonFiniteLossError, match=r"loss '(d|g)_\w+' became (nan|inf|-inf) at generator step \d+"):
        gan.fit(data(), epochs=10, steps_per_epoch=10, verbose=0,
                callbacks=[StopOnNonFinite(), BackupAndRestore(str(backup))])
    meta = json.loads((backup / "training_metadata.json").read_text())
    assert meta["epoch"] == 2  # epochs 1 and 2 finished before the learning rate exploded in epoch 3
    G2, D2 = tiny_mlp_gan_nets(seed=1)
    fresh = GAN(G2, D2, ema_decay=None)
    fresh.compile(d_optimizer=keras.optimizers.SGD(1e-3), g_optimizer=keras.optimizers.SGD(1e-3))
    fresh.load_weights(str(backup / "latest.weights.h5"))
    assert int(fresh.step_counter.numpy()) == 20
    assert all(np.isfinite(w).all() for w in fresh.get_weights())


def test_sample_grid_writes_png_and_tensorboard_image(tmp_path):
    G, D = tiny_mlp_gan_nets()
    gan = GAN(G, D)
    gan.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
    gan.fit(data(), epochs=2, steps_per_epoch=2, verbose=0,
            callbacks=[SampleGrid(str(tmp_path), n=200, every=2, dataset="ring8")])
    assert not (tmp_path / "samples" / "epoch_0001.png").exists()
    png = (tmp_path / "samples" / "epoch_0002.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "samples" / "latest.png").read_bytes() == png
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / "samples"))


def test_image_grid_tiles_images():
    import kgan.callbacks.core
    import kgan.plots
    from kgan.plots import image_grid

    # the drawing helpers live in kgan.plots; kgan.callbacks.core re-exports them
    for name in ("image_grid", "scatter_png", "save_samples_png"):
        assert getattr(kgan.callbacks.core, name) is getattr(kgan.plots, name)

    imgs = np.stack([np.full((4, 4, 1), v, "float32") for v in (-1.0, 0.0, 1.0)])
    grid = image_grid(imgs, ncols=3)
    assert grid.shape == (6, 16) and grid[1, 1] == 0 and grid[1, 11] == 255


def test_step_timer_keeps_its_epochs_across_a_resume(tmp_path):
    from kgan.callbacks import StepTimer

    state = tmp_path / "backup" / "step_timer.json"
    first = StepTimer(state)
    first.on_train_begin()
    for epoch in range(3):
        first.on_epoch_begin(epoch)
        sum(i * i for i in range(20000))  # some CPU work per epoch
        first.on_epoch_end(epoch)
    assert json.loads(state.read_text())["first"] == [True, False, False]
    # the process is stopped; a new one resumes: it starts from the stored epochs
    second = StepTimer(state)
    second.on_train_begin()
    second.on_epoch_begin(3)
    second.on_epoch_end(3)
    assert second.first == [True, False, False, True] and second.cpu[:3] == first.cpu
    report = second.report()
    warm = sorted(first.cpu[1:3])  # the first epoch of each process (tracing) is left out of the median
    assert report["cpu_s_per_1k_steps"] == round(1e3 * warm[1], 2)
    assert second.cpu_total == pytest.approx(first.cpu_total + second.cpu[3]) and first.cpu_total > 0
    assert report["train_cpu_seconds"] == round(second.cpu_total, 1)
    # resumed after its last epoch (nothing left to train), it still reports the stopped process's time
    third = StepTimer(state)
    third.on_train_begin()
    assert third.report()["cpu_s_per_1k_steps"] == report["cpu_s_per_1k_steps"]
    assert StepTimer().report() == {}  # without a state file and before any epoch: nothing measured
