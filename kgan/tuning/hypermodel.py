"""keras-tuner searches over kgan methods: HyperModel, objectives, tuners, best model.

    hm = kgan.tuning.GANHyperModel("gan", "grid25", steps=2000, batch_size=512)
    tuner = kgan.tuning.make_tuner(hm, "bayesian", objective="modes_hq", trials=20,
                                   directory="tuning/grid25_gan")
    result = kgan.tuning.search(hm, tuner, logdir="tuning/grid25_gan")
    result["best_model_path"]   # tuning/grid25_gan/best_model.keras

Objectives (:data:`OBJECTIVES`) are read from the trial's final logs:

* 2D sets (VEEGAN protocol, 2,500 samples of the EMA generator, seed 0, after
  the trial's last epoch): ``modes`` (modes captured, max), ``hq`` (fraction
  of high-quality samples in [0, 1], as the ``Evaluate`` callback logs it, max),
  ``reverse_kl`` (KL of the HQ mode histogram to uniform, min) and
  ``modes_hq`` = ``modes + hq`` (max; the default: more modes first, then
  quality), computed with :func:`kgan.metrics.mode_coverage`;
* any metric the :class:`kgan.callbacks.Evaluate` callback writes into the
  logs (``fid``, ``kl``, ``modes`` of stacked sets, ...); :func:`evaluate_callback`
  adds it to each trial with the metric the objective needs;
* any training log (``d_loss``, ``g_loss``, ...), though a GAN's losses are a
  poor objective.

Each trial runs ``fit`` with a ``keras.callbacks.TensorBoard`` that keras-tuner
redirects to ``<logdir>/tensorboard/<trial>/execution0`` and pairs with the
HParams plugin callback, so TensorBoard's HParams tab shows every trial's
hyperparameters; the final objective metrics are written as scalars under
``.../eval`` next to them. After the search the best trial's model (the weights
its last epoch ended with) is saved atomically to ``<logdir>/best_model.keras``
and the trials' table to ``<logdir>/trials.json`` and ``<logdir>/trials.md``.
"""
import json
import math
import os
import time

import keras_tuner as kt

from kgan.tuning.registry import (MethodSpec, build_base, apply_values, current_values, fmt_value,
                                  get_method, spec_for_model)
from kgan.utils import atomic_path, check_choice, check_positive_int

TUNERS = ("random", "bayesian", "hyperband")

#: objective name -> (direction, where it comes from)
OBJECTIVES = {
    "modes_hq": ("max", "2d"),
    "modes": ("max", "2d|evaluate"),
    "hq": ("max", "2d"),
    "reverse_kl": ("min", "2d"),
    "fid": ("min", "evaluate"),
    "kid": ("min", "evaluate"),
    "kl": ("min", "evaluate"),
    "precision": ("max", "evaluate"),
    "recall": ("max", "evaluate"),
    "density": ("max", "evaluate"),
    "coverage": ("max", "evaluate"),
    "is": ("max", "evaluate"),
    "mode_score": ("max", "evaluate"),
    "g_loss": ("min", "logs"),
    "d_loss": ("min", "logs"),
}

from kgan.data.synthetic import NAMES as TWO_D  # the 2D mixtures


def default_objective(dataset):
    """``modes_hq`` on 2D sets, ``modes`` on stacked (1000-mode) sets, ``fid`` on images."""
    if dataset in TWO_D:
        return "modes_hq"
    if str(dataset).startswith("stacked_"):
        return "modes"
    return "fid"


def objective(name, direction=None):
    """A ``keras_tuner.Objective`` for a kgan metric name (direction looked up)."""
    import keras_tuner as kt

    if isinstance(name, kt.Objective):
        return name
    if direction is None:
        if name not in OBJECTIVES:
            raise ValueError(f"Unknown objective {name!r}: pass its direction ('min'/'max') or use one of "
                             f"{sorted(OBJECTIVES)}.")
        direction = OBJECTIVES[name][0]
    check_choice("direction", direction, ("min", "max"))
    return kt.Objective(name, direction)


def final_metrics_2d(model, dataset, n=2500, seed=0):
    """VEEGAN-protocol metrics of ``n`` samples of ``model`` on a 2D set."""
    import kgan.metrics

    samples = model.generate(n, seed=seed)
    if not all(math.isfinite(float(v)) for v in samples.reshape(-1)[:1000]):
        return {"modes": 0.0, "hq": 0.0, "reverse_kl": float("inf"), "modes_hq": 0.0}
    cov = kgan.metrics.mode_coverage(samples, dataset)
    hq = cov["hq_fraction"]
    return {"modes": float(cov["modes"]), "hq": hq, "reverse_kl": float(cov["reverse_kl"]),
            "modes_hq": cov["modes"] + hq}


def evaluate_callback(dataset, metric, every=1, **kwargs):
    """A :class:`kgan.callbacks.Evaluate` computing ``metric`` on ``dataset`` every ``every`` epochs.

    Raises a clear error when the callback is not available in this kgan.
    """
    try:
        from kgan.callbacks import Evaluate
    except (ImportError, AttributeError) as e:
        raise ValueError(f"Objective {metric!r} needs kgan.callbacks.Evaluate, which could not be "
                         f"imported ({e}).") from None
    kwargs.setdefault("verbose", 0)
    return Evaluate([metric], dataset=dataset, every=every, **kwargs)


class GANHyperModel(kt.HyperModel):
    """A keras-tuner HyperModel of one kgan method on one dataset.

    ``build(hp)`` makes the method's base model (recipe or generic builder,
    see :mod:`kgan.tuning.registry`) and applies the sampled values of the
    search space: learning rates of D and G, D steps, each regulariser's
    weight. ``fit(hp, model)`` loads the dataset (batched with ``d_steps *
    batch_size``, as the base GAN's ``train_step`` expects), trains
    ``steps`` generator steps in epochs of ``steps_per_epoch`` (Hyperband's
    ``epochs`` / ``initial_epoch`` are honoured), and returns the final logs
    plus the objective metrics.

    Args:
        method: a method name (``kgan.tuning.METHODS``) or a ``MethodSpec``;
            ``None`` with ``recipe`` infers it from the recipe's model.
        dataset: dataset name (``kgan.data.NAMES``).
        steps: generator steps per trial.
        steps_per_epoch: steps per epoch (the objective is logged per epoch).
        batch_size: batch size per D step (global).
        seed: seed of the networks' initialisation, the noise and the data.
        params: names of the parameters to tune (default: all of the
            method's); the others keep the base model's values.
        fixed: ``{param name: value}`` applied to every trial, not tuned.
        recipe: recipe name or path whose ``build(cfg)`` gives the base model.
        compile_kwargs: ``jit_compile`` / ``steps_per_execution``.
        objective: objective name (adds an ``Evaluate`` callback when the
            metric comes from it).
        eval_every: epochs between ``Evaluate`` runs (default: last epoch only).
        evaluate_kwargs: extra arguments for ``Evaluate`` (e.g. ``n_samples``).
        verbose: ``fit`` verbosity.
    """

    def __init__(self, method, dataset, steps=1000, steps_per_epoch=None, batch_size=None,
                 seed=0, params=None, fixed=None, recipe=None, compile_kwargs=None,
                 objective=None, eval_every=None, evaluate_kwargs=None, verbose=0):
        super().__init__(name=f"kgan_{getattr(method, 'name', method)}_{dataset}")
        import kgan.data

        self.dataset = dataset
        self.info = kgan.data.info(dataset)
        self.recipe = recipe
        self.seed = int(seed)
        self.compile_kwargs = dict(compile_kwargs or {})
        if method is None:
            if recipe is None:
                raise ValueError("Pass a method name or a recipe; received neither.")
            method = spec_for_model(build_base(MethodSpec("probe", "GAN"), dataset, self.seed,
                                               self.compile_kwargs, recipe))
        self.spec = method if isinstance(method, MethodSpec) else get_method(method)
        self.steps = check_positive_int("steps", steps)
        self.steps_per_epoch = check_positive_int(
            "steps_per_epoch", steps_per_epoch or self.steps)
        self.steps_per_epoch = min(self.steps_per_epoch, self.steps)
        if batch_size is None:
            batch_size = 512 if dataset in TWO_D else 64
        self.batch_size = check_positive_int("batch_size", batch_size)
        names = [p.name for p in self.spec.params]
        self.params = list(names if params is None else params)
        for p in self.params:
            self.spec.param(p)  # raises for unknown names
        self.fixed = dict(fixed or {})
        for p in self.fixed:
            self.spec.param(p)
        self.objective_name = objective or default_objective(dataset)
        self.eval_every = eval_every
        self.evaluate_kwargs = dict(evaluate_kwargs or {})
        self.verbose = verbose

    @property
    def epochs(self):
        return int(math.ceil(self.steps / self.steps_per_epoch))

    # -------------------------------------------------------------- build
    def build(self, hp):
        base = build_base(self.spec, self.dataset, self.seed, self.compile_kwargs, self.recipe)
        defaults = current_values(base, self.spec)
        values = dict(self.fixed)
        for p in self.spec.params:
            if p.name in self.params and p.name not in self.fixed:
                values[p.name] = p.declare(hp, defaults.get(p.name))
        return apply_values(base, self.spec, values, self.compile_kwargs)

    # -------------------------------------------------------------- fit
    def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, **kwargs):
        import kgan.data
        from kgan.callbacks import StopOnNonFinite

        labels = model.num_classes is not None
        data = kgan.data.load(self.dataset, batch_size=self.batch_size * model.d_steps,
                              labels=True if labels else False, seed=self.seed)
        epochs = self.epochs if epochs is None else int(epochs)
        cbs = [StopOnNonFinite()] + list(callbacks or [])
        source = OBJECTIVES.get(self.objective_name, ("", "evaluate"))[1]
        needs_eval = "evaluate" in source and not (self.dataset in TWO_D and "2d" in source)
        if needs_eval:
            every = self.eval_every or epochs
            cbs.insert(1, evaluate_callback(self.dataset, self.objective_name, every=every,
                                            **self.evaluate_kwargs))
        tb_dir = next((getattr(c, "log_dir", None) for c in cbs
                       if c.__class__.__name__ == "TensorBoard"), None)
        t0 = time.time()
        try:
            history = model.fit(data, epochs=epochs, initial_epoch=initial_epoch,
                                steps_per_epoch=self.steps_per_epoch, callbacks=cbs,
                                shuffle=False, verbose=self.verbose)
            logs = {k: float(v[-1]) for k, v in history.history.items() if len(v)}
            failed = False
        except Exception as e:  # a diverged trial scores worst, the search goes on
            from kgan.callbacks import NonFiniteLossError

            if not isinstance(e, (NonFiniteLossError,)) and "non-finite" not in str(e).lower():
                raise
            logs, failed = {}, True
        logs["trial_seconds"] = time.time() - t0
        if self.dataset in TWO_D:
            logs.update(final_metrics_2d(model, self.dataset, seed=0) if not failed else
                        {"modes": 0.0, "hq": 0.0, "reverse_kl": float(math.log(self.info.num_modes)),
                         "modes_hq": 0.0})
        if failed and self.objective_name not in logs:
            direction = OBJECTIVES.get(self.objective_name, ("min",))[0]
            logs[self.objective_name] = -1e9 if direction == "max" else 1e9
        if self.objective_name not in logs:
            raise ValueError(f"Objective {self.objective_name!r} was not computed for dataset "
                             f"{self.dataset!r}; trial logs have {sorted(logs)}.")
        logs = {k: (v if math.isfinite(v) else (1e9 if v > 0 else -1e9)) for k, v in logs.items()}
        if tb_dir:
            _write_eval_scalars(os.path.join(tb_dir, "eval"), logs,
                                int(model.step_counter.numpy()))
        return logs



def make_hypermodel(method, dataset, **kwargs):
    """Shorthand for :class:`GANHyperModel` ``(method, dataset, **kwargs)``."""
    return GANHyperModel(method, dataset, **kwargs)


def _write_eval_scalars(logdir, logs, step):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for k, v in logs.items():
            tf.summary.scalar(k, v, step=step)
    writer.flush()
    writer.close()


def make_tuner(hypermodel, tuner="random", objective=None, trials=10, directory="tuning",
               project_name=None, overwrite=True, seed=0, max_epochs=None, factor=3,
               distribution_strategy=None, **kwargs):
    """A keras-tuner ``Tuner`` over ``hypermodel``.

    Args:
        tuner: ``"random"`` (``kt.RandomSearch``), ``"bayesian"``
            (``kt.BayesianOptimization``, Gaussian-process) or ``"hyperband"``
            (``kt.Hyperband``: trials are started with few epochs and the best
            are continued from their weights; the trial count follows from
            ``max_epochs`` and ``factor``, so ``trials`` is not used).
        objective: a name of :data:`OBJECTIVES`, a ``keras_tuner.Objective``,
            or None for the hypermodel's objective.
        trials: maximum number of trials (random / bayesian).
        directory, project_name: where keras-tuner keeps its state.
        overwrite: start afresh (False resumes a search in the same directory).
        max_epochs: Hyperband's largest budget in epochs (default: the
            hypermodel's epoch count).
        distribution_strategy: a ``tf.distribute`` strategy for every trial.
    """
    import keras_tuner as kt

    check_choice("tuner", tuner, TUNERS)
    check_positive_int("trials", trials)
    name = objective if objective is not None else getattr(hypermodel, "objective_name", None)
    if name is None:
        raise ValueError("Pass an `objective`.")
    obj = globals()["objective"](name)
    if hasattr(hypermodel, "objective_name"):
        hypermodel.objective_name = obj.name
    common = dict(objective=obj, directory=directory, overwrite=overwrite, seed=seed,
                  project_name=project_name or hypermodel.name, distribution_strategy=distribution_strategy,
                  **kwargs)
    if tuner == "random":
        return kt.RandomSearch(hypermodel, max_trials=trials, **common)
    if tuner == "bayesian":
        return kt.BayesianOptimization(hypermodel, max_trials=trials,
                                       num_initial_points=min(max(2, trials // 3), trials), **common)
    max_epochs = max_epochs or max(2, getattr(hypermodel, "epochs", 2))
    return kt.Hyperband(hypermodel, max_epochs=max_epochs, factor=factor, **common)


def trial_table(tuner):
    """Rows ``{trial_id, status, score, hparams..., metrics...}`` of every trial, best first."""
    direction = tuner.oracle.objective.direction
    rows = []
    for trial in tuner.oracle.trials.values():
        metrics = {}
        for name, mh in trial.metrics.metrics.items():
            hist = mh.get_history()
            if hist:
                metrics[name] = float(hist[-1].value[0] if hasattr(hist[-1].value, "__len__")
                                      else hist[-1].value)
        rows.append({"trial_id": trial.trial_id, "status": str(trial.status),
                     "score": None if trial.score is None else float(trial.score),
                     "hparams": {k: v for k, v in trial.hyperparameters.values.items()
                                 if not k.startswith("tuner/")},
                     "metrics": metrics})
    sign = -1 if direction == "max" else 1
    rows.sort(key=lambda r: (r["score"] is None, sign * (r["score"] or 0.0)))
    return rows


def _cell(v):
    if isinstance(v, float) and abs(v) >= 1e9:  # stand-in for a non-finite value
        return "inf" if v > 0 else "-inf"
    return fmt_value(v)


def trials_markdown(rows, objective_name, params):
    """A markdown table of :func:`trial_table` rows."""
    extra = [m for m in ("modes", "hq", "reverse_kl", "fid", "kl", "trial_seconds")
             if any(m in r["metrics"] for r in rows) and m != objective_name]
    head = ["trial", objective_name, *params, *extra]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["trial_id"], fmt_value(r["score"]) if r["score"] is not None else r["status"]]
        cells += [fmt_value(r["hparams"].get(p, "")) for p in params]
        cells += [_cell(r["metrics"].get(m, "")) for m in extra]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def search(hypermodel, tuner, logdir, tensorboard=True, callbacks=(), save_best=True):
    """Run ``tuner.search`` and save the best model and the trial table.

    Writes (all atomically): ``<logdir>/best_model.keras`` (the best trial's
    model), ``<logdir>/best.json`` (its hyperparameters and metrics),
    ``<logdir>/trials.json`` and ``<logdir>/trials.md``; TensorBoard runs (with
    HParams) under ``<logdir>/tensorboard``.

    Returns:
        dict with ``best_hparams``, ``best_score``, ``objective``, ``trials``
        (rows of :func:`trial_table`), ``best_model_path`` and ``seconds``.
    """
    import keras

    os.makedirs(logdir, exist_ok=True)
    cbs = list(callbacks)
    if tensorboard:
        cbs.append(keras.callbacks.TensorBoard(os.path.join(logdir, "tensorboard"), write_graph=False,
                                               update_freq="epoch"))
    t0 = time.time()
    tuner.search(callbacks=cbs, verbose=0)
    seconds = time.time() - t0
    rows = trial_table(tuner)
    done = [r for r in rows if r["score"] is not None]
    if not done:
        raise RuntimeError(f"No trial finished in {logdir}; see the errors above.")
    best_hp = tuner.get_best_hyperparameters(1)[0]
    best = {"objective": tuner.oracle.objective.name, "direction": tuner.oracle.objective.direction,
            "best_hparams": {k: v for k, v in best_hp.values.items() if not k.startswith("tuner/")},
            "best_score": done[0]["score"], "best_trial": done[0]["trial_id"],
            "best_metrics": done[0]["metrics"], "trials": rows, "seconds": round(seconds, 1),
            "method": getattr(getattr(hypermodel, "spec", None), "name", None),
            "dataset": getattr(hypermodel, "dataset", None)}
    if save_best:
        model = tuner.get_best_models(1)[0]
        path = os.path.join(logdir, "best_model.keras")
        with atomic_path(path) as tmp:
            model.save(tmp)
        best["best_model_path"] = path
    params = list(getattr(hypermodel, "params", best["best_hparams"]))
    with atomic_path(os.path.join(logdir, "best.json")) as tmp:
        with open(tmp, "w") as f:
            json.dump({k: v for k, v in best.items() if k != "trials"}, f, indent=2, default=str)
    with atomic_path(os.path.join(logdir, "trials.json")) as tmp:
        with open(tmp, "w") as f:
            json.dump(rows, f, indent=2, default=str)
    with atomic_path(os.path.join(logdir, "trials.md")) as tmp:
        with open(tmp, "w") as f:
            f.write(trials_markdown(rows, best["objective"], params) + "\n")
    return best
