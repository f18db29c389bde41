"""The kgan command line and the recipe runner, run as real subprocesses."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from kgan.callbacks import EXIT_DIVERGED

from conftest import REPO

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow",
           TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")


def kgan(*args, timeout=300, check=True):
    proc = subprocess.run([sys.executable, "-m", "kgan.cli", *args], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kgan {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def test_list_shows_the_table_rows_and_the_recipe_files():
    out = kgan("list").stdout
    for name in ("grid25_gan", "ring8_mdgan", "grid100_maem", "fashion_mnist_gan", "fashion_mnist_reacgan",
                 "stacked_fashion_mnist_mdgan", "cifar10_reacgan"):
        assert name in out
    assert "fashion_mnist_acgan" in out and "grid25_acgan" not in out  # conditional: labelled images only


def test_set_is_checked_against_the_rows_options_before_training(tmp_path, capsys):
    from kgan.cli import main  # in process: the checks run before TensorFlow does anything

    cases = [("dlr=1e-3", "unknown option 'dlr'. Did you mean 'd_lr'?"),
             ("d_lr=-1", "d_lr=-1.0 is not valid: expected a value > 0.0"),
             ("init=ortho", "init='ortho' is not valid: expected one of ['glorot', 'orthogonal']"),
             ("g_hidden=1.5", "g_hidden=1.5 is not valid: expected a whole number")]
    for setting, message in cases:
        assert main(["train", "grid25_gan", "--set", setting, "--logdir", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.startswith("error: "), (setting, err[-500:])
    assert main(["train", "fashion_mnist_acgan", "--set", "classify_fakes=Flase",
                 "--logdir", str(tmp_path / "x")]) == 2
    assert "classify_fakes='Flase' is not valid: expected true or false" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing was written
    with pytest.raises(SystemExit):
        main(["train", "grid25_mdgan", "--help"])
    help_text = capsys.readouterr().out
    assert "lambda1 (float, default 0.2" in help_text and "d_lr (float, default 0.001" in help_text


def test_unknown_recipe_and_bad_flags_are_clear_errors(capsys):
    from kgan.cli import main

    assert main(["train", "grid26_gan"]) == 2
    err = capsys.readouterr().err
    assert "Unknown recipe 'grid26_gan'" in err and "grid25_gan" in err
    assert main(["train", "grid25_gan", "--batch-size", "0"]) == 2
    err = capsys.readouterr().err
    assert "batch_size" in err and "received batch_size=0" in err
    proc = kgan("frobnicate", check=False)  # the real entry point's exit status
    assert proc.returncode == 2 and "unknown command" in proc.stderr


def test_sample_rejects_a_file_that_is_not_a_keras_model(tmp_path):
    bogus = tmp_path / "model.keras"
    bogus.write_text("not a zip")
    proc = kgan("sample", str(bogus), check=False)
    assert proc.returncode == 2 and "is not a .keras model file" in proc.stderr
    proc = kgan("sample", str(tmp_path / "missing.keras"), check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_train_grid25_writes_model_report_scatter_and_tensorboard(tmp_path):
    logdir = tmp_path / "run"
    kgan("train", "grid25_gan", "--steps", "200", "--steps-per-epoch", "100", "--logdir", str(logdir),
         "--steps-per-execution", "10")
    report = json.loads((logdir / "report.json").read_text())
    assert report["steps"] == 200 and 0 <= report["modes"] <= 25 and 0.0 <= report["hq_fraction"] <= 1.0
    assert (logdir / "samples" / "epoch_0002.png").stat().st_size > 1000
    events = glob.glob(str(logdir / "train" / "events.out.tfevents.*"))
    assert events, "keras.callbacks.TensorBoard wrote no event file"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir / "train"))
    acc.Reload()
    tags = acc.Tags()["tensors"] + acc.Tags()["scalars"]
    assert any("d_loss" in t for t in tags) and any("g_loss" in t for t in tags), tags
    acc = EventAccumulator(str(logdir / "samples"))
    acc.Reload()
    assert acc.Tags()["tensors"] or acc.Tags()["images"]
    # the saved model samples through the CLI
    kgan("sample", str(logdir / "model.keras"), "--n", "100", "--out", str(tmp_path / "s.npy"))
    assert np.load(tmp_path / "s.npy").shape == (100, 2)
    # nothing half-written is left behind
    assert not glob.glob(str(logdir / ".*tmp*"))


def test_sigkill_then_restart_resumes_from_last_epoch(tmp_path):
    logdir = tmp_path / "run"
    args = [sys.executable, "-m", "kgan.cli", "train", "grid25_gan", "--steps", "100000",
            "--steps-per-epoch", "50", "--logdir", str(logdir), "--no-samples", "--steps-per-execution", "10"]
    proc = subprocess.Popen(args, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    meta = logdir / "backup" / "training_metadata.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if meta.exists() and json.loads(meta.read_text())["epoch"] >= 3:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved_epoch = json.loads(meta.read_text())["epoch"]
    assert saved_epoch >= 3, "training did not reach 3 epochs in time"
    # a kill that lands while the next epoch's backup is being written leaves that write's temporary
    # file (never the backup's own names): the restart removes it, saying so, and resumes
    half_written = glob.glob(str(logdir / "backup" / ".*tmp*"))
    # restart with a short total: it must start at the saved epoch, not at 1
    proc = kgan("train", "grid25_gan", "--steps", str((saved_epoch + 2) * 50), "--steps-per-epoch", "50",
                "--logdir", str(logdir), "--no-samples", "--steps-per-execution", "10")
    out = proc.stdout
    assert f"Epoch {saved_epoch + 1}/{saved_epoch + 2}" in out and "Epoch 1/" not in out
    for path in half_written:
        assert f"note: removing {path}, left half-written" in proc.stdout + proc.stderr
    report = json.loads((logdir / "report.json").read_text())
    assert report["steps"] == (saved_epoch + 2) * 50  # the step counter came back from the backup


def test_non_finite_loss_stops_with_step_and_keeps_checkpoint(tmp_path):
    logdir = tmp_path / "run"
    proc = kgan("train", "grid25_gan", "--steps", "3000", "--steps-per-epoch", "100", "--logdir", str(logdir),
                "--no-samples", "--set", "loss=least_squares", "--set", "d_lr=1e30", "--set", "g_lr=1e30",
                check=False)
    assert proc.returncode == EXIT_DIVERGED, proc.stderr[-2000:]
    assert "became" in proc.stderr and "at generator step" in proc.stderr
    assert not (logdir / "model.keras").exists()
