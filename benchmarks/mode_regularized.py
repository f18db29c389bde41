"""Benchmark of the mode-regularised GAN and MDGAN (issue 7; benchmarks.md A and B).

Two parts, each a set of `kgan train` runs (separate processes, two at a time,
single-threaded TF), whose report.json files are gathered into
docs/mode_regularized_benchmark.md with PNGs in docs/mode_regularized/:

* ``stacked``: a 1000-mode stacked set (default ``stacked_digits``, 8x8x3;
  ``--dataset stacked_fashion_mnist`` for 28x28x3) with the recipe
  ``<dataset>_mdgan`` and ``--set model=gan|regan|mdgan``: the same DCGAN-size
  networks, optimiser, steps and seeds for the baseline GAN, the
  mode-regularised GAN and MDGAN. Metrics on 26,000 samples: modes covered of
  1000 and KL(p_gen || uniform) (per-channel domain classifier), MODE score,
  missing modes by a third-party discriminator (kgan.metrics).
* ``2d``: the VEEGAN protocol (ring8 / grid25, batch 512, 2,500 samples):
  recipes ring8_gan, grid25_gan (baselines), ring8_mdgan, grid25_mdgan,
  grid25_regan.

The defaults: stacked CPU-sized (5,000 steps x 3 seeds; a GPU-scale run is
``--stacked-steps 20000``), 2D the published VEEGAN protocol (25,000 steps x 5
seeds). Finished runs (report.json present) are reused, so an interrupted
benchmark continues where it stopped. ``--reduced`` runs the short version that fits a
shared 2-core machine (stacked: 1,000 steps x 3 seeds; 2D: 2,000 steps x 3
seeds) and labels every table as reduced.

    python benchmarks/mode_regularized.py                    # both parts (about 1.5 CPU-hours)
    python benchmarks/mode_regularized.py --reduced          # smoke scale (about 25 CPU-minutes)
    python benchmarks/mode_regularized.py --part stacked --dataset stacked_fashion_mnist
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STACKED_MODELS = ("gan", "regan", "mdgan")
MODEL_NAMES = {"gan": "DCGAN (baseline)", "regan": "Reg-GAN (RegularizedGAN)", "mdgan": "MDGAN"}
TWO_D_RECIPES = ("ring8_gan", "ring8_mdgan", "grid25_gan", "grid25_mdgan")  # + grid25_regan via --recipes-2d
PUBLISHED_STACKED = [  # benchmarks.md B: stacked MNIST (different data), DCGAN-size networks
    ("DCGAN (VEEGAN setting)", "99", "3.40"), ("VEEGAN", "150", "2.95"), ("PacDCGAN2", "1000", "0.06"),
    ("Reg-GAN (Che et al., GDPP setting)", "955", "0.925"), ("WGAN-GP (GDPP setting)", "995", "0.148"),
    ("GDPP", "1000", "0.135"),
]
PUBLISHED_2D = [  # VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper
    ("GAN", 1, 99.3, 3.3, 0.5), ("ALI", 2.8, 0.13, 15.8, 1.6), ("Unrolled GAN", 7.6, 35.6, 23.6, 16),
    ("VEEGAN", 8, 52.9, 24.6, 40), ("WGAN-GP", 6.8, 59.6, 24.2, 28.7), ("GDPP-GAN", 8.0, 71.7, 24.8, 68.5),
]


class Job:
    def __init__(self, key, recipe, seed, steps, logdir, extra=(), threads=1):
        self.key, self.recipe, self.seed, self.logdir = key, recipe, seed, logdir
        self.cmd = [sys.executable, "-m", "kgan.cli", "train", recipe, "--seed", str(seed), "--steps", str(steps),
                    "--logdir", logdir, "--no-backup", "--no-samples"]
        for item in extra:
            self.cmd += ["--set", item]
        self.env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(threads),
                        TF_NUM_INTEROP_THREADS=str(threads))
        self.proc = None

    def start(self):
        os.makedirs(self.logdir, exist_ok=True)
        self._log = open(os.path.join(self.logdir, "stdout_stderr.txt"), "w")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=REPO)

    def poll(self):
        """None while running, else (exit code, CPU seconds of the process)."""
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if pid == 0:
            return None
        self._log.close()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self.proc.returncode, usage.ru_utime + usage.ru_stime


REUSED = []  # logdirs of runs reused from an earlier invocation


def run_jobs(jobs, n_parallel):
    """Run ``jobs`` ``n_parallel`` at a time; returns {key: [report, ...]}."""
    queue, running, results, t0 = list(jobs), [], {}, time.time()
    for job in list(queue):  # resume: a finished run (report.json present) is not repeated
        report = os.path.join(job.logdir, "report.json")
        if os.path.exists(report):
            with open(report) as f:
                rep = json.load(f)
            cpu_file = os.path.join(job.logdir, "cpu_seconds.txt")
            if os.path.exists(cpu_file):
                with open(cpu_file) as f:
                    rep["cpu_seconds"] = float(f.read())
            else:  # a run made by another benchmark (e.g. benchmarks/veegan.py): wall time stands in
                rep["cpu_seconds"] = rep["wall_seconds"]
            rep["logdir"] = job.logdir
            results.setdefault(job.key, []).append(rep)
            queue.remove(job)
            REUSED.append(job.logdir)
            print(f"reusing {job.logdir}", flush=True)
    while queue or running:
        while queue and len(running) < n_parallel:
            job = queue.pop(0)
            job.start()
            running.append(job)
        time.sleep(2)
        for job in list(running):
            done = job.poll()
            if done is None:
                continue
            running.remove(job)
            code, cpu = done
            if code != 0:
                with open(os.path.join(job.logdir, "stdout_stderr.txt")) as f:
                    tail = f.read()[-2000:]
                print(f"[{time.time() - t0:6.0f}s] {job.key} seed {job.seed} FAILED (exit {code}):\n{tail}",
                      flush=True)
                continue
            with open(os.path.join(job.logdir, "report.json")) as f:
                rep = json.load(f)
            rep["cpu_seconds"] = round(cpu, 1)
            rep["logdir"] = job.logdir
            with open(os.path.join(job.logdir, "cpu_seconds.txt"), "w") as f:
                f.write(str(rep["cpu_seconds"]))
            results.setdefault(job.key, []).append(rep)
            shown = {k: rep[k] for k in ("modes", "kl", "mode_score", "missing_modes", "hq_fraction", "reverse_kl")
                     if k in rep}
            print(f"[{time.time() - t0:6.0f}s] {job.key} seed {job.seed}: {shown} "
                  f"(cpu {cpu:.0f}s, wall {rep['wall_seconds']:.0f}s)", flush=True)
    return results


def _stats(values, fmt):
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:{fmt}} ± {sd:{fmt}} [{', '.join(format(v, fmt) for v in values)}]"


def _png_samples(rep, path, n, dataset=None):
    """Sample grid / scatter of a saved model (seed-0 run), written atomically."""
    import keras

    import kgan  # noqa: F401  (registers the kgan classes)
    import kgan.models  # noqa: F401
    from kgan.callbacks.core import save_samples_png

    model = keras.saving.load_model(os.path.join(rep["logdir"], "model.keras"))
    save_samples_png(model.generate(n, seed=1234), path, dataset=dataset, title=os.path.basename(path)[:-4])


def stacked_section(results, args, steps, seeds, png_dir):
    lines = [f"### Stacked data: `{args.dataset}` (1000 modes)", ""]
    lines.append(f"Recipe `{args.dataset}_mdgan` with `--set model=gan|regan|mdgan`: DCGAN-size networks "
                 f"(kgan.nets.dcgan_*), Adam(2e-4, 0.5), batch 64, non-saturating loss, EMA 0.999 from step 1000, "
                 f"**{steps} generator steps, seeds {list(range(seeds))}**; Reg-GAN lambda1 0.2, lambda2 0.4; MDGAN "
                 "lambda1 0.2, lambda2 1.0. Evaluated on 26,000 samples (EMA generator). Mean ± standard deviation "
                 "over seeds, per-seed values in brackets.")
    lines += ["", "| model | modes /1000 | KL to uniform | MODE score | missing modes (3rd-party D) | CPU s/run |",
              "|---|---|---|---|---|---|"]
    for model in STACKED_MODELS:
        reps = results.get(f"stacked_{model}", [])
        if not reps:
            lines.append(f"| {MODEL_NAMES[model]} | failed | | | | |")
            continue
        reps.sort(key=lambda r: r["seed"])
        lines.append(
            f"| {MODEL_NAMES[model]} | {_stats([r['modes'] for r in reps], '.0f')} | "
            f"{_stats([r['kl'] for r in reps], '.3f')} | {_stats([r['mode_score'] for r in reps], '.2f')} | "
            f"{_stats([r['missing_modes'] for r in reps], '.0f')} | "
            f"{statistics.mean(r['cpu_seconds'] for r in reps):.0f} |")
    lines += ["", "Published stacked-MNIST figures, for orientation only (different data: MNIST digits at 28x28, "
              "different networks and training lengths; no published figures exist for stacked digits or stacked "
              "Fashion-MNIST):", "", "| model | modes /1000 | KL |", "|---|---|---|"]
    lines += [f"| {m} | {a} | {b} |" for m, a, b in PUBLISHED_STACKED]
    pngs = []
    for model in STACKED_MODELS:
        reps = [r for r in results.get(f"stacked_{model}", []) if r["seed"] == 0]
        if reps:
            path = os.path.join(png_dir, f"{args.dataset}_{model}.png")
            _png_samples(reps[0], path, 64)
            pngs.append(f"![{model}]({os.path.relpath(path, os.path.dirname(args.out))})")
    if pngs:
        lines += ["", "Samples (seed 0, EMA generator; baseline, Reg-GAN, MDGAN):", "", " ".join(pngs)]
    return lines


def two_d_section(results, args, steps, seeds, png_dir):
    lines = ["### 2D mixtures, VEEGAN protocol", ""]
    lines.append(f"benchmarks.md A networks and optimiser (batch 512, Adam beta1 0.5, lr D 1e-4, G and E 1e-3), "
                 f"**{steps} iterations, seeds {list(range(seeds))}**, 2,500 samples; an MDGAN iteration is a "
                 "manifold step plus a diffusion step. Mean ± standard deviation over seeds (per-seed values).")
    lines += ["", "| recipe | dataset | modes | % high quality | reverse KL | CPU s/run |", "|---|---|---|---|---|---|"]
    for recipe in args.recipes_2d:
        reps = sorted(results.get(recipe, []), key=lambda r: r["seed"])
        if not reps:
            lines.append(f"| {recipe} | | failed | | | |")
            continue
        lines.append(
            f"| {recipe} | {reps[0].get('dataset', recipe.split('_')[0])} | "
            f"{_stats([float(r['modes']) for r in reps], '.1f')} / {reps[0]['num_modes']} | "
            f"{_stats([100 * r['hq_fraction'] for r in reps], '.1f')} | "
            f"{_stats([r['reverse_kl'] for r in reps], '.3f')} | "
            f"{statistics.mean(r['cpu_seconds'] for r in reps):.0f} |")
    lines += ["", "Published, 25,000 iterations (VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper):", "",
              "| model | ring modes /8 | ring % HQ | grid modes /25 | grid % HQ |", "|---|---|---|---|---|"]
    lines += [f"| {m} | {a} | {b} | {c} | {d} |" for m, a, b, c, d in PUBLISHED_2D]
    pngs = []
    for recipe in args.recipes_2d:
        reps = [r for r in results.get(recipe, []) if r["seed"] == 0]
        if reps:
            path = os.path.join(png_dir, f"{recipe}.png")
            _png_samples(reps[0], path, 2500, dataset=recipe.split("_")[0])
            pngs.append(f"![{recipe}]({os.path.relpath(path, os.path.dirname(args.out))})")
    if pngs:
        lines += ["", "2,500 samples of the seed-0 runs:", "", " ".join(pngs)]
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("all", "stacked", "2d"), default="all")
    p.add_argument("--reduced", action="store_true",
                   help="the short protocol (stacked 1,000 steps x 3 seeds; 2D 2,000 steps x 3 seeds)")
    p.add_argument("--dataset", default="stacked_digits", choices=("stacked_digits", "stacked_fashion_mnist"))
    p.add_argument("--stacked-steps", type=int, default=None, help="override the stacked steps")
    p.add_argument("--stacked-seeds", type=int, default=None)
    p.add_argument("--steps-2d", type=int, default=None, help="override the 2D iterations")
    p.add_argument("--seeds-2d", type=int, default=None)
    p.add_argument("--recipes-2d", nargs="+", default=list(TWO_D_RECIPES))
    p.add_argument("--jobs", type=int, default=2, help="runs at a time")
    p.add_argument("--root", default=os.path.join(REPO, "tensorboard_logs", "bench_mode_regularized"))
    p.add_argument("--from-results", action="store_true",
                   help="rewrite the markdown from ROOT/results.json of an earlier run (same flags) without training")
    p.add_argument("--out", default=os.path.join(REPO, "docs", "mode_regularized_benchmark.md"))
    args = p.parse_args(argv)
    if args.reduced and args.root == p.get_default("root"):
        args.root += "_reduced"  # reduced runs never mix with the default protocol's (runs are reused)
    s_steps = args.stacked_steps or (1_000 if args.reduced else 5_000)
    s_seeds = args.stacked_seeds or 3
    d_steps = args.steps_2d or (2_000 if args.reduced else 25_000)
    d_seeds = args.seeds_2d or (3 if args.reduced else 5)

    jobs = []
    if args.part in ("all", "stacked"):
        for seed in range(s_seeds):
            for model in STACKED_MODELS:
                jobs.append(Job(f"stacked_{model}", f"{args.dataset}_mdgan", seed, s_steps,
                                os.path.join(args.root, args.dataset, model, f"seed{seed}"), [f"model={model}"]))
    if args.part in ("all", "2d"):
        for seed in range(d_seeds):
            for recipe in args.recipes_2d:
                jobs.append(Job(recipe, recipe, seed, d_steps, os.path.join(args.root, recipe, f"seed{seed}")))
    t0 = time.time()
    from kgan.utils import atomic_path

    results_path = os.path.join(args.root, "results.json")
    if args.from_results:
        with open(results_path) as f:
            saved = json.load(f)
        results, t0 = saved["results"], time.time() - saved["wall_seconds"]
    else:
        results = run_jobs(jobs, args.jobs)
        os.makedirs(args.root, exist_ok=True)
        with atomic_path(results_path) as tmp:
            with open(tmp, "w") as f:
                json.dump({"results": results, "wall_seconds": time.time() - t0}, f, indent=2, default=float)
    cpu_total = sum(r["cpu_seconds"] for reps in results.values() for r in reps)

    cmd = "python benchmarks/mode_regularized.py" + (" --reduced" if args.reduced else "")
    if args.part != "all":
        cmd += f" --part {args.part}"
    if args.dataset != "stacked_digits":
        cmd += f" --dataset {args.dataset}"
    for flag, value in (("--stacked-steps", args.stacked_steps), ("--stacked-seeds", args.stacked_seeds),
                        ("--steps-2d", args.steps_2d), ("--seeds-2d", args.seeds_2d)):
        if value is not None:
            cmd += f" {flag} {value}"
    if list(args.recipes_2d) != list(TWO_D_RECIPES) and args.part != "stacked":
        cmd += " --recipes-2d " + " ".join(args.recipes_2d)
    png_dir = os.path.join(os.path.dirname(args.out), "mode_regularized")
    lines = ["# Mode-regularised GAN and MDGAN: measured results", "",
             f"Command: `{cmd}` (writes this file; {len(jobs)} runs, {args.jobs} at a time, one TF thread each; "
             f"{cpu_total / 60:.1f} CPU-minutes, {(time.time() - t0) / 60:.0f} wall minutes on a shared 2-core "
             "machine" + (f"; {len(REUSED)} runs reused from earlier invocations: their wall time is not in this "
                          "figure, and the CPU time of runs made by benchmarks/veegan.py is their wall time" if REUSED else "") + ").", ""]
    ran = []
    if args.part in ("all", "stacked"):
        ran.append(f"stacked {s_steps} steps x {s_seeds} seeds")
    if args.part in ("all", "2d"):
        ran.append(f"2D {d_steps} iterations x {d_seeds} seeds")
    reduced = (args.part in ("all", "stacked") and (s_steps < 5_000 or s_seeds < 3)) or (
        args.part in ("all", "2d") and (d_steps < 25_000 or d_seeds < 5))
    if reduced:
        lines += [f"**REDUCED PROTOCOL.** The default protocol (stacked: 5,000 steps x 3 seeds; 2D: 25,000 "
                  f"iterations x 5 seeds) was cut. Here: {'; '.join(ran)}. Short runs measure early training only; "
                  "they are not comparable with the papers' numbers and do not test the targets (1000 modes with "
                  "KL < 0.1; all 2D modes with more high-quality samples than GDPP).", ""]
    elif args.part in ("all", "stacked"):
        lines += [f"Stacked part: {s_steps:,} steps x {s_seeds} seeds, sized for a 2-core CPU (a GPU-scale run is "
                  "`--stacked-steps 20000`); the 2D part is the published VEEGAN protocol.", ""]
    if args.part in ("all", "stacked"):
        lines += stacked_section(results, args, s_steps, s_seeds, png_dir) + [""]
    if args.part in ("all", "2d"):
        lines += two_d_section(results, args, d_steps, d_seeds, png_dir) + [""]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with atomic_path(args.out) as tmp:
        with open(tmp, "w") as f:
            f.write("\n".join(lines))
    print("\n".join(lines))
    print(f"\nwrote {args.out}\nreproduce with: {cmd}")


if __name__ == "__main__":
    main()
