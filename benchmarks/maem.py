"""MaEM-GAN benchmarks: the paper's ablation on stacked digits and the VEEGAN 2D protocol.

1. Ablation (benchmarks.md B/C, MaEM-GAN Table 4): baseline (MaF-GAN), +DIsoMap, +DLLE,
   +entropy (RB-MaEM), all three -- recipe ``stacked_digits_maem`` with the same networks,
   steps and seeds for every row. Reported: modes covered of 1000 and KL to uniform over
   26,000 samples, Frechet distance in the domain classifier's feature space (FD), I-Variance
   of the classifier's class probabilities, CPU ms per step and the overhead over the baseline.
2. VEEGAN 2D protocol (benchmarks.md A): ``ring8_maem`` and ``grid25_maem`` (all three
   regularisers), modes captured and % high-quality samples, next to kgan's plain GAN on the same
   protocol (docs/veegan_gan.md) and the published rows.

Each run is a separate ``kgan train`` process (two at a time, one TF thread each); the tables go to
``docs/maem_ablation.md`` and ``docs/maem_veegan.md`` (plus PNGs), and the command is printed.

    python benchmarks/maem.py                    # ablation 5k steps x 3 seeds; 2D 25k x 5 seeds (~1.5 CPU-hours)
    python benchmarks/maem.py --reduced          # what fits a shared 2-core machine (label: reduced)
    python benchmarks/maem.py --part ablation --seeds 3 --ablation-steps 1500 --width 32
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = ("baseline", "disomap", "dlle", "entropy", "all")
LABELS = {"baseline": "MaF-GAN (baseline)", "disomap": "+ DIsoMap", "dlle": "+ DLLE",
          "entropy": "+ RB-MaEM entropy", "all": "MaEM-GAN (all three)"}
PAPER_CIFAR = {"baseline": ">100", "disomap": "51.96", "dlle": "31.70", "entropy": "30.73", "all": "29.22"}
PUBLISHED_2D = [  # VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper
    ("GAN", 1, 99.3, 3.3, 0.5), ("Unrolled GAN", 7.6, 35.6, 23.6, 16), ("VEEGAN", 8, 52.9, 24.6, 40),
    ("WGAN-GP", 6.8, 59.6, 24.2, 28.7), ("GDPP-GAN", 8.0, 71.7, 24.8, 68.5),
]
# The default ablation is CPU-sized (15 runs of ~2 CPU-minutes); the paper-scale one is
# --ablation-steps 20000 --width 64. The 2D part is the VEEGAN protocol as published.
FULL = dict(ablation_steps=5_000, width=32, seeds=3, veegan_steps=25_000, veegan_seeds=5)
REDUCED = dict(ablation_steps=1_500, width=32, seeds=3, veegan_steps=12_500, veegan_seeds=1)


def launch(recipe, seed, steps, logdir, sets, threads=1):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS=str(threads), PYTHONPATH=ROOT)
    per_epoch = next(n for n in (1000, 500, 250, 100, steps) if steps % n == 0)  # run exactly `steps`
    cmd = [sys.executable, "-m", "kgan.cli", "train", recipe, "--seed", str(seed), "--steps", str(steps),
           "--steps-per-epoch", str(per_epoch), "--logdir", logdir, "--no-backup", "--no-samples"]
    for key, value in sets.items():
        cmd += ["--set", f"{key}={value}"]
    log = open(logdir + ".log", "w")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), log


def run_jobs(jobs, jobs_at_once, skip_done=True):
    """``jobs``: list of (key, recipe, seed, steps, logdir, sets). Returns {key: [report, ...]}."""
    queue, running, results, t0 = list(jobs), [], {}, time.time()
    for job in list(queue):  # reuse finished runs (re-running the script only fills the gaps)
        path = os.path.join(job[4], "report.json")
        if skip_done and os.path.exists(path):
            with open(path) as f:
                results.setdefault(job[0], []).append(json.load(f))
            queue.remove(job)
    while queue or running:
        while queue and len(running) < jobs_at_once:
            job = queue.pop(0)
            os.makedirs(os.path.dirname(job[4]), exist_ok=True)
            proc, log = launch(job[1], job[2], job[3], job[4], job[5])
            running.append((job, proc, log))
        time.sleep(5)
        for item in list(running):
            job, proc, log = item
            if proc.poll() is None:
                continue
            running.remove(item)
            log.close()
            if proc.returncode != 0:
                with open(job[4] + ".log") as f:
                    print(f"[{time.time() - t0:6.0f}s] {job[1]} {job[5]} seed {job[2]} FAILED:\n{f.read()[-2000:]}")
                continue
            with open(os.path.join(job[4], "report.json")) as f:
                rep = json.load(f)
            results.setdefault(job[0], []).append(rep)
            show = {k: rep.get(k) for k in ("modes", "kl", "fid", "i_variance", "hq_fraction", "cpu_ms_per_step")}
            print(f"[{time.time() - t0:6.0f}s] {job[1]} {job[5]} seed {job[2]}: {show}", flush=True)
    return results


def _ms(values):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3g} ± {sd:.2g}"


def ablation(args, cmd):
    jobs = []
    for row in ROWS:
        for seed in range(args.seeds):
            logdir = os.path.join(args.root, "ablation", row, f"seed{seed}")
            jobs.append((row, "stacked_digits_maem", seed, args.ablation_steps, logdir,
                         {"ablation": row, "width": args.width, "eval_samples": 26000}))
    res = run_jobs(jobs, args.jobs)
    base_cpu = statistics.mean(r["cpu_ms_per_step"] for r in res.get("baseline", [{"cpu_ms_per_step": float("nan")}]))
    lines = [f"Command: `{cmd}`", "",
             f"Protocol{' (REDUCED)' if args.reduced else ''}: recipe `stacked_digits_maem` (stacked sklearn "
             f"digits, 8x8x3, 1000 modes), DCGAN G/D width {args.width} with SN in D, code m = 32, MaF loss, "
             f"Adam(2e-4, 0.5, 0.999), batch 64, 1 D step per G step, {args.ablation_steps} generator steps, "
             f"seeds 0..{args.seeds - 1}; 26,000 samples (EMA generator) evaluated with the per-channel domain "
             "classifier (modes, KL to uniform, Fréchet distance in its feature space = FD, I-Variance of its "
             "class probabilities). Mean ± standard deviation over seeds; per-seed values below. Step time is "
             "CPU (process) time per generator step, single-threaded TF, median over epochs after the first.",
             "", "| model | modes /1000 | KL(p ‖ uniform) | FD (domain clf.) | I-Variance | CPU ms/step | overhead "
             "| paper CIFAR-10 FID |", "|---|---|---|---|---|---|---|---|"]
    for row in ROWS:
        reps = res.get(row, [])
        if not reps:
            lines.append(f"| {LABELS[row]} | not run | | | | | | {PAPER_CIFAR[row]} |")
            continue
        cpu = statistics.mean(r["cpu_ms_per_step"] for r in reps)
        lines.append(
            f"| {LABELS[row]} | {_ms([r['modes'] for r in reps])} | {_ms([r['kl'] for r in reps])} | "
            f"{_ms([r['fid'] for r in reps])} | {_ms([r['i_variance'] for r in reps])} | {cpu:.1f} | "
            f"{cpu / base_cpu:.2f}x | {PAPER_CIFAR[row]} |")
    lines += ["", "Per seed (modes, FD):", ""]
    for row in ROWS:
        reps = sorted(res.get(row, []), key=lambda r: r.get("seed", 0))
        lines.append(f"- {LABELS[row]}: " + ", ".join(
            f"seed {r.get('seed')}: {r['modes']:.0f} / {r['fid']:.2f}" for r in reps))
    text = "\n".join(lines) + "\n"
    _write(os.path.join(ROOT, "docs", "maem_ablation.md"), text)
    _plot_ablation(res, os.path.join(ROOT, "docs", "maem_ablation.png"))
    print(text)


def veegan(args, cmd):
    jobs = []
    for recipe in ("ring8_maem", "grid25_maem"):
        for seed in range(args.veegan_seeds):
            logdir = os.path.join(args.root, "veegan", recipe, f"seed{seed}")
            jobs.append((recipe, recipe, seed, args.veegan_steps, logdir, {}))
    res = run_jobs(jobs, args.jobs)
    lines = [f"Command: `{cmd}`", "",
             f"Protocol{_reduced_2d(args)}: VEEGAN (benchmarks.md A), {args.veegan_steps} iterations, batch 512, "
             "2,500 samples; recipes "
             "`ring8_maem` / `grid25_maem` (the VEEGAN G and D, non-saturating loss on the code's mean, all three "
             "regularisers). Per-seed values in brackets.", "",
             "| model | dataset | modes | % high quality | reverse KL | CPU ms/step |", "|---|---|---|---|---|---|"]
    for recipe in ("ring8_maem", "grid25_maem"):
        reps = res.get(recipe, [])
        if not reps:
            continue
        modes = [r["modes"] for r in reps]
        hq = [100 * r["hq_fraction"] for r in reps]
        lines.append(f"| kgan {recipe} | {reps[0]['dataset']} | {_ms(modes)} / {reps[0]['num_modes']} {modes} | "
                     f"{_ms(hq)} {[round(h, 1) for h in hq]} | {_ms([r['reverse_kl'] for r in reps])} | "
                     f"{_ms([r.get('cpu_ms_per_step') for r in reps])} |")
        _scatter(args, recipe, reps)
    lines += ["", "kgan's plain GAN on the same protocol (same networks, loss and optimisers; 5 seeds): see "
              "docs/veegan_gan.md.", "", "Published:", "",
              "| model | ring modes /8 | ring % HQ | grid modes /25 | grid % HQ |", "|---|---|---|---|---|"]
    lines += [f"| {m} | {a} | {b} | {c} | {d} |" for m, a, b, c, d in PUBLISHED_2D]
    text = "\n".join(lines) + "\n"
    _write(os.path.join(ROOT, "docs", "maem_veegan.md"), text)
    print(text)


def _reduced_2d(args):
    cut = []
    if args.veegan_seeds < 5:
        cut.append(f"{args.veegan_seeds} seed(s) instead of 5")
    if args.veegan_steps < 25_000:
        cut.append(f"{args.veegan_steps} iterations instead of 25,000")
    return f" (REDUCED: {', '.join(cut)})" if cut else ""


def _scatter(args, recipe, reps):
    """Scatter of seed 0's samples over the true modes -> docs/maem_<recipe>.png."""
    try:
        import keras

        import kgan  # noqa: F401
        import kgan.models  # noqa: F401  (registers the classes)
        from kgan.callbacks.core import save_samples_png

        path = os.path.join(args.root, "veegan", recipe, "seed0", "model.keras")
        gan = keras.saving.load_model(path)
        dataset = reps[0]["dataset"]
        save_samples_png(gan.generate(2500, seed=0), os.path.join(ROOT, "docs", f"maem_{recipe}.png"),
                         dataset=dataset, title=f"{recipe}, seed 0, {args.veegan_steps} steps")
    except Exception as e:  # a plot must not lose the table
        print(f"could not plot {recipe}: {e}")


def _plot_ablation(res, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), dpi=100)
        for ax, key, title in ((axes[0], "modes", "modes covered /1000"), (axes[1], "fid", "FD (domain classifier)")):
            for i, row in enumerate(ROWS):
                vals = [r[key] for r in res.get(row, [])]
                ax.scatter([i] * len(vals), vals, s=15)
                if vals:
                    ax.hlines(statistics.mean(vals), i - 0.3, i + 0.3)
            ax.set_xticks(range(len(ROWS)), [LABELS[r].split(" (")[0] for r in ROWS], rotation=30, fontsize=8)
            ax.set_title(title)
        fig.tight_layout()
        from kgan.utils import atomic_path

        with atomic_path(path) as tmp:
            fig.savefig(tmp)
        plt.close(fig)
    except Exception as e:
        print(f"could not plot the ablation: {e}")


def _write(path, text):
    from kgan.utils import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("all", "ablation", "veegan"), default="all")
    p.add_argument("--reduced", action="store_true",
                   help=f"the reduced protocol run on the shared CPU: {REDUCED}")
    p.add_argument("--ablation-steps", type=int)
    p.add_argument("--width", type=int, help="DCGAN width of the ablation networks")
    p.add_argument("--seeds", type=int, help="ablation seeds")
    p.add_argument("--veegan-steps", type=int)
    p.add_argument("--veegan-seeds", type=int)
    p.add_argument("--jobs", type=int, default=2, help="runs at a time")
    p.add_argument("--root", default=None, help="run directories (default tensorboard_logs/bench_maem[_reduced])")
    args = p.parse_args(argv)
    if args.root is None:
        args.root = os.path.join(ROOT, "tensorboard_logs", "bench_maem_reduced" if args.reduced else "bench_maem")
    defaults = REDUCED if args.reduced else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    cmd = "python benchmarks/maem.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print("reproduce with:", cmd.strip())
    sys.path.insert(0, ROOT)
    if args.part in ("all", "ablation"):
        ablation(args, cmd.strip())
    if args.part in ("all", "veegan"):
        veegan(args, cmd.strip())


if __name__ == "__main__":
    main()
