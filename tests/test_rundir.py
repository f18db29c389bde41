"""Runs a user can trust, with real `kgan train` processes on a 2D row: a finished run is kept,
one process per folder, resuming refuses other settings, no run is lost between the end of
`fit` and the last write, half-written files are cleaned, Ctrl-C says how to resume."""
import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow",
           TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
LONG = ["--steps", "100000", "--steps-per-epoch", "50", "--steps-per-execution", "10", "--no-samples"]


def kgan(*args, check=True, timeout=300):
    proc = subprocess.run([sys.executable, "-m", "kgan.cli", *args], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kgan {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def start(*args, recipe="grid25_gan"):
    return subprocess.Popen([sys.executable, "-m", "kgan.cli", "train", recipe, *args], cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, seconds=240):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    raise AssertionError("timed out")


def backup_epoch(logdir):
    meta = logdir / "backup" / "training_metadata.json"
    return json.loads(meta.read_text())["epoch"] if meta.exists() else -1


def test_finished_run_is_kept_unless_overwrite(tmp_path, capsys):
    from kgan.cli import main  # in process: no second process is involved here

    logdir = tmp_path / "run"
    flags = ["--steps", "40", "--steps-per-epoch", "20", "--logdir", str(logdir), "--no-samples"]
    assert main(["train", "grid25_gan", *flags]) == 0
    report = json.loads((logdir / "report.json").read_text())
    assert report["steps"] == 40 and not (logdir / "backup").exists() and not (logdir / ".lock").exists()
    mtime = (logdir / "model.keras").stat().st_mtime
    capsys.readouterr()
    assert main(["train", "grid25_gan", *flags]) == 2
    err = capsys.readouterr().err
    assert "holds a finished run" in err and "--overwrite" in err
    assert (logdir / "model.keras").stat().st_mtime == mtime  # untouched
    assert main(["train", "grid25_gan", "--steps", "60", "--steps-per-epoch", "20", "--logdir", str(logdir),
                 "--no-samples", "--overwrite"]) == 0
    out = capsys.readouterr()
    assert "--overwrite: removed the previous run's model.keras, report.json" in out.out + out.err
    assert json.loads((logdir / "report.json").read_text())["steps"] == 60


def test_second_process_on_a_folder_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    logdir = tmp_path / "run"
    first = start(*LONG, "--logdir", str(logdir))
    try:
        wait_for(lambda: (logdir / ".lock").exists())
        proc = kgan("train", "grid25_gan", *LONG, "--logdir", str(logdir), check=False)
        assert proc.returncode == 2 and f"in use by another kgan train (PID {first.pid}" in proc.stderr
    finally:
        first.kill()
        first.wait()
    # the killed process left its lock: the next run takes it over and resumes
    assert json.loads((logdir / ".lock").read_text())["pid"] == first.pid
    proc = kgan("train", "grid25_gan", "--steps", str(50 * (backup_epoch(logdir) + 1)), "--steps-per-epoch", "50",
                "--steps-per-execution", "10", "--no-samples", "--logdir", str(logdir))
    assert f"removing the stale lock of PID {first.pid}" in proc.stdout + proc.stderr
    assert (logdir / "report.json").exists() and not (logdir / ".lock").exists()


def test_resume_refuses_other_settings_and_cleans_half_written_files(tmp_path):
    logdir = tmp_path / "run"
    first = start(*LONG, "--logdir", str(logdir))
    try:
        wait_for(lambda: backup_epoch(logdir) >= 1)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    proc = kgan("train", "grid25_gan", *LONG, "--logdir", str(logdir), "--set", "d_lr=1e-4", check=False)
    assert proc.returncode == 2 and "holds an unfinished run with other settings" in proc.stderr
    assert "'d_lr': 0.001" in proc.stderr and "'d_lr': 0.0001" in proc.stderr
    (logdir / ".model.tmpab12.keras").write_bytes(b"")  # as a kill during a save leaves it
    saved = backup_epoch(logdir)
    total = 50 * (saved + 2)
    out = kgan("train", "grid25_gan", "--steps", str(total), "--steps-per-epoch", "50", "--steps-per-execution",
               "10", "--no-samples", "--logdir", str(logdir))
    text = out.stdout + out.stderr
    assert "removing" in text and ".model.tmpab12.keras" in text and not (logdir / ".model.tmpab12.keras").exists()
    assert f"resuming with --steps {total} (the run was started with 100000)" in text
    assert f"Epoch {saved + 1}/{saved + 2}" in text and "Epoch 1/" not in text
    assert json.loads((logdir / "report.json").read_text())["steps"] == total


SLOW_EVAL = '''"""slow_eval: grid25_gan whose evaluation after fit takes a while (as an Inception FID would)."""
import os
import time

import kgan

DEFAULTS = dict(steps=100, steps_per_epoch=50, batch_size=64, steps_per_execution=10)
ROW = kgan.experiments.get_row("grid25_gan")


def main(cfg):
    data = kgan.data.load("grid25", batch_size=cfg.batch_size, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = ROW.build(cfg)
    timer = cfg.step_timer()
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch, callbacks=cfg.callbacks(extra=[timer]),
            verbose=2)
    open(os.path.join(cfg.logdir, "evaluating"), "w").close()
    time.sleep(float(os.environ.get("SLOW_EVAL_SECONDS", "0")))
    return cfg.finish(gan, {"evaluated": True, **timer.report()})
'''


def test_a_kill_while_evaluating_after_fit_loses_nothing(tmp_path):
    recipe = tmp_path / "slow_eval.py"
    recipe.write_text(SLOW_EVAL)
    logdir = tmp_path / "run"
    env = dict(ENV, SLOW_EVAL_SECONDS="600")
    proc = subprocess.Popen([sys.executable, "-m", "kgan.cli", "train", str(recipe), "--logdir", str(logdir),
                             "--no-samples"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: (logdir / "evaluating").exists())
    finally:
        proc.kill()
        proc.wait()
    # fit had finished: the model is on disk and the backup is still there
    assert (logdir / "model.keras").exists() and (logdir / "backup").is_dir() and not (logdir / "report.json").exists()
    out = kgan("train", str(recipe), "--logdir", str(logdir), "--no-samples")
    assert "Epoch 1/" not in out.stdout  # resumed after the last epoch instead of training again
    report = json.loads((logdir / "report.json").read_text())
    assert report["evaluated"] and report["steps"] == 100 and not (logdir / "backup").exists()
    # the CPU time of the epochs trained by the killed process is reported, kept with the backup
    assert report["cpu_s_per_1k_steps"] > 0 and report["train_cpu_seconds"] > 0


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path):
    logdir = tmp_path / "run"
    proc = start(*LONG, "--logdir", str(logdir))
    wait_for(lambda: backup_epoch(logdir) >= 1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out[-2000:]
    assert "interrupted; rerun the same command to resume from epoch" in out
    assert "Traceback" not in out and not (logdir / ".lock").exists()
