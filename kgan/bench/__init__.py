"""``kgan bench``: the benchmark runner and its pages.

    kgan bench --list                      # the suites, their runs, how many are finished
    kgan bench veegan2d --jobs 2           # run (or reuse) a suite, then write its page
    kgan bench --all                       # every suite, then docs/results.md
    kgan bench --all --collect-only        # pages from the finished runs only; train nothing

The suites (:mod:`kgan.bench.suites`) name rows of the experiment table
(:mod:`kgan.experiments`) with a budget and seeds; :mod:`kgan.bench.runner`
launches each run as a ``kgan train`` process, records finished runs under
``benchmarks/runs/`` (commit them: the next invocation reuses them and refuses
a record whose settings differ) and copies seed 0's picture (and each entry's worst seed's) to
``docs/bench/img/``; :mod:`kgan.bench.pages` writes ``docs/bench/<suite>.md``
and ``docs/results.md`` (``--all`` then deletes the worst-seed pictures no
page names any more). Paths are relative to the current directory (the
repository root for the repository's pages).
"""
import argparse
import os
import sys

from kgan.bench.suites import SUITES, Suite, add_suite


def jobs_for(suite, seeds=None, steps=None):
    """``{entry: [Job, ...]}`` of ``suite`` (``seeds``/``steps`` override the suite's)."""
    from kgan.bench.runner import Job

    seeds = suite.seeds if seeds is None else seeds
    steps = suite.steps if steps is None else steps
    return {e: [Job(e, s, e.steps(steps)) for s in range(seeds)] for e in suite.entries}


def main(argv=None):
    p = argparse.ArgumentParser(prog="kgan bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("suites", nargs="*", help=f"suites to run: {', '.join(SUITES)}")
    p.add_argument("--all", action="store_true", help="every suite")
    p.add_argument("--list", action="store_true", help="list the suites and how many runs are finished")
    p.add_argument("--collect-only", action="store_true", help="train nothing; write pages from the records")
    p.add_argument("--jobs", type=int, default=2, help="training processes at a time")
    p.add_argument("--threads", type=int, default=1, help="TF threads per training process")
    p.add_argument("--seeds", type=int, default=None, help="override the suites' seed count")
    p.add_argument("--steps", type=int, default=None, help="override the suites' budget (a different run "
                   "identity: such runs never mix with the default budget's)")
    p.add_argument("--only", default=None, metavar="ROWS",
                   help="comma-separated rows (or entry labels) of the suites to train, in this order; the "
                        "pages still show every finished run of the suite")
    p.add_argument("--replace-mismatched", action="store_true",
                   help="retrain runs whose record has other settings (default: refuse)")
    p.add_argument("--records", default=os.path.join("benchmarks", "runs"))
    p.add_argument("--logs", default=os.path.join("tensorboard_logs", "bench"))
    p.add_argument("--docs", default="docs", help="pages go to DOCS/bench/, the summary to DOCS/results.md")
    args = p.parse_args(argv)
    for name, value in (("--jobs", args.jobs), ("--threads", args.threads), ("--seeds", args.seeds),
                        ("--steps", args.steps)):
        if value is not None and value < 1:
            p.error(f"{name} must be a positive integer, got {value}")
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        p.error(f"unknown suite(s) {unknown}; known suites: {', '.join(SUITES)}")
    names = list(SUITES) if (args.all or args.list) and not args.suites else args.suites
    if not names:
        p.error("name the suites to run, or pass --all (or --list)")

    from kgan.bench import pages
    from kgan.bench.runner import MismatchError, Runner

    runner = Runner(args.records, args.logs, os.path.join(args.docs, "bench", "img"), jobs=args.jobs,
                    threads=args.threads, replace_mismatched=args.replace_mismatched,
                    echo=lambda text: print(text, flush=True))
    if args.list:
        for name in names:
            s = SUITES[name]
            jobs = [j for js in jobs_for(s, args.seeds, args.steps).values() for j in js]
            done = sum(os.path.exists(runner.record_path(j)) for j in jobs)
            print(f"{name:18s} {done:3d}/{len(jobs):3d} runs recorded  {s.title}")
        return 0
    sections = []
    status = 0
    for name in names:
        suite = SUITES[name]
        by_entry = jobs_for(suite, args.seeds, args.steps)
        jobs = [j for js in by_entry.values() for j in js]
        print(f"== {name}: {suite.title} ({len(jobs)} runs)", flush=True)
        try:
            if args.collect_only:
                results = {j.key: r for j in jobs if (r := runner.load(j)) is not None}
            else:
                results = runner.run(_only(jobs, args.only, name, p))
                results.update({j.key: r for j in jobs
                                if j.key not in results and (r := runner.load(j)) is not None})
        except MismatchError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if runner.failed:
            status = 1
        budget = ("" if args.steps is None else f" --steps {args.steps}") + (
            "" if args.seeds is None else f" --seeds {args.seeds}")
        command = f"kgan bench {name}{budget}"
        shown = Suite(**{**suite.__dict__, "steps": args.steps or suite.steps, "seeds": args.seeds or suite.seeds})
        page_dir = os.path.join(args.docs, "bench")
        tag = ("" if args.steps is None else f"_{args.steps}steps") + ("" if args.seeds is None else f"_{args.seeds}seeds")
        page = os.path.join(page_dir, f"{name}{tag}.md")
        notes = pages.read_notes(os.path.join(page_dir, f"{name}.notes.md"))
        worst = {e: j for e, j in pages.worst_seeds(shown, results, by_entry).items() if runner.copy_picture(j)}
        text = pages.suite_page(shown, results, by_entry, command, "img", notes, worst)
        _write(page, text)
        print(f"wrote {page} ({len(results)}/{len(jobs)} runs finished)", flush=True)
        sections.append((shown, results, by_entry, os.path.relpath(page, args.docs)))
    if args.all and args.steps is None and args.seeds is None:
        out = os.path.join(args.docs, "results.md")
        this = "kgan bench --all" + (" --collect-only" if args.collect_only else "")
        _write(out, pages.results_page(sections, this))
        print(f"wrote {out}")
        stale = pages.prune_pictures(runner.images, args.docs, extra=("README.md",))
        if stale:
            print(f"removed {len(stale)} picture(s) no page shows any more: {', '.join(stale)}")
    return status


def _only(jobs, only, suite, parser):
    """The jobs of the rows named in ``--only`` (rows or entry labels), in the order named."""
    if not only:
        return jobs
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    known = {j.entry.row for j in jobs} | {j.entry.label for j in jobs}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        parser.error(f"--only {only!r}: {unknown} not in suite {suite!r}; its entries: "
                     f"{', '.join(sorted(known))}")
    labels = {j.entry.label for j in jobs}
    picked = []
    for w in wanted:  # a label names one entry; a row that is no entry's label names all its variants
        picked += [j for j in jobs if (j.entry.label if w in labels else j.entry.row) == w and j not in picked]
    return picked


def _write(path, text):
    from kgan.utils import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


__all__ = ["SUITES", "Suite", "add_suite", "jobs_for", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
