"""One command for the results page: every benchmark at its default protocol, then docs/results.md.

    python benchmarks/run_all.py                  # run (or reuse) everything, then write docs/results.md
    python benchmarks/run_all.py --collect-only   # only rebuild the page from the finished runs
    python benchmarks/run_all.py --only mixing maem

Stages, in this order (each is the script's own default protocol; see its docstring):

=================  =========================================================  ===========================
script             what it runs                                               run root
=================  =========================================================  ===========================
veegan.py          plain GAN, grid25/ring8, VEEGAN protocol (25k, 5 seeds)   tensorboard_logs/bench_veegan
mixing.py          Mixup/CutMix/SRMix/AdaptiveMix: Fashion-MNIST + 2D        tensorboard_logs/bench_mixing
maem.py            MaEM-GAN: stacked-digits ablation + 2D                      tensorboard_logs/bench_maem
mode_regularized   DCGAN/Reg-GAN/MDGAN: stacked digits + 2D                    tensorboard_logs/bench_mode_regularized
conditional.py     ACGAN/ProjGAN/ReACGAN, Fashion-MNIST                        tensorboard_logs/bench_conditional
=================  =========================================================  ===========================

Every script skips runs whose ``report.json`` exists, so this command can be stopped and
rerun, and a stage whose runs are all finished costs seconds. Each stage writes its own page
in docs/ as well. From scratch the default protocols take about 9 CPU-hours, one core per
run (about 4.5 hours with 2 runs at a time on a 2-core machine). Finally ``kgan bench --collect``
reads every finished run under the five roots (a run reached through a symlink counts once)
and writes docs/results.md with the published rows beside kgan's and its PNG plots.
"""
import argparse
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LOGS = os.path.join("tensorboard_logs")

#: (stage name, script, extra args, run root relative to the repository)
STAGES = [
    ("veegan", "veegan.py", [], os.path.join(LOGS, "bench_veegan")),
    ("mixing", "mixing.py", [], os.path.join(LOGS, "bench_mixing")),
    ("maem", "maem.py", [], os.path.join(LOGS, "bench_maem")),
    ("mode_regularized", "mode_regularized.py", [], os.path.join(LOGS, "bench_mode_regularized")),
    ("conditional", "conditional.py", [], os.path.join(LOGS, "bench_conditional")),
]
NAMES = [s[0] for s in STAGES]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2, help="training processes at a time, passed to every stage")
    p.add_argument("--only", nargs="+", choices=NAMES, default=None, help="run only these stages "
                   "(the page still collects every root that exists)")
    p.add_argument("--collect-only", action="store_true", help="run nothing; rebuild the page")
    p.add_argument("--out", default=os.path.join("docs", "results.md"))
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"--jobs must be a positive integer, got {args.jobs}")
    os.chdir(REPO)
    stages = [] if args.collect_only else [s for s in STAGES if args.only is None or s[0] in args.only]
    t_all = time.time()
    for i, (name, script, extra, _) in enumerate(stages, 1):
        cmd = [sys.executable, os.path.join("benchmarks", script), "--jobs", str(args.jobs), *extra]
        print(f"[stage {i}/{len(stages)}] {name}: {shlex.join(cmd[1:])}", flush=True)
        t0 = time.time()
        rc = subprocess.call(cmd)
        if rc != 0:
            print(f"[stage {i}/{len(stages)}] {name} FAILED (exit {rc}); the page is not rewritten.",
                  file=sys.stderr, flush=True)
            return rc
        print(f"[stage {i}/{len(stages)}] {name} done in {time.time() - t0:.0f} s "
              f"(elapsed {time.time() - t_all:.0f} s)", flush=True)
    roots = [root for *_, root in STAGES if os.path.isdir(root)]
    if not roots:
        print("No benchmark runs found: run without --collect-only first.", file=sys.stderr)
        return 2
    from kgan.bench_collect import collect_page

    this = "python benchmarks/run_all.py" + "".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:]))
    note = (f"Made by `{this}`: the five benchmark scripts at their default protocols (finished runs are "
            "reused), then the collect step above. Each root is one script: "
            + ", ".join(f"`{os.path.basename(root)}` = `benchmarks/{script}`" for _, script, _, root in STAGES)
            + ". Each script's own page in docs/ has the per-seed figures, curves and the discussion.")
    command = "kgan bench --collect " + " ".join(roots) + f" --out {args.out}"
    rows = collect_page(roots, args.out, command, note)
    print(f"wrote {args.out} from {len(rows)} finished runs (elapsed {time.time() - t_all:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
