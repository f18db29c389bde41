"""The step-budget curve of the Fashion-MNIST baseline: domain-classifier FD every 1,000 steps, raw and EMA generator.

The plain DCGAN of the fashion_mnist protocol (kgan.experiments; width 32, flattened D head,
Adam(2e-4, 0.5), batch 64, EMA 0.999 with ramp-up 0.05), one seed, evaluated on 5,000
samples against 10,000 test images after every 1,000 steps; a 10x10 grid at 2k, 5k, 10k and
20k steps. This is the measurement behind the fashion suite's budget (docs/bench/fashion_curve.md).

    python benchmarks/fashion_curve.py 32 20000 0 docs/bench/fashion_curve 1000

Arguments: width, steps, seed, output prefix, evaluation period.
"""
import json, sys, time, os
import numpy as np, keras, kgan
from kgan.metrics.suite import Evaluator
width = int(sys.argv[1]); steps = int(sys.argv[2]); seed = int(sys.argv[3]); out = sys.argv[4]
every = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
prec = sys.argv[6] if len(sys.argv) > 6 else "float32"
if prec != "float32":
    keras.mixed_precision.set_dtype_policy(prec)
keras.utils.set_random_seed(seed)
data = kgan.data.load("fashion_mnist", batch_size=64, labels=False, seed=seed)
gan = kgan.models.GAN(kgan.nets.dcgan_generator(28, 1, latent_dim=128, width=width),
                      kgan.nets.dcgan_discriminator(28, 1, width=width), ema_decay=0.999, seed=seed)
gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
ev = Evaluator(["fid", "precision", "recall"], "fashion_mnist", n_real=10000, seed=0)
rows = []
t0 = time.time(); tc = time.process_time()
for k in range(steps // every):
    gan.fit(data, epochs=1, steps_per_epoch=every, verbose=0)
    row = {"step": (k + 1) * every, "cpu_s": time.process_time() - tc, "wall_s": time.time() - t0}
    for ema in (False, True):
        r = ev.evaluate(gan.generate(5000, use_ema=ema, seed=seed))
        row.update({("ema_" if ema else "raw_") + m: v for m, v in r.items()})
    rows.append(row)
    print(json.dumps(row), flush=True)
    json.dump(rows, open(out + ".json.tmp", "w")); os.replace(out + ".json.tmp", out + ".json")
    if (k + 1) * every in (2000, 5000, 10000, 20000, 30000) or k + 1 == steps // every:
        for ema in (False, True):
            x = gan.generate(100, use_ema=ema, seed=1)
            g = ((x.reshape(10, 10, 28, 28).transpose(0, 2, 1, 3).reshape(280, 280) + 1) * 127.5).clip(0, 255).astype("uint8")
            from PIL import Image
            Image.fromarray(g).resize((560, 560), 0).save(f"{out}_{(k+1)*every}_{'ema' if ema else 'raw'}.png")
