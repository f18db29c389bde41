"""`kgan train RECIPE --strategy multiworker` with two real worker processes on
127.0.0.1: identical weights on both workers, a worker that dies (or hangs) mid-run
makes the other report it and exit (no hang), and malformed TF_CONFIG errors."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO

RECIPE = '''"""mw_test: a small grid25 GAN for the multi-worker tests; saves each worker's weights."""
import json
import os
import signal

import keras
import numpy as np

import kgan

DATASET = "grid25"
DEFAULTS = dict(steps=6, steps_per_epoch=3, batch_size=64)


class Fail(keras.callbacks.Callback):
    """Worker `die_worker` exits (mode "kill") or freezes (mode "stop") at step `die_step`."""

    def __init__(self, step, mode):
        super().__init__()
        self.step, self.mode = step, mode

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step_counter.numpy()) >= self.step:
            if self.mode == "stop":
                os.kill(os.getpid(), signal.SIGSTOP)
            os._exit(17)


def main(cfg):
    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    data = kgan.data.load(DATASET, batch_size=cfg.batch_size, seed=cfg.seed)
    with cfg.strategy.scope():
        gan = kgan.models.GAN(kgan.nets.mlp_generator(latent_dim=16, hidden=(32,)),
                              kgan.nets.mlp_discriminator(hidden=(32,)), ema_decay=0.9, seed=cfg.seed)
        gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                    r1_weight=1.0, **cfg.compile_kwargs)
    np.savez(os.path.join(cfg.extra["out"], f"init{task}.npz"), *[w.numpy() for w in gan.weights])
    extra = []
    if int(cfg.extra.get("die_worker", -1)) == task:
        extra.append(Fail(int(cfg.extra["die_step"]), cfg.extra.get("mode", "kill")))
    gan.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
            callbacks=cfg.callbacks(dataset=None, extra=extra), verbose=0)
    np.savez(os.path.join(cfg.extra["out"], f"worker{task}.npz"), *[w.numpy() for w in gan.weights])
    return cfg.finish(gan, {"task": task, "chief": cfg.is_chief})
'''


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _launch(tmp_path, flags=(), sets=()):
    recipe = tmp_path / "mw_test.py"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                   TF_NUM_INTEROP_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
        cmd = [sys.executable, "-m", "kgan.cli", "train", str(recipe), "--strategy", "multiworker",
               "--logdir", str(tmp_path / "run"), "--no-samples", "--set", f'out="{out}"', *flags]
        for s in sets:
            cmd += ["--set", s]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, cwd=str(tmp_path)))
    return procs, out


def _finish(proc, timeout):
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"worker did not exit within {timeout}s (hang); stderr tail:\n{stderr[-3000:]}")
    return proc.returncode, stdout, stderr


def _kill_all(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.communicate()


def test_two_workers_end_with_identical_weights(tmp_path):
    procs, out = _launch(tmp_path)
    try:
        results = [_finish(p, 300) for p in procs]
    finally:
        _kill_all(procs)
    for code, stdout, stderr in results:
        assert code == 0, stderr[-3000:]
    w0, w1 = np.load(out / "worker0.npz"), np.load(out / "worker1.npz")
    init = np.load(out / "init0.npz")
    assert len(w0.files) == len(w1.files) > 8
    changed = False
    for k in w0.files:
        np.testing.assert_array_equal(w0[k], w1[k])
        changed |= not np.array_equal(w0[k], init[k])
    assert changed, "training did not change the weights"
    assert any(w0[k].shape == () and int(w0[k]) == 6 for k in w0.files)  # the step counter
    # only the chief (worker 0) writes the model; its file holds the shared weights
    reports = [json.loads(stdout[stdout.index("{"):]) for _, stdout, _ in results]
    assert reports[0]["chief"] and not reports[1]["chief"]
    assert "model_path" in reports[0] and "model_path" not in reports[1]
    import keras

    import kgan.models  # noqa: F401  (registers the classes for loading)

    loaded = keras.saving.load_model(str(tmp_path / "run" / "model.keras"))
    for a, k in zip(loaded.weights, w0.files):
        np.testing.assert_array_equal(np.asarray(a), w0[k])


@pytest.mark.parametrize("mode", ["kill", "stop"])
def test_a_worker_that_dies_or_hangs_mid_run_stops_the_other(tmp_path, mode):
    """Worker 1 exits (kill) or freezes with SIGSTOP (stop) at step 3 of 200: worker 0
    reports it and exits with an error, through the connection reset (kill) or the
    coordination service's missing heartbeats (stop), instead of hanging."""
    procs, out = _launch(tmp_path, flags=["--steps", "200", "--steps-per-epoch", "100"],
                         sets=["die_worker=1", "die_step=3", f'mode="{mode}"'])
    try:
        if mode == "kill":
            code1, _, _ = _finish(procs[1], 300)
            assert code1 == 17
        else:
            deadline = time.time() + 300
            while not (out / "init1.npz").exists() and time.time() < deadline:
                time.sleep(1)
        t0 = time.time()
        code0, _, stderr0 = _finish(procs[0], 240)
        elapsed = time.time() - t0
    finally:
        if mode == "stop" and procs[1].poll() is None:
            procs[1].send_signal(signal.SIGKILL)
        _kill_all(procs)
    assert code0 == 2, stderr0[-3000:]
    assert "error: Multi-worker training stopped: another worker died or became unreachable" in stderr0
    assert "Traceback" not in stderr0.split("error: Multi-worker")[-1]
    assert not (out / "worker0.npz").exists()
    assert elapsed < 240


@pytest.mark.parametrize("tf_config, message", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', '"cluster": {"worker"'),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker"}}', '"task": {"type": "worker", "index": i}'),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "task index 3 is outside"),
    (None, "needs the TF_CONFIG environment variable"),
])
def test_malformed_tf_config_is_a_clear_error(tf_config, message, monkeypatch, capsys):
    from kgan.cli import main

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert main(["train", "grid25_gan", "--strategy", "multiworker", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
