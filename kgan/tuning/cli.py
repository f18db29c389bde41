"""``kgan tune ROW``: a keras-tuner search over a row of the experiment table.

    kgan tune grid25_maem --tuner bayesian --trials 20 --steps 2000
    kgan tune gan --dataset ring8 --tuner hyperband --steps 3000 --steps-per-epoch 500   # row ring8_gan
    kgan tune grid25_gan --params d_lr,g_lr --fixed d_steps=1 --trials 8
    kgan tune recipes/cifar10_reacgan.py --trials 4                # a recipe file with build(cfg)
    kgan tune --list

A trial is a set of the row's options (its method's search space, see
``kgan tune --list``), so ``kgan train ROW --set ...`` trains any trial's model
again; trials.md lists that command for every trial. Writes
``<logdir>/best_model.keras``, ``best.json``, ``trials.json``, ``trials.md`` and
TensorBoard runs with HParams under ``<logdir>/tensorboard`` (default logdir:
``tuning/<row>``).
"""
import argparse
import json
import os
import sys

from kgan.utils import check_positive_int


def _parser():
    from kgan.run import PRECISIONS, STRATEGIES
    from kgan.tuning.hypermodel import OBJECTIVES, TUNERS

    p = argparse.ArgumentParser(prog="kgan tune", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="?", help="a row (grid25_maem), a method name (with --dataset: the row "
                   "DATASET_METHOD) or a recipe file's name/path (with build(cfg))")
    p.add_argument("--list", action="store_true", help="list the methods and their search spaces")
    p.add_argument("--dataset", default=None,
                   help="dataset for a method name (default grid25, fashion_mnist for conditional "
                        "methods); a row or recipe brings its own")
    p.add_argument("--tuner", default="random", help=f"one of {', '.join(TUNERS)}")
    p.add_argument("--trials", type=int, default=10, help="trials (random, bayesian)")
    p.add_argument("--objective", default=None,
                   help=f"metric to optimise ({', '.join(sorted(OBJECTIVES))}); default modes_hq on "
                        "2D sets, modes on stacked sets, fid on images")
    p.add_argument("--direction", default=None, choices=("min", "max"),
                   help="direction of an objective not in the list above")
    p.add_argument("--steps", type=int, default=1000, help="generator steps per trial")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="steps per epoch (Hyperband's budget unit); default: one epoch per trial")
    p.add_argument("--eval-samples", type=int, default=None,
                   help="samples per evaluation for Evaluate-based objectives (fid, ...; default 5000)")
    p.add_argument("--max-epochs", type=int, default=None, help="Hyperband's largest budget (epochs)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size per D step")
    p.add_argument("--params", default=None,
                   help="comma-separated search parameters to tune (default all not fixed)")
    p.add_argument("--fixed", "--set", action="append", default=[], metavar="NAME=VALUE", dest="fixed",
                   help="set an option of the row for every trial, tuned or not (repeatable; `kgan train "
                        "ROW --help` lists the options)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", default=None, help="output directory (default tuning/<name>)")
    p.add_argument("--resume", action="store_true", help="continue a search in the same logdir")
    p.add_argument("--no-save", action="store_true", help="do not save the best model")
    p.add_argument("--jit-compile", action="store_true")
    p.add_argument("--steps-per-execution", type=int, default=None,
                   help="default: the row's (dividing --steps-per-epoch)")
    p.add_argument("--precision", default="float32", choices=PRECISIONS)
    p.add_argument("--strategy", default="default", choices=STRATEGIES)
    p.add_argument("--cpu-devices", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    return p


def list_methods():
    """Every method's search space and the rows it runs on."""
    from kgan.experiments import METHODS, rows

    table = rows()
    lines = []
    for name, m in METHODS.items():
        on = [r.protocol.name for r in table.values() if r.method is m]
        lines.append(f"{name}: kgan.models.{m.model}  {m.description}")
        lines.append(f"    rows: {', '.join(f'{p}_{name}' for p in on)}")
        for p in m.search:
            lines.append(f"    {p.describe()}")
    return "\n".join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.list:
        print(list_methods())
        return 0
    if not args.target:
        raise ValueError("kgan tune needs a row, method or recipe name, e.g. `kgan tune grid25_gan` "
                         "(`kgan list` shows the rows, `kgan tune --list` the methods' search spaces).")
    from kgan.tuning.hypermodel import TUNERS

    if args.tuner not in TUNERS:
        raise ValueError(f"`--tuner` must be one of {list(TUNERS)}; received --tuner={args.tuner!r}.")
    check_positive_int("trials", args.trials)
    check_positive_int("steps", args.steps)
    from kgan.run import parse_set, make_strategy, setup_devices

    setup_devices(args.cpu_devices)
    import keras

    if args.precision != "float32":
        keras.mixed_precision.set_dtype_policy(args.precision)
    from kgan.tuning import hypermodel as search
    from kgan.tuning.targets import get_target

    target = get_target(args.target, args.dataset)
    logdir = args.logdir or os.path.join("tuning", target.name)
    params = [p.strip() for p in args.params.split(",")] if args.params else None
    strategy = None if args.strategy == "default" else make_strategy(args.strategy)
    objective = args.objective
    if objective is not None and args.direction is not None:
        objective = search.objective(objective, args.direction)
    hm = search.GANHyperModel(
        target, steps=args.steps, steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size, seed=args.seed, params=params, fixed=parse_set(args.fixed, flag="--fixed"),
        objective=getattr(objective, "name", objective), precision=args.precision,
        compile_kwargs={"jit_compile": args.jit_compile, "steps_per_execution": args.steps_per_execution},
        evaluate_kwargs={"n_samples": check_positive_int("eval_samples", args.eval_samples)}
        if args.eval_samples else None,
        verbose=args.verbose)
    tuner = search.make_tuner(hm, args.tuner, objective=objective, trials=args.trials,
                              directory=os.path.join(logdir, "tuner"), project_name="search",
                              overwrite=not args.resume, seed=args.seed, max_epochs=args.max_epochs,
                              distribution_strategy=strategy)
    print(f"kgan tune: {target.name} ({target.dataset}), {args.tuner} search, objective "
          f"{tuner.oracle.objective.name} ({tuner.oracle.objective.direction}), "
          f"{hm.steps} steps per trial; tuning {hm.params}; output in {logdir}", flush=True)
    result = search.search(hm, tuner, logdir, save_best=not args.no_save)
    print(open(os.path.join(logdir, "trials.md")).read())
    print(f"best {result['objective']} = {result['best_score']:.4g} (trial {result['best_trial']}) with "
          f"{json.dumps(result['best_hparams'], default=str)}")
    if result.get("best_command"):
        print(f"train it again: {result['best_command']}")
    if result.get("best_model_path"):
        print(f"best model: {result['best_model_path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
