"""VEEGAN 2D protocol (benchmarks.md A): modes captured and % high quality on ring8 and grid25.

Runs each recipe for several seeds as separate `kgan train` processes (two at a
time by default), reads their report.json files, and writes a markdown table
next to the published rows.

    python benchmarks/veegan.py                                   # GAN baseline, full protocol
    python benchmarks/veegan.py --recipes grid25_maem ring8_maem --out docs/veegan_maem.md
    python benchmarks/veegan.py --steps 2000 --seeds 2            # a quick look (label it reduced)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PUBLISHED = [  # VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper
    ("GAN", 1, 99.3, 3.3, 0.5), ("ALI", 2.8, 0.13, 15.8, 1.6), ("Unrolled GAN", 7.6, 35.6, 23.6, 16),
    ("VEEGAN", 8, 52.9, 24.6, 40), ("WGAN-GP", 6.8, 59.6, 24.2, 28.7), ("GDPP-GAN", 8.0, 71.7, 24.8, 68.5),
]


def run_one(recipe, seed, steps, logdir, threads):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS=str(threads))
    cmd = [sys.executable, "-m", "kgan.cli", "train", recipe, "--seed", str(seed), "--steps", str(steps),
           "--logdir", logdir, "--no-backup", "--no-samples"]
    os.makedirs(logdir, exist_ok=True)
    log = open(os.path.join(logdir, "train.log"), "w")  # a file, not a pipe: a chatty run cannot block
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", nargs="+", default=["ring8_gan", "grid25_gan"])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=25_000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="TF threads per run")
    p.add_argument("--root", default="tensorboard_logs/bench_veegan")
    p.add_argument("--out", default="docs/veegan_gan.md")
    args = p.parse_args(argv)
    queue = [(r, s) for r in args.recipes for s in range(args.seeds)]
    running, results, t0, reused = [], {}, time.time(), 0
    while queue or running:
        while queue and len(running) < args.jobs:
            recipe, seed = queue.pop(0)
            logdir = os.path.join(args.root, recipe, f"seed{seed}")
            report = os.path.join(logdir, "report.json")
            if os.path.exists(report):  # a finished run is reused, never retrained over
                with open(report) as f:
                    rep = json.load(f)
                if rep.get("steps") == args.steps:
                    results.setdefault(recipe, []).append(rep)
                    reused += 1
                    continue
                raise SystemExit(f"{report} is a run of {rep.get('steps')} steps, not --steps {args.steps}: "
                                 "use another --root for another protocol.")
            running.append((recipe, seed, logdir, run_one(recipe, seed, args.steps, logdir, args.threads)))
        time.sleep(2)
        for item in list(running):
            recipe, seed, logdir, proc = item
            if proc.poll() is None:
                continue
            running.remove(item)
            if proc.returncode != 0:
                with open(os.path.join(logdir, "train.log")) as f:
                    print(f"[{time.time() - t0:6.0f}s] {recipe} seed {seed} FAILED:\n{f.read()[-2000:]}")
                continue
            with open(os.path.join(logdir, "report.json")) as f:
                rep = json.load(f)
            results.setdefault(recipe, []).append(rep)
            print(f"[{time.time() - t0:6.0f}s] {recipe} seed {seed}: modes {rep['modes']}/{rep['num_modes']} "
                  f"HQ {100 * rep['hq_fraction']:.1f}% ({rep['wall_seconds']:.0f}s)", flush=True)
    lines = [f"Command: `python benchmarks/veegan.py --recipes {' '.join(args.recipes)} --seeds {args.seeds} "
             f"--steps {args.steps} --out {args.out}`", "",
             f"Protocol: VEEGAN (benchmarks.md A), {args.steps} iterations, batch 512, 2,500 samples, "
             f"{args.seeds} seeds; mean ± standard deviation over seeds (per-seed values in brackets)."
             + (f" {reused} of the runs were finished earlier and reused (their report.json)." if reused else ""),
             "",
             "| model | dataset | modes | % high quality | reverse KL | seconds/run |", "|---|---|---|---|---|---|"]
    for recipe, reps in results.items():
        modes = [r["modes"] for r in reps]
        hq = [100 * r["hq_fraction"] for r in reps]
        kl = [r["reverse_kl"] for r in reps]
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        lines.append(
            f"| kgan {recipe} | {reps[0].get('dataset', recipe.split('_')[0])} | {statistics.mean(modes):.1f} ± "
            f"{sd(modes):.1f} / {reps[0]['num_modes']} {modes} | {statistics.mean(hq):.1f} ± {sd(hq):.1f} "
            f"{[round(h, 1) for h in hq]} | {statistics.mean(kl):.3f} | "
            f"{statistics.mean(r['wall_seconds'] for r in reps):.0f} |")
    lines += ["", "Published (VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper):", "",
              "| model | ring modes /8 | ring % HQ | grid modes /25 | grid % HQ |", "|---|---|---|---|---|"]
    lines += [f"| {m} | {a} | {b} | {c} | {d} |" for m, a, b, c, d in PUBLISHED]
    text = "\n".join(lines) + "\n"
    if os.path.isfile(args.out):  # keep the hand-written sections (from the first "## " heading on)
        with open(args.out) as f:
            old = f.read()
        if "\n## " in old:
            text += "\n" + old[old.index("\n## ") + 1:]
    from kgan.utils import atomic_path

    with atomic_path(args.out) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
