"""The experiment table: every row builds and trains, rows differ from the plain GAN only by the
method, and a non-editable install runs (and tunes) the rows from any directory."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kgan
from conftest import REPO
from kgan.experiments import METHODS, PROTOCOLS, rows
from kgan.run import RunConfig

ONLINE_ONLY = ("stacked_mnist",)  # tfds downloads MNIST once; tested offline elsewhere with mock data
TABLE = {name: row for name, row in rows().items()
         if getattr(row.protocol, "kind", None) in ("2d", "image") and row.protocol.name not in ONLINE_ONLY}


def test_every_method_runs_on_every_protocol_it_applies_to():
    names = set(rows())
    for p in PROTOCOLS.values():
        for m in METHODS.values():
            assert (f"{p.name}_{m.name}" in names) == m.applies_to(p), (p.name, m.name)
    assert {"grid25_mdgan", "ring8_maem", "grid100_srmix", "fashion_mnist_reacgan",
            "stacked_fashion_mnist_regan"} <= names
    assert "grid25_acgan" not in names and "stacked_fashion_mnist_acgan" not in names


#: Rows that train 2 steps here: every method on grid25 and on Fashion-MNIST (every code path of each
#: method, on both kinds of network), the plain GAN on every other protocol (its data and networks).
#: The others run the same code on other data; they are built (and compiled) below.
TRAINED = sorted(n for n, r in TABLE.items() if r.protocol.name in ("grid25", "fashion_mnist")
                 or r.method.name == "gan")


def _small(row, name, steps=2):
    small = {"width": 4} if row.protocol.kind == "image" else {}
    return RunConfig(recipe=name, steps=steps, steps_per_epoch=steps, batch_size=8, seed=0, extra=small)


def test_every_row_builds_its_models_class_with_the_protocols_networks():
    for name, row in sorted(TABLE.items()):
        model = row.build(_small(row, name))
        assert type(model).__name__ == row.method.model, name
        assert model.data_shape == tuple(row.protocol.info().shape), name


@pytest.mark.parametrize("name", TRAINED)
def test_row_trains_two_steps(name):
    row = TABLE[name]
    cfg = _small(row, name)
    o = row.resolve(cfg.extra)
    data = row.protocol.data(o, cfg.batch_size, labels=row.method.conditional, seed=0)
    model = row.build(cfg, o)
    hist = model.fit(data, epochs=1, steps_per_epoch=2, verbose=0)
    assert int(model.step_counter.numpy()) == 2
    assert all(np.isfinite(v[-1]) for v in hist.history.values()), hist.history


def test_a_row_differs_from_the_plain_gan_only_by_its_method():
    cfg = RunConfig(recipe="t", steps=10, seed=3)
    gan, mdgan = TABLE["grid25_gan"].build(cfg), TABLE["grid25_mdgan"].build(cfg)
    for a, b in ((gan.generator, mdgan.generator), (gan.discriminator, mdgan.discriminator)):
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
    for opt in ("d_optimizer", "g_optimizer"):
        ga, gb = getattr(gan, opt), getattr(mdgan, opt)
        assert type(ga) is type(gb) and ga.get_config()["learning_rate"] == gb.get_config()["learning_rate"]
    assert mdgan.e_optimizer.get_config()["learning_rate"] == gan.g_optimizer.get_config()["learning_rate"]
    assert mdgan.d2_optimizer.get_config()["learning_rate"] == gan.d_optimizer.get_config()["learning_rate"]
    assert gan.get_compile_config()["loss"] == mdgan.get_compile_config()["loss"]


def test_a_non_editable_install_runs_rows_from_another_directory(tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), REPO], check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS="1",
               TF_NUM_INTEROP_THREADS="1")
    run = lambda *a: subprocess.run([sys.executable, "-m", "kgan.cli", *a], cwd=elsewhere, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=300)
    where = subprocess.run([sys.executable, "-c", "import kgan; print(kgan.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=120).stdout
    assert where.startswith(str(site))  # the installed copy, not the repository
    out = run("list")
    assert out.returncode == 0 and "grid25_mdgan" in out.stdout and "fashion_mnist_gan" in out.stdout
    out = run("train", "ring8_mdgan", "--steps", "20", "--steps-per-epoch", "10", "--logdir", "run", "--no-samples")
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((elsewhere / "run" / "report.json").read_text())
    assert report["steps"] == 20 and report["model"] == "MDGAN"
    # kgan tune searches a row through the row's own build: 2 tiny trials, each with its kgan train command
    out = run("tune", "grid25_maem", "--trials", "2", "--steps", "4", "--batch-size", "32", "--params", "d_lr,sigma",
              "--logdir", "tune")
    assert out.returncode == 0, out.stderr[-2000:]
    best = json.loads((elsewhere / "tune" / "best.json").read_text())
    assert best["target"] == "grid25_maem" and len(json.loads((elsewhere / "tune" / "trials.json").read_text())) == 2
    assert best["best_command"].startswith("kgan train grid25_maem --steps 4 --steps-per-epoch 4 --batch-size 32")
    assert f"train it again: {best['best_command']}" in out.stdout
