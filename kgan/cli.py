"""The ``kgan`` command line: ``train``, ``sample``, ``list``, ``eval``, ``tune``, ``bench``.

    kgan list
    kgan train grid25_gan --steps 5000 --logdir tensorboard_logs/demo
    kgan sample tensorboard_logs/demo/model.keras --n 64 --out grid.png
    kgan eval MODEL.keras --dataset fashion_mnist --metrics fid,pr
"""
import argparse
import os
import sys


def _load_model(path):
    import zipfile

    import keras

    import kgan.models  # noqa: F401  (registers kgan classes for deserialisation)

    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    if not path.endswith(".keras") or not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a .keras model file (expected a zip archive saved by "
                         "model.save('NAME.keras')).")
    try:
        model = keras.saving.load_model(path)
    except Exception as e:  # keras raises many types for a broken archive
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"Could not load {path!r} as a kgan model: {_short(first, 400)}") from None
    if not isinstance(model, kgan.models.GAN):
        raise ValueError(f"{path!r} holds a {type(model).__name__}, not a kgan GAN (kgan.models.*): "
                         "kgan sample and kgan eval need a model saved by kgan train or GAN.save().")
    return model


def cmd_list(_argv):
    from kgan.run import list_recipes

    recipes = list_recipes()
    width = max((len(n) for n in recipes), default=10)
    for name, (_path, doc) in sorted(recipes.items()):
        print(f"{name:<{width}}  {doc}")
    return 0


def cmd_sample(argv):
    parser = argparse.ArgumentParser(prog="kgan sample", description="Draw samples from a saved model.")
    parser.add_argument("model")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--out", default="samples.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", default=None, help="comma-separated class labels (conditional models)")
    parser.add_argument("--dataset", default=None, help="a 2D set (ring8, grid25, grid49, grid100): draw the true modes too")
    parser.add_argument("--no-ema", action="store_true")
    args = parser.parse_args(argv)
    from kgan.plots import save_samples_png
    from kgan.utils import check_positive_int

    check_positive_int("n", args.n)
    model = _load_model(args.model)
    labels = None
    if args.labels:
        labels = [int(v) for v in args.labels.split(",")]
        labels = (labels * (args.n // len(labels) + 1))[:args.n]
    samples = model.generate(args.n, labels=labels, seed=args.seed, use_ema=not args.no_ema)
    if args.out.endswith(".npy"):
        import numpy as np

        from kgan.utils import atomic_path

        with atomic_path(args.out) as tmp:
            np.save(tmp, samples)
    else:
        save_samples_png(samples, args.out, dataset=args.dataset)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def cmd_train(argv):
    if not argv or argv[0].startswith("-"):
        print("usage: kgan train RECIPE [flags]   (kgan list shows the recipes; "
              "kgan train RECIPE --help shows the flags)", file=sys.stderr)
        return 2
    from kgan.run import train

    train(argv[0], argv[1:])
    return 0


def cmd_eval(argv):
    from kgan.eval_cli import main

    return main(argv) or 0


def cmd_tune(argv):
    from kgan.tuning.cli import main

    return main(argv) or 0


def cmd_bench(argv):
    from kgan.bench import main

    return main(argv) or 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "list": cmd_list, "eval": cmd_eval,
            "tune": cmd_tune, "bench": cmd_bench}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("commands: " + ", ".join(COMMANDS))
        return 0
    cmd = argv[0]
    if cmd not in COMMANDS:
        print(f"error: unknown command {cmd!r}; expected one of {', '.join(COMMANDS)}.", file=sys.stderr)
        return 2
    from kgan.callbacks import EXIT_DIVERGED, NonFiniteLossError
    from kgan.run import TrainingInterrupted, WorkerLostError

    try:
        return COMMANDS[cmd](argv[1:])
    except TrainingInterrupted as e:
        print(str(e), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
    except NonFiniteLossError as e:
        print(f"error: {_short(e)}", file=sys.stderr)
        return EXIT_DIVERGED
    except (ValueError, FileNotFoundError, TypeError, WorkerLostError) as e:
        print(f"error: {_short(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a read-only folder
        print(f"error: {e.strerror or e}{f': {e.filename}' if getattr(e, 'filename', None) else ''} "
              f"({type(e).__name__}); nothing half-written was left (files are written under a temporary name "
              "and renamed).", file=sys.stderr)
        return 2
    except Exception as e:
        import tensorflow as tf

        from kgan.models.gan import NONFINITE_DATA

        if isinstance(e, tf.errors.InvalidArgumentError) and NONFINITE_DATA in str(e):
            print(f"error: {NONFINITE_DATA}.", file=sys.stderr)
            return 2
        raise


def _short(error, limit=1500):
    """The error's text, cut to ``limit`` characters (a model config in a message can run to 13 KB)."""
    text = str(error)
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters]"


if __name__ == "__main__":
    sys.exit(main())
