"""The paper-scale recipe files declare their ``--set`` options (``OPTIONS``), and ``kgan train`` checks them.

Nothing here trains or reads a dataset: the recipes are only loaded, and the CLI stops at the
option check (an unknown key) or at ``--help``.
"""
import ast
import glob
import os
import re

import pytest

from kgan.cli import main
from kgan.experiments.options import Option, check_unique, resolve
from kgan.run import parse_set, load_recipe

RECIPES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "recipes")
RECIPES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(RECIPES_DIR, "*.py"))
                 if not os.path.basename(p).startswith("_"))

# a key read from cfg.extra: cfg.extra.get("key" / x.get("key" / opt("key" / cfg.extra["key"]
READ = re.compile(r"""(?:\.get|\bopt)\(\s*["']([A-Za-z_]\w*)["']|\bextra\[\s*["']([A-Za-z_]\w*)["']\s*\]""")


def _text(name):
    with open(os.path.join(RECIPES_DIR, f"{name}.py"), encoding="utf-8") as f:
        return f.read()


def _keys(text):
    return {a or b for a, b in READ.findall(text)}


def _used_sources(name, seen=None):
    """``{recipe: source text}`` of ``name`` and of the sibling recipes it uses: the functions it
    imports by name (``from cifar10_acgan import main``), or a whole file it loads as a module
    (``load_recipe("cifar10_maem")``, ``".../celeba_mixing.py"``, ``import cifar10_maem``)."""
    seen = {} if seen is None else seen
    if name in seen:
        return seen
    text = _text(name)
    seen[name] = text
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in RECIPES:
            other = ast.parse(_text(node.module))
            wanted = {alias.name for alias in node.names}
            funcs = [ast.get_source_segment(_text(node.module), f) for f in other.body
                     if isinstance(f, ast.FunctionDef) and f.name in wanted]
            seen.setdefault(f"{node.module}:{','.join(sorted(wanted))}", "\n".join(funcs))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in RECIPES:
                    _used_sources(alias.name, seen)
    for other in RECIPES:
        if other != name and (re.search(rf"""load_recipe\(\s*["']{other}["']""", text)
                              or re.search(rf"""["']{other}\.py["']""", text)):
            _used_sources(other, seen)
    return seen


def _literal_defaults(text):
    """``{key: default}`` of the ``.get("key", LITERAL)`` / ``opt("key", LITERAL)`` reads in ``text``."""
    out = {}
    for node in ast.walk(ast.parse(text)):
        if not (isinstance(node, ast.Call) and len(node.args) == 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            continue
        f = node.func
        if (isinstance(f, ast.Attribute) and f.attr == "get") or (isinstance(f, ast.Name) and f.id == "opt"):
            try:
                out.setdefault(node.args[0].value, []).append(ast.literal_eval(node.args[1]))
            except ValueError:  # a variable (e.g. build_paper's code_dim): not a literal default
                pass
    return out


def test_the_recipes_are_found():
    assert len(RECIPES) >= 11
    assert {"cifar10_acgan", "cifar10_reacgan", "lsun_mixing", "tiny_imagenet_reacgan"} <= set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_declares_every_option_it_reads(name):
    module = load_recipe(name)
    assert os.path.abspath(module.__file__) == os.path.join(RECIPES_DIR, f"{name}.py")
    options = getattr(module, "OPTIONS", None)
    assert isinstance(options, tuple) and options, f"{name} has no OPTIONS tuple"
    assert all(isinstance(o, Option) for o in options)
    check_unique(options, name)
    for o in options:  # a default of the option's type, inside its range (Option() checked it too)
        assert o.help and "\n" not in o.help
        if not (o.default is None and o.allow_none):
            assert o.parse(o.default) == o.default
    declared = {o.name for o in options}
    sources = _used_sources(name)
    for where, text in sources.items():
        missing = _keys(text) - declared
        assert not missing, f"{name}: {where} reads undeclared option(s) {sorted(missing)}"
    # the declared default is the one the recipe's own code falls back to
    by_name = {o.name: o for o in options}
    for key, defaults in _literal_defaults(sources[name]).items():
        for default in defaults:
            assert by_name[key].default == default, (name, key, by_name[key].default, default)
    values = resolve(options, {})
    assert set(values) == declared


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_docstring_has_no_hand_written_options_list(name):
    doc = load_recipe(name).__doc__ or ""
    assert not re.search(r"^\s*Options:", doc, re.M), f"{name}: the --help lists the options now"


def test_imported_options_are_reused_with_the_importers_defaults():
    acgan, reacgan = load_recipe("cifar10_acgan"), load_recipe("cifar10_reacgan")
    assert set(load_recipe("cifar10_projgan").OPTIONS) < set(acgan.OPTIONS)
    cond = {name: {o.name: o for o in load_recipe(name).OPTIONS}["cond_lambda"].default
            for name in ("cifar10_acgan", "cifar10_reacgan")}
    assert cond == {"cifar10_acgan": 1.0, "cifar10_reacgan": 0.5}
    assert "classify_fakes" not in {o.name for o in reacgan.OPTIONS}
    maem = {name: {o.name: o.default for o in load_recipe(name).OPTIONS}
            for name in ("cifar10_maem", "celeba_maem", "animeface_maem")}
    assert [maem[n]["code_dim"] for n in ("cifar10_maem", "celeba_maem", "animeface_maem")] == [16, 32, 32]
    assert [maem[n]["sigma"] for n in ("cifar10_maem", "celeba_maem", "animeface_maem")] == [5e-4, 5e-2, 5e-4]
    assert [maem[n]["lam"] for n in ("cifar10_maem", "celeba_maem", "animeface_maem")] == [0.0, 0.0, 5.0]
    lsun = {o.name for o in load_recipe("lsun_mixing").OPTIONS}
    assert lsun == {o.name for o in load_recipe("celeba_mixing").OPTIONS} | {"category"}


def test_set_values_are_typed():
    options = load_recipe("cifar10_reacgan").OPTIONS
    given = parse_set(["diffaugment=false", "d_steps=3", "lr=1e-3", "data_dir=null"])  # as `kgan train` reads --set
    values = resolve(options, given)
    assert values["diffaugment"] is False and values["d_steps"] == 3 and values["lr"] == 1e-3
    assert values["data_dir"] is None and values["temperature"] == 0.5
    with pytest.raises(ValueError, match="variant"):
        resolve(options, {"variant": "approx"})
    with pytest.raises(ValueError, match="temperature"):
        resolve(options, {"temperature": "0"})


def test_cli_refuses_an_unknown_option_before_writing_anything(tmp_path, capsys):
    logdir = tmp_path / "x"
    code = main(["train", "cifar10_reacgan", "--set", "tempurature=0.3", "--logdir", str(logdir)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown option 'tempurature'. Did you mean 'temperature'?" in err
    assert not logdir.exists()


def test_cli_refuses_a_bad_value_before_writing_anything(tmp_path, capsys):
    logdir = tmp_path / "y"
    code = main(["train", "cifar10_maem", "--set", "ablation=everything", "--logdir", str(logdir)])
    err = capsys.readouterr().err
    assert code == 2 and "ablation" in err and "everything" in err
    assert not logdir.exists()


@pytest.mark.parametrize("name", RECIPES)
def test_cli_help_lists_the_options(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Options (--set KEY=VALUE):" in out
    for o in load_recipe(name).OPTIONS:
        assert f"{o.name} ({o.type.__name__}, default {o.default!r}" in out


def test_cli_help_of_cifar10_reacgan(capsys):
    with pytest.raises(SystemExit):
        main(["train", "cifar10_reacgan", "--help"])
    assert "temperature (float, default 0.5" in capsys.readouterr().out


def test_tiny_imagenet_recipe_passes_its_d2dce_settings_to_the_model():
    from kgan.run import RunConfig
    recipe = load_recipe("tiny_imagenet_reacgan")
    cfg = RunConfig(recipe="t", extra={"width": 1, "embed_dim": 8, "margin_pos": 0.9, "temperature": 0.25})
    config = recipe.build(cfg, num_classes=3).get_config()
    assert (config["margin_pos"], config["temperature"]) == (0.9, 0.25)


def test_cifar10_conditional_recipes_build_their_own_model_and_head():
    from kgan.run import RunConfig
    built = {}
    for name in ("cifar10_acgan", "cifar10_projgan", "cifar10_reacgan"):
        cfg = RunConfig(recipe=name, extra={"width": 1, "embed_dim": 7, "margin_pos": 0.9, "cond_lambda": 0.25,
                                            "lr": 1e-3, "d_steps": 2})
        built[name] = load_recipe(name).build(cfg)
    assert [type(g).__name__ for g in built.values()] == ["ACGAN", "ProjGAN", "ReACGAN"]
    for gan in built.values():
        assert gan.d_steps == 2 and float(gan.d_optimizer.learning_rate) == pytest.approx(1e-3)
    assert built["cifar10_acgan"].get_config()["cond_lambda"] == 0.25
    reac = built["cifar10_reacgan"].get_config()
    assert (reac["margin_pos"], reac["cond_lambda"]) == (0.9, 0.25)
    # D's hypersphere embedding has the recipe's embed_dim (7: no other layer has that width)
    assert any(w.shape[-1] == 7 for w in built["cifar10_reacgan"].discriminator.weights)
    assert not any(w.shape[-1] == 7 for w in built["cifar10_projgan"].discriminator.weights)
