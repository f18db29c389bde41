"""Speed and memory of kgan.metrics on this machine; writes docs/metrics_speed.md.

    python benchmarks/metrics_speed.py            # full run (50k case: several minutes on 2 cores)
    python benchmarks/metrics_speed.py --quick    # small sizes, a smoke test

Measures: Fréchet distance on 10k x 2048 features (vs scipy.linalg.sqrtm);
precision/recall (k=3) and density/coverage (k=5) at 10k and 50k samples of
64-d features, with peak traced memory (tracemalloc: numpy buffers) and the
process peak RSS; the density/coverage paper's N(0, I) check (1000-d, 10k,
k=5); features per second of the domain classifiers and of keras InceptionV3
(random weights: ImageNet weights cannot be downloaded here; speed does not
depend on the weights).
"""
import argparse
import os
import platform
import resource
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

from kgan.utils import atomic_path  # noqa: E402


def _timed(fn, *args, **kwargs):
    tracemalloc.start()
    tracemalloc.reset_peak()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def bench_fid(n, d, rows):
    from scipy import linalg

    import kgan.metrics as M

    rng = np.random.default_rng(0)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    a = (rng.normal(size=(n, d)) @ mix).astype(np.float32)
    b = (rng.normal(size=(n, d)) @ mix * 1.1 + 0.05).astype(np.float32)
    fid, dt, peak = _timed(M.frechet_distance, a, b)
    t = time.perf_counter()
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    s1, s2 = np.cov(a64, rowvar=False), np.cov(b64, rowvar=False)
    ref = float(((a64.mean(0) - b64.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2)
                - 2 * np.trace(np.real(linalg.sqrtm(s1 @ s2))))
    dt_ref = time.perf_counter() - t
    rows.append(("Fréchet distance", f"{n:,} x {d} vs {n:,} x {d}", f"{dt:.1f} s", f"{peak / 2**20:.0f} MB",
                 f"value {fid:.4f}; scipy.linalg.sqrtm formula {dt_ref:.1f} s, rel. diff {abs(fid - ref) / ref:.1e}"))
    print(rows[-1], flush=True)


def bench_prdc(n, d, rows):
    import kgan.metrics as M

    rng = np.random.default_rng(1)
    real = rng.normal(size=(n, d)).astype(np.float32)
    fake = (rng.normal(size=(n, d)) * 1.05 + 0.05).astype(np.float32)
    pr, dt, peak = _timed(M.precision_recall, real, fake, k=3)
    rows.append(("precision/recall k=3", f"{n:,} vs {n:,}, {d}-d", f"{dt:.1f} s", f"{peak / 2**20:.0f} MB",
                 f"P {pr['precision']:.3f} R {pr['recall']:.3f}; a full {n:,}x{n:,} float64 matrix would be "
                 f"{n * n * 8 / 2**30:.1f} GB"))
    print(rows[-1], flush=True)
    dc, dt, peak = _timed(M.density_coverage, real, fake, k=5)
    rows.append(("density/coverage k=5", f"{n:,} vs {n:,}, {d}-d", f"{dt:.1f} s", f"{peak / 2**20:.0f} MB",
                 f"D {dc['density']:.3f} C {dc['coverage']:.3f}"))
    print(rows[-1], flush=True)


def bench_naeem(n, rows):
    import kgan.metrics as M

    rng = np.random.default_rng(0)
    r, dt, peak = _timed(M.prdc, rng.normal(size=(n, 1000)), rng.normal(size=(n, 1000)), k_pr=5, k_dc=5)
    rows.append(("N(0,I) vs N(0,I), all k=5", f"{n:,} vs {n:,}, 1000-d", f"{dt:.1f} s", f"{peak / 2**20:.0f} MB",
                 f"P {r['precision']:.3f} R {r['recall']:.3f} D {r['density']:.3f} C {r['coverage']:.3f} "
                 "(paper: P .477 R .471 D 1.056 C .974)"))
    print(rows[-1], flush=True)


def bench_extractors(n, rows, inception_n):
    import kgan.data
    import kgan.metrics as M

    for name in ("digits", "fashion_mnist", "stacked_fashion_mnist"):
        t = time.perf_counter()
        clf = M.DomainClassifier.for_dataset(name, verbose=0)
        setup = time.perf_counter() - t
        if name.startswith("stacked"):
            x, _ = kgan.data.load_arrays(name, "test", n=n, seed=0)
        else:
            x, _ = kgan.data.load_arrays(name, "test")
            x = np.concatenate([x] * int(np.ceil(n / len(x))))[:n]
        clf.features_and_probs(x[:256])  # warm-up (graph tracing)
        t = time.perf_counter()
        clf.features_and_probs(x)
        dt = time.perf_counter() - t
        rows.append((f"domain classifier {name}", f"{len(x):,} images {x.shape[1:]}", f"{dt:.1f} s", "-",
                     f"{len(x) / dt:,.0f} images/s (setup incl. training if not cached: {setup:.0f} s; "
                     f"test accuracy {clf.test_accuracy:.4f})"))
        print(rows[-1], flush=True)
    t = time.perf_counter()
    inc = M.InceptionFeatures(weights=None, batch_size=32)
    build = time.perf_counter() - t
    x = np.random.default_rng(0).uniform(-1, 1, size=(inception_n, 28, 28, 1)).astype(np.float32)
    inc.features_and_probs(x[:32])
    t = time.perf_counter()
    inc.features_and_probs(x)
    dt = time.perf_counter() - t
    rows.append(("keras InceptionV3 (weights=None)", f"{inception_n} images 28x28x1 -> 299x299x3",
                 f"{dt:.1f} s", "-", f"{inception_n / dt:.1f} images/s, batch 32 (build {build:.0f} s); "
                 f"50k samples would take {50000 / (inception_n / dt) / 3600:.1f} h"))
    print(rows[-1], flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "docs", "metrics_speed.md"))
    p.add_argument("--skip-extractors", action="store_true")
    args = p.parse_args(argv)
    import keras
    import tensorflow as tf

    load0 = os.getloadavg()
    start = time.perf_counter()
    rows = []
    bench_fid(2000 if args.quick else 10000, 256 if args.quick else 2048, rows)
    for n in ((2000,) if args.quick else (10000, 50000)):
        bench_prdc(n, 64, rows)
    bench_naeem(2000 if args.quick else 10000, rows)
    if not args.skip_extractors:
        bench_extractors(2000 if args.quick else 10000, rows, 64 if args.quick else 256)
    total = time.perf_counter() - start
    load1 = os.getloadavg()
    cmd = "python benchmarks/metrics_speed.py" + (" --quick" if args.quick else "")
    lines = [
        "# kgan.metrics: speed and memory",
        "",
        f"Written by `{cmd}` (total {total / 60:.1f} min).",
        "",
        f"Machine: {_cpu_name()}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}, "
        f"numpy {np.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}. "
        f"Load average at start {load0[0]:.1f}, at end {load1[0]:.1f} (the machine is shared with "
        "other jobs: times are upper bounds of what 2 idle cores do).",
        "",
        "Peak memory is the peak of numpy/Python allocations during the call (tracemalloc); "
        f"the process's peak RSS over the whole run was {_rss_mb():,.0f} MB (it includes TensorFlow).",
        "",
        "| what | size | time | peak memory | notes |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    lines += [
        "",
        "Notes:",
        "- precision/recall and density/coverage use 64-d features here (a small domain-classifier-like",
        "  width); their cost is O(N^2 d): distance blocks of at most 8M entries (64 MB float64), so",
        "  memory stays flat in N while time grows with N^2.",
        "- InceptionV3 is timed with random weights (`weights=None`): the ImageNet weights cannot be",
        "  downloaded on this machine; the forward pass costs the same with any weights.",
        "- The N(0, I) row reproduces the density/coverage paper's example (Naeem et al. 2020, 10k",
        "  samples, 1000-d, k=5); one run, so expect about +-0.02 on P/R and +-0.08 on D between seeds.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    with atomic_path(os.path.abspath(args.out)) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(f"written {os.path.abspath(args.out)}")


if __name__ == "__main__":
    main()
