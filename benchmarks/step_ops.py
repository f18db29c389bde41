"""Where the ops of a kgan training step go: trace ``train_step`` and attribute every graph op to what made it.

    python benchmarks/step_ops.py                               # base GAN + MaEM, MDGAN, ReACGAN, AdaptiveMix
    python benchmarks/step_ops.py --methods gan,acgan --types   # also the op types of each origin
    python benchmarks/step_ops.py --keras-apply                 # Keras's optimizer.apply / update_state

The models are those of ``benchmarks/speed.py`` (the VEEGAN 2D MLPs, batch 512; methods built by
``kgan.tuning.build_model`` on grid25). The step is traced once with ``tf.function(gan.train_step)``; while it
is traced, the model's building blocks are wrapped (on the instance, for this script only) so that each op is
counted once, under the innermost of:

* ``unpack``: the data check (``CheckNumerics``) and label checks;
* ``noise seed``: :meth:`GAN.stream_seed` (the ``[key, step]`` seed of a named draw);
* ``noise draw``: the stateless draws themselves (``random_normal`` / ``random_uniform``);
* ``forward (losses)``: the phase's loss method (networks' forward passes and loss terms);
* ``backward``: ``tf.GradientTape.gradient``;
* ``optimizer apply``: ``optimizer.apply`` (Adam's per-variable update, the iteration counter);
* ``apply glue``: the rest of ``apply_update`` (gradient casts, pairing);
* ``metric trackers``: the trackers' ``update_state`` and the logs' ``result()``;
* ``EMA``: ``update_ema``;
* ``phase loop``: everything else in the step (term sums, loss scaling, batch slicing, step counter).

"kernels" leaves out the ops that run no kernel of their own (``Const``, ``Placeholder``, ``NoOp``,
``Identity``); those are what the graph executor schedules one by one.
"""
import argparse
import collections
import contextlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for p in (REPO, HERE):
    if p not in sys.path:
        sys.path.insert(0, p)

FREE = {"Const", "Placeholder", "NoOp", "Identity"}
ORDER = ("unpack", "noise seed", "noise draw", "forward (losses)", "backward", "optimizer apply",
         "apply glue", "metric trackers", "EMA", "phase loop")


class OpCounter:
    """Attributes each op of the graph being traced to the innermost wrapped call that made it."""

    def __init__(self):
        self.owner = {}  # op name -> category
        self.stack = []

    @staticmethod
    def _ops():
        import tensorflow as tf

        return tf.compat.v1.get_default_graph().get_operations()

    def wrap(self, obj, attr, category):
        fn = getattr(obj, attr)
        counter = self

        def wrapped(*args, **kwargs):
            start = len(counter._ops())
            try:
                return fn(*args, **kwargs)
            finally:
                for op in counter._ops()[start:]:
                    counter.owner.setdefault(op.name, category)

        setattr(obj, attr, wrapped)

    @contextlib.contextmanager
    def patch_tape(self):
        import tensorflow as tf

        original = tf.GradientTape.gradient
        counter = self

        def gradient(tape, *args, **kwargs):
            start = len(counter._ops())
            try:
                return original(tape, *args, **kwargs)
            finally:
                for op in counter._ops()[start:]:
                    counter.owner.setdefault(op.name, "backward")

        tf.GradientTape.gradient = gradient
        try:
            yield
        finally:
            tf.GradientTape.gradient = original


def matmul_flops(op):
    """2 M N K of a MatMul with known shapes (0 for other ops)."""
    if op.type != "MatMul":
        return 0
    a = op.inputs[0].shape
    out = op.outputs[0].shape
    if a.rank != 2 or out.rank != 2 or None in (*a, *out):
        return 0
    k = a[0] if op.get_attr("transpose_a") else a[1]
    return 2 * out[0] * out[1] * k


def output_elements(op):
    """Elements written by ``op`` (its outputs with known shapes; unknown shapes count 0)."""
    n = 0
    for t in op.outputs:
        if t.shape.rank is not None and None not in t.shape:
            n += t.shape.num_elements()
    return n


def count_step(method):
    import tensorflow as tf

    import speed

    speed._COMPILE.clear()
    gan = speed._kgan_model("mlp", method)
    ds = speed._kgan_data("mlp", speed.MLP["batch"], False, gan.d_steps, labels=gan.num_classes is not None)
    data = next(iter(ds))
    c = OpCounter()
    c.wrap(gan, "unpack", "unpack")
    c.wrap(gan, "stream_seed", "noise seed")
    c.wrap(gan, "random_normal", "noise draw")
    c.wrap(gan, "random_uniform", "noise draw")
    c.wrap(gan, "update_ema", "EMA")
    c.wrap(gan, "apply_update", "apply glue")
    for phase in gan.active_phases():
        c.wrap(gan, phase.losses, "forward (losses)")
    optimizers = {id(getattr(gan, u.optimizer)): getattr(gan, u.optimizer)
                  for p in gan.active_phases() for u in p.updates}
    for opt in optimizers.values():
        c.wrap(opt, "apply", "optimizer apply")
    from kgan.models import fast_paths

    saved = fast_paths.fused_adam_apply, fast_paths.track
    c.wrap(fast_paths, "fused_adam_apply", "optimizer apply")
    c.wrap(fast_paths, "track", "metric trackers")
    for tracker in gan.trackers.values():
        c.wrap(tracker, "update_state", "metric trackers")
        c.wrap(tracker, "result", "metric trackers")
    try:
        with c.patch_tape():
            graph = tf.function(gan.train_step).get_concrete_function(data).graph
    finally:
        fast_paths.fused_adam_apply, fast_paths.track = saved
    ops = graph.get_operations()
    by_cat = collections.defaultdict(collections.Counter)
    for op in ops:
        by_cat[c.owner.get(op.name, "phase loop")][op.type] += 1
    n_vars = sum(len(getattr(gan, u.variables)) for p in gan.active_phases() for u in p.updates
                 for _ in range(gan.d_steps if p.repeat == "d_steps" else p.repeat))
    return {"model": type(gan).__name__, "ops": len(ops),
            "kernels": sum(1 for op in ops if op.type not in FREE),
            "matmuls": sum(1 for op in ops if op.type in ("MatMul", "BatchMatMulV2")),
            "matmul_gflop": sum(matmul_flops(op) for op in ops) / 1e9,
            "other_melem": sum(output_elements(op) for op in ops if op.type not in FREE | {"MatMul"}) / 1e6,
            "updated_variables": n_vars, "trackers": len(gan.trackers),
            "by_category": {k: dict(v) for k, v in by_cat.items()}}


def render(results, types=False):
    lines = ["| method | model | ops | kernels | MatMul (GFLOP) | other kernels' output (M elements) | "
             + " | ".join(ORDER) + " |", "|---|---|---|---|---|---|" + "---|" * len(ORDER)]
    for m, r in results.items():
        cells = []
        for cat in ORDER:
            t = r["by_category"].get(cat, {})
            cells.append(f"{sum(t.values())} ({sum(n for k, n in t.items() if k not in FREE)})" if t else "0")
        lines.append(f"| {m} | {r['model']} | {r['ops']} | {r['kernels']} | {r['matmuls']} ({r['matmul_gflop']:.3f}) | "
                     f"{r['other_melem']:.1f} | " + " | ".join(cells) + " |")
    lines += ["", "Each origin: all ops (kernels). Variables updated per step: "
              + ", ".join(f"{m} {r['updated_variables']}" for m, r in results.items())
              + "; metric trackers: " + ", ".join(f"{m} {r['trackers']}" for m, r in results.items()) + "."]
    if types:
        for m, r in results.items():
            lines += ["", f"{m}:"]
            for cat in ORDER:
                t = r["by_category"].get(cat)
                if t:
                    top = ", ".join(f"{k} {n}" for k, n in sorted(t.items(), key=lambda kv: -kv[1]))
                    lines.append(f"  {cat}: {top}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default="gan,maem,mdgan,reacgan,adaptivemix")
    parser.add_argument("--types", action="store_true", help="list the op types of every origin")
    parser.add_argument("--keras-apply", action="store_true",
                        help="trace with kgan.models.fast_paths.FAST_PATHS = False (Keras's optimizer.apply and "
                             "update_state, the step as it was before the fast paths)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if args.keras_apply:
        import kgan.models.fast_paths

        kgan.models.fast_paths.FAST_PATHS = False
    results = {m: count_step(m) for m in args.methods.split(",")}
    print(render(results, args.types))
    return 0


if __name__ == "__main__":
    sys.exit(main())
