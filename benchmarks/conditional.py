"""Conditional GAN benchmark (issue 4): ACGAN vs ProjGAN vs ReACGAN on Fashion-MNIST.

The three recipes fashion_mnist_acgan / _projgan / _reacgan share networks
(class-conditional DCGAN G with cBN, SN-DCGAN D), optimiser, batch, steps and
seeds; only the discriminator head and the conditional loss differ. For every
(model, seed) run it records, on class-balanced samples of the final generator:

* Fréchet distance in the Fashion-MNIST domain classifier's feature space
  (kgan.metrics.DomainClassifier; NOT an Inception FID), precision / recall
  (k=3) and density / coverage (k=5) against the 10,000 test images;
* class-consistency accuracy (the domain classifier's accuracy on samples
  generated for each class);
* per-class diversity: recall, coverage and Fréchet distance computed within
  each class (samples generated for class c vs the test images of class c),
  averaged over the 10 classes (intra-class FD is the "intra-FID" of the
  cGAN literature, in the domain classifier's space);
* process-CPU seconds per training step (single-threaded TF, median over epochs
  after the first);
* the classifier-gradient norms ACGAN and ReACGAN log (``d_cond_grad_norm``:
  gradient of the conditional loss w.r.t. D's head weights; ``d_cond_feat_grad_norm``:
  per-sample gradient reaching the pooled features), averaged over windows of
  ``--window`` steps, for the paper's gradient-explosion claim.

Each run is a separate ``kgan train`` process (``--jobs`` at a time, one TF
thread each). The default is the full protocol; ``--reduced`` is the smaller
one that fitted this session's CPU budget, and everything it writes says so.

    python benchmarks/conditional.py                    # CPU protocol: 3k steps, width 32, 3 seeds, 10k samples
    python benchmarks/conditional.py --protocol long    # 10k steps, width 64 (GPU-scale)
    python benchmarks/conditional.py --reduced          # 1k steps, no EMA (a smoke-scale look)

Writes docs/conditional_benchmark[_long|_reduced].md, docs/conditional_grad_norms[...].png
and a sample grid per model (docs/conditional_<model>[...].png; one row per class).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
MODELS = ["acgan", "projgan", "reacgan"]
NAMES = {"acgan": "ACGAN", "projgan": "ProjGAN", "reacgan": "ReACGAN"}
CLASSES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
# The default: what a 2-core CPU runs in about an hour (9 runs, two at a time, ~7 min each).
CPU = dict(steps=3_000, seeds=[0, 1, 2], width=32, eval_samples=10_000, window=100, ema=True)
# A GPU-scale run (width 64, 10k steps: about 3 CPU-hours per run on the 2-core machine).
LONG = dict(steps=10_000, seeds=[0, 1, 2], width=64, eval_samples=10_000, window=100, ema=True)
# A smoke-scale look (session 1): width 32, 1,000 steps, 5,000 samples, no generator EMA.
REDUCED = dict(steps=1_000, seeds=[0, 1, 2], width=32, eval_samples=5_000, window=50, ema=False)
PROTOCOLS = {"cpu": CPU, "long": LONG, "reduced": REDUCED}


def mean_sd(values):
    values = [float(v) for v in values]
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values, digits=3):
    m, s = mean_sd(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


REUSED = []  # runs whose report.json came from an earlier invocation


def run_all(jobs_spec, jobs, threads):
    """Run ``(model, seed, cmd, logdir)`` as processes, ``jobs`` at a time; {(model, seed): report}."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS=str(threads), PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    queue, running, results, t0 = list(jobs_spec), [], {}, time.time()
    while queue or running:
        while queue and len(running) < jobs:
            model, seed, cmd, logdir = queue.pop(0)
            report = os.path.join(logdir, "report.json")
            if os.path.exists(report) and os.path.exists(os.path.join(logdir, "samples.npz")):
                with open(report) as f:  # resume: a finished run is not repeated
                    results[(model, seed)] = json.load(f)
                REUSED.append(logdir)
                continue
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            running.append((model, seed, logdir, proc))
            print(f"[{time.time() - t0:6.0f}s] start {model} seed {seed}", flush=True)
        time.sleep(2)
        for item in list(running):
            model, seed, logdir, proc = item
            if proc.poll() is None:
                continue
            running.remove(item)
            err = proc.stderr.read()
            if proc.returncode != 0:
                print(f"[{time.time() - t0:6.0f}s] {model} seed {seed} FAILED:\n{err[-3000:]}", flush=True)
                continue
            with open(os.path.join(logdir, "report.json")) as f:
                results[(model, seed)] = json.load(f)
            print(f"[{time.time() - t0:6.0f}s] done {model} seed {seed}", flush=True)
    return results


def per_class_metrics(samples_path, classifier, real_feats, real_y):
    """Mean over classes of within-class recall, coverage and Fréchet distance."""
    from kgan.metrics import frechet_distance, prdc

    data = np.load(samples_path)
    x = data["x"].astype(np.float32) / 127.5 - 1.0
    y = data["y"]
    feats, probs = classifier.features_and_probs(x)
    out = {"recall": [], "coverage": [], "precision": [], "fd": [], "acc": []}
    for c in range(10):
        f, r = feats[y == c], real_feats[real_y == c]
        m = prdc(r, f)
        out["recall"].append(m["recall"])
        out["coverage"].append(m["coverage"])
        out["precision"].append(m["precision"])
        out["fd"].append(frechet_distance(r, f))
        out["acc"].append(float(np.mean(np.argmax(probs[y == c], axis=1) == c)))
    return {k: float(np.mean(v)) for k, v in out.items()}, {k: v for k, v in out.items()}


def grid_png(samples_path, path, title):
    from kgan.callbacks.core import save_samples_png

    data = np.load(samples_path)
    x, y = data["x"], data["y"]
    rows = [x[y == c][:10] for c in range(10)]
    images = np.concatenate(rows).astype(np.float32) / 127.5 - 1.0
    save_samples_png(images, path, title=title)


def windows(history, key, window, steps_per_epoch):
    """Per-epoch values are means over ``steps_per_epoch`` steps; regroup into windows of ``window``."""
    vals = history.get(key, [])
    k = max(1, window // steps_per_epoch)
    return [float(np.mean(vals[i:i + k])) for i in range(0, len(vals), k)]


def grad_norm_plot(curves, window, path, label):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kgan.utils import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    for ax, key, title in zip(axes, ("d_cond_grad_norm", "d_cond_feat_grad_norm"),
                              ("||dL_cond / dW_head||", "mean_i ||dL_i / dh_i||")):
        for model, color in (("acgan", "tab:red"), ("reacgan", "tab:blue")):
            runs = curves[model][key]
            n = min(len(r) for r in runs)
            arr = np.array([r[:n] for r in runs])
            steps = (np.arange(n) + 1) * window
            ax.plot(steps, arr.mean(0), color=color, label=NAMES[model])
            ax.fill_between(steps, arr.min(0), arr.max(0), color=color, alpha=0.2)
        ax.set_yscale("log")
        ax.set_xlabel("generator step")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(f"Classifier-gradient norms, Fashion-MNIST ({label}; mean and min-max over seeds)", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="cpu",
                        help="cpu (default; 3k steps, width 32), long (10k, width 64) or reduced (1k, no EMA)")
    parser.add_argument("--reduced", action="store_true", help="same as --protocol reduced")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--threads", type=int, default=1, help="TF threads per run")
    parser.add_argument("--logroot", default=os.path.join(ROOT, "tensorboard_logs", "bench_conditional"))
    args = parser.parse_args(argv)
    name = "reduced" if args.reduced else args.protocol
    proto = PROTOCOLS[name]
    tag = "" if name == "cpu" else f"_{name}"
    label = {"cpu": "CPU protocol", "long": "long protocol", "reduced": "REDUCED protocol"}[name]
    cmd_line = "python benchmarks/conditional.py" + ("" if name == "cpu" else f" --protocol {name}")
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()

    spec = []
    for seed in proto["seeds"]:
        for model in MODELS:
            logdir = os.path.join(args.logroot + tag, f"{model}_s{seed}")
            cmd = [sys.executable, "-m", "kgan.cli", "train", f"fashion_mnist_{model}", "--seed", str(seed),
                   "--steps", str(proto["steps"]), "--steps-per-epoch", str(proto["window"]),
                   "--logdir", logdir, "--no-backup", "--no-samples",
                   "--set", f"width={proto['width']}", "--set", f"eval_samples={proto['eval_samples']}",
                   "--set", "save_samples=true"]
            if not proto["ema"]:
                cmd += ["--set", "ema_decay=none"]
            spec.append((model, seed, cmd, logdir))
    results = run_all(spec, args.jobs, args.threads)
    missing = [(m, s) for m, s, _, _ in spec if (m, s) not in results]
    if missing:
        print(f"Runs failed: {missing}; the table covers the others.", flush=True)

    import kgan
    from kgan.metrics.features import DomainClassifier

    classifier = DomainClassifier.for_dataset("fashion_mnist", verbose=0)
    real_x, real_y = kgan.data.load_arrays("fashion_mnist", "test")
    real_feats, _ = classifier.features_and_probs(real_x)
    rows, per_class, curves = {}, {}, {m: {"d_cond_grad_norm": [], "d_cond_feat_grad_norm": []} for m in MODELS}
    for model in MODELS:
        for seed in proto["seeds"]:
            if (model, seed) not in results:
                continue
            rep = results[(model, seed)]
            logdir = os.path.join(args.logroot + tag, f"{model}_s{seed}")
            pc_mean, pc_all = per_class_metrics(os.path.join(logdir, "samples.npz"), classifier, real_feats, real_y)
            rows.setdefault(model, []).append({
                "fd": rep["fid"], "class_acc": rep["class_acc"], "precision": rep["precision"],
                "recall": rep["recall"], "density": rep["density"], "coverage": rep["coverage"],
                "pc_recall": pc_mean["recall"], "pc_coverage": pc_mean["coverage"], "pc_fd": pc_mean["fd"],
                "step_cpu": rep["step_seconds_cpu"]})
            per_class.setdefault(model, []).append(pc_all)
            for key in curves.get(model, {}):
                if key in rep["history"]:
                    curves[model][key].append(windows(rep["history"], key, proto["window"], proto["window"]))
            if seed == proto["seeds"][0]:
                grid_png(os.path.join(logdir, "samples.npz"), os.path.join(ROOT, "docs", f"conditional_{model}{tag}.png"),
                         f"{NAMES[model]}, seed {seed}, {proto['steps']} steps ({label}); row = class")
    have_curves = all(curves[m]["d_cond_grad_norm"] for m in ("acgan", "reacgan"))
    if have_curves:
        grad_norm_plot(curves, proto["window"], os.path.join(ROOT, "docs", f"conditional_grad_norms{tag}.png"), label)

    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_min = (usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime) / 60
    lines = [f"# Conditional GANs on Fashion-MNIST: ACGAN vs ProjGAN vs ReACGAN ({label})", ""]
    lines += [
        f"**{label[0].upper() + label[1:]}:** width {proto['width']} (DCGAN channel multiplier), "
        f"{proto['steps']:,} generator steps, batch 64, "
        + ("generator EMA 0.999 from step 1000 (samples from the EMA generator), " if proto["ema"] else
           "no generator EMA, ")
        + f"{proto['eval_samples']:,} class-balanced samples per run, seeds {proto['seeds']}. "
        "A CPU-sized protocol: the models are not converged (StudioGAN trains 100k+ steps on a GPU), so "
        "read the numbers as the comparison at equal, short training, not as final quality.", ""]
    lines += [
        f"Command: `{cmd_line}` (wrote this file; {cpu_min:.1f} CPU-minutes of runs in this invocation, "
        f"{(time.time() - t0) / 60:.1f} min wall"
        + (f"; {len(REUSED)} runs were finished by an earlier invocation and reused, their "
           f"{sum(r.get('wall_seconds', 0) for r in results.values()) / 60:.0f} wall minutes are not in these figures"
           if REUSED else "") + ").", "",
        "Same networks (class-conditional DCGAN G with conditional BN; SN-DCGAN D, global sum pooling), "
        "hinge loss, Adam(2e-4, 0.5, 0.999), batch 64, one D step per G step, same seeds; only D's head and "
        "the conditional loss differ (ACGAN: classifier + CE, cond_lambda 1; ProjGAN: projection; "
        "ReACGAN: hypersphere embedding + D2D-CE, exact variant, cond_lambda 0.5, m_p 0.98, T 0.5). "
        f"Metrics are in the feature space of {classifier.label}: the Fréchet distance (FD) is NOT an "
        "Inception FID and is comparable only with numbers measured with the same classifier. "
        "Mean ± sd over seeds.", "",
        "| model | FD ↓ | class-consistency acc ↑ | precision ↑ | recall ↑ | density | coverage ↑ | "
        "per-class recall ↑ | per-class coverage ↑ | intra-class FD ↓ | CPU s / step |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for model in MODELS:
        r = rows.get(model)
        if not r:
            lines.append(f"| {NAMES[model]} | failed |" + " |" * 9)
            continue
        col = lambda k, d=3: fmt([x[k] for x in r], d)  # noqa: E731
        lines.append(f"| {NAMES[model]} ({len(r)} seeds) | {col('fd', 1)} | {col('class_acc')} | {col('precision')} | "
                     f"{col('recall')} | {col('density')} | {col('coverage')} | {col('pc_recall')} | "
                     f"{col('pc_coverage')} | {col('pc_fd', 1)} | {col('step_cpu', 3)} |")
    lines += ["", "Per-class coverage (mean over seeds):", "",
              "| model | " + " | ".join(CLASSES) + " |", "|---" * (len(CLASSES) + 1) + "|"]
    for model in MODELS:
        if model in per_class:
            cov = np.mean([pc["coverage"] for pc in per_class[model]], axis=0)
            lines.append(f"| {NAMES[model]} | " + " | ".join(f"{v:.2f}" for v in cov) + " |")
    if have_curves:
        lines += ["", f"## Classifier-gradient norms (windows of {proto['window']} steps)", "",
                  f"![gradient norms](conditional_grad_norms{tag}.png)", "",
                  "`d_cond_grad_norm`: L2 norm of the gradient of the unweighted conditional loss (ACGAN: CE; "
                  "ReACGAN: D2D-CE) w.r.t. the discriminator head's weights, on real batches. "
                  "`d_cond_feat_grad_norm`: mean over samples of the per-sample gradient w.r.t. the pooled "
                  "features h (what flows back into D's body). The paper reports ACGAN's exploding early in "
                  "training on many-class data (Tiny-ImageNet, 200 classes) and ReACGAN's staying bounded.", "",
                  "| model | quantity | first window | max over first 500 steps | last window | max / first |",
                  "|---|---|---|---|---|---|"]
        early = max(1, 500 // proto["window"])
        for model in ("acgan", "reacgan"):
            for key in ("d_cond_grad_norm", "d_cond_feat_grad_norm"):
                runs = curves[model][key]
                first = [c[0] for c in runs]
                peak = [max(c[:early]) for c in runs]
                last = [c[-1] for c in runs]
                ratio = [max(c) / c[0] for c in runs]
                lines.append(f"| {NAMES[model]} | {key} | {fmt(first)} | {fmt(peak)} | {fmt(last)} | {fmt(ratio, 2)} |")
    lines += ["", "## Samples (seed 0; one row per class, top to bottom: " + ", ".join(CLASSES) + ")", ""]
    for model in MODELS:
        lines.append(f"{NAMES[model]}: ![{NAMES[model]}](conditional_{model}{tag}.png)")
        lines.append("")
    raw = {NAMES[m]: rows.get(m, []) for m in MODELS}
    lines += ["<details><summary>raw per-seed values</summary>", "", "```json", json.dumps(raw, indent=1), "```",
              "</details>", ""]
    from kgan.utils import atomic_path

    out = os.path.join(ROOT, "docs", f"conditional_benchmark{tag}.md")
    with atomic_path(out) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    print("\n".join(lines[:40]))
    print(f"\nwrote {out}\nreproduce: {cmd_line}")


if __name__ == "__main__":
    main()
