"""``kgan eval MODEL.keras --dataset NAME --metrics fid,kid,pr ...`` for a GAN;
``kgan eval CLASSIFIER.keras [--protocol fashion_mnist_cls]`` for an
``AdaptiveMixClassifier``: test accuracy and OOD detection (MSP, energy and the
feature distance against each OOD set of the protocol: AUROC, AUPR-in/out, FPR at 95% TPR)."""
import argparse
import json
import math
import os
import sys
import zipfile

import numpy as np


def build_parser():
    p = argparse.ArgumentParser(
        prog="kgan eval",
        description="Evaluate a saved kgan model: a GAN (generate samples and compute metrics against a "
                    "dataset) or an AdaptiveMixClassifier (test accuracy and OOD detection).")
    p.add_argument("model", help="path of a saved model (.keras): a kgan GAN, or an AdaptiveMixClassifier")
    p.add_argument("--protocol", default=None,
                   help="classifiers only: the classification protocol whose test set and OOD sets to use "
                        "(fashion_mnist_cls or fashion_mnist_openset; default: the one whose number of classes "
                        "the model has)")
    p.add_argument("--precise-bn", type=int, default=0, metavar="N",
                   help="classifiers only: first set BatchNorm's statistics to their mean over N training images "
                        "at the final weights (precise BN; default 0: the moving averages saved with the model)")
    p.add_argument("--dataset", default=None,
                   help="kgan.data name the model was trained on (e.g. fashion_mnist); may be left out with "
                        "--ref-stats when only fid/is are asked")
    p.add_argument("--metrics", default=None,
                   help="comma-separated: fid,kid,is,pr (precision,recall),dc (density,coverage),"
                        "mode_score,modes,kl,hq,i_variance,class_acc,distinguishable_classes "
                        "(default: fid for images, modes,hq,reverse_kl for 2D)")
    p.add_argument("--n", type=int, default=10000, help="generated samples (default 10000)")
    p.add_argument("--n-real", type=int, default=10000, help="real reference samples (default 10000, capped by the split)")
    p.add_argument("--real-split", default="test", help="split of the reference samples (default test)")
    p.add_argument("--extractor", choices=("domain", "inception", "inception_tf"), default=None,
                   help="feature extractor: the kgan domain classifier (default), keras' ImageNet InceptionV3 "
                        "('inception', not comparable with papers) or the 2015 TF-Inception graph of published "
                        "FIDs ('inception_tf'; default when --ref-stats or --inception-graph is given)")
    p.add_argument("--weights", default=None, help="InceptionV3 weights file (with --extractor inception)")
    p.add_argument("--inception-graph", default=None,
                   help="classify_image_graph_def.pb from inception-2015-12-05.tgz (or its folder, a SavedModel "
                        "of it, or 'tfhub'); default $KGAN_INCEPTION_GRAPH (with --extractor inception_tf)")
    p.add_argument("--resize", choices=("graph", "clean"), default="graph",
                   help="inception_tf resizing: the graph's own bilinear resize (TTUR, default) or clean-fid's "
                        "PIL bicubic ('clean')")
    p.add_argument("--ref-stats", default=None,
                   help="FID against these statistics: a .npz with mu and sigma (TTUR's files, e.g. "
                        "fid_stats_cifar10_train.npz, or --save-ref-stats output)")
    p.add_argument("--save-ref-stats", default=None,
                   help="also write the real-data statistics used for fid to this .npz (TTUR's format)")
    p.add_argument("--batch-size", type=int, default=500, help="generation batch size")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--no-ema", action="store_true", help="sample from the raw generator, not the EMA copy")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    return p


def load_model(path):
    """``keras.saving.load_model`` with kgan's classes registered and a clear error for non-models."""
    import keras

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"`model` must be the path of a saved .keras model; {path!r} does not exist.")
    if not path.endswith(".keras") or not zipfile.is_zipfile(path):
        raise ValueError(f"`model` must be a Keras v3 .keras file (a zip archive saved by model.save); "
                         f"received {path!r}, which is not one.")
    try:
        import kgan.models  # noqa: F401  (registers the model classes)
    except Exception:  # noqa: BLE001 - a model of other classes may still load
        pass
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001
        raise ValueError(f"Could not load {path!r} as a Keras model: {err}") from err
    from kgan.models import AdaptiveMixClassifier

    if not hasattr(model, "generate") and not isinstance(model, AdaptiveMixClassifier):
        raise ValueError(f"The model in {path!r} ({type(model).__name__}) has no generate() method and is not "
                         "an AdaptiveMixClassifier; `kgan eval` evaluates kgan GANs and classifiers.")
    return model


def classification_protocol(model, name=None):
    """The :class:`kgan.experiments.classify.Classification` protocol to evaluate ``model`` on: ``name``,
    or the one protocol whose number of classes is the model's."""
    from kgan.experiments.classify import PROTOCOLS

    if name is not None:
        if name not in PROTOCOLS:
            raise ValueError(f"`--protocol` must be one of {sorted(PROTOCOLS)}; received {name!r}.")
        protocol = PROTOCOLS[name]
        if protocol.num_classes != model.num_classes:
            raise ValueError(f"`--protocol` {name!r} has {protocol.num_classes} classes; the model has "
                             f"{model.num_classes}.")
        return protocol
    fits = [p for p in PROTOCOLS.values() if p.num_classes == model.num_classes]
    if len(fits) != 1:
        raise ValueError(f"The model has {model.num_classes} classes; no classification protocol is known by that "
                         f"number alone (known: {', '.join(f'{p.name} ({p.num_classes})' for p in PROTOCOLS.values())})."
                         " Pass --protocol.")
    return fits[0]


def eval_classifier(model, args):
    """Test accuracy and OOD detection of a classifier (the rows' evaluation); prints and returns 0."""
    protocol = classification_protocol(model, args.protocol)
    if args.precise_bn < 0:
        raise ValueError(f"`--precise-bn` must be >= 0 (training images); received {args.precise_bn}.")
    options = dict({o.name: o.default for o in protocol.options}, eval_n=args.n, precise_bn=args.precise_bn)
    print(f"evaluating on {protocol.name}: accuracy and OOD detection ...", file=sys.stderr, flush=True)
    report = protocol.evaluate(model, options, args.seed)
    report = {"model": args.model, "protocol": protocol.name, "mode": model.mode, **report}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    from kgan.experiments.classify import SCORES

    sets = [k for k in report["eval_images"] if k != "in"]
    print(f"model:     {args.model} ({type(model).__name__}, mode {model.mode!r})")
    print(f"protocol:  {protocol.name} ({report['eval_images']['in']} in-distribution test images)")
    if args.precise_bn:
        print(f"BatchNorm: statistics re-estimated on {args.precise_bn} training images (precise BN)")
    print(f"accuracy:  {100 * report['acc']:.2f}%")
    print("")
    print(f"{'OOD set':10s} {'images':>6s}  " + "  ".join(f"{'AUROC ' + s:>12s} {'FPR95 ' + s:>12s}" for s in SCORES))
    for name in sets:
        cells = "  ".join(f"{100 * report[f'auroc_{s}_{name}']:12.2f} {100 * report[f'fpr95_{s}_{name}']:12.2f}"
                          for s in SCORES)
        print(f"{name:10s} {report['eval_images'][name]:6d}  {cells}")
    print("\n(AUROC, FPR at 95% TPR in %; in-distribution positive; --json prints AUPR-in/out too)")
    return 0


def _generate(model, n, batch_size, seed, use_ema):
    """One ``generate`` call with the callback's conventions (same seed -> same samples)."""
    from kgan.metrics.suite import balanced_labels

    num_classes = getattr(model, "num_classes", None)
    labels = balanced_labels(n, int(num_classes)) if num_classes is not None else None
    x = model.generate(n, labels=labels, batch_size=batch_size, use_ema=use_ema, seed=seed)
    return np.asarray(x), labels


def main(argv=None):
    """Entry point of ``kgan eval``; returns the process exit code."""
    from tqdm.auto import tqdm

    args = build_parser().parse_args(argv)
    try:
        from kgan.metrics.suite import Evaluator, format_table

        if args.n <= 0:
            raise ValueError(f"`--n` must be a positive integer; received {args.n}.")
        if args.weights is not None and not os.path.isfile(args.weights):
            raise ValueError(f"`--weights` file {args.weights!r} does not exist.")
        model = load_model(args.model)
        if not hasattr(model, "generate"):  # an AdaptiveMixClassifier
            return eval_classifier(model, args)
        if args.protocol is not None:
            raise ValueError(f"`--protocol` applies to classifiers; {args.model!r} holds a {type(model).__name__}.")
        if args.extractor is None:
            args.extractor = "inception_tf" if (args.ref_stats or args.inception_graph) else "domain"
        if args.weights is not None and args.extractor != "inception":
            raise ValueError("`--weights` applies to --extractor inception only.")
        if args.inception_graph is not None and args.extractor != "inception_tf":
            raise ValueError(f"`--inception-graph` applies to --extractor inception_tf; received --extractor "
                             f"{args.extractor}.")
        if args.dataset is None and args.ref_stats is None:
            raise ValueError("`--dataset` is required (the kgan.data name the model was trained on) unless "
                             "--ref-stats gives the reference statistics.")
        if args.save_ref_stats is not None and args.ref_stats is not None:
            raise ValueError("`--save-ref-stats` writes the statistics of real data; with --ref-stats there are none.")
        evaluator = Evaluator(args.metrics, args.dataset, extractor=args.extractor, weights=args.weights,
                              n_real=args.n_real, real_split=args.real_split, seed=args.seed,
                              verbose=0 if args.json else 1, progress=True, graph=args.inception_graph,
                              resize=args.resize, ref_stats=args.ref_stats,
                              cache_stats=args.save_ref_stats is None)
        if args.save_ref_stats is not None and "fid" not in evaluator.metrics:
            raise ValueError("`--save-ref-stats` needs 'fid' among --metrics.")
        with tqdm(total=args.n, desc="generating", unit="img", file=sys.stderr) as bar:
            fake, labels = _generate(model, args.n, args.batch_size, args.seed, not args.no_ema)
            bar.update(args.n)
        ref = evaluator.reference()
        if args.save_ref_stats is not None:
            from kgan.metrics.stats import compute_stats, save_stats

            mu, sigma = compute_stats(ref["features"])
            save_stats(args.save_ref_stats, mu, sigma, extractor=evaluator.extractor_kind, label=evaluator.label,
                       dataset=args.dataset, split=args.real_split, n=len(ref["features"]))
            print(f"wrote the reference statistics to {args.save_ref_stats}", file=sys.stderr, flush=True)
        print(f"computing {', '.join(evaluator.metrics)} ...", file=sys.stderr, flush=True)
        results = evaluator.evaluate(fake, labels)
    except (ValueError, TypeError, RuntimeError, OSError) as err:
        print(f"kgan eval: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        clean = {k: (v if math.isfinite(v) else None) for k, v in results.items()}
        report = {"model": args.model, "dataset": args.dataset, "n": args.n,
                  "features": evaluator.label, "extractor": evaluator.extractor_kind, "metrics": clean}
        if args.ref_stats is not None:
            report["ref_stats"] = args.ref_stats
        print(json.dumps(report, indent=2))
    else:
        title = [f"model:     {args.model}", f"dataset:   {args.dataset} ({args.n} generated samples)",
                 f"features:  {evaluator.label}", f"extractor: {evaluator.extractor_kind}"]
        if args.ref_stats is not None:
            title.append(f"reference: {args.ref_stats}")
        print(format_table(results, title + [""], names=evaluator.describe))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
