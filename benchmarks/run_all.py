"""The one command for the results page: every benchmark suite, then docs/results.md.

    python benchmarks/run_all.py                   # run (or reuse) every suite, write every page
    python benchmarks/run_all.py --collect-only    # pages from the finished runs only
    python benchmarks/run_all.py --jobs 2

It runs ``kgan bench --all`` from the repository root (see ``kgan bench --help``):
finished runs are read from ``benchmarks/runs/`` and reused, so the command can be
stopped and rerun; each suite's page goes to ``docs/bench/<suite>.md``.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__)
        sys.exit(0)
    os.chdir(REPO)
    sys.path.insert(0, REPO)
    from kgan.bench import main

    sys.exit(main(["--all", *sys.argv[1:]]))
