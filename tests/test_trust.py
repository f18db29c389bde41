"""Bad input and failures give one clear line: data NaNs blamed on the data, divergence without NaN
caught, labels that are not class ids, foreign or broken model files, a full disk, corrupt images,
MirroredStrategy with several steps per execution or an uneven batch."""
import json
import os
import re
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from conftest import REPO, tiny_mlp_gan_nets
from kgan.callbacks import NonFiniteLossError, StopOnNonFinite
from kgan.cli import main
from kgan.models.gan import NONFINITE_DATA

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")


def _gan(num_classes=None):
    G, D = tiny_mlp_gan_nets(num_classes=num_classes)
    gan = kgan.models.GAN(G, D, num_classes=num_classes, ema_decay=None)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    return gan


def test_nan_in_the_data_is_blamed_on_the_data():
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    x[5, 1] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="the dataset is at fault"):
        _gan().fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0)


NAN_RECIPE = '''"""nan_data: a recipe whose data holds a NaN."""
import numpy as np
import tensorflow as tf

import kgan

DEFAULTS = dict(steps=4, steps_per_epoch=2, batch_size=16)


def main(cfg):
    x = np.zeros((64, 2), "float32")
    x[3] = np.nan
    with cfg.strategy.scope():
        gan = kgan.experiments.get_row("grid25_gan").build(cfg)
    gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(16).repeat(), epochs=cfg.epochs,
            steps_per_epoch=cfg.steps_per_epoch, callbacks=cfg.callbacks(), verbose=0)
    return cfg.finish(gan)
'''


def test_cli_prints_one_line_for_nan_data(tmp_path, capsys):
    recipe = tmp_path / "nan_data.py"
    recipe.write_text(NAN_RECIPE)
    assert main(["train", str(recipe), "--logdir", str(tmp_path / "run"), "--no-samples"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {NONFINITE_DATA}." and "Traceback" not in err


def test_divergence_without_nan_is_caught_and_the_message_says_whether_a_backup_exists(tmp_path):
    guard = StopOnNonFinite(backup_dir=str(tmp_path / "backup"), max_abs=1e8, patience=2)
    guard.set_model(_gan())
    guard.on_epoch_end(0, {"d_loss": 3e31, "g_loss": 1.0})  # one epoch above the bound: not yet
    with pytest.raises(NonFiniteLossError, match=r"'d_loss' = 2e\+31, above 1e\+08 in size for 2 epochs.*"
                                                 r"No backup exists"):
        guard.on_epoch_end(1, {"d_loss": 2e31, "g_loss": 1.0})
    guard = StopOnNonFinite(backup_dir=str(tmp_path / "backup"))
    guard.set_model(_gan())
    guard.on_epoch_end(0, {"d_loss": 3e31})
    guard.on_epoch_end(1, {"d_loss": 0.7})  # back under the bound: the count restarts
    guard.on_epoch_end(2, {"d_loss": 3e31})
    os.makedirs(tmp_path / "backup")
    (tmp_path / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": 6, "batch": -1}))
    with pytest.raises(NonFiniteLossError, match=r"became nan.*end of epoch 7 is left intact"):
        guard.on_train_batch_end(0, {"g_loss": float("nan")})


@pytest.mark.parametrize("labels,message", [
    (np.eye(3, dtype="int32")[np.arange(32) % 3], r"shape \(None, 3\) \(one-hot\? pass tf.argmax"),
    ((np.arange(32) % 3).astype("float32") + 0.7, r"float32 labels.*floats are not rounded"),
])
def test_labels_must_be_integer_class_ids(labels, message):
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    with pytest.raises(ValueError, match=r"labels must be integer class ids of shape \(batch,\).*" + message):
        _gan(num_classes=3).fit(tf.data.Dataset.from_tensor_slices((x, labels)).batch(16), epochs=1, verbose=0)


def test_sample_refuses_a_keras_file_that_is_not_a_kgan_model_and_cuts_long_errors(tmp_path, capsys):
    path = str(tmp_path / "plain.keras")
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(path)
    assert main(["sample", path]) == 2
    assert "holds a Sequential, not a kgan GAN" in capsys.readouterr().err
    # an unknown class in the config: one short line, not the 13 KB config
    broken = str(tmp_path / "broken.keras")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["class_name"] = "NoSuchGAN"
                config["config"]["padding"] = "x" * 20_000
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    assert main(["sample", broken]) == 2
    err = capsys.readouterr().err
    assert "Could not load" in err and len(err) < 2000


def test_a_failed_write_is_one_line_not_a_traceback(tmp_path, capsys):
    recipe = tmp_path / "full_disk.py"
    recipe.write_text('"""full_disk"""\nimport errno\n\nDEFAULTS = {}\n\n\ndef main(cfg):\n'
                      '    raise OSError(errno.ENOSPC, "No space left on device", "/data/model.keras")\n')
    assert main(["train", str(recipe), "--logdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No space left on device: /data/model.keras") and "Traceback" not in err


def test_corrupt_image_in_a_folder_is_named(tmp_path):
    from PIL import Image

    for i in range(6):
        noise = np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype="uint8")
        Image.fromarray(noise).save(tmp_path / f"img{i}.png")
    data = (tmp_path / "img3.png").read_bytes()
    (tmp_path / "img3.png").write_bytes(data[: len(data) // 2])  # passes the header check, fails to decode
    with pytest.raises(ValueError, match=r"1 of 6 images .* cannot be decoded .*img3\.png' \(Invalid PNG data"):
        kgan.data.load(f"folder:{tmp_path}", 2)


def test_corrupt_image_in_a_streamed_folder_is_named_when_training_hits_it(tmp_path, monkeypatch, capsys):
    # folders too large for memory are decoded during training, where TF's error names no file
    from PIL import Image

    from kgan.data import _common

    images = tmp_path / "images"
    images.mkdir()
    for i in range(6):
        noise = np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype="uint8")
        Image.fromarray(noise).save(images / f"img{i}.png")
    data = (images / "img4.png").read_bytes()
    (images / "img4.png").write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(_common, "MEMORY_LIMIT_BYTES", 0)  # the streaming path, as for a large folder
    recipe = tmp_path / "stream_folder.py"
    recipe.write_text('"""stream_folder"""\nimport kgan\n\nDEFAULTS = {}\n\n\ndef main(cfg):\n'
                      f'    for _ in kgan.data.load("folder:{images}", 2, shuffle=False).take(6):\n'
                      '        pass\n')
    assert main(["train", str(recipe), "--logdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"^error: 1 of 6 images .* cannot be decoded .*img4\.png' \(Invalid PNG data", err), err
    assert "resume" in err and "Traceback" not in err


def test_mirrored_with_steps_per_execution_runs_and_an_uneven_batch_is_refused(tmp_path):
    cmd = [sys.executable, "-m", "kgan.cli", "train", "ring8_gan", "--strategy", "mirrored", "--cpu-devices", "2",
           "--steps", "100", "--steps-per-epoch", "50", "--no-samples", "--no-backup"]
    proc = subprocess.run(cmd + ["--logdir", str(tmp_path / "a")], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--steps-per-execution 50 runs as 1 under --strategy mirrored with 2 replicas" in proc.stderr
    assert json.loads((tmp_path / "a" / "report.json").read_text())["steps"] == 100
    proc = subprocess.run(cmd + ["--logdir", str(tmp_path / "b"), "--batch-size", "511"], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "--batch-size 511 does not split evenly over the 2 replicas" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exactly_the_asked_steps_are_trained_and_a_logdir_that_is_a_file_is_refused(tmp_path, capsys):
    # 250 steps at 100 per epoch and 50 per execution used to train 300 (whole epochs of whole executions)
    logdir = tmp_path / "run"
    assert main(["train", "grid25_gan", "--steps", "250", "--steps-per-epoch", "100", "--logdir", str(logdir),
                 "--no-samples", "--no-backup"]) == 0
    assert json.loads((logdir / "report.json").read_text())["steps"] == 250
    capsys.readouterr()
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["train", "grid25_gan", "--logdir", str(afile)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_an_epoch_length_keeps_the_budget_exact(capsys):
    # the paper recipes train in epochs of one pass over the data (cifar10_maem: 260 steps); --steps 1000 used
    # to run 4 whole epochs, 1040 steps
    from kgan.run import RunConfig

    cfg = RunConfig(recipe="t", steps=1000, steps_per_epoch=500, steps_per_execution=50)
    cfg.set_epoch_length(260)
    assert (cfg.steps_per_epoch, cfg.steps_per_execution, cfg.epochs) == (250, 50, 4)
    assert capsys.readouterr().out == ""
    cfg = RunConfig(recipe="t", steps=130_000, steps_per_epoch=500)
    cfg.set_epoch_length(260)
    assert (cfg.steps_per_epoch, cfg.epochs) == (260, 500)
    cfg = RunConfig(recipe="t", steps=100)
    cfg.set_epoch_length(260)
    assert (cfg.steps_per_epoch, cfg.epochs) == (100, 1)
    cfg = RunConfig(recipe="t", steps=997, steps_per_execution=10)  # a prime: epochs of 1 step, with a note
    cfg.set_epoch_length(260)
    assert (cfg.steps_per_epoch, cfg.steps_per_execution, cfg.epochs) == (1, 1, 997)
    assert "no divisor near 260" in capsys.readouterr().out
    with pytest.raises(ValueError, match="steps_per_epoch"):
        cfg.set_epoch_length(0)
