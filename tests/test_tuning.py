"""kgan.tuning: the search spaces of the experiment table's methods, trial values reaching the row's
model (and its `kgan train` command), a real keras-tuner search on grid25 (4 trials, tiny step counts),
the `kgan tune` CLI and bad input."""
import glob
import json
import os

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

from kgan import tuning
from kgan.experiments import METHODS, PROTOCOLS, Method, Param, Row, get_row, rows
from kgan.run import RunConfig, parse_set


def test_every_gan_row_has_a_search_space_over_its_own_options():
    gan_rows = {n: r for n, r in rows().items() if r.protocol.kind in ("2d", "image")}
    assert len(gan_rows) > 50
    for name, row in gan_rows.items():
        space = row.search()  # checks every Param against the row's options: name, type and range
        names = [p.name for p in space]
        assert {"d_lr", "g_lr", "d_steps"} <= set(names), name
        assert all(p.name in {o.name for o in row.options} for p in space), name
    assert tuning.available_methods() == list(METHODS)
    assert [p.name for p in get_row("grid25_gan").search()] == ["d_lr", "g_lr", "d_steps", "gp_weight", "r1_weight"]
    assert [p.name for p in get_row("grid25_maem").search()][3:] == ["sigma", "dlle_weight", "disomap_weight"]
    lr = get_row("grid25_gan").search(["d_lr"])[0]
    assert (lr.low, lr.high, lr.log) == (1e-5, 1e-3, True)
    # classification rows have no search space (the objectives are GAN metrics)
    with pytest.raises(ValueError, match="fashion_mnist_cls_plain has no search space"):
        tuning.get_target("fashion_mnist_cls_plain")


def test_a_search_param_must_set_an_option_of_its_type_and_range():
    grid = PROTOCOLS["grid25"]
    build = METHODS["gan"].build
    bad = Row(grid, Method("bad", "GAN", build, search=(Param("cr_weight", "float", 0.0, 20.0),)))
    with pytest.raises(ValueError, match="row grid25_bad: search parameter 'cr_weight' sets no option of it"):
        bad.search()
    typo = Row(grid, Method("typo", "GAN", build, search=(Param("dlr", "float", 1e-5, 1e-3),)))
    with pytest.raises(ValueError, match="Did you mean 'd_lr'"):
        typo.search()
    wrong_type = Row(grid, Method("t", "GAN", build, search=(Param("d_steps", "float", 1.0, 2.0),)))
    with pytest.raises(ValueError, match="'d_steps' is a float, but option d_steps .* is a int"):
        wrong_type.search()
    out_of_range = Row(grid, Method("r", "GAN", build, search=(Param("d_steps", "int", 0, 5),)))
    with pytest.raises(ValueError, match="option d_steps=0 is not valid: expected a value >= 1"):
        out_of_range.search()
    twice = Row(grid, Method("w", "GAN", build, search=(Param("d_lr", "float", 1e-5, 1e-3),) * 2))
    with pytest.raises(ValueError, match="declared twice"):
        twice.search()


def test_new_options_leave_recorded_settings_unchanged_until_set():
    """gp_weight, r1_weight (every GAN row) and disomap_weight (MaEM) are options added after benchmark runs
    were recorded: at their defaults they are not in a run's settings, so the records stay valid."""
    cfg = RunConfig(recipe="t", steps=10)
    for name, new in (("grid25_gan", ("gp_weight", "r1_weight")), ("fashion_mnist_maem", ("disomap_weight",))):
        row = get_row(name)
        recorded = row.settings(cfg)["options"]
        assert not set(new) & set(recorded), name
        assert set(recorded) == {o.name for o in row.options} - set(new) - {"gp_weight", "r1_weight"}
    row = get_row("grid25_gan")
    set_cfg = RunConfig(recipe="t", steps=10, extra={"r1_weight": "2.5"})
    assert row.settings(set_cfg)["options"]["r1_weight"] == 2.5
    assert row.build(set_cfg).r1_weight == 2.5


def test_a_trials_values_reach_the_rows_model_and_its_kgan_train_command_builds_the_same_model():
    hm = tuning.GANHyperModel("grid25_maem", steps=40, steps_per_epoch=20, batch_size=64, seed=3,
                              fixed={"spectral_norm": "true"})
    assert hm.params == ["d_lr", "g_lr", "d_steps", "sigma", "dlle_weight", "disomap_weight"]
    hp = kt.HyperParameters()
    hp.values.update({"d_lr": 3e-4, "d_steps": 2, "sigma": 0.01, "dlle_weight": 0.5, "disomap_weight": 2.5})
    model = hm.build(hp)
    assert type(model).__name__ == "MaEMGAN"
    assert np.isclose(float(model.d_optimizer.learning_rate.numpy()), 3e-4)
    assert np.isclose(float(model.g_optimizer.learning_rate.numpy()), 1e-3)  # not in the trial: the row's
    assert np.isclose(float(model.d_optimizer.beta_1), 0.5)  # the protocol's Adam
    assert model.d_steps == 2
    config = model.get_config()
    assert config["entropy"]["config"]["sigma"] == 0.01
    assert config["entropy"]["config"]["warmup_steps"] == 4  # the row's warm-up fraction of the trial's steps
    assert config["dlle"]["config"]["weight"] == 0.5 and config["disomap"]["config"]["weight"] == 2.5
    assert any(isinstance(layer, keras.layers.SpectralNormalization)
               for layer in model.discriminator.layers)  # the fixed option
    # the trial's command: `kgan train` builds the same model (same config, same initial weights)
    command = hm.command(hp.values)
    assert command.startswith("kgan train grid25_maem --steps 40 --steps-per-epoch 20 --batch-size 64 --seed 3")
    words = command.split()
    sets = parse_set([words[i + 1] for i, w in enumerate(words) if w == "--set"])
    assert sets == {"d_lr": 0.0003, "d_steps": 2, "sigma": 0.01, "dlle_weight": 0.5, "disomap_weight": 2.5,
                    "spectral_norm": True}
    again = get_row("grid25_maem").build(RunConfig(recipe="grid25_maem", steps=40, steps_per_epoch=20,
                                                   batch_size=64, seed=3, extra=sets))
    assert again.get_config() == config
    for key in ("d_optimizer", "g_optimizer"):  # the same Adam but for its automatic name
        a, b = (dict(m.get_compile_config()[key]["config"]) for m in (again, model))
        assert {**a, "name": None} == {**b, "name": None}
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # and it trains with the trial's values: the protocol's data in batches of d_steps * batch
    data = hm.target.data(hm.options(hp), 64, labels=False, seed=0)
    spe = hm.compile_kwargs["steps_per_execution"]  # the row's, dividing steps_per_epoch
    assert spe == 10
    model.fit(data, epochs=1, steps_per_epoch=spe, verbose=0)
    assert int(model.step_counter.numpy()) == spe and int(model.d_optimizer.iterations.numpy()) == 2 * spe


def test_bad_targets_params_and_fixed_values_are_named():
    with pytest.raises(ValueError, match="'nope' is not a row, a method or a recipe"):
        tuning.get_target("nope")
    with pytest.raises(ValueError, match="--dataset 'grid25': method 'acgan' has no row on it"):
        tuning.get_target("acgan", "grid25")
    with pytest.raises(ValueError, match="--dataset 'ring8' is for a method name; the row grid25_gan"):
        tuning.get_target("grid25_gan", "ring8")
    assert tuning.get_target("maem", "ring8").name == "ring8_maem"
    assert tuning.get_target("acgan").name == "fashion_mnist_acgan"
    with pytest.raises(ValueError, match="--params: 'sigma' is not an option of grid25_gan"):
        tuning.GANHyperModel("grid25_gan", params=["d_lr", "sigma"])
    with pytest.raises(ValueError, match="'init' is an option, but not one of its search parameters"):
        tuning.GANHyperModel("grid25_gan", params=["init"])
    with pytest.raises(ValueError, match="unknown option 'dlr'. Did you mean 'd_lr'"):
        tuning.GANHyperModel("grid25_gan", fixed={"dlr": 1e-3})
    with pytest.raises(ValueError, match=r"kgan tune grid25_gan: option d_lr=-1(\.0)? is not valid: expected a value > 0"):
        tuning.GANHyperModel("grid25_gan", fixed={"d_lr": -1})
    with pytest.raises(ValueError, match="both name 'd_lr'"):
        tuning.GANHyperModel("grid25_gan", params=["d_lr"], fixed={"d_lr": 1e-4})


_RECIPE = '''"""A tiny 2D recipe file for the tests."""
import keras

import kgan
from kgan.experiments.options import Option, Param

DATASET = "grid25"
DEFAULTS = dict(steps=10, steps_per_epoch=10, batch_size=32)
OPTIONS = (Option("lr", float, 1e-3, "Adam learning rate of G and D", low=0.0, low_open=True),
           Option("d_steps", int, 1, "D steps per G step", low=1))
{search}


def build(cfg):
    gan = kgan.models.GAN(kgan.nets.mlp_generator(latent_dim=8, hidden=(8,)),
                          kgan.nets.mlp_discriminator(hidden=(8,)), ema_decay=None, seed=cfg.seed)
    lr = cfg.extra["lr"]
    gan.compile(d_optimizer=keras.optimizers.Adam(lr), g_optimizer=keras.optimizers.Adam(lr),
                d_steps=cfg.extra["d_steps"], **cfg.compile_kwargs)
    return gan


def main(cfg):
    return cfg.finish(build(cfg))
'''


def test_a_recipe_file_is_searched_over_its_own_options(tmp_path):
    def recipe(name, search):
        path = tmp_path / f"{name}.py"
        path.write_text(_RECIPE.format(search=search))
        return str(path)

    own = recipe("tiny_own", 'SEARCH = (Param("lr", "float", 1e-4, 1e-2, log=True),)')
    hm = tuning.GANHyperModel(own, steps=10)
    assert hm.params == ["lr"] and hm.batch_size == 32 and hm.dataset == "grid25"
    hp = kt.HyperParameters()
    hp.values["lr"] = 5e-3
    model = hm.build(hp)
    assert np.isclose(float(model.d_optimizer.learning_rate.numpy()), 5e-3)
    assert hm.command(hp.values) == (f"kgan train {own} --steps 10 --steps-per-epoch 10 --batch-size 32 "
                                     "--seed 0 --set lr=0.005")
    # without SEARCH: the search parameters of the table's method of its model class (GAN) it has options for
    assert tuning.GANHyperModel(recipe("tiny_table", ""), steps=10).params == ["d_steps"]
    with pytest.raises(ValueError, match="recipe tiny_bad: search parameter 'momentum' sets no option of it"):
        tuning.get_target(recipe("tiny_bad", 'SEARCH = (Param("momentum", "float", 0.0, 1.0),)'))


def test_param_validation_and_declaration():
    with pytest.raises(ValueError, match="kind='floaty' is not valid"):
        Param("x", "floaty")
    with pytest.raises(ValueError, match="low <= high"):
        Param("x", "float", 1.0, 0.0)
    with pytest.raises(ValueError, match="log sampling needs low > 0"):
        Param("x", "float", 0.0, 1.0, log=True)
    hp = kt.HyperParameters()
    assert Param("lr", "float", 1e-5, 1e-3, log=True).declare(hp, default=1e-4) == pytest.approx(1e-4)
    assert Param("k", "int", 1, 5).declare(hp, default=9) == 5  # clipped into the range


def test_objectives_and_tuners():
    assert tuning.objective("fid").direction == "min"
    assert tuning.objective("modes_hq").direction == "max"
    with pytest.raises(ValueError, match="Unknown objective"):
        tuning.objective("sharpness")
    assert tuning.objective("sharpness", "max").direction == "max"
    assert tuning.default_objective("grid25") == "modes_hq"
    assert tuning.default_objective("stacked_digits") == "modes"
    assert tuning.default_objective("fashion_mnist") == "fid"
    hm = tuning.GANHyperModel("gan", "grid25", steps=10)
    with pytest.raises(ValueError, match="tuner.*'grid'"):
        tuning.make_tuner(hm, "grid")


def _tb_hparams_trials(tb_root):
    """Trial ids whose TensorBoard run holds an HParams plugin summary."""
    found = set()
    for path in glob.glob(os.path.join(tb_root, "*", "execution0", "**", "events.out.tfevents.*"),
                          recursive=True):
        trial = os.path.relpath(path, tb_root).split(os.sep)[0]
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    found.add(trial)
    return found


def test_random_search_on_grid25_picks_the_best_trial_and_saves_it(tmp_path):
    """A real search: 4 trials of 30 generator steps on grid25 (batch 128)."""
    logdir = str(tmp_path / "search")
    hm = tuning.GANHyperModel("grid25_gan", steps=30, steps_per_epoch=15, batch_size=128,
                              params=["d_lr", "g_lr", "r1_weight"], fixed={"d_steps": 1})
    tuner = tuning.make_tuner(hm, "random", trials=4, directory=str(tmp_path / "kt"), seed=1)
    result = tuning.search(hm, tuner, logdir)
    rows = result["trials"]
    assert len(rows) == 4 and all(r["score"] is not None for r in rows)
    scores = [r["score"] for r in rows]
    assert result["best_score"] == max(scores)
    assert result["objective"] == "modes_hq"
    assert tuner.oracle.get_best_trials(1)[0].trial_id == result["best_trial"]
    # every trial tried different values, and d_steps stayed fixed
    assert len({r["hparams"]["d_lr"] for r in rows}) == 4
    # the saved model is the best trial's: it loads and re-scores to the same objective
    loaded = keras.saving.load_model(result["best_model_path"])
    again = tuning.final_metrics_2d(loaded, "grid25")
    assert again["modes_hq"] == pytest.approx(result["best_score"], abs=1e-9)
    assert loaded.d_steps == 1
    assert np.isclose(float(loaded.d_optimizer.learning_rate.numpy()), result["best_hparams"]["d_lr"])
    assert np.isclose(loaded.r1_weight, result["best_hparams"]["r1_weight"])
    # every trial names the `kgan train` command of its model
    for r in rows:
        assert r["command"] == hm.command(r["hparams"]) and f"--set d_lr={r['hparams']['d_lr']!r}" in r["command"]
    assert result["best_command"] == rows[0]["command"] and result["target"] == "grid25_gan"
    assert rows[0]["command"] in open(os.path.join(logdir, "trials.md")).read()
    # files and TensorBoard HParams for every trial
    for f in ("best.json", "trials.json", "trials.md"):
        assert os.path.isfile(os.path.join(logdir, f))
    assert json.load(open(os.path.join(logdir, "best.json")))["best_trial"] == result["best_trial"]
    assert not [f for f in os.listdir(logdir) if ".tmp" in f]  # atomic writes left nothing behind
    assert _tb_hparams_trials(os.path.join(logdir, "tensorboard")) == {r["trial_id"] for r in rows}


def test_cli_hyperband_runs_and_bad_input(tmp_path, capsys):
    from kgan.cli import main

    logdir = str(tmp_path / "hb")
    assert main(["tune", "grid25_gan", "--tuner", "hyperband", "--steps", "20", "--steps-per-epoch",
                 "10", "--batch-size", "64", "--params", "d_lr,g_lr", "--logdir", logdir]) == 0
    out = capsys.readouterr().out
    assert "best modes_hq" in out and os.path.isfile(os.path.join(logdir, "best_model.keras"))
    assert main(["tune", "grid25_gan", "--tuner", "grid"]) == 2
    assert "--tuner" in capsys.readouterr().err
    assert "train it again: kgan train grid25_gan --steps 20 --steps-per-epoch 10 --batch-size 64" in out
    assert main(["tune", "no_such_thing"]) == 2
    assert "'no_such_thing' is not a row, a method or a recipe" in capsys.readouterr().err
    assert main(["tune", "gan", "--trials", "0"]) == 2
    assert "trials" in capsys.readouterr().err
    assert main(["tune", "grid25_gan", "--set", "nope=1"]) == 2
    assert "unknown option 'nope'" in capsys.readouterr().err
    assert main(["tune", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "gp_weight (float) [0, 10]" in listed and "rows: ring8_maem, grid25_maem" in listed


def test_search_with_an_evaluate_objective_on_images(tmp_path):
    """The objective comes from kgan.callbacks.Evaluate's logs (FD in the digits domain classifier's
    space, per channel), minimised; 2 trials of 2 steps of the row stacked_digits_gan (8x8x3 DCGAN, width 4)."""
    hm = tuning.GANHyperModel("stacked_digits_gan", steps=2, batch_size=32, objective="fid",
                              params=["d_lr", "g_lr"], fixed={"width": 4},
                              evaluate_kwargs={"n_samples": 300, "n_real": 300})
    tuner = tuning.make_tuner(hm, "random", trials=2, directory=str(tmp_path / "kt"))
    result = tuning.search(hm, tuner, str(tmp_path / "out"), save_best=False)
    assert result["objective"] == "fid" and result["direction"] == "min"
    scores = [r["score"] for r in result["trials"]]
    assert len(scores) == 2 and result["best_score"] == min(scores) > 0
    assert all("fid" in r["metrics"] for r in result["trials"])
    assert "--set width=4" in result["best_command"]
