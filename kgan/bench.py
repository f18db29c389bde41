"""``kgan bench``: every method on the protocols that run offline, written to docs/results.md.

    kgan bench                       # the full protocols (hours on a CPU)
    kgan bench --reduced             # fewer steps and seeds (documented as reduced)
    kgan bench --quick               # a smoke run (seconds per method), for tests
    kgan bench --protocols grid25,ring8 --methods gan,maem,mdgan --seeds 5
    kgan bench --collect tensorboard_logs/bench_mixing ...   # train nothing: a page from finished runs

``--collect`` is how the repository's docs/results.md is made (``python
benchmarks/run_all.py`` runs the benchmark scripts, whose protocols are sized per
dataset, and then collects their ``kgan train`` reports); the other modes train
every registered method in this process on the protocols below.

Protocols (``../shared/benchmarks.md``):

* ``grid25`` / ``ring8``: the VEEGAN 2D protocol (section A): each method's
  grid25/ring8 recipe (VEEGAN MLPs, Adam beta1 0.5, lr D 1e-4 / G 1e-3, batch
  512), 25k generator steps, 2,500 samples: modes captured, % high quality
  (within 3 sigma), reverse KL; mean and spread over 5 seeds; published rows
  (VEEGAN Table 1, GDPP) beside them.
* ``stacked``: stacked sklearn digits, 1000 modes (section B; MNIST cannot be
  downloaded here): DCGAN-size networks, 20k steps, 26,000 samples classified
  per channel by kgan's domain classifier: modes covered and KL to uniform.
  The published stacked-MNIST rows are shown for orientation only (other data).
* ``fashion_mnist``: DCGAN 28 px, 10k steps, Fréchet distance in the
  Fashion-MNIST domain classifier's feature space (not an Inception FID; the
  Lucic et al. Inception FIDs are listed as such), precision/recall (k=3), and
  class-consistency accuracy for conditional methods.

Unconditional methods run on every protocol; class-conditional ones
(ACGAN, ProjGAN, ReACGAN) on Fashion-MNIST only. Each run prints progress;
results are saved after every run to ``<results dir>/bench.json`` (``--resume``
skips finished runs), then the page and its PNG plots are written atomically.
"""
import argparse
import dataclasses
import json
import math
import os
import sys
import time

from kgan.utils import atomic_path, check_positive_int

TWO_D = ("grid25", "ring8")


@dataclasses.dataclass
class Protocol:
    name: str
    dataset: str
    steps: int
    batch_size: int
    seeds: int
    n_eval: int
    metrics: tuple
    steps_per_epoch: int = 1000
    conditional_ok: bool = False
    title: str = ""


FULL = {
    "grid25": Protocol("grid25", "grid25", 25_000, 512, 5, 2500, ("modes", "hq", "reverse_kl"),
                       title="25 Gaussians (grid), VEEGAN protocol"),
    "ring8": Protocol("ring8", "ring8", 25_000, 512, 5, 2500, ("modes", "hq", "reverse_kl"),
                      title="8 Gaussians (ring), VEEGAN protocol"),
    "stacked": Protocol("stacked", "stacked_digits", 20_000, 64, 3, 26_000, ("modes", "kl"),
                        title="Stacked digits (1000 modes)"),
    "fashion_mnist": Protocol("fashion_mnist", "fashion_mnist", 10_000, 64, 3, 10_000,
                              ("fid", "precision", "recall"), steps_per_epoch=500,
                              conditional_ok=True, title="Fashion-MNIST (28 px)"),
}
#: --reduced: (steps, seeds, samples) per protocol; sized for a shared 2-core CPU (minutes, not hours)
REDUCED = {"grid25": (1000, 1, 2500), "ring8": (1000, 1, 2500), "stacked": (300, 1, 5000),
           "fashion_mnist": (30, 1, 1000)}
QUICK = {"grid25": (4, 1, 500), "ring8": (4, 1, 500), "stacked": (2, 1, 500),
         "fashion_mnist": (2, 1, 500)}

#: Published rows (benchmarks.md): {protocol: (header note, [(model, {metric: value})])}
ANCHORS = {
    "grid25": ("VEEGAN Table 1 (WGAN-GP, GDPP rows from the GDPP paper); same protocol", [
        ("GAN", {"modes": 3.3, "hq": 0.5}), ("ALI", {"modes": 15.8, "hq": 1.6}),
        ("Unrolled GAN", {"modes": 23.6, "hq": 16}), ("VEEGAN", {"modes": 24.6, "hq": 40}),
        ("WGAN-GP", {"modes": 24.2, "hq": 28.7}), ("GDPP-GAN", {"modes": 24.8, "hq": 68.5})]),
    "ring8": ("VEEGAN Table 1 (WGAN-GP, GDPP rows from the GDPP paper); same protocol", [
        ("GAN", {"modes": 1, "hq": 99.3}), ("ALI", {"modes": 2.8, "hq": 0.13}),
        ("Unrolled GAN", {"modes": 7.6, "hq": 35.6}), ("VEEGAN", {"modes": 8, "hq": 52.9}),
        ("WGAN-GP", {"modes": 6.8, "hq": 59.6}), ("GDPP-GAN", {"modes": 8.0, "hq": 71.7})]),
    "stacked": ("stacked MNIST (other data: orientation only)", [
        ("DCGAN (VEEGAN setting)", {"modes": 99, "kl": 3.40}), ("VEEGAN", {"modes": 150, "kl": 2.95}),
        ("PacDCGAN2", {"modes": 1000, "kl": 0.06}), ("Reg-GAN (GDPP setting)", {"modes": 955, "kl": 0.925}),
        ("WGAN-GP (GDPP setting)", {"modes": 995, "kl": 0.148}), ("GDPP", {"modes": 1000, "kl": 0.135})]),
    "fashion_mnist": ("Lucic et al. 2018, Inception FID (a different feature space: not comparable "
                      "with the domain-classifier FD above)", [
        ("NS GAN", {"fid": 26.5}), ("WGAN", {"fid": 21.5}), ("WGAN-GP", {"fid": 24.5}),
        ("BEGAN", {"fid": 22.9})]),
}

METRIC_LABELS = {"modes": "modes", "hq": "% HQ", "reverse_kl": "reverse KL", "kl": "KL",
                 "fid": "FD (domain)", "precision": "precision", "recall": "recall",
                 "class_acc": "class acc."}


def protocols_for(preset, names):
    out = {}
    for name in names:
        if name not in FULL:
            raise ValueError(f"Unknown protocol {name!r}; expected some of {list(FULL)}.")
        p = dataclasses.replace(FULL[name])
        if preset in ("reduced", "quick"):
            p.steps, p.seeds, p.n_eval = (REDUCED if preset == "reduced" else QUICK)[name]
            p.steps_per_epoch = min(p.steps_per_epoch, p.steps)
        out[name] = p
    return out


def methods_for(protocol, methods):
    from kgan.tuning import get_method

    out = []
    for m in methods:
        spec = get_method(m)
        if spec.conditional and not protocol.conditional_ok:
            continue
        out.append(m)
    return out


class Progress:
    """Prints ``[run i/n] protocol method seed: step s/S (x steps/s, ETA)`` lines."""

    def __init__(self, every_seconds=30.0, stream=None):
        self.every = every_seconds
        self.stream = stream or sys.stdout

    def callback(self, label, total_steps):
        import keras

        progress = self

        class _CB(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.t0 = self.last = time.time()

            def on_epoch_end(self, epoch, logs=None):
                now = time.time()
                if now - self.last < progress.every and epoch + 1 < self.params.get("epochs", 0):
                    return
                self.last = now
                step = int(self.model.step_counter.numpy())
                rate = step / max(now - self.t0, 1e-9)
                eta = (total_steps - step) / max(rate, 1e-9)
                progress.say(f"{label}: step {step}/{total_steps} ({rate:.1f} steps/s, ETA {eta:.0f} s)")

        return _CB()

    def say(self, text):
        print(text, file=self.stream, flush=True)


def run_one(protocol, method, seed, compile_kwargs, progress, label, keep_samples=500):
    """Train ``method`` on ``protocol`` with ``seed``; returns the result row."""
    import keras
    import numpy as np

    import kgan.data
    from kgan.callbacks import StopOnNonFinite
    from kgan.metrics.suite import Evaluator, balanced_labels
    from kgan.tuning import build_model

    keras.backend.clear_session()
    t_build = time.time()
    model = build_model(method, protocol.dataset, seed=seed, compile_kwargs=compile_kwargs)
    data = kgan.data.load(protocol.dataset, batch_size=protocol.batch_size * model.d_steps,
                          labels=model.num_classes is not None, seed=seed)
    spe = min(protocol.steps_per_epoch, protocol.steps)
    epochs = int(math.ceil(protocol.steps / spe))
    row = {"protocol": protocol.name, "method": method, "seed": seed, "steps": protocol.steps,
           "model": type(model).__name__}
    t0 = time.time()
    try:
        model.fit(data, epochs=epochs, steps_per_epoch=spe, shuffle=False, verbose=0,
                  callbacks=[StopOnNonFinite(), progress.callback(label, protocol.steps)])
        row["status"] = "ok"
    except Exception as e:  # a diverged run is a result, not a crash of the whole page
        from kgan.callbacks import NonFiniteLossError

        if not isinstance(e, NonFiniteLossError):
            raise
        row["status"] = f"diverged: {str(e).splitlines()[0][:120]}"
    row["train_seconds"] = time.time() - t0
    row["build_seconds"] = t0 - t_build
    row["steps_done"] = int(model.step_counter.numpy())
    metrics = list(protocol.metrics)
    labels = None
    if model.num_classes is not None:
        metrics.append("class_acc")
        labels = balanced_labels(protocol.n_eval, model.num_classes)
    t1 = time.time()
    samples = model.generate(protocol.n_eval, labels=labels, seed=seed)
    if row["status"] == "ok" and np.all(np.isfinite(samples)):
        ev = Evaluator(metrics, protocol.dataset, n_real=min(10_000, max(protocol.n_eval, 2000)), seed=seed)
        row["metrics"] = ev.evaluate(samples, labels=labels)
        row["feature_space"] = ev.label
    else:
        row["metrics"] = {}
        if row["status"] == "ok":
            row["status"] = "non-finite samples"
    row["eval_seconds"] = time.time() - t1
    row.update(pack_samples(samples, keep_samples))
    return row


def pack_samples(samples, keep=500):
    """A few samples for the page's plots, small enough for the run store: 2D points
    rounded to 3 decimals; 16 images as base64 uint8 (``[-1, 1]`` -> 0..255)."""
    import base64

    import numpy as np

    samples = np.asarray(samples)
    if samples.ndim == 2:
        return {"samples": np.round(samples[:keep], 3).tolist()}
    u8 = np.clip(np.round((samples[:16] + 1.0) * 127.5), 0, 255).astype("uint8")
    return {"samples_u8": base64.b64encode(u8.tobytes()).decode("ascii"), "samples_shape": list(u8.shape)}


def unpack_samples(row):
    """Inverse of :func:`pack_samples` (images back in ``[-1, 1]``)."""
    import base64

    import numpy as np

    if "samples_u8" in row:
        u8 = np.frombuffer(base64.b64decode(row["samples_u8"]), dtype="uint8").reshape(row["samples_shape"])
        return u8.astype("float32") / 127.5 - 1.0
    return np.asarray(row.get("samples", []), dtype="float32")


# ------------------------------------------------------------------ the page
def _mean_std(values):
    import numpy as np

    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return None, None
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else None  # sample std, as the benchmark pages


def _fmt(metric, mean, std):
    if mean is None:
        return "–"
    scale = 100.0 if metric == "hq" else 1.0
    digits = 0 if metric == "modes" and float(mean).is_integer() and std is None else (
        1 if metric in ("modes", "hq", "fid") else 3)
    text = f"{mean * scale:.{digits}f}"
    if std is not None:
        text += f" ± {std * scale:.{digits}f}"
    return text


def summarise(rows, protocol):
    """``{method: {metric: (mean, std), "sec_per_1k": ..., "n": seeds, "diverged": k}}``."""
    out = {}
    for r in rows:
        if r["protocol"] != protocol.name:
            continue
        d = out.setdefault(r["method"], {"rows": []})
        d["rows"].append(r)
    for method, d in out.items():
        rs = d.pop("rows")
        metrics = list(protocol.metrics) + (["class_acc"] if any("class_acc" in r["metrics"] for r in rs) else [])
        for m in metrics:
            d[m] = _mean_std([r["metrics"].get(m) for r in rs])
        d["sec_per_1k"] = _mean_std([1000 * r["train_seconds"] / max(r["steps_done"], 1) for r in rs
                                     if r.get("train_seconds") is not None])
        d["n"] = len(rs)
        d["diverged"] = sum(r["status"] != "ok" for r in rs)
        d["steps"] = rs[0]["steps"]
        d["source"] = rs[0].get("source", "")
        d["feature_space"] = next((r.get("feature_space") for r in rs if r.get("feature_space")), "")
    return out


def table_markdown(protocol, summary, sec_label="s / 1k steps"):
    metrics = list(protocol.metrics) + (["class_acc"] if any(
        v.get("class_acc", (None,))[0] is not None for v in summary.values()) else [])
    head = ["model", *[METRIC_LABELS.get(m, m) for m in metrics], sec_label, "seeds", "source"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, d in summary.items():
        cells = [f"kgan {method}"] + [_fmt(m, *d.get(m, (None, None))) for m in metrics]
        sec = d["sec_per_1k"]
        cells += [_fmt("sec", *sec) if sec[0] is not None else "–",
                  f"{d['n']}" + (f" ({d['diverged']} diverged)" if d["diverged"] else ""),
                  (f"{d['source']}, {d['steps']} steps" if d.get("source") else f"measured, {d['steps']} steps")]
        lines.append("| " + " | ".join(cells) + " |")
    note, anchors = ANCHORS.get(protocol.name, ("", []))
    for model, vals in anchors:
        cells = [model] + [(f"{vals[m]:g}" if m in vals else "–") for m in metrics] + ["–", "–", "published"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), note


def _plot_2d(rows, protocol, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from kgan.data import mode_means

    first = {}
    for r in rows:
        if r["protocol"] == protocol.name and r["method"] not in first:
            first[r["method"]] = r
    n = len(first)
    if not n:
        return False
    cols = min(4, n)
    nrows = int(math.ceil(n / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(3 * cols, 3 * nrows), dpi=90, squeeze=False)
    means, _ = mode_means(protocol.dataset)
    lim = np.abs(means).max() * 1.5
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (method, r) in zip(axes.ravel(), first.items()):
        pts = unpack_samples(r)
        ax.axis("on")
        if len(pts):
            ax.scatter(pts[:, 0], pts[:, 1], s=1, alpha=0.4)
        ax.scatter(means[:, 0], means[:, 1], s=20, c="red", marker="x")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        m = r["metrics"]
        ax.set_title(f"{method}: {m.get('modes', float('nan')):.0f} modes, "
                     f"{100 * m.get('hq', float('nan')):.0f}% HQ", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    r0 = next(iter(first.values()))
    fig.suptitle(f"{protocol.title}: seed {r0['seed']}, {r0.get('steps', protocol.steps)} steps", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return True


def _plot_images(rows, protocol, path):
    import numpy as np

    from kgan.callbacks.core import image_grid

    tiles = []
    for method in dict.fromkeys(r["method"] for r in rows if r["protocol"] == protocol.name):
        r = next(r for r in rows if r["protocol"] == protocol.name and r["method"] == method)
        x = unpack_samples(r)[:16]
        if x.ndim != 4 or not len(x):
            continue
        g = image_grid(x, ncols=16)
        if g.ndim == 2:
            g = np.repeat(g[..., None], 3, axis=-1)
        tiles.append((method, g))
    if not tiles:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(tiles), 1, figsize=(8, 0.75 * len(tiles) + 0.6), dpi=100, squeeze=False)
    for ax, (method, g) in zip(axes[:, 0], tiles):
        ax.imshow(g, interpolation="nearest")
        ax.set_ylabel(method, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{protocol.title}: 16 samples per method", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return True


def _plot_bars(summary, protocol, metric, path):
    if not summary:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    means = [(summary[n].get(metric) or (None, None))[0] for n in names]
    if all(m is None for m in means):
        return False
    stds = [(summary[n].get(metric) or (None, None))[1] or 0.0 for n in names]
    scale = 100.0 if metric == "hq" else 1.0
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(names), 3), dpi=90)
    ax.bar(names, [scale * (m or 0.0) for m in means], yerr=[scale * s for s in stds], color="#4477aa")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"{protocol.title}: {METRIC_LABELS.get(metric, metric)}", fontsize=9)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return True


def write_page(rows, protocols, out_path, preset, command, machine_note=""):
    """Write the results page (markdown + PNGs next to it in ``<stem>/``)."""
    out_dir = os.path.dirname(os.path.abspath(out_path))
    stem = os.path.splitext(os.path.basename(out_path))[0]
    img_dir = os.path.join(out_dir, stem)
    os.makedirs(img_dir, exist_ok=True)
    lines = ["# kgan results: every method on the offline protocols", ""]
    if preset == "collected":
        lines += [f"Produced by `{command}`: every finished run (`report.json`) of the benchmark scripts, "
                  "collected into one page. Steps, seeds and the benchmark that ran them are given per row "
                  "(source column); mean ± sample std over seeds. Regenerate with the same command.", ""]
    else:
        lines += [f"Produced by `{command}`"
                  + (" (the full protocols)." if preset == "full" else f" (`--{preset}`: " + _reduced_note(protocols) + ")."),
                  "Regenerate with the same command; the full protocols are `kgan bench` without flags.", ""]
    if machine_note:
        lines += [machine_note, ""]
    for p in protocols.values():
        summary = summarise(rows, p)
        if not summary:
            continue
        if preset == "collected":
            table, note = table_markdown(p, summary, sec_label="CPU s / 1k steps")
            lines += [f"## {p.title}", "", f"Dataset `{p.dataset}`; generator steps per row; mean ± sample std over seeds."]
        else:
            table, note = table_markdown(p, summary)
            lines += [f"## {p.title}", "",
                      f"Dataset `{p.dataset}`, {p.steps} generator steps, batch {p.batch_size}, "
                      f"{p.n_eval} samples evaluated, seeds 0..{p.seeds - 1}; mean ± sample std over seeds."]
        fs = next((d["feature_space"] for d in summary.values() if d.get("feature_space")), "")
        if fs:
            lines += [f"Feature space: {fs}."]
        lines += ["", table, ""]
        if note:
            lines += [f"Published rows: {note}.", ""]
        if p.dataset in TWO_D:
            if _plot_2d(rows, p, os.path.join(img_dir, f"{p.name}_samples.png")):
                lines += [f"![{p.name} samples]({stem}/{p.name}_samples.png)", ""]
            for metric in ("modes", "hq"):
                if _plot_bars(summary, p, metric, os.path.join(img_dir, f"{p.name}_{metric}.png")):
                    lines += [f"![{p.name} {metric}]({stem}/{p.name}_{metric}.png)"]
            lines.append("")
        else:
            if _plot_images(rows, p, os.path.join(img_dir, f"{p.name}_samples.png")):
                lines += [f"![{p.name} samples]({stem}/{p.name}_samples.png)", ""]
            metric = p.metrics[0]
            if _plot_bars(summary, p, metric, os.path.join(img_dir, f"{p.name}_{metric}.png")):
                lines += [f"![{p.name} {metric}]({stem}/{p.name}_{metric}.png)", ""]
    with atomic_path(out_path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines).rstrip() + "\n")
    return out_path


def _reduced_note(protocols):
    parts = [f"{p.name}: {p.steps} steps, {p.seeds} seed(s), {p.n_eval} samples" for p in protocols.values()]
    return "REDUCED, not the published protocols: " + "; ".join(parts)


# ------------------------------------------------------------------ command line
def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="kgan bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smoke run: a few steps per method")
    mode.add_argument("--reduced", action="store_true", help="fewer steps and one seed (labelled reduced)")
    mode.add_argument("--collect", nargs="+", metavar="ROOT", default=None,
                      help="train nothing: build the page from the finished runs (report.json) under these "
                           "benchmark roots, e.g. tensorboard_logs/bench_mixing (see benchmarks/run_all.py)")
    parser.add_argument("--protocols", default=",".join(FULL), help=f"comma-separated: {', '.join(FULL)}")
    parser.add_argument("--methods", default=None, help="comma-separated method names (default: all available)")
    parser.add_argument("--seeds", type=int, default=None, help="override the number of seeds")
    parser.add_argument("--steps", type=int, default=None, help="override the generator steps of every protocol")
    parser.add_argument("--out", default=None,
                        help="results page (default docs/results.md; --quick: bench_quick/results.md)")
    parser.add_argument("--resume", action="store_true", help="skip runs already in <out dir>/bench.json")
    parser.add_argument("--steps-per-execution", type=int, default=None,
                        help="steps per tf.function call (default 50 on 2D sets, 1 on images)")
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--progress-seconds", type=float, default=30.0)
    parser.add_argument("--note", default="", help="a line about the machine, printed on the page")
    args = parser.parse_args(argv)
    if args.collect:
        import shlex

        out = args.out or os.path.join("docs", "results.md")
        command = "kgan bench" + "".join(f" {shlex.quote(a)}" for a in argv)
        from kgan.bench_collect import collect_page

        rows = collect_page(args.collect, out, command, args.note)
        print(f"wrote {out} from {len(rows)} finished runs under {len(args.collect)} root(s)", flush=True)
        return 0
    preset = "quick" if args.quick else "reduced" if args.reduced else "full"
    names = [n.strip() for n in args.protocols.split(",") if n.strip()]
    protocols = protocols_for(preset, names)
    for p in protocols.values():
        if args.seeds is not None:
            p.seeds = check_positive_int("seeds", args.seeds)
        if args.steps is not None:
            p.steps = check_positive_int("steps", args.steps)
            p.steps_per_epoch = min(p.steps_per_epoch, p.steps)
    from kgan.tuning import available_methods, get_method

    methods = ([m.strip() for m in args.methods.split(",") if m.strip()] if args.methods
               else available_methods())
    for m in methods:
        get_method(m)  # clear error for unknown / missing methods
    out = args.out or (os.path.join("bench_quick", "results.md") if args.quick
                       else os.path.join("docs", "results.md"))
    out_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    store = os.path.join(out_dir, os.path.splitext(os.path.basename(out))[0] + "_runs.json")
    rows = []
    if args.resume and os.path.isfile(store):
        with open(store) as f:
            rows = json.load(f)
    done = {(r["protocol"], r["method"], r["seed"], r["steps"]) for r in rows}
    plan = [(p, m, s) for p in protocols.values() for m in methods_for(p, methods) for s in range(p.seeds)]
    progress = Progress(args.progress_seconds)
    progress.say(f"kgan bench ({preset}): {len(plan)} runs over {list(protocols)}; methods {methods}; "
                 f"results -> {out}")
    t_all = time.time()
    for i, (p, method, seed) in enumerate(plan, 1):
        label = f"[{i}/{len(plan)}] {p.name} {method} seed {seed}"
        if (p.name, method, seed, p.steps) in done:
            progress.say(f"{label}: done earlier, skipped")
            continue
        spe = args.steps_per_execution or (50 if p.dataset in TWO_D else 1)
        spe = max(1, min(spe, p.steps_per_epoch))
        progress.say(f"{label}: {p.steps} steps ...")
        row = run_one(p, method, seed, {"steps_per_execution": spe, "jit_compile": args.jit_compile},
                      progress, label)
        rows.append(row)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in row["metrics"].items())
        progress.say(f"{label}: {row['status']}, {row['train_seconds']:.1f} s training, {shown} "
                     f"(elapsed {time.time() - t_all:.0f} s)")
        with atomic_path(store) as tmp:
            with open(tmp, "w") as f:
                json.dump(rows, f)
    import shlex

    command = "kgan bench" + "".join(f" {shlex.quote(a)}" for a in argv if a not in ("--resume",))
    write_page(rows, protocols, out, preset, command, args.note)
    progress.say(f"wrote {out} ({len(rows)} runs, {time.time() - t_all:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
