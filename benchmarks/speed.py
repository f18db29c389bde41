"""Speed of a kgan GAN step against a plain PyTorch CPU loop, and regulariser overheads.

    pip install -r benchmarks/requirements-speed.txt      # torch==2.13.0 (CPU)
    python benchmarks/speed.py                            # full: 2000 MLP / 300 DCGAN timed steps
    python benchmarks/speed.py --quick                    # small N, to validate the script
    python benchmarks/speed.py --threads 1 --note "loaded machine"

What it measures, one configuration after another in one run (each in its own
subprocess, so thread pools and peak memory do not mix):

1. Machine limit: a bare 2048^3 matmul and the DCGAN discriminator's largest
   convolution (batch 64, 14x14x64 -> 7x7x128, 4x4/2), in TensorFlow and in
   PyTorch, GFLOP/s; plus the same-shape matmul as the MLP's hidden layer.
2. The VEEGAN 2D MLPs (G: 256 -> 128 tanh -> 128 tanh -> 2; D: 2 -> 128 tanh
   -> 128 tanh -> 1), batch 512, Adam (D 1e-4, G 1e-3, beta1 0.5, eps 1e-8),
   non-saturating loss: kgan (``kgan.models.GAN`` + ``kgan.nets.mlp_*``,
   ``fit``) in several settings (``steps_per_execution``, XLA ``jit_compile``,
   ``tf.data`` prefetch), and the same step in PyTorch.
3. The DCGAN at 28 px (``kgan.nets.dcgan_*(28, 1)``, z 128, width 64, batch
   64, Adam 2e-4 beta1 0.5), kgan settings and PyTorch.
4. Every method in ``kgan.tuning.available_methods()`` on the 2D MLPs (and
   with ``--overhead-images`` on the DCGAN): step time / base GAN step time.
5. Where the time goes (kgan): the data pipeline alone, forward passes alone,
   the compiled ``train_step`` called in a bare loop (no ``fit``), and ``fit``.

FLOPs of one GAN step are counted from the layer shapes: a D update is G's
forward + D's forward on real and fake + their backward (2x forward), a G update
is G and D forward + backward, i.e. ``4 F_G + 9 F_D`` forward-equivalents
(``F`` = 2 * multiply-adds of one forward pass of the batch). The same count is
used for both frameworks, so the ratio of achieved GFLOP/s is the ratio of
steps/s. Neither step keeps a generator EMA (kgan: ``ema_decay=None``).

Targets: kgan >= 1.2x PyTorch's steps/s; >= 70% of the measured
matmul/conv throughput; no method above 1.3x the base GAN's step time.
The markdown tables are written to ``--out`` (default docs/speed.md) with the
command that produced them; if the file has the markers ``BEGIN``/``END``
(see below) only the text between them is replaced.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, REPO)

BEGIN, END = "<!-- speed.py: begin generated -->", "<!-- speed.py: end generated -->"
MLP = dict(latent=256, hidden=128, batch=512, d_lr=1e-4, g_lr=1e-3, eps=1e-8)
DCGAN = dict(latent=128, width=64, batch=64, lr=2e-4, size=28)


# =============================================================================== worker side
def _setup_threads(threads):
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------ FLOP counting
def mlp_forward_flops(batch):
    """2 * MACs of one forward pass of G and of D (VEEGAN MLPs) for ``batch`` samples."""
    h, z = MLP["hidden"], MLP["latent"]
    g = z * h + h * h + h * 2
    d = 2 * h + h * h + h * 1
    return 2.0 * batch * g, 2.0 * batch * d


def dcgan_forward_flops(batch):
    """2 * MACs of one forward pass of the 28 px DCGAN G and D (width 64, z 128)."""
    z, w = DCGAN["latent"], DCGAN["width"]
    g = z * 7 * 7 * 4 * w                      # Dense -> 7x7x256
    g += 7 * 7 * 4 * 4 * (4 * w) * (2 * w)     # ConvT 4x4/2 256 -> 128 (per input pixel)
    g += 14 * 14 * 4 * 4 * (2 * w) * w         # ConvT 4x4/2 128 -> 64
    g += 28 * 28 * 3 * 3 * w * 1               # Conv 3x3 64 -> 1
    d = 14 * 14 * 4 * 4 * 1 * w                # Conv 4x4/2 1 -> 64
    d += 7 * 7 * 4 * 4 * w * (2 * w)           # Conv 4x4/2 64 -> 128
    d += 2 * w                                 # Dense 128 -> 1
    return 2.0 * batch * g, 2.0 * batch * d


def step_flops(kind):
    fg, fd = (mlp_forward_flops(MLP["batch"]) if kind == "mlp" else dcgan_forward_flops(DCGAN["batch"]))
    return 4 * fg + 9 * fd


# ------------------------------------------------------------------------ machine limit
def worker_peak(cfg):
    _setup_threads(cfg["threads"])
    out = {}
    n_rep = cfg["reps"]
    if cfg["framework"] == "tf":
        import tensorflow as tf

        def bench(fn, flops):
            fn()
            t = time.perf_counter()
            for _ in range(n_rep):
                fn()
            return flops * n_rep / (time.perf_counter() - t) / 1e9

        a = tf.random.normal([2048, 2048])
        mm = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
        out["matmul_2048"] = bench(lambda: mm().numpy(), 2.0 * 2048 ** 3)
        h = tf.random.normal([512, 128])
        w = tf.random.normal([128, 128])
        small = tf.function(lambda: tf.reduce_sum(tf.matmul(h, w)))
        out["matmul_512x128x128"] = bench(lambda: small().numpy(), 2.0 * 512 * 128 * 128)
        x = tf.random.normal([64, 14, 14, 64])
        k = tf.random.normal([4, 4, 64, 128])
        conv = tf.function(lambda: tf.reduce_sum(tf.nn.conv2d(x, k, 2, "SAME")))
        out["conv_dcgan_d2"] = bench(lambda: conv().numpy(), 2.0 * 64 * 7 * 7 * 4 * 4 * 64 * 128)
    else:
        import torch

        torch.set_num_threads(cfg["threads"])

        def bench(fn, flops):
            with torch.no_grad():
                fn()
                t = time.perf_counter()
                for _ in range(n_rep):
                    fn()
            return flops * n_rep / (time.perf_counter() - t) / 1e9

        a = torch.randn(2048, 2048)
        out["matmul_2048"] = bench(lambda: (a @ a).sum().item(), 2.0 * 2048 ** 3)
        h, w = torch.randn(512, 128), torch.randn(128, 128)
        out["matmul_512x128x128"] = bench(lambda: (h @ w).sum().item(), 2.0 * 512 * 128 * 128)
        x = torch.randn(64, 64, 14, 14)
        k = torch.randn(128, 64, 4, 4)
        out["conv_dcgan_d2"] = bench(lambda: torch.nn.functional.conv2d(x, k, stride=2, padding=1).sum().item(),
                                     2.0 * 64 * 7 * 7 * 4 * 4 * 64 * 128)
    out["peak_mb"] = _peak_mb()
    return out


# ------------------------------------------------------------------------ kgan
def _kgan_model(kind, method="gan"):
    import keras

    import kgan

    keras.utils.set_random_seed(0)
    if method != "gan":
        from kgan.tuning import build_model

        return build_model(method, "grid25" if kind == "mlp" else "fashion_mnist", seed=0,
                           compile_kwargs=_COMPILE)
    if kind == "mlp":
        G = kgan.nets.mlp_generator(latent_dim=MLP["latent"])
        D = kgan.nets.mlp_discriminator()
        gan = kgan.models.GAN(G, D, ema_decay=None, seed=0)
        gan.compile(d_optimizer=keras.optimizers.Adam(MLP["d_lr"], beta_1=0.5, epsilon=MLP["eps"]),
                    g_optimizer=keras.optimizers.Adam(MLP["g_lr"], beta_1=0.5, epsilon=MLP["eps"]),
                    **_COMPILE)
    else:
        G = kgan.nets.dcgan_generator(28, 1, latent_dim=DCGAN["latent"], width=DCGAN["width"])
        D = kgan.nets.dcgan_discriminator(28, 1, width=DCGAN["width"])
        gan = kgan.models.GAN(G, D, ema_decay=None, seed=0)
        gan.compile(d_optimizer=keras.optimizers.Adam(DCGAN["lr"], beta_1=0.5),
                    g_optimizer=keras.optimizers.Adam(DCGAN["lr"], beta_1=0.5), **_COMPILE)
    return gan


_COMPILE = {}


def _kgan_data(kind, batch, prefetch, d_steps=1, labels=False):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    b = batch * d_steps
    if kind == "mlp":
        import kgan.data

        x, y = kgan.data.load_arrays("grid25", n=b * 16, seed=0)
    else:
        x = rng.uniform(-1, 1, size=(b * 16, 28, 28, 1)).astype("float32")
        y = rng.integers(0, 10, size=len(x)).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y) if labels else x).repeat().batch(b, drop_remainder=True)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def worker_kgan(cfg):
    _setup_threads(cfg["threads"])
    import keras

    _COMPILE.clear()
    _COMPILE.update(jit_compile=cfg["jit"], steps_per_execution=cfg["spe"])
    if cfg.get("precision"):
        keras.mixed_precision.set_dtype_policy(cfg["precision"])
    kind, steps = cfg["kind"], cfg["steps"]
    gan = _kgan_model(kind, cfg.get("method", "gan"))
    batch = MLP["batch"] if kind == "mlp" else DCGAN["batch"]
    ds = _kgan_data(kind, batch, cfg["prefetch"], gan.d_steps, labels=gan.num_classes is not None)
    times = []

    class T(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    warm = max(cfg["spe"], cfg["warmup"] - cfg["warmup"] % cfg["spe"] or cfg["spe"])
    spe_steps = max(cfg["spe"], steps - steps % cfg["spe"])
    gan.fit(ds, epochs=1, steps_per_epoch=warm, verbose=0, shuffle=False)  # tracing + warm-up
    gan.fit(ds, epochs=cfg.get("repeats", 1), steps_per_epoch=spe_steps, verbose=0, shuffle=False,
            callbacks=[T()])
    out = {"step_ms": 1000 * min(times) / spe_steps, "steps": spe_steps,
           "model": type(gan).__name__}
    if cfg.get("parts"):
        out.update(_kgan_parts(gan, ds, kind, batch, steps))
    out["peak_mb"] = _peak_mb()
    return out


def _kgan_parts(gan, ds, kind, batch, steps):
    """Per-step ms of: the data pipeline alone, G+D forward passes, the compiled
    train_step in a bare loop (no fit), and Python dispatch of an empty tf.function."""
    import tensorflow as tf

    n = max(20, steps // 2)
    it = iter(ds)
    next(it)
    t = time.perf_counter()
    for _ in range(n):
        x = next(it)
    data_ms = 1000 * (time.perf_counter() - t) / n
    z = tf.random.normal([batch, gan.latent_dim])

    @tf.function(jit_compile=bool(gan.jit_compile))
    def forward(x, z):
        fake = gan.generator(z, training=True)
        return (tf.reduce_sum(gan.discriminator(x, training=True)["logit"])
                + tf.reduce_sum(gan.discriminator(fake, training=True)["logit"]))

    forward(x, z)
    t = time.perf_counter()
    for _ in range(n):
        forward(x, z).numpy()
    fwd_ms = 1000 * (time.perf_counter() - t) / n
    step = tf.function(gan.train_step, jit_compile=bool(gan.jit_compile))
    step(x)
    t = time.perf_counter()
    for _ in range(n):
        logs = step(x)
    float(logs["g_loss"])
    bare_ms = 1000 * (time.perf_counter() - t) / n
    empty = tf.function(lambda v: v + 1.0)
    v = tf.constant(1.0)
    empty(v)
    t = time.perf_counter()
    for _ in range(n):
        empty(v)
    call_ms = 1000 * (time.perf_counter() - t) / n
    return {"data_ms": data_ms, "forward_ms": fwd_ms, "bare_step_ms": bare_ms, "tf_call_ms": call_ms}


# ------------------------------------------------------------------------ PyTorch
def worker_torch(cfg):
    _setup_threads(cfg["threads"])
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    kind, steps = cfg["kind"], cfg["steps"]
    if kind == "mlp":
        h, zdim, batch = MLP["hidden"], MLP["latent"], MLP["batch"]
        G = nn.Sequential(nn.Linear(zdim, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, 2))
        D = nn.Sequential(nn.Linear(2, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, 1))
        opt_d = torch.optim.Adam(D.parameters(), MLP["d_lr"], betas=(0.5, 0.999), eps=MLP["eps"])
        opt_g = torch.optim.Adam(G.parameters(), MLP["g_lr"], betas=(0.5, 0.999), eps=MLP["eps"])
        means = np.array([[a, b] for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)], "float32")
        rng = np.random.default_rng(0)
        data = torch.from_numpy(means[rng.integers(0, 25, batch * 16)]
                                + 0.05 * rng.standard_normal((batch * 16, 2)).astype("float32"))
    else:
        w, zdim, batch = DCGAN["width"], DCGAN["latent"], DCGAN["batch"]

        class Gen(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(zdim, 7 * 7 * 4 * w, bias=False)
                self.net = nn.Sequential(
                    nn.BatchNorm2d(4 * w, momentum=0.1, eps=1e-4), nn.ReLU(),
                    nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(2 * w, momentum=0.1, eps=1e-4), nn.ReLU(),
                    nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(w, momentum=0.1, eps=1e-4), nn.ReLU(),
                    nn.Conv2d(w, 1, 3, 1, 1), nn.Tanh())

            def forward(self, z):
                return self.net(self.fc(z).view(-1, 4 * w, 7, 7))

        class Disc(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),
                                         nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2))
                self.fc = nn.Linear(2 * w, 1)

            def forward(self, x):
                return self.fc(self.net(x).sum(dim=(2, 3)))

        G, D = Gen(), Disc()
        for m in list(G.modules()) + list(D.modules()):
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
        opt_d = torch.optim.Adam(D.parameters(), DCGAN["lr"], betas=(0.5, 0.999))
        opt_g = torch.optim.Adam(G.parameters(), DCGAN["lr"], betas=(0.5, 0.999))
        data = torch.rand(batch * 16, 1, 28, 28) * 2 - 1
    softplus = nn.functional.softplus
    n_batches = len(data) // batch

    bf16 = bool(cfg.get("bf16"))  # torch.autocast on CPU: matmul/conv in bfloat16, weights float32

    def step(i):
        x = data[(i % n_batches) * batch:((i % n_batches) + 1) * batch]
        z = torch.randn(batch, zdim)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            fake = G(z).detach()
            d_loss = softplus(-D(x).float()).mean() + softplus(D(fake).float()).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        z = torch.randn(batch, zdim)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            g_loss = softplus(-D(G(z)).float()).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        return d_loss, g_loss

    for i in range(cfg["warmup"]):
        step(i)
    best = float("inf")
    for _ in range(cfg.get("repeats", 1)):
        t = time.perf_counter()
        for i in range(steps):
            d_loss, g_loss = step(i)
        float(g_loss)  # like kgan's logs: the loss is read back
        best = min(best, time.perf_counter() - t)
    return {"step_ms": 1000 * best / steps, "steps": steps, "torch": torch.__version__,
            "peak_mb": _peak_mb()}


WORKERS = {"peak": worker_peak, "kgan": worker_kgan, "torch": worker_torch}


# =============================================================================== orchestration
def run_worker(cfg, timeout=3600):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg)],
                          capture_output=True, text=True, env=env, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1][len("RESULT "):])


def _say(msg):
    print(msg, flush=True)


def kgan_variants(quick):
    """(label, spe, jit, prefetch) tried for kgan; the fastest is kgan's figure."""
    v = [("fit, steps_per_execution=1", 1, False, True),
         ("fit, steps_per_execution=50", 50, False, True),
         ("fit, steps_per_execution=50, XLA", 50, True, True),
         ("fit, steps_per_execution=50, XLA, no prefetch", 50, True, False),
         # bfloat16 compute (AMX/AVX512-BF16 CPUs): compared with PyTorch under bf16 autocast, not
         # with the float32 rows; never chosen as the float32 "fastest"
         ("fit, steps_per_execution=50, mixed_bfloat16", 50, False, True)]
    return v


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small N (validates the script; noisy figures)")
    parser.add_argument("--mlp-steps", type=int, default=None, help="timed steps, MLP (default 2000; quick 200)")
    parser.add_argument("--dcgan-steps", type=int, default=None, help="timed steps, DCGAN (default 300; quick 30)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="intra-op threads for both frameworks")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats, the best is kept (default 3; quick 1)")
    parser.add_argument("--methods", default=None, help="methods for the overhead table (default: all available)")
    parser.add_argument("--overhead-images", action="store_true", help="also time every method on the DCGAN")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "speed.md"))
    parser.add_argument("--note", default="", help="a line about the machine, written above the tables")
    parser.add_argument("--render-from", default=None, metavar="RAW_JSON",
                        help="measure nothing: rewrite the page's generated block from a finished run's raw "
                             "figures (docs/speed_raw.json), e.g. after a change to the page's layout")
    args = parser.parse_args(argv)
    if args.render_from:
        with open(args.render_from) as f:
            res = json.load(f)
        if "command" not in res:
            parser.error(f"--render-from: {args.render_from} has no 'command' (a raw file from an older "
                         "speed.py); re-run the benchmark instead")
        _write_page(args.out, render(res, res["command"], res.get("note", "")), res)
        _say(f"rewrote {args.out} from {args.render_from} (measured by: {res['command']})")
        return 0
    if args.worker:
        cfg = json.loads(args.worker)
        result = WORKERS[cfg["worker"]](cfg)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    mlp_steps = args.mlp_steps or (200 if args.quick else 2000)
    dc_steps = args.dcgan_steps or (30 if args.quick else 300)
    repeats = args.repeats or (1 if args.quick else 3)
    t_all = time.time()
    res = {"threads": args.threads, "mlp_steps": mlp_steps, "dcgan_steps": dc_steps, "repeats": repeats,
           "cpu": cpu_model()}
    _say(f"speed benchmark: threads={args.threads}, MLP {mlp_steps} steps, DCGAN {dc_steps} steps, "
         f"best of {repeats}")
    res["peak_tf"] = run_worker({"worker": "peak", "framework": "tf", "threads": args.threads,
                                 "reps": 5 if args.quick else 20})
    _say(f"  TF peak: {res['peak_tf']}")
    if not args.skip_torch:
        res["peak_torch"] = run_worker({"worker": "peak", "framework": "torch", "threads": args.threads,
                                        "reps": 5 if args.quick else 20})
        _say(f"  torch peak: {res['peak_torch']}")
    for kind, steps in (("mlp", mlp_steps), ("dcgan", dc_steps)):
        res[kind] = {"kgan": {}, "torch": None}
        for label, spe, jit, prefetch in kgan_variants(args.quick):
            spe_k = spe if kind == "mlp" else min(spe, 10)
            label_k = label.replace("=50", f"={spe_k}")
            cfg = {"worker": "kgan", "kind": kind, "steps": steps, "warmup": max(spe_k, steps // 10),
                   "spe": spe_k, "jit": jit, "prefetch": prefetch, "threads": args.threads,
                   "repeats": repeats, "parts": False,
                   "precision": "mixed_bfloat16" if "bfloat16" in label else None}
            r = run_worker(cfg)
            res[kind]["kgan"][label_k] = r
            _say(f"  kgan {kind} [{label_k}]: {r}")
        ok = {k: v for k, v in res[kind]["kgan"].items() if "step_ms" in v and "bfloat16" not in k}
        best = min(ok, key=lambda k: ok[k]["step_ms"]) if ok else None
        res[kind]["best"] = best
        if best:
            spe_b = int(best.split("steps_per_execution=")[1].split(",")[0])
            cfg = {"worker": "kgan", "kind": kind, "steps": steps, "warmup": max(spe_b, steps // 10),
                   "spe": spe_b, "jit": "XLA" in best, "prefetch": "no prefetch" not in best,
                   "threads": args.threads, "repeats": 1, "parts": True}
            res[kind]["parts"] = run_worker(cfg)
            _say(f"  kgan {kind} parts [{best}]: {res[kind]['parts']}")
        if not args.skip_torch:
            res[kind]["torch"] = run_worker({"worker": "torch", "kind": kind, "steps": steps,
                                             "warmup": max(5, steps // 10), "threads": args.threads,
                                             "repeats": repeats})
            _say(f"  torch {kind}: {res[kind]['torch']}")
            # a fifth of the steps, one repeat: PyTorch's CPU bf16 autocast measured 3-10x slower
            # than its float32 here, and its full-length run would dominate the benchmark's time
            res[kind]["torch_bf16"] = run_worker({"worker": "torch", "kind": kind, "steps": max(10, steps // 5),
                                                  "warmup": 5, "threads": args.threads,
                                                  "repeats": 1, "bf16": True})
            _say(f"  torch {kind} bf16 autocast: {res[kind]['torch_bf16']}")
    # regulariser overhead
    from kgan.tuning import available_methods

    methods = [m.strip() for m in args.methods.split(",")] if args.methods else available_methods()
    res["overhead"] = {}
    kinds = ["mlp"] + (["dcgan"] if args.overhead_images else [])
    for kind in kinds:
        best = res[kind].get("best") or "fit, steps_per_execution=1"
        spe_b = int(best.split("steps_per_execution=")[1].split(",")[0])
        steps = mlp_steps if kind == "mlp" else dc_steps
        res["overhead"][kind] = {}
        for m in ["gan"] + [m for m in methods if m != "gan"]:
            cfg = {"worker": "kgan", "kind": kind, "method": m, "steps": max(spe_b, steps // 2),
                   "warmup": max(spe_b, steps // 10), "spe": spe_b, "jit": "XLA" in best,
                   "prefetch": True, "threads": args.threads, "repeats": repeats, "parts": False}
            r = run_worker(cfg)
            res["overhead"][kind][m] = r
            _say(f"  overhead {kind} {m}: {r}")
    res["seconds"] = time.time() - t_all
    command = "python benchmarks/speed.py" + "".join(f" {a}" if " " not in a else f' "{a}"'
                                                     for a in (argv if argv is not None else sys.argv[1:]))
    res["command"], res["note"] = command, args.note
    text = render(res, command, args.note)
    _write_page(args.out, text, res)
    _say(text)
    _say(f"wrote {args.out} in {res['seconds']:.0f} s; reproduce with: {command}")
    return 0


def _write_page(out, text, res):
    """Write ``text`` into ``out`` between the generated-block markers (keeping the hand-written text
    around them) and the raw figures next to it, each through a temporary file and a rename."""
    page = text
    if os.path.isfile(out):  # keep hand-written text around the generated part
        with open(out) as f:
            old = f.read()
        if BEGIN in old and END in old:
            body = text.split("\n", 2)[2]  # the page keeps its own title
            page = old.split(BEGIN)[0] + BEGIN + "\n" + body + END + old.split(END, 1)[1]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    raw = os.path.splitext(out)[0] + "_raw.json"
    for path, write in ((out, lambda f: f.write(page)), (raw, lambda f: json.dump(res, f, indent=1))):
        with open(path + ".tmp", "w") as f:
            write(f)
        os.replace(path + ".tmp", path)


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``), or the platform's processor string elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _f(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def render(res, command, note):
    peak_tf, peak_pt = res.get("peak_tf", {}), res.get("peak_torch", {})
    lines = ["# kgan speed against a plain PyTorch CPU loop", "",
             f"Produced by `{command}` ({res['seconds']:.0f} s; CPU: {res.get('cpu') or platform.machine()}, "
             f"{os.cpu_count()} CPUs, {res['threads']} intra-op thread(s) for both frameworks; "
             f"best of {res['repeats']} timed run(s); MLP {res['mlp_steps']} / DCGAN {res['dcgan_steps']} timed steps).", ""]
    if note:
        lines += [f"**{note}**", ""]
    lines += ["## Machine limit (bare kernels, same run)", "",
              "| kernel | TF GFLOP/s | PyTorch GFLOP/s |", "|---|---|---|"]
    for k, label in (("matmul_2048", "matmul 2048x2048x2048"), ("matmul_512x128x128", "matmul 512x128 @ 128x128 (MLP layer)"),
                     ("conv_dcgan_d2", "conv 4x4/2, 64x14x14x64 -> 128 (DCGAN D)")):
        lines.append(f"| {label} | {_f(peak_tf.get(k), 1)} | {_f(peak_pt.get(k), 1)} |")
    lines += ["", "## One GAN step: kgan vs PyTorch", "",
              "| network | framework / setting | ms / step | steps / s | GFLOP / step | GFLOP/s | % of bare-kernel peak | peak RSS MB |",
              "|---|---|---|---|---|---|---|---|"]
    summary, bf16_summary = [], []
    for kind, title in (("mlp", "VEEGAN MLPs, batch 512"), ("dcgan", "DCGAN 28 px, batch 64")):
        if kind not in res:
            continue
        flops = step_flops(kind)
        limit = max(v for v in (peak_tf.get("matmul_2048"), peak_tf.get("conv_dcgan_d2")) if v) if peak_tf else None
        if kind == "dcgan" and peak_tf.get("conv_dcgan_d2"):
            limit = peak_tf["conv_dcgan_d2"]
        elif peak_tf.get("matmul_2048"):
            limit = peak_tf["matmul_2048"]
        for label, r in res[kind]["kgan"].items():
            mark = " **(fastest)**" if label == res[kind].get("best") else ""
            if "step_ms" not in r:
                lines.append(f"| {title} | kgan, {label}{mark} | error: {r.get('error')} | | | | | |")
                continue
            gfs = flops / (r["step_ms"] / 1000) / 1e9
            lines.append(f"| {title} | kgan, {label}{mark} | {_f(r['step_ms'])} | {_f(1000 / r['step_ms'], 1)} | "
                         f"{_f(flops / 1e9, 3)} | {_f(gfs, 1)} | {_f(100 * gfs / limit if limit else None, 1)} | "
                         f"{_f(r['peak_mb'], 0)} |")
        t = res[kind].get("torch")
        if t and "step_ms" in t:
            gfs = flops / (t["step_ms"] / 1000) / 1e9
            pt_limit = peak_pt.get("conv_dcgan_d2" if kind == "dcgan" else "matmul_2048")
            lines.append(f"| {title} | PyTorch {t.get('torch', '')} loop | {_f(t['step_ms'])} | {_f(1000 / t['step_ms'], 1)} | "
                         f"{_f(flops / 1e9, 3)} | {_f(gfs, 1)} | {_f(100 * gfs / pt_limit if pt_limit else None, 1)} "
                         f"(of PyTorch's) | {_f(t['peak_mb'], 0)} |")
            best = res[kind]["kgan"].get(res[kind].get("best") or "", {})
            if "step_ms" in best:
                ratio = t["step_ms"] / best["step_ms"]
                summary.append((title, ratio, 100 * flops / (best["step_ms"] / 1000) / 1e9 / limit if limit else None))
        elif t:
            lines.append(f"| {title} | PyTorch loop | error: {t.get('error')} | | | | | |")
        tb = res[kind].get("torch_bf16")
        kb = next((v for k, v in res[kind]["kgan"].items() if "bfloat16" in k), None)
        if tb and "step_ms" in tb:
            gfs = flops / (tb["step_ms"] / 1000) / 1e9
            lines.append(f"| {title} | PyTorch {tb.get('torch', '')} loop, bf16 autocast ({tb['steps']} steps, one run) | {_f(tb['step_ms'])} | "
                         f"{_f(1000 / tb['step_ms'], 1)} | {_f(flops / 1e9, 3)} | {_f(gfs, 1)} | – | {_f(tb['peak_mb'], 0)} |")
            if kb and "step_ms" in kb:
                bf16_summary.append((title, tb["step_ms"] / kb["step_ms"]))
    lines += ["", "GFLOP per step counts `4 F_G + 9 F_D` forward-equivalents (see the script's docstring); "
              "% of peak divides the achieved GFLOP/s by the bare 2048^3 matmul (MLP) or the DCGAN conv "
              "kernel (DCGAN) of the same framework, measured in this run.", ""]
    lines += ["## Targets", "", "| network | kgan / PyTorch steps/s (target >= 1.2) | kgan % of bare-kernel peak (target >= 70) |",
              "|---|---|---|"]
    for title, ratio, pct in summary:
        lines.append(f"| {title} | {_f(ratio)} {'(met)' if ratio >= 1.2 else '(missed)'} | "
                     f"{_f(pct, 1)} {'(met)' if pct is not None and pct >= 70 else '(missed)'} |")
    for title, ratio in bf16_summary:
        # the bfloat16 target (>= 1.0x PyTorch's autocast) is set for the DCGAN only
        flag = (" (met)" if ratio >= 1.0 else " (missed)") + " (target >= 1.0)" if title.startswith("DCGAN") else ""
        lines.append(f"| {title}, both in bfloat16 (kgan `mixed_bfloat16`, PyTorch autocast) | {_f(ratio)}{flag} | – |")
    for kind, table in res.get("overhead", {}).items():
        base = table.get("gan", {}).get("step_ms")
        xs = {m: r["step_ms"] / base for m, r in table.items() if m != "gan" and base and "step_ms" in r}
        if xs:
            above = ", ".join(f"{m} {x:.2f}x" for m, x in sorted(xs.items(), key=lambda kv: kv[1]) if x > 1.3)
            lines.append(f"| methods on the {kind} step, x base GAN (target <= 1.3, or an account of the added "
                         f"passes) | {sum(x <= 1.3 for x in xs.values())} of {len(xs)} within; above: "
                         f"{above or 'none'} | – |")
    lines += ["", "The float32 rows are the comparison the targets are about; the bfloat16 rows compare kgan's "
              "`--precision mixed_bfloat16` with PyTorch's CPU autocast (different numerics from float32; "
              "their % of peak is not given because the bare kernels above are float32).", ""]
    lines += ["", "## Where the time goes (kgan, fastest setting)", "",
              "| network | fit ms/step | train_step in a bare loop | G + D forward only | data pipeline per batch | empty tf.function call |",
              "|---|---|---|---|---|---|"]
    for kind, title in (("mlp", "VEEGAN MLPs"), ("dcgan", "DCGAN 28 px")):
        p = res.get(kind, {}).get("parts")
        best = res.get(kind, {}).get("kgan", {}).get(res.get(kind, {}).get("best") or "", {})
        if p and "bare_step_ms" in p:
            lines.append(f"| {title} | {_f(best.get('step_ms'))} | {_f(p['bare_step_ms'])} | {_f(p['forward_ms'])} | "
                         f"{_f(p['data_ms'], 3)} | {_f(p['tf_call_ms'], 3)} |")
    lines += ["", "## Regulariser overhead: step time / base GAN step time (same networks, batch, setting)", "",
              "| network | method | model | ms / step | x base GAN (target <= 1.3) |", "|---|---|---|---|---|"]
    for kind, table in res.get("overhead", {}).items():
        base = table.get("gan", {}).get("step_ms")
        for m, r in table.items():
            if "step_ms" not in r:
                lines.append(f"| {kind} | {m} | | error: {r.get('error')} | |")
                continue
            x = r["step_ms"] / base if base else None
            flag = "" if x is None else (" (met)" if x <= 1.3 else " (above)")
            lines.append(f"| {kind} | {m} | {r.get('model', '')} | {_f(r['step_ms'])} | {_f(x)}{flag} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
