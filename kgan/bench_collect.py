"""``kgan bench --collect``: the results page from finished ``kgan train`` runs.

Every ``report.json`` under the given roots (the benchmark scripts' run folders) becomes a
row of :mod:`kgan.bench`'s page: the protocol from the run's dataset, the row label from the
benchmark's own name for the variant, metrics renamed to the page's. ``python
benchmarks/run_all.py`` runs the benchmark scripts and then this.
"""
import dataclasses
import json
import os

from kgan.bench import FULL, TWO_D, pack_samples, write_page
from kgan.utils import atomic_path

#: dataset of a ``kgan train`` report -> protocol name
DATASET_PROTOCOL = {p.dataset: name for name, p in FULL.items()}
#: report keys -> the page's metric names
REPORT_METRICS = {"modes": "modes", "hq_fraction": "hq", "reverse_kl": "reverse_kl", "kl": "kl", "fid": "fid",
                  "fd_domain": "fid", "precision": "precision", "recall": "recall", "class_acc": "class_acc"}


def _report_dataset(rep):
    if rep.get("dataset"):
        return rep["dataset"]
    recipe = rep.get("recipe", "")
    return next((d for d in sorted(DATASET_PROTOCOL, key=len, reverse=True) if recipe.startswith(d + "_")), None)


def _report_method(rep, dataset):
    """The row label of a run: the benchmark's own name for the variant when the report has one
    (mixing ``method``, MaEM ``ablation``, ``model``), else the recipe name without its dataset."""
    ablation = rep.get("ablation")
    if ablation:  # benchmarks/maem.py: "all" is MaEM-GAN, "baseline" its DCGAN without regularisers
        return {"all": "maem", "baseline": "dcgan (maem ablation)"}.get(ablation, f"maem: {ablation} only")
    if rep.get("method"):
        return "gan" if rep["method"] == "baseline" else str(rep["method"])
    if rep.get("model"):
        return str(rep["model"]).lower()
    recipe = rep.get("recipe", "?")
    return recipe[len(dataset) + 1:] if dataset and recipe.startswith(dataset + "_") else recipe


def rows_from_runs(roots, with_samples=True, keep_samples=500):
    """Result rows (the format of :func:`run_one`) from finished ``kgan train`` runs.

    Every ``report.json`` under each root (symlinks followed; a run reached twice counts
    once) whose dataset is one of the protocols' becomes a row; ``source`` is the root's
    name. With ``with_samples`` the first seed of each (protocol, method) is loaded from
    its ``model.keras`` to draw the page's sample plots.
    """
    rows, seen = [], set()
    for root in roots:
        if not os.path.isdir(root):
            raise ValueError(f"collect: {root!r} is not a directory; expected a benchmark run root "
                             "such as tensorboard_logs/bench_mixing.")
        source = os.path.basename(os.path.normpath(root))
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            if "report.json" not in filenames or os.path.realpath(dirpath) in seen:
                continue
            seen.add(os.path.realpath(dirpath))
            with open(os.path.join(dirpath, "report.json")) as f:
                rep = json.load(f)
            dataset = _report_dataset(rep)
            if dataset not in DATASET_PROTOCOL or "steps" not in rep:
                continue
            steps = int(rep["steps"])
            cpu = rep.get("step_seconds_cpu")
            if cpu is None and rep.get("cpu_ms_per_step") is not None:
                cpu = rep["cpu_ms_per_step"] / 1000.0
            rows.append({"protocol": DATASET_PROTOCOL[dataset], "method": _report_method(rep, dataset),
                         "seed": int(rep.get("seed", 0)), "steps": steps, "steps_done": steps,
                         "train_seconds": None if cpu is None else cpu * steps, "status": "ok",
                         "source": source, "run_dir": dirpath,
                         "feature_space": rep.get("fd_label") or (
                             "raw 2D coordinates (mode metrics from the known mixture means)"
                             if dataset in TWO_D else ""),
                         "metrics": {REPORT_METRICS[k]: float(v) for k, v in rep.items()
                                     if k in REPORT_METRICS and isinstance(v, (int, float))}})
    # the same label trained for different step counts is two rows of the table, not one
    by_label = {}
    for r in rows:
        by_label.setdefault((r["protocol"], r["method"]), set()).add(r["steps"])
    for r in rows:
        if len(by_label[(r["protocol"], r["method"])]) > 1:
            r["method"] += f" ({r['steps']} steps)"
    from kgan.tuning import available_methods

    order = ["gan"] + [m for m in available_methods() if m != "gan"]

    def rank(method):  # the registry's order: the baseline first, then the methods, variants next to theirs
        base = method.split(" (")[0].split(":")[0]
        base = "gan" if base == "dcgan" else base
        return (order.index(base) if base in order else len(order), method)

    rows.sort(key=lambda r: (list(FULL).index(r["protocol"]), rank(r["method"]), r["source"], r["seed"]))
    if with_samples:
        _attach_samples(rows, keep_samples)
    return rows


def _attach_samples(rows, keep):
    import keras

    import kgan.layers  # noqa: F401  (registers kgan classes for loading)
    import kgan.models  # noqa: F401

    done = set()
    for r in sorted(rows, key=lambda r: r["seed"]):
        key = (r["protocol"], r["method"])
        path = os.path.join(r["run_dir"], "model.keras")
        if key in done or not os.path.isfile(path):
            continue
        done.add(key)
        keras.backend.clear_session()
        model = keras.saving.load_model(path)
        n = keep if r["protocol"] in TWO_D else 16
        r.update(pack_samples(model.generate(n, seed=r["seed"]), keep))


def collect_page(roots, out, command, note=""):
    """Build the results page from finished runs under ``roots`` (see :func:`rows_from_runs`)."""
    rows = rows_from_runs(roots)
    if not rows:
        raise ValueError(f"collect: no finished runs (report.json) of {sorted(DATASET_PROTOCOL)} under {roots}.")
    names = [n for n in FULL if any(r["protocol"] == n for r in rows)]
    protocols = {n: dataclasses.replace(FULL[n]) for n in names}
    write_page(rows, protocols, out, "collected", command, note)
    store = os.path.join(os.path.dirname(os.path.abspath(out)),
                         os.path.splitext(os.path.basename(out))[0] + "_runs.json")
    with atomic_path(store) as tmp:
        with open(tmp, "w") as f:
            json.dump([{k: v for k, v in r.items() if k != "run_dir"} for r in rows], f)
    return rows
