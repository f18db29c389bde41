"""The AdaptiveMix classification suites re-evaluated with precise BatchNorm statistics.

    python benchmarks/classification_precise_bn.py                      # evaluate what is missing, write the page
    python benchmarks/classification_precise_bn.py --collect-only       # the page from the stored evaluations
    python benchmarks/classification_precise_bn.py --suites adaptivemix_openset --n 20000

The classifier rows evaluate the model as trained: BatchNorm uses the moving averages collected during
training (momentum 0.99). With Adam at a constant learning rate those lag the final weights, and the test
accuracy of one run moved from 81.3% to 91.6% when the same weights were evaluated with statistics
re-estimated on training images. Mixup and the official AdaptiveMix recipe also collect them on mixed images
only. This script takes every finished run of ``kgan bench adaptivemix_classification`` and
``kgan bench adaptivemix_openset`` (its record in ``benchmarks/runs/`` and its ``model.keras`` in the run
folder the record names), sets BatchNorm's statistics to their mean over ``--n`` training images at the
final weights (``AdaptiveMixClassifier.recalibrate_batchnorm``; the same as ``kgan eval MODEL.keras
--precise-bn N``), runs the rows' evaluation again, stores each result under
``benchmarks/precise_bn/<the record's path>`` and writes ``docs/bench/adaptivemix_precise_bn.md``: the
suites' metrics as trained and with precise BN, mean ± sd over seeds, each mode against the plain
classifier (95% Welch interval and p-value). Runs whose folder is gone are listed as missing.
"""
import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE_NAMES = ("adaptivemix_classification", "adaptivemix_openset")


def model_path(record):
    """The ``model.keras`` of the run folder named by the record's reproducing command."""
    words = record["command"].split()
    return os.path.join(REPO, words[words.index("--logdir") + 1], "model.keras")


def evaluate(record, n):
    """The rows' evaluation of the record's saved model after precise BN on ``n`` training images."""
    import keras

    import kgan.models  # noqa: F401  (registers the classes)
    from kgan.experiments.classify import PROTOCOLS

    settings = record["settings"]
    protocol = PROTOCOLS[record["report"]["protocol"]]
    model = keras.saving.load_model(model_path(record), compile=False)
    options = {o.name: o.default for o in protocol.options}
    options.update(settings["options"], precise_bn=n)
    t0 = time.process_time()
    report = protocol.evaluate(model, options, settings["seed"])
    report["eval_cpu_s"] = round(time.process_time() - t0, 1)
    return report


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suites", default=",".join(SUITE_NAMES), help="comma-separated suites")
    p.add_argument("--n", type=int, default=20_000, help="training images for precise BN (default 20000)")
    p.add_argument("--collect-only", action="store_true", help="evaluate nothing; write the page")
    p.add_argument("--out", default=os.path.join(REPO, "docs", "bench", "adaptivemix_precise_bn.md"))
    args = p.parse_args(argv)
    if args.n < 1:
        p.error(f"--n must be a positive number of training images, got {args.n}")
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in suites if s not in SUITE_NAMES]
    if unknown:
        p.error(f"--suites: unknown {unknown}; known: {', '.join(SUITE_NAMES)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from kgan.bench import jobs_for
    from kgan.bench.runner import Runner
    from kgan.bench.suites import SUITES

    runner = Runner(os.path.join(REPO, "benchmarks", "runs"), os.path.join(REPO, "tensorboard_logs", "bench"),
                    os.path.join(REPO, "docs", "bench", "img"))
    store = os.path.join(REPO, "benchmarks", "precise_bn")
    sections = []
    for name in suites:
        suite = SUITES[name]
        by_entry = jobs_for(suite)
        trained, precise, missing = {}, {}, []
        for entry, jobs in by_entry.items():
            for job in jobs:
                record = runner.load(job)
                if record is None or record.get("status") != "ok":
                    missing.append(f"{entry.label} seed {job.seed} (not trained)")
                    continue
                trained.setdefault(entry, []).append(record)
                path = os.path.join(store, f"{job.relpath()}.n{args.n}.json")
                if os.path.exists(path):
                    with open(path) as f:
                        precise.setdefault(entry, []).append(json.load(f))
                    continue
                if args.collect_only:
                    missing.append(f"{entry.label} seed {job.seed} (not re-evaluated)")
                    continue
                if not os.path.exists(model_path(record)):
                    missing.append(f"{entry.label} seed {job.seed} (no model.keras in its run folder)")
                    continue
                report = evaluate(record, args.n)
                result = {"status": "ok", "report": report, "record": os.path.relpath(runner.record_path(job), REPO),
                          "command": f"python benchmarks/classification_precise_bn.py --suites {name} --n {args.n}"}
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path + ".tmp", "w") as f:
                    json.dump(result, f, indent=1, sort_keys=True)
                os.replace(path + ".tmp", path)
                print(f"{entry.label} seed {job.seed}: acc {report['acc']:.4f} "
                      f"(as trained {record['report']['acc']:.4f}), {report['eval_cpu_s']} CPU s", flush=True)
                precise.setdefault(entry, []).append(result)
        sections.append((suite, by_entry, trained, precise, missing))
    text = render(sections, args.n)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote {args.out}")
    return 0


def render(sections, n):
    from kgan.bench.pages import cell, diff_cell, values
    from kgan.bench.suites import METRICS

    lines = ["# AdaptiveMix classification suites with precise BatchNorm statistics", "",
             f"Generated by `python benchmarks/classification_precise_bn.py --n {n}` from the finished runs of "
             "the two suites (their records in `benchmarks/runs/`, their `model.keras` files) and the stored "
             "re-evaluations in `benchmarks/precise_bn/`. Same weights as the suites' pages; only BatchNorm's "
             f"statistics differ: their mean over {n:,} training images at the final weights instead of the "
             "moving averages of training. Mean ± sd over seeds, per-seed values in brackets; Δ: difference "
             "from the plain classifier's mean with its 95% Welch interval and p-value (bold: p < 0.05).", ""]
    for suite, by_entry, trained, precise, missing in sections:
        base = next(e for e in by_entry if suite.baseline(e) is None)
        lines += [f"## {suite.title}", "", f"The suite's page: [{suite.name}.md]({suite.name}.md).", ""]
        for label, results in (("With precise BN", precise), ("As trained (the suite's page)", trained)):
            lines += [f"### {label}", ""]
            header = ["entry", "runs"]
            for m in suite.metrics:
                header += [METRICS[m].label, f"Δ {METRICS[m].label}"]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for entry, jobs in by_entry.items():
                recs = results.get(entry, [])
                row = [f"`{entry.label}`", f"{len(recs)}/{len(jobs)}"]
                for m in suite.metrics:
                    v = values(recs, m)
                    row += [cell(m, v), "(baseline)" if entry is base else diff_cell(m, v, values(results.get(base, []), m))]
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
        if missing:
            lines += [f"**Missing ({len(missing)}):** " + ", ".join(missing), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
