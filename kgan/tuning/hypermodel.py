"""keras-tuner searches over the rows of the experiment table: HyperModel, objectives, tuners, best model.

    hm = kgan.tuning.GANHyperModel("grid25_gan", steps=2000)
    tuner = kgan.tuning.make_tuner(hm, "bayesian", objective="modes_hq", trials=20,
                                   directory="tuning/grid25_gan/tuner")
    result = kgan.tuning.search(hm, tuner, logdir="tuning/grid25_gan")
    result["best_model_path"]   # tuning/grid25_gan/best_model.keras
    result["best_command"]      # kgan train grid25_gan --steps 2000 ... --set d_lr=... (the same model)

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

from kgan.tuning.targets import Target, get_target
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
    """A keras-tuner HyperModel of one row of the experiment table (or one recipe file).

    ``build(hp)`` samples the row's search space (its method's ``search``:
    learning rates of D and G, D steps, each regulariser's weight), resolves
    the values as the row's options (over ``fixed``) and returns the row's own
    compiled model, the one ``kgan train ROW --set ...`` builds
    (:meth:`command` gives that command). ``fit(hp, model)`` trains it on the
    protocol's data (batches of ``d_steps * batch_size``) for ``steps``
    generator steps in epochs of ``steps_per_epoch`` (Hyperband's ``epochs`` /
    ``initial_epoch`` are honoured) and returns the final logs plus the
    objective metrics.

    Args:
        target: a row name (``"grid25_maem"``) or :class:`kgan.experiments.Row`, a method name (the row
            ``<dataset>_<method>``), a recipe file's name or path (with ``build(cfg)``), or a
            :class:`kgan.tuning.Target`.
        dataset: the dataset of a method name (default grid25; fashion_mnist for conditional methods).
        steps: generator steps per trial.
        steps_per_epoch: steps per epoch (Hyperband's budget unit; default: one epoch per trial).
        batch_size: batch size per D step (global; default the row's).
        seed: seed of the networks' initialisation, the noise and the data.
        params: names of the search parameters to tune (default: all of the row's not in ``fixed``).
        fixed: ``{option: value}`` applied to every trial (any option of the row; text is parsed).
        compile_kwargs: ``jit_compile`` / ``steps_per_execution`` (default: the row's steps per
            execution, dividing ``steps_per_epoch``).
        objective: objective name (adds an ``Evaluate`` callback when the metric comes from it).
        eval_every: epochs between ``Evaluate`` runs (default: last epoch only).
        evaluate_kwargs: extra arguments for ``Evaluate`` (e.g. ``n_samples``).
        precision: the dtype policy the search runs under (named in :meth:`command`).
        verbose: ``fit`` verbosity.
    """

    def __init__(self, target, dataset=None, steps=1000, steps_per_epoch=None, batch_size=None,
                 seed=0, params=None, fixed=None, compile_kwargs=None, objective=None, eval_every=None,
                 evaluate_kwargs=None, precision="float32", verbose=0):
        import kgan.data

        self.target = target if isinstance(target, Target) else get_target(target, dataset)
        super().__init__(name=f"kgan_{self.target.name}")
        self.dataset = self.target.dataset
        self.info = kgan.data.info(self.dataset)
        self.seed = int(seed)
        self.steps = check_positive_int("steps", steps)
        self.steps_per_epoch = min(check_positive_int("steps_per_epoch", steps_per_epoch or self.steps),
                                   self.steps)
        if batch_size is None:
            batch_size = self.target.defaults.get("batch_size") or (512 if self.dataset in TWO_D else 64)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.compile_kwargs = dict(compile_kwargs or {})
        spe = self.compile_kwargs.get("steps_per_execution") or self.target.defaults.get("steps_per_execution", 1)
        self.compile_kwargs["steps_per_execution"] = math.gcd(check_positive_int("steps_per_execution", spe),
                                                              self.steps_per_epoch)
        self.fixed = dict(fixed or {})
        self.base = self.target.resolve(self.fixed)  # unknown options and bad values fail here
        if params is not None:
            both = [p for p in params if p in self.fixed]
            if both:
                raise ValueError(f"--params and --fixed both name {both[0]!r}: a parameter is tuned or fixed, "
                                 "not both.")
        self.space = tuple(p for p in self.target.params(params) if p.name not in self.fixed)
        if not self.space:
            raise ValueError(f"Nothing to tune in {self.target.name}: every search parameter is fixed "
                             f"({', '.join(self.fixed)}).")
        self.params = [p.name for p in self.space]
        self.objective_name = objective or default_objective(self.dataset)
        self.eval_every = eval_every
        self.evaluate_kwargs = dict(evaluate_kwargs or {})
        self.precision = precision
        self.verbose = verbose

    @property
    def epochs(self):
        return int(math.ceil(self.steps / self.steps_per_epoch))

    # -------------------------------------------------------------- a trial's options
    def values(self, hp):
        """The trial's searched values ``{option: value}`` (declaring them on ``hp``)."""
        return {p.name: p.declare(hp, self.base[p.name]) for p in self.space}

    def options(self, hp):
        """Every option value of the trial: ``fixed`` and the searched values over the row's defaults."""
        return self.target.resolve({**self.fixed, **self.values(hp)})

    def command(self, values):
        """The ``kgan train`` command that trains the model of a trial with searched ``values`` again."""
        return self.target.command({**self.fixed, **{k: values[k] for k in self.params if k in values}},
                                   self.steps, self.steps_per_epoch, self.batch_size, self.seed, self.precision)

    # -------------------------------------------------------------- build
    def build(self, hp):
        o = self.options(hp)
        cfg = self.target.config(o, self.steps, self.steps_per_epoch, self.batch_size, self.seed,
                                 self.compile_kwargs)
        return self.target.build(o, cfg)

    # -------------------------------------------------------------- fit
    def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, **kwargs):
        from kgan.callbacks import StopOnNonFinite

        o = self.options(hp)
        labels = model.num_classes is not None
        data = self.target.data(o, self.batch_size, labels=labels, seed=self.seed)
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


def make_hypermodel(target, dataset=None, **kwargs):
    """Shorthand for :class:`GANHyperModel` ``(target, dataset, **kwargs)``."""
    return GANHyperModel(target, dataset, **kwargs)


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


def fmt_value(v):
    """Short text of a hyperparameter value for tables."""
    if isinstance(v, float):
        if v == 0 or (1e-3 <= abs(v) < 1e4):
            return f"{v:.4g}"
        return f"{v:.2e}"
    return str(v)


def trial_table(tuner):
    """Rows ``{trial_id, status, score, hparams, metrics, command}`` of every trial, best first
    (``command``: the ``kgan train`` command of the trial's model, when the hypermodel gives one)."""
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
        command = getattr(tuner.hypermodel, "command", None)
        if command is not None:
            rows[-1]["command"] = command(rows[-1]["hparams"])
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
    commands = [r for r in rows if r.get("command")]
    if commands:
        lines += ["", "Each trial's model again:", ""]
        lines += [f"    trial {r['trial_id']}: {r['command']}" for r in commands]
    return "\n".join(lines)


def search(hypermodel, tuner, logdir, tensorboard=True, callbacks=(), save_best=True):
    """Run ``tuner.search`` and save the best model and the trial table.

    Writes (all atomically): ``<logdir>/best_model.keras`` (the best trial's
    model), ``<logdir>/best.json`` (its hyperparameters and metrics),
    ``<logdir>/trials.json`` and ``<logdir>/trials.md``; TensorBoard runs (with
    HParams) under ``<logdir>/tensorboard``.

    Returns:
        dict with ``best_hparams``, ``best_score``, ``objective``, ``trials``
        (rows of :func:`trial_table`), ``best_command`` (``kgan train`` of the best trial's
        settings), ``best_model_path``, ``target``, ``dataset`` and ``seconds``.
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
            "best_command": done[0].get("command"),
            "target": getattr(getattr(hypermodel, "target", None), "name", None),
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
