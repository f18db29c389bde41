"""Speed and memory of kgan.metrics on this machine; writes docs/metrics_speed.md.

    python benchmarks/metrics_speed.py            # full run (50k case: several minutes on 2 cores)
    python benchmarks/metrics_speed.py --quick    # small sizes, a smoke test

Measures: Fréchet distance on 10k x 2048 features (kgan and pytorch-fid's scipy.linalg.sqrtm
formula on the same statistics, best of 3 each); the standard TF-Inception feature path
(the real graph when KGAN_INCEPTION_GRAPH names it, else the tests' stand-in graph, labelled);
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


def _lscpu_model():
    import subprocess

    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return None


def _blas():
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} kernels, "
                         f"{i.get('num_threads')} threads)" for i in info) or "unknown"
    except ImportError:
        return "unknown (threadpoolctl missing)"


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _best_of(repeats, fn, *args):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t)
    return out, min(times), times


def _fd_sqrtm(mu1, sigma1, mu2, sigma2):
    """pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm of the product, eps retry)."""
    from scipy import linalg

    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def bench_fid(n, d, rows, repeats=3):
    import kgan.metrics as M
    from kgan.metrics.distance import covariance

    rng = np.random.default_rng(0)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    a = (rng.normal(size=(n, d)) @ mix).astype(np.float32)
    b = (rng.normal(size=(n, d)) @ mix * 1.1 + 0.05).astype(np.float32)
    (mu1, s1), t_cov, _ = _best_of(repeats, covariance, a)
    mu2, s2 = covariance(b)
    (_, t_npcov, _) = _best_of(1, lambda: np.cov(a.astype(np.float64), rowvar=False))
    rows.append(("covariance (float64)", f"{n:,} x {d}", f"{t_cov:.2f} s", "-",
                 f"centred X^T X / (N-1), one BLAS self-product; np.cov {t_npcov:.2f} s (best of {repeats} / 1)"))
    print(rows[-1], flush=True)
    fast, t_fast, all_fast = _best_of(repeats, M.frechet_distance_from_stats, mu1, s1, mu2, s2)
    ref, t_ref, all_ref = _best_of(repeats, _fd_sqrtm, mu1, s1, mu2, s2)
    rel = abs(fast - ref) / ref
    rows.append(("Fréchet distance from (mu, sigma)", f"{d} x {d} covariances of {n:,} samples",
                 f"{t_fast:.1f} s", "-",
                 f"kgan (Cholesky + eigvalsh) best of {repeats}: {t_fast:.1f} s (runs "
                 f"{', '.join(f'{t:.1f}' for t in all_fast)}); scipy.linalg.sqrtm formula (pytorch-fid's) best "
                 f"of {repeats}: {t_ref:.1f} s (runs {', '.join(f'{t:.1f}' for t in all_ref)}); "
                 f"**{t_ref / t_fast:.1f}x faster**; values {fast:.6f} vs {ref:.6f}, rel. diff {rel:.1e}"))
    print(rows[-1], flush=True)
    fid, dt, peak = _timed(M.frechet_distance, a, b)
    rows.append(("Fréchet distance from features", f"{n:,} x {d} vs {n:,} x {d}", f"{dt:.1f} s",
                 f"{peak / 2**20:.0f} MB", f"value {fid:.4f} (both covariances + the distance, one run)"))
    print(rows[-1], flush=True)


def bench_standard_inception(rows, n_images):
    """Feature throughput of the standard (2015 TF-Inception) path: the real graph when
    KGAN_INCEPTION_GRAPH names it, else the offline stand-in graph of the tests."""
    from kgan.metrics.inception_tf import GRAPH_ENV, StandardInception

    graph = os.environ.get(GRAPH_ENV)
    real = bool(graph) and os.path.exists(graph)
    if real:
        what = f"TF-Inception 2015 graph ({os.path.basename(graph)})"
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
        import tempfile

        import inception_standin

        tmp = tempfile.mkdtemp(prefix="kgan_standin_")
        graph = inception_standin.write_graph(os.path.join(tmp, "classify_image_graph_def.pb"))
        what = ("STAND-IN graph (the real classify_image_graph_def.pb is missing here: "
                f"{GRAPH_ENV} unset; no internet)")
    t = time.perf_counter()
    inc = StandardInception(graph, batch_size=32)
    load = time.perf_counter() - t
    x = np.random.default_rng(0).uniform(-1, 1, size=(n_images, 32, 32, 3)).astype(np.float32)
    inc.features_and_probs(x[:32])
    t = time.perf_counter()
    inc.features_and_probs(x)
    dt = time.perf_counter() - t
    t = time.perf_counter()
    inc.prepare(x)
    prep = time.perf_counter() - t
    rows.append((f"standard Inception path: {what}", f"{n_images:,} images 32x32x3 -> 299x299", f"{dt:.1f} s",
                 "-", f"{n_images / dt:,.1f} images/s, batch 32 (graph load {load:.1f} s; 8-bit conversion "
                 f"{n_images / max(prep, 1e-9):,.0f} images/s)" +
                 ("" if real else "; the stand-in is 2 small convolutions, so this times the loading, "
                  "preprocessing and graph-resize path, not Inception's convolutions")))
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
    p.add_argument("--quiet-machine", action="store_true",
                   help="say in the page that nothing else ran (you stopped the other jobs)")
    args = p.parse_args(argv)
    import keras
    import tensorflow as tf

    load0 = os.getloadavg()
    start = time.perf_counter()
    rows = []
    bench_fid(2000 if args.quick else 10000, 256 if args.quick else 2048, rows)
    if not args.skip_extractors:
        bench_standard_inception(rows, 64 if args.quick else 1000)
    for n in ((2000,) if args.quick else (10000, 50000)):
        bench_prdc(n, 64, rows)
    bench_naeem(2000 if args.quick else 10000, rows)
    if not args.skip_extractors:
        bench_extractors(2000 if args.quick else 10000, rows, 64 if args.quick else 256)
    total = time.perf_counter() - start
    load1 = os.getloadavg()
    cmd = "python benchmarks/metrics_speed.py" + (" --quick" if args.quick else "") + (" --quiet-machine" if args.quiet_machine else "")
    lines = [
        "# kgan.metrics: speed and memory",
        "",
        f"Written by `{cmd}` (total {total / 60:.1f} min).",
        "",
        f"Machine: {_lscpu_model() or _cpu_name()} (`lscpu` model name), {os.cpu_count()} logical CPUs; "
        f"BLAS: {_blas()}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}. "
        f"Load average at start {load0[0]:.1f}, at end {load1[0]:.1f}: " + (
            "a quiet machine (other jobs stopped for the run; the load average counts this run's own "
            "threads and decays slowly from before). Ratios measured in the same run (the two Fréchet "
            "distance formulas) are the figures to compare across machines."
            if args.quiet_machine else
            "the machine was loaded by background benchmarks (training runs) during this run, so absolute "
            "times are upper bounds of what 2 idle cores do and vary between runs; ratios measured in the "
            "same run (the two Fréchet distance formulas) are the comparable figures."),
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
        "- Fréchet distance: kgan factors Sigma_a = L L^T (Cholesky) and takes the eigenvalues of the",
        "  symmetric L^T Sigma_b L (the same as those of Sigma_a Sigma_b); with a singular covariance it",
        "  falls back to Sigma_a^{1/2} Sigma_b Sigma_a^{1/2} (eigh), and with fewer samples than dimensions",
        "  and the features at hand to the exact N x N problem. The reference is pytorch-fid's",
        "  `calculate_frechet_distance` (scipy.linalg.sqrtm of Sigma_a Sigma_b), run on the same (mu, sigma).",
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
