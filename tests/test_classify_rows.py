"""The classification rows (kgan.experiments.classify): registration, options, data splits, a real run, the suites."""
import json

import numpy as np
import pytest

import kgan.data
from kgan.bench.suites import METRICS, SUITES
from kgan.experiments import classify, get_row, rows
from kgan.run import list_recipes, train

PROTOCOLS = ("fashion_mnist_cls", "fashion_mnist_openset")
MODES = {"plain": "plain", "mixup": "mixup", "adaptivemix": "adaptivemix", "adaptivemix_official": "official"}
NAMES = [f"{p}_{m}" for p in PROTOCOLS for m in MODES]


def test_every_row_is_in_the_table_and_the_recipe_list():
    table, recipes = rows(), list_recipes()
    for name in NAMES:
        assert name in table and name in recipes, name
        row = table[name]
        assert isinstance(row, classify.ClassifierRow)
        assert row.protocol.kind == "classification" and row.protocol.baseline_method == "plain"
        assert row.DEFAULTS["steps"] == 3000 and row.DEFAULTS["batch_size"] == 128
        assert row.DEFAULTS["steps_per_epoch"] == 500
        assert {o.name for o in row.options} == {"lr", "width", "alpha", "shrink_weight", "noise_std",
                                                 "noise_scale", "eval", "eval_n", "precise_bn"}
    assert not any(name.startswith(PROTOCOLS) for name in table if name not in NAMES)


def test_set_is_checked_and_the_help_lists_the_options(capsys):
    row = get_row("fashion_mnist_cls_adaptivemix")
    o = row.resolve({"width": "8", "eval": "false", "noise_scale": "relative"})
    assert o["width"] == 8 and o["eval"] is False and o["noise_scale"] == "relative" and o["lr"] == 1e-3
    with pytest.raises(ValueError, match="unknown option 'widht'.*Did you mean 'width'"):
        row.resolve({"widht": 8})
    with pytest.raises(ValueError, match="lr"):
        row.resolve({"lr": "0"})
    with pytest.raises(ValueError, match="noise_scale"):
        row.resolve({"noise_scale": "rms"})
    with pytest.raises(ValueError, match="unknown option 'd_lr'"):  # a GAN option is not one of these
        train("fashion_mnist_cls_plain", ["--set", "d_lr=1e-3"])
    with pytest.raises(SystemExit):
        train("fashion_mnist_openset_adaptivemix_official", ["--help"])
    out = capsys.readouterr().out
    for key in ("lr", "width", "alpha", "shrink_weight", "noise_std", "noise_scale", "eval", "eval_n"):
        assert f"  {key} (" in out, key
    assert "held_out" in out


def test_openset_split_and_ood_sets():
    p = classify.PROTOCOLS["fashion_mnist_openset"]
    assert p.classes == (0, 1, 2, 3, 4) and p.held_out == (5, 6, 7, 8, 9) and p.num_classes == 5
    _, y_train = p.uint8_split("train")
    assert set(np.unique(y_train)) == set(range(5)) and len(y_train) == 30_000
    x_test, y_test = kgan.data.load_arrays("fashion_mnist", "test")
    x_in, y_in = p.arrays("test")
    np.testing.assert_array_equal(x_in, x_test[y_test < 5])
    np.testing.assert_array_equal(y_in, y_test[y_test < 5])
    sets = p.ood_sets()
    assert list(sets) == ["held_out", "digits", "gaussian", "uniform"]
    assert sets["held_out"].shape == (5000, 28, 28, 1)
    np.testing.assert_array_equal(sets["held_out"], x_test[y_test >= 5])
    # the training stream yields only classes 0-4
    x, y = next(iter(p.data({}, 256, labels=True, seed=0)))
    assert x.shape == (256, 28, 28, 1) and set(np.unique(y.numpy())) <= set(range(5))
    # the full protocol: no held-out set, the whole test split in distribution
    full = classify.PROTOCOLS["fashion_mnist_cls"]
    assert list(full.ood_sets()) == ["digits", "gaussian", "uniform"] and len(full.arrays("test")[0]) == 10_000
    sub, y_sub = full.arrays("test", n=300)
    assert sub.shape == (300, 28, 28, 1) and np.array_equal(sub, full.arrays("test", n=300)[0])  # fixed subset


def test_far_ood_images():
    d = classify.digits_images()
    assert d.shape == (1797, 28, 28, 1) and d.dtype == np.float32
    assert d.min() >= -1.0 and d.max() <= 1.0 and d.min() == -1.0 and d.max() > 0.9
    g, u = classify.noise_images("gaussian", 1797), classify.noise_images("uniform", 1797)
    assert g.shape == u.shape == (1797, 28, 28, 1)
    assert g.min() >= -1 and g.max() <= 1 and 0.46 < g.std() < 0.5  # N(0, 0.5^2) clipped at 2 sigma
    assert abs(np.mean(np.abs(g) == 1) - 0.0455) < 0.003
    assert u.min() >= -1 and u.max() <= 1 and abs(u.std() - 1 / np.sqrt(3)) < 0.01
    np.testing.assert_array_equal(g, classify.noise_images("gaussian", 1797))  # fixed seed


def test_a_row_trains_through_kgan_train(tmp_path, capsys):
    logdir = tmp_path / "run"
    report = train("fashion_mnist_cls_adaptivemix_official",
                   ["--steps", "20", "--batch-size", "32", "--set", "width=4", "--set", "eval_n=500",
                    "--logdir", str(logdir)])
    with open(logdir / "report.json") as f:
        saved = json.load(f)
    assert saved["steps"] == 20 and saved["mode"] == "official" and saved["eval_images"]["in"] == 500
    keys = ["acc"] + [f"{m}_{s}_{d}" for m in ("auroc", "aupr_in", "aupr_out", "fpr95")
                      for s in ("msp", "energy", "feat") for d in ("digits", "gaussian", "uniform")]
    keys += [f"{m}_{s}_mean" for m in ("auroc", "fpr95") for s in ("msp", "energy", "feat")]
    for key in keys:
        assert 0.0 <= saved[key] <= 1.0, key
    assert not any("held_out" in k for k in saved)
    assert saved["settings"]["options"]["width"] == 4 and saved["settings"]["batch_size"] == 32
    assert saved["settings"]["version"].startswith("protocol 1")
    assert report["acc"] == saved["acc"]
    assert (logdir / "model.keras").exists() and (logdir / "samples.png").exists()
    assert not (logdir / "samples").exists()  # no SampleGrid for a classifier
    assert not (logdir / "backup").exists()

    # `kgan eval` on the saved classifier repeats the row's evaluation from the .keras file alone
    from kgan.eval_cli import main as kgan_eval

    capsys.readouterr()
    assert kgan_eval([str(logdir / "model.keras"), "--n", "500", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["protocol"] == "fashion_mnist_cls" and again["mode"] == "official"
    for key in keys:
        assert again[key] == pytest.approx(saved[key], abs=1e-6), key
    assert kgan_eval([str(logdir / "model.keras"), "--n", "500"]) == 0
    table = capsys.readouterr().out
    assert f"accuracy:  {100 * saved['acc']:.2f}%" in table and "uniform" in table
    assert kgan_eval([str(logdir / "model.keras"), "--protocol", "fashion_mnist_openset"]) == 1
    assert "has 5 classes; the model has 10" in capsys.readouterr().err
    assert kgan_eval([str(logdir / "model.keras"), "--n", "500", "--precise-bn", "512", "--json"]) == 0
    precise = json.loads(capsys.readouterr().out)
    assert precise["precise_bn"] == 512 and again["precise_bn"] == 0 and 0.0 <= precise["acc"] <= 1.0
    assert kgan_eval([str(logdir / "model.keras"), "--precise-bn", "-1"]) == 1
    assert "`--precise-bn` must be >= 0" in capsys.readouterr().err


def test_suites_and_metrics():
    for name, protocol in (("adaptivemix_classification", "fashion_mnist_cls"),
                           ("adaptivemix_openset", "fashion_mnist_openset")):
        suite = SUITES[name]
        assert [e.row for e in suite.entries] == [f"{protocol}_{m}" for m in MODES]
        assert suite.seeds == 3 and suite.steps == 3000 and all(m in METRICS for m in suite.metrics)
        base = suite.entries[0]
        assert suite.baseline(base) is None and all(suite.baseline(e) == base for e in suite.entries[1:])
    for key in ("acc", "auroc_msp_digits", "auroc_feat_held_out", "fpr95_energy_uniform", "auroc_msp_mean"):
        assert METRICS[key].key == key
    assert METRICS["fpr95_msp_digits"].better == "min" and METRICS["auroc_msp_digits"].better == "max"
    fashion = SUITES["fashion"]  # the GAN suites still compare with the plain GAN
    assert fashion.baseline(fashion.entries[1]).row == "fashion_mnist_gan"


def test_the_page_of_a_classification_suite():
    from kgan.bench import jobs_for, pages

    suite = SUITES["adaptivemix_openset"]
    by_entry = jobs_for(suite, seeds=2)
    rng = np.random.default_rng(0)
    results = {j.key: {"status": "ok", "report": {m: float(rng.uniform(0.5, 1)) for m in
                                                   [METRICS[k].key for k in suite.metrics]}}
               for js in by_entry.values() for j in js}
    page = pages.suite_page(suite, results, by_entry, "kgan bench adaptivemix_openset", "img")
    assert "AUROC MSP held-out" in page and "test acc %" in page
    assert page.count("(baseline)") == len(suite.metrics)  # one baseline row: the plain classifier
    assert "`fashion_mnist_openset_adaptivemix_official`" in page
    assert "[adaptivemix_classification.md](../adaptivemix_classification.md)" in page
    shown = (suite, results, by_entry, "bench/adaptivemix_openset.md")
    assert "[adaptivemix_classification.md](adaptivemix_classification.md)" in pages.results_page(
        [shown], "kgan bench --all")


def test_the_precise_bn_page_compares_with_the_plain_classifier():
    import importlib.util
    import os

    from kgan.bench import jobs_for

    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "classification_precise_bn.py")
    spec = importlib.util.spec_from_file_location("classification_precise_bn", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    suite = SUITES["adaptivemix_classification"]
    by_entry = jobs_for(suite)
    plain, mixup = suite.entries[0], suite.entries[1]
    rec = lambda acc: {"status": "ok", "report": {"acc": acc}}  # noqa: E731
    trained = {plain: [rec(0.80), rec(0.90), rec(0.85)], mixup: [rec(0.86)]}
    precise = {plain: [rec(0.880), rec(0.881), rec(0.882)], mixup: [rec(0.870), rec(0.871), rec(0.872)]}
    text = script.render([(suite, by_entry, trained, precise, ["x seed 2 (not trained)"])], 20000)
    with_bn, as_trained = text.split("### As trained")
    assert "| `fashion_mnist_cls_plain` | 3/3 | 88.10 ± 0.10" in with_bn
    assert "**-1 [" in with_bn and "worse**" in with_bn  # 87.1 vs 88.1, sd 0.1: a real difference
    assert "| `fashion_mnist_cls_mixup` | 1/3 | 86.00 | +1" in as_trained  # one seed: no interval
    assert "**Missing (1):** x seed 2 (not trained)" in text
    assert script.model_path({"command": "kgan train r --seed 0 --logdir tensorboard_logs/bench/r/h/3000steps/seed0"}
                             ).endswith(os.path.join("tensorboard_logs", "bench", "r", "h", "3000steps", "seed0",
                                                     "model.keras"))
