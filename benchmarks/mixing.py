"""Sample-mixing benchmarks (issue 5): Fashion-MNIST convergence and the VEEGAN 2D protocol.

Part ``fashion``: fashion_mnist_mixing with method = baseline, mixup, cutmix, srmix,
adaptivemix; same networks, steps and seeds; the Fréchet distance in the Fashion-MNIST
domain classifier's feature space every ``--eval-every`` steps (the mixing study's claim
is faster convergence), step time (process CPU seconds per step, single-threaded TF) and
a sample grid per method (seed 0).

Part ``veegan``: grid25_* and ring8_* recipes (gan baseline, mixup, cutmix, srmix,
adaptivemix) with the VEEGAN protocol, modes captured and % high-quality samples next to
the published rows of benchmarks.md A; a scatter plot per recipe (seed 0).

Every run is a separate ``kgan train`` process (``--jobs`` at a time, one TF thread each).
The defaults are the protocol the docs report (Fashion-MNIST CPU-sized: 2k steps at
width 32; 2D: the published 25k iterations x 5 seeds); ``--reduced`` runs a smoke-scale
one (labelled as such in the output).

    python benchmarks/mixing.py                      # both parts
    python benchmarks/mixing.py --part fashion       # Fashion-MNIST only (2k steps, 3 seeds)
    python benchmarks/mixing.py --reduced            # smoke scale

Writes docs/mixing_fashion[_reduced].md and docs/mixing_veegan[_reduced].md plus PNGs in docs/.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
FASHION_METHODS = ["baseline", "mixup", "cutmix", "srmix", "adaptivemix"]
TOY_METHODS = ["gan", "mixup", "cutmix", "srmix", "adaptivemix"]
PUBLISHED = [  # VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper (benchmarks.md A)
    ("GAN", 1, 99.3, 3.3, 0.5), ("ALI", 2.8, 0.13, 15.8, 1.6), ("Unrolled GAN", 7.6, 35.6, 23.6, 16),
    ("VEEGAN", 8, 52.9, 24.6, 40), ("WGAN-GP", 6.8, 59.6, 24.2, 28.7), ("GDPP-GAN", 8.0, 71.7, 24.8, 68.5),
]
# Fashion-MNIST is CPU-sized (15 runs of ~5 CPU-minutes; a GPU-scale run is 10k steps at width 64);
# the 2D part is the VEEGAN protocol as published.
FULL = dict(fashion_steps=2_000, fashion_seeds=3, eval_every=500, eval_samples=5_000, width=32,
            toy_steps=25_000, toy_seeds=5, toy_methods=TOY_METHODS)
# What fitted this session's CPU budget (~25 CPU-minutes for the whole issue on a shared 2-core machine).
REDUCED = dict(fashion_steps=600, fashion_seeds=3, eval_every=150, eval_samples=2_000, width=16,
               toy_steps=2_000, toy_seeds=2, toy_methods=["gan", "mixup", "srmix", "adaptivemix"])


REUSED = []  # runs whose report.json came from an earlier invocation


def mean_sd(values):
    """Mean and sample sd of the finite values (a run with no sample near any mode has an
    undefined reverse KL, reported as nan); nan when none is finite."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def run_all(jobs_spec, jobs, threads):
    """Run ``(key, recipe, seed, steps, sets, logdir)`` jobs as kgan processes; return {key: [report]}."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS=str(threads), PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    queue, running, results, t0 = list(jobs_spec), [], {}, time.time()
    while queue or running:
        while queue and len(running) < jobs:
            key, recipe, seed, steps, sets, logdir = queue.pop(0)
            report = os.path.join(logdir, "report.json")
            if os.path.exists(report):  # resume: a finished run is not repeated
                with open(report) as f:
                    results.setdefault(key, []).append(json.load(f))
                REUSED.append(logdir)
                continue
            cmd = [sys.executable, "-m", "kgan.cli", "train", recipe, "--seed", str(seed), "--steps", str(steps),
                   "--logdir", logdir, "--no-backup", "--no-samples"]
            for s in sets:
                cmd += ["--set", s]
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            running.append((key, seed, logdir, proc, time.time()))
        time.sleep(2)
        for item in list(running):
            key, seed, logdir, proc, start = item
            if proc.poll() is None:
                continue
            running.remove(item)
            err = proc.stderr.read()
            if proc.returncode != 0:
                print(f"[{time.time() - t0:6.0f}s] {key} seed {seed} FAILED:\n{err[-3000:]}", flush=True)
                continue
            with open(os.path.join(logdir, "report.json")) as f:
                rep = json.load(f)
            results.setdefault(key, []).append(rep)
            print(f"[{time.time() - t0:6.0f}s] {key} seed {seed} done in {time.time() - start:.0f}s: "
                  f"{ {k: rep[k] for k in ('fd_domain', 'modes', 'hq_fraction', 'step_seconds_cpu') if k in rep} }",
                  flush=True)
    return results


def sample_png(logdir, path, dataset=None, n=64):
    """Load ``logdir/model.keras`` and write a sample grid / scatter plot."""
    import keras

    import kgan.layers  # noqa: F401  (registers kgan classes for loading)
    import kgan.models  # noqa: F401  (registers kgan models)
    from kgan.callbacks.core import save_samples_png

    model = keras.saving.load_model(os.path.join(logdir, "model.keras"))
    save_samples_png(model.generate(n, seed=0), path, dataset=dataset, title=os.path.basename(path)[:-4])


def fashion(args, p):
    root = os.path.join(args.root, "fashion")
    jobs = [(m, "fashion_mnist_mixing", s, p["fashion_steps"],
             [f"method={m}", f"eval_every={p['eval_every']}", f"eval_samples={p['eval_samples']}",
              f"width={p['width']}"], os.path.join(root, m, f"seed{s}"))
            for s in range(p["fashion_seeds"]) for m in args.methods]
    res = run_all(jobs, args.jobs, args.threads)
    if not res:
        return []
    curves = {m: [r["fd_domain_curve"] for r in reps] for m, reps in res.items()}
    steps = [s for s, _ in next(iter(curves.values()))[0]]
    base_cpu = mean_sd(r["step_seconds_cpu"] for r in res.get("baseline", [])) if "baseline" in res else None
    lines = ["### Fashion-MNIST: baseline vs Mixup / CutMix / SRMix / AdaptiveMix", "",
             f"Protocol{' (REDUCED)' if args.reduced else ''}: recipe fashion_mnist_mixing, DCGAN 28x28 "
             f"(width {p['width']}), non-saturating loss, Adam(2e-4, 0.5), batch 64, {p['fashion_steps']} steps, "
             f"seeds 0..{p['fashion_seeds'] - 1}; MixGAN mix_prob 0.5, lambda ~ U(0, 1), SRMix sigma 0.1; "
             "AdaptiveMix variant paper, weight 1, noise 0.05. Fréchet distance (FD) in the kgan Fashion-MNIST "
             f"domain classifier's 128-d feature space, {p['eval_samples']} EMA-generator samples vs 10,000 test "
             "images (NOT an Inception FID; lower is better); mean ± sd over seeds. Step time: process CPU "
             "seconds per generator step with single-threaded TF (median over epochs after the first), "
             "and its ratio to the baseline.", "",
             f"Feature space: {res[next(iter(res))][0].get('fd_label', '?')}", "",
             "| method | " + " | ".join(f"FD @ {s}" for s in steps) + " | CPU ms/step | × baseline |",
             "|---|" + "---|" * (len(steps) + 2)]
    for m in args.methods:
        if m not in res:
            continue
        cells = []
        for i in range(len(steps)):
            mu, sd = mean_sd(c[i][1] for c in curves[m] if len(c) > i)
            cells.append(f"{mu:.2f} ± {sd:.2f}")
        cpu, _ = mean_sd(r["step_seconds_cpu"] for r in res[m])
        ratio = f"{cpu / base_cpu[0]:.2f}" if base_cpu else "–"
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {1000 * cpu:.0f} | {ratio} |")
    lines += ["", "Per-seed final FD: " + "; ".join(
        f"{m} {[round(r['fd_domain'], 2) for r in res[m]]}" for m in args.methods if m in res), ""]
    try:  # FD curves and sample grids
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        for m in args.methods:
            if m in curves:
                mus = [mean_sd(c[i][1] for c in curves[m])[0] for i in range(len(steps))]
                ax.plot(steps, mus, marker="o", label=m)
        ax.set_xlabel("generator step")
        ax.set_ylabel("FD (domain classifier)")
        ax.set_yscale("log")
        ax.legend()
        ax.set_title("Fashion-MNIST, mean over seeds" + (" (reduced)" if args.reduced else ""))
        fig.savefig(os.path.join(args.docs, f"mixing_fashion{args.tag}_fd.png"), bbox_inches="tight")
        plt.close(fig)
        lines.append(f"![FD curves](mixing_fashion{args.tag}_fd.png)")
        lines.append("")
        for m in args.methods:
            if m in res:
                sample_png(os.path.join(root, m, "seed0"), os.path.join(args.docs, f"mixing_fashion{args.tag}_{m}.png"))
        lines.append("Samples (seed 0, EMA generator, fixed noise): " + " ".join(
            f"{m}: ![{m}](mixing_fashion{args.tag}_{m}.png)" for m in args.methods if m in res))
        lines.append("")
    except Exception as e:  # plots are a bonus; the table is the result
        print(f"plotting failed: {str(e)[:300]}", flush=True)
    return lines


def veegan(args, p):
    root = os.path.join(args.root, "veegan")
    recipes = [f"{d}_{m}" for d in ("ring8", "grid25") for m in args.toy_methods]
    jobs = [(r, r, s, p["toy_steps"], [], os.path.join(root, r, f"seed{s}"))
            for s in range(p["toy_seeds"]) for r in recipes]
    res = run_all(jobs, args.jobs, args.threads)
    if not res:
        return []
    lines = ["### grid25 and ring8, VEEGAN protocol", "",
             f"Protocol{' (REDUCED: ' + str(p['toy_steps']) + ' iterations instead of 25,000, ' + str(p['toy_seeds']) + ' seeds instead of 5)' if args.reduced else ''}: "
             "benchmarks.md A (G z256 -> FC128 tanh x2 -> 2, D 2 -> FC128 tanh x2 -> 1, Adam beta1 0.5, lr D 1e-4 "
             f"G 1e-3, batch 512), {p['toy_steps']} iterations, 2,500 samples, seeds 0..{p['toy_seeds'] - 1}; "
             "mean ± sd (per-seed values in brackets). Mixing: mix_prob 0.5, lambda ~ U(0, 1); on 2D points "
             "CutMix/SRMix regions are coordinates (SRMix sigma 0.25); AdaptiveMix variant paper.", "",
             "| kgan recipe | modes | % high quality | reverse KL | wall s/run (shared machine) |", "|---|---|---|---|---|"]
    for r in recipes:
        if r not in res:
            continue
        reps = res[r]
        modes = [x["modes"] for x in reps]
        hq = [100 * x["hq_fraction"] for x in reps]
        (mm, ms), (hm, hs) = mean_sd(modes), mean_sd(hq)
        kls = [x["reverse_kl"] for x in reps]
        kl = mean_sd(kls)[0]
        n_fin = sum(v is not None and math.isfinite(v) for v in kls)
        kl_text = f"{kl:.3f}" + (f" ({n_fin} of {len(reps)} seeds; the others have no sample near a mode)"
                                 if n_fin < len(reps) else "")
        lines.append(f"| {r} | {mm:.1f} ± {ms:.1f} / {reps[0]['num_modes']} {modes} | {hm:.1f} ± {hs:.1f} "
                     f"{[round(h, 1) for h in hq]} | {kl_text} | {mean_sd(x['wall_seconds'] for x in reps)[0]:.0f} |")
    lines += ["", "Published (VEEGAN Table 1; WGAN-GP and GDPP from the GDPP paper; 25k iterations, 5 seeds):", "",
              "| model | ring modes /8 | ring % HQ | grid modes /25 | grid % HQ |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {a} | {b} | {c} | {d} |" for n, a, b, c, d in PUBLISHED]
    lines.append("")
    pngs = []
    for r in recipes:
        if r in res:
            path = os.path.join(args.docs, f"mixing_{r}{args.tag}.png")
            try:
                sample_png(os.path.join(root, r, "seed0"), path, dataset=r.split("_")[0], n=2500)
                pngs.append(f"![{r}](mixing_{r}{args.tag}.png)")
            except Exception as e:
                print(f"plot of {r} failed: {str(e)[:300]}", flush=True)
    if pngs:
        lines += ["Seed-0 samples: " + " ".join(pngs), ""]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["all", "fashion", "veegan"], default="all")
    ap.add_argument("--reduced", action="store_true", help="the reduced protocol (see REDUCED)")
    ap.add_argument("--methods", nargs="+", default=FASHION_METHODS, help="Fashion-MNIST methods")
    ap.add_argument("--toy-methods", nargs="+", default=None, help="2D recipe suffixes (default: the protocol's)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--root", default=os.path.join(ROOT, "tensorboard_logs", "bench_mixing"))
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--fashion-steps", type=int, default=None,
                    help="Fashion-MNIST generator steps (default 2000; GPU scale: 10000)")
    ap.add_argument("--width", type=int, default=None, help="DCGAN width (default 32; GPU scale: 64)")
    args = ap.parse_args(argv)
    p = dict(REDUCED if args.reduced else FULL)
    scale = ""
    for key, value in (("fashion_steps", args.fashion_steps), ("width", args.width)):
        if value is not None:
            if value < 1:
                ap.error(f"--{key.replace('_', '-')} must be a positive integer, got {value}")
            p[key] = value
            scale += f" --{key.replace('_', '-')} {value}"
    # file-name tag of this protocol's pages and pictures ("" for the default protocol)
    args.tag = ("_reduced" if args.reduced else "") + ("_" + scale.strip().replace("--", "").replace(" ", "")
                                                        if scale else "")
    if scale:  # other runs, other folders and pages: never mixed with the default protocol's
        args.root += "_" + scale.strip().replace("--", "").replace(" ", "")
    args.toy_methods = args.toy_methods or p["toy_methods"]
    suffix = "_reduced" if args.reduced else ""
    if args.reduced:
        args.root = args.root + "_reduced"
    from kgan.utils import atomic_path

    for part, fn in (("fashion", fashion), ("veegan", veegan)):
        if args.part not in ("all", part):
            continue
        command = f"python benchmarks/mixing.py --part {part}" + (" --reduced" if args.reduced else "") + scale
        t0 = time.time()
        lines = fn(args, p)
        if not lines:
            continue
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines += [f"Reproduce: `{command}` (CPU, {args.jobs} runs at a time, {args.threads} TF thread(s) "
                  f"each); benchmark wall time {time.time() - t0:.0f}s on a shared 2-core machine, CPU time of "
                  f"the runs so far {(usage.ru_utime + usage.ru_stime) / 60:.1f} CPU-minutes"
                  + (f" ({len(REUSED)} runs reused from an earlier invocation, not counted)." if REUSED else "."), ""]
        out = os.path.join(args.docs, f"mixing_{part}{suffix}"
                           + ("_" + scale.strip().replace("--", "").replace(" ", "") if scale else "") + ".md")
        with atomic_path(out) as tmp:
            with open(tmp, "w") as f:
                f.write("\n".join(lines))
        print("\n".join(lines))
        print(f"written to {out}\nreproduce: {command}", flush=True)


if __name__ == "__main__":
    main()
