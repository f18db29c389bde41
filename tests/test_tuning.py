"""kgan.tuning: the method registry, hyperparameter application, a real keras-tuner
search on grid25 (4 trials, tiny step counts), the `kgan tune` CLI and bad input."""
import glob
import json
import os

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import tuning
from kgan.tuning import Param, MethodSpec


def test_registry_lists_the_base_gan_and_every_method():
    from kgan.run import list_recipes

    recipes = list_recipes()
    avail = tuning.available_methods()
    assert "gan" in avail
    for name in avail:
        spec = tuning.get_method(name)
        assert spec.model_class().__name__ == spec.model
        names = [p.name for p in spec.params]
        assert {"d_lr", "g_lr", "d_steps"} <= set(names), name
        for dataset, entry in spec.recipes.items():  # every recipe a method names exists
            recipe = entry[0] if isinstance(entry, tuple) else entry
            assert recipe in recipes, (name, dataset, recipe)
    # a method's base model on a dataset is the experiment table's row
    for name in ("gan", "mixup", "maem", "mdgan"):
        assert f"grid25_{name}" in recipes and f"fashion_mnist_{name}" in recipes
    with pytest.raises(ValueError, match="Unknown method 'nope'"):
        tuning.get_method("nope")


def test_apply_values_sets_learning_rates_d_steps_penalties_and_init_args():
    spec = MethodSpec("gan_ema", "GAN", params=tuning.GAN_PARAMS + (
        Param("ema_decay", "float", 0.9, 0.999, target="init"),))
    model = tuning.build_model(spec, "grid25", values={
        "d_lr": 3e-4, "g_lr": 2e-3, "d_steps": 3, "gp_weight": 2.5, "r1_weight": 0.0, "ema_decay": 0.95})
    assert type(model) is kgan.models.GAN
    assert np.isclose(float(model.d_optimizer.learning_rate.numpy()), 3e-4)
    assert np.isclose(float(model.g_optimizer.learning_rate.numpy()), 2e-3)
    assert model.d_steps == 3 and model.gp_weight == 2.5 and model.ema_decay == 0.95
    # beta_1 / epsilon of the recipe's Adam survive the change of learning rate
    assert np.isclose(float(model.d_optimizer.beta_1), 0.5)
    # the model trains with the values applied (data batched with d_steps * batch)
    data = kgan.data.load("grid25", batch_size=3 * 64)
    hist = model.fit(data, epochs=1, steps_per_epoch=2, verbose=0)
    assert "d_gp" in hist.history and int(model.d_optimizer.iterations.numpy()) == 6


def test_apply_values_rejects_unknown_parameters_and_keys():
    with pytest.raises(ValueError, match="no tunable parameter"):
        tuning.build_model("gan", "grid25", values={"lr": 1e-3})
    bad = MethodSpec("bad", "GAN", params=(Param("not_a_key", "float", 0.0, 1.0, target="compile"),))
    with pytest.raises(ValueError, match="get_compile_config.*no .not_a_key"):
        tuning.build_model(bad, "grid25", values={"not_a_key": 0.5})
    bad_init = MethodSpec("bad2", "GAN", params=(Param("nope", "float", 0.0, 1.0, target="init"),))
    with pytest.raises(ValueError, match="get_config.*no .nope"):
        tuning.build_model(bad_init, "grid25", values={"nope": 0.5})


def test_param_validation_and_declaration():
    with pytest.raises(ValueError, match="target"):
        Param("x", target="optimizer")
    with pytest.raises(ValueError, match="low <= high"):
        Param("x", "float", 1.0, 0.0)
    with pytest.raises(ValueError, match="log sampling needs low > 0"):
        Param("x", "float", 0.0, 1.0, log=True)
    hp = kt.HyperParameters()
    assert Param("lr", "float", 1e-5, 1e-3, log=True).declare(hp, default=1e-4) == pytest.approx(1e-4)
    assert Param("k", "int", 1, 5).declare(hp, default=9) == 5  # clipped into the range
    with pytest.raises(ValueError, match="already registered"):
        tuning.register_method(MethodSpec("gan", "GAN"))
    with pytest.raises(ValueError, match="kgan.models has no class 'NoSuchGAN'"):
        tuning.register_method(MethodSpec("nosuch", "NoSuchGAN"))
    assert "nosuch" not in tuning.METHODS


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
    with pytest.raises(ValueError, match="no tunable parameter"):
        tuning.GANHyperModel("gan", "grid25", params=["d_lr", "momentum"])


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
    hm = tuning.GANHyperModel("gan", "grid25", steps=30, steps_per_epoch=15, batch_size=128,
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
    assert main(["tune", "no_such_thing"]) == 2
    assert "Unknown method 'no_such_thing'" in capsys.readouterr().err
    assert main(["tune", "gan", "--trials", "0"]) == 2
    assert "trials" in capsys.readouterr().err
    assert main(["tune", "--list"]) == 0
    assert "gp_weight" in capsys.readouterr().out


def test_search_with_an_evaluate_objective_on_images(tmp_path):
    """The objective comes from kgan.callbacks.Evaluate's logs (FD in the digits domain
    classifier's space), minimised; 2 trials of 2 steps on sklearn digits (8x8 DCGAN)."""
    from kgan.tuning import MethodSpec

    spec = MethodSpec("gan_digits", "GAN", params=tuning.COMMON_PARAMS[:2])
    hm = tuning.GANHyperModel(spec, "digits", steps=2, batch_size=32, objective="fid",
                              evaluate_kwargs={"n_samples": 300, "n_real": 300})
    tuner = tuning.make_tuner(hm, "random", trials=2, directory=str(tmp_path / "kt"))
    result = tuning.search(hm, tuner, str(tmp_path / "out"), save_best=False)
    assert result["objective"] == "fid" and result["direction"] == "min"
    scores = [r["score"] for r in result["trials"]]
    assert len(scores) == 2 and result["best_score"] == min(scores) > 0
    assert all("fid" in r["metrics"] for r in result["trials"])
