"""The compiled ``train_step`` of one model in several implementations, timed in one process, interleaved
round by round (so background load hits all alike), best of ``--rounds``:

* ``keras apply``: ``kgan.models.fast_paths.FAST_PATHS = False`` (Keras's ``optimizer.apply`` and
  ``Mean.update_state``: the step before the fast paths);
* ``fast`` (the default): :func:`kgan.models.fast_paths.fused_adam_apply` and :func:`kgan.models.fast_paths.track`;
* ``fast + ResourceApplyAdam``: ``ADAM_KERNEL = True``, one Adam kernel per variable (not bit-identical);
* ``... XLA``: the whole step under ``tf.function(jit_compile=True)``.

    TF_NUM_INTRAOP_THREADS=1 python benchmarks/step_variants.py --method gan
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for p in (REPO, HERE):
    if p not in sys.path:
        sys.path.insert(0, p)

VARIANTS = {  # name: (FAST_PATHS, ADAM_KERNEL, jit_compile)
    "keras apply": (False, False, False),
    "fast": (True, False, False),
    "fast + ResourceApplyAdam": (True, True, False),
    "keras apply, XLA": (False, False, True),
    "fast, XLA": (True, False, True),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="gan")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=";".join(VARIANTS), help="names separated by \";\"")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from kgan.models import fast_paths
    import speed

    steps = {}
    for name in args.variants.split(";"):
        fast, kernel, jit = VARIANTS[name]
        fast_paths.FAST_PATHS, fast_paths.ADAM_KERNEL = fast, kernel
        speed._COMPILE.clear()
        gan = speed._kgan_model("mlp", args.method)
        ds = speed._kgan_data("mlp", speed.MLP["batch"], False, gan.d_steps, labels=gan.num_classes is not None)
        x = next(iter(ds))
        fn = tf.function(gan.train_step, jit_compile=jit)
        fn(x)  # trace now, under this variant's flags
        fn(x)
        steps[name] = (fn, x)
    fast_paths.FAST_PATHS, fast_paths.ADAM_KERNEL = True, False
    best = {name: float("inf") for name in steps}
    for _ in range(args.rounds):
        for name, (fn, x) in steps.items():
            t = time.perf_counter()
            for _ in range(args.steps):
                logs = fn(x)
            float(next(iter(logs.values())))
            best[name] = min(best[name], 1000 * (time.perf_counter() - t) / args.steps)
    load = os.getloadavg()
    print(f"{args.method}: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"TF_NUM_INTRAOP_THREADS={os.environ.get('TF_NUM_INTRAOP_THREADS', 'unset')}, best of {args.rounds} x "
          f"{args.steps} steps, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ref = best.get("keras apply")
    print("| variant | ms / step | x keras apply |\n|---|---|---|")
    for name, ms in best.items():
        print(f"| {name} | {ms:.2f} | {ms / ref:.2f} |" if ref else f"| {name} | {ms:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
