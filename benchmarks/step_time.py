"""Focused timing of the GAN step, for ratios measured within one run (the full ``speed.py`` needs a
quiet machine): kgan vs a plain PyTorch loop on the VEEGAN 2D MLPs (and optionally the 28 px DCGAN), and
each method's step time / the base GAN's on the MLPs. Every configuration runs in its own subprocess with
``benchmarks/speed.py``'s workers, best of ``--repeats``; configurations are interleaved round by round,
so a change of the background load hits all of them alike.

    python benchmarks/step_time.py --threads 1 --methods maem,mdgan,reacgan,adaptivemix
    python benchmarks/step_time.py --threads 1 --dcgan --methods ""
"""
import argparse
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import speed  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mlp-steps", type=int, default=600)
    parser.add_argument("--dcgan-steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each configuration once per round, best kept")
    parser.add_argument("--methods", default="maem,mdgan,reacgan,adaptivemix")
    parser.add_argument("--dcgan", action="store_true", help="also kgan vs PyTorch on the DCGAN")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--json", default=None, help="write the raw results here")
    args = parser.parse_args(argv)
    configs = {}
    kinds = ["mlp"] + (["dcgan"] if args.dcgan else [])
    for kind in kinds:
        steps = args.mlp_steps if kind == "mlp" else args.dcgan_steps
        spe = 1 if kind == "mlp" else 10
        base = {"worker": "kgan", "kind": kind, "steps": steps, "warmup": max(spe, steps // 10), "spe": spe,
                "jit": False, "prefetch": True, "threads": args.threads, "repeats": 1, "parts": False}
        configs[f"{kind} kgan gan"] = base
        if not args.skip_torch:
            configs[f"{kind} torch"] = {"worker": "torch", "kind": kind, "steps": steps,
                                        "warmup": max(5, steps // 10), "threads": args.threads, "repeats": 1}
    for m in [m for m in args.methods.split(",") if m]:
        configs[f"mlp kgan {m}"] = dict(configs["mlp kgan gan"], method=m, steps=args.mlp_steps // 2)
    best = {}
    t0 = time.time()
    for r in range(args.rounds):
        for name, cfg in configs.items():
            res = speed.run_worker(cfg)
            if "step_ms" in res and res["step_ms"] < best.get(name, {}).get("step_ms", float("inf")):
                best[name] = res
            elif name not in best:
                best[name] = res
            print(f"round {r}: {name}: {res.get('step_ms', res)}", flush=True)
    load = os.getloadavg()
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.threads} intra-op thread(s); best of {args.rounds}; load average after the run "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {time.time() - t0:.0f} s")
    print("\n| configuration | ms / step | ratio |\n|---|---|---|")
    for kind in kinds:
        k, t = best.get(f"{kind} kgan gan", {}), best.get(f"{kind} torch", {})
        if "step_ms" in k:
            ratio = f"kgan / PyTorch steps/s {t['step_ms'] / k['step_ms']:.2f}" if "step_ms" in t else ""
            print(f"| {kind} kgan GAN | {k['step_ms']:.2f} | {ratio} |")
        if "step_ms" in t:
            print(f"| {kind} PyTorch | {t['step_ms']:.2f} | |")
    base = best.get("mlp kgan gan", {}).get("step_ms")
    for m in [m for m in args.methods.split(",") if m]:
        r = best.get(f"mlp kgan {m}", {})
        if "step_ms" in r and base:
            print(f"| mlp kgan {m} ({r['model']}) | {r['step_ms']:.2f} | x base GAN {r['step_ms'] / base:.2f} |")
        else:
            print(f"| mlp kgan {m} | error: {r.get('error')} | |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"best": best, "load": load, "threads": args.threads}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
