"""Running recipes: the settings every recipe shares, strategies, standard callbacks.

A recipe is either a row of the experiment table (``kgan.experiments``: a
method on a protocol, e.g. ``grid25_mdgan``; part of the package, so it runs
from any directory after ``pip install``) or a short Python file in
``recipes/`` with a module docstring, a ``DEFAULTS`` dict and a ``main(cfg)``
function that builds a model inside ``cfg.strategy.scope()``, calls
``model.fit`` with ``cfg.callbacks(...)`` and returns ``cfg.finish(model,
report)``. ``kgan train NAME`` runs either; ``python recipes/NAME.py`` runs a file.
"""
import argparse
import dataclasses
import importlib.util
import json
import math
import os
import sys
import time

from kgan.utils import atomic_path, check_choice, check_positive_int

STRATEGIES = ("auto", "default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def recipe_dirs():
    """Where recipes are looked up: $KGAN_RECIPES, ./recipes, then the repository's recipes/."""
    dirs = []
    if os.environ.get("KGAN_RECIPES"):
        dirs.extend(os.environ["KGAN_RECIPES"].split(os.pathsep))
    dirs.append(os.path.join(os.getcwd(), "recipes"))
    dirs.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "recipes"))
    seen, out = set(), []
    for d in dirs:
        d = os.path.abspath(d)
        if d not in seen and os.path.isdir(d):
            seen.add(d)
            out.append(d)
    return out


def list_recipes():
    """``{name: (path, first docstring line)}`` for every table row and recipe file found
    (a row's path is ``<kgan.experiments row NAME>``)."""
    from kgan.experiments import rows

    found = {name: (row.__file__, row.summary()) for name, row in rows().items()}
    for d in recipe_dirs():
        for fname in sorted(os.listdir(d)):
            if fname.endswith(".py") and not fname.startswith("_"):
                name = fname[:-3]
                if name in found:
                    continue
                path = os.path.join(d, fname)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                doc = ""
                for quote in ('"""', "'''"):
                    if text.lstrip().startswith(quote):
                        doc = text.lstrip()[3:].split(quote)[0].strip().splitlines()[0]
                        break
                found[name] = (path, doc)
    return found


def load_recipe(name_or_path):
    """A table row by name (:mod:`kgan.experiments`), or a recipe file by name (see
    :func:`recipe_dirs`) or path."""
    from kgan.experiments import get_row

    row = get_row(name_or_path)
    if row is not None:
        return row
    if name_or_path.endswith(".py") or os.sep in name_or_path:
        path = name_or_path
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Recipe file {path!r} does not exist.")
    else:
        recipes = list_recipes()
        if name_or_path not in recipes:
            raise ValueError(
                f"Unknown recipe {name_or_path!r}. Known recipes: {', '.join(sorted(recipes)) or 'none'} "
                f"(searched {recipe_dirs()}). Run `kgan list` to see them.")
        path = recipes[name_or_path][0]
    name = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:  # a recipe file may import a sibling recipe file (its build, say)
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"kgan_recipe_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "main"):
        raise ValueError(f"Recipe {path!r} has no main(cfg) function.")
    return module


def setup_devices(cpu_devices=None):
    """Split the CPU into ``cpu_devices`` logical devices (for MirroredStrategy on
    a CPU-only machine). Must run before TensorFlow creates any tensor."""
    import tensorflow as tf

    if cpu_devices and cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)


class WorkerLostError(RuntimeError):
    """A peer of a multi-worker run died or became unreachable (the run stops, no hang)."""


def validate_tf_config(text):
    """Parse and check a ``TF_CONFIG`` string for multi-worker training."""
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}); received TF_CONFIG={text!r}.") from None
    cluster = cfg.get("cluster") if isinstance(cfg, dict) else None
    task = cfg.get("task") if isinstance(cfg, dict) else None
    if not isinstance(cluster, dict) or not isinstance(cluster.get("worker"), list) or not cluster["worker"]:
        raise ValueError('TF_CONFIG needs "cluster": {"worker": ["host:port", ...]}; '
                         f"received TF_CONFIG={text!r}.")
    if not isinstance(task, dict) or task.get("type") not in ("worker", "chief") or not isinstance(
            task.get("index"), int):
        raise ValueError('TF_CONFIG needs "task": {"type": "worker", "index": i}; '
                         f"received TF_CONFIG={text!r}.")
    members = cluster.get(task["type"], [])
    if not 0 <= task["index"] < len(members):
        raise ValueError(f"TF_CONFIG task index {task['index']} is outside the {len(members)} "
                         f"{task['type']} address(es) listed; received TF_CONFIG={text!r}.")
    return cfg


def make_strategy(name, tf_config_timeout=None):
    """Return a ``tf.distribute`` strategy by name.

    ``auto``: ``MirroredStrategy`` when more than one GPU is visible, else the
    default strategy. ``mirrored``: ``MirroredStrategy`` over all GPUs, or over
    the logical CPUs when there is no GPU. ``multiworker``:
    ``MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``.
    """
    import tensorflow as tf

    check_choice("strategy", name, STRATEGIES)
    if name == "multiworker":  # before anything that initialises the TF context (listing devices)
        return _multiworker_strategy(tf_config_timeout)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus)


def _multiworker_strategy(tf_config_timeout=None):
    import tensorflow as tf

    if "TF_CONFIG" not in os.environ:
        raise ValueError("--strategy multiworker needs the TF_CONFIG environment variable "
                         '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                         '"task": {"type": "worker", "index": 0}}).')
    validate_tf_config(os.environ["TF_CONFIG"])
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=tf_config_timeout) if tf_config_timeout else None
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


@dataclasses.dataclass
class RunConfig:
    """Settings shared by every recipe (the ``kgan train`` flags)."""

    recipe: str = "recipe"
    steps: int = 1000
    steps_per_epoch: int = 500
    batch_size: int = 64
    logdir: str = ""
    strategy_name: str = "auto"
    seed: int = 0
    backup: bool = True
    jit_compile: bool = False
    precision: str = "float32"
    steps_per_execution: int = 1
    samples: bool = True
    verbose: int = 2
    extra: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_positive_int("steps", self.steps)
        check_positive_int("steps_per_epoch", self.steps_per_epoch)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("steps_per_execution", self.steps_per_execution)
        check_choice("strategy", self.strategy_name, STRATEGIES)
        check_choice("precision", self.precision, PRECISIONS)
        if not self.logdir:
            self.logdir = os.path.join("tensorboard_logs", self.recipe)
        # fit() runs whole epochs of whole executions: make both divide the budget exactly, so a run
        # trains `steps` steps, never more (2500 steps at 1000 per epoch run as 5 epochs of 500).
        self.steps_per_epoch = math.gcd(min(self.steps_per_epoch, self.steps), self.steps)
        self.steps_per_execution = math.gcd(self.steps_per_execution, self.steps_per_epoch)
        self._strategy = None
        self._t0 = time.time()

    def set_epoch_length(self, n):
        """Train in epochs of about ``n`` generator steps (e.g. one pass over the data) and still exactly
        ``steps`` steps: ``steps_per_epoch`` becomes the largest divisor of ``steps`` that is at most ``n``
        (``steps`` itself when it is smaller), ``steps_per_execution`` a divisor of that. A budget with no
        divisor near ``n`` (below ``n / 2``) gets a note suggesting a multiple of ``n``."""
        check_positive_int("steps_per_epoch", n)
        n = min(int(n), self.steps)
        epoch = next(d for d in range(n, 0, -1) if self.steps % d == 0)
        if epoch < n / 2:
            print(f"note: --steps {self.steps} has no divisor near {n} (one epoch); training in epochs of "
                  f"{epoch} steps. A multiple of {n} keeps epochs of {n}.", flush=True)
        self.steps_per_epoch = epoch
        self.steps_per_execution = math.gcd(self.steps_per_execution, epoch)

    @property
    def epochs(self):
        """Epochs of ``steps_per_epoch`` generator steps covering ``steps``."""
        return int(math.ceil(self.steps / self.steps_per_epoch))

    @property
    def strategy(self):
        """The ``tf.distribute`` strategy (created on first use)."""
        if self._strategy is None:
            import keras

            if self.precision != "float32":
                keras.mixed_precision.set_dtype_policy(self.precision)
            # the strategy first: MultiWorkerMirroredStrategy must precede any TF op
            self._strategy = make_strategy(self.strategy_name)
            keras.utils.set_random_seed(self.seed)
            self._check_replicas(self._strategy.num_replicas_in_sync)
        return self._strategy

    def _check_replicas(self, n):
        """A global batch must split evenly over the replicas; several steps per execution fail
        under a multi-replica strategy in Keras 3 (a Keras limitation, measured here), so they fall back to 1."""
        if n <= 1:
            return
        if self.batch_size % n:
            raise ValueError(f"--batch-size {self.batch_size} does not split evenly over the {n} replicas of "
                             f"--strategy {self.strategy_name}: use a multiple of {n} (it is the global batch).")
        if self.steps_per_execution > 1:
            print(f"note: --steps-per-execution {self.steps_per_execution} runs as 1 under --strategy "
                  f"{self.strategy_name} with {n} replicas (several steps per execution fail there in "
                  "Keras 3).", file=sys.stderr, flush=True)
            self.steps_per_execution = 1

    @property
    def is_chief(self):
        """True on the worker that writes files (always true without multi-worker)."""
        ext = getattr(self.strategy, "extended", None)
        return getattr(ext, "should_checkpoint", True)

    @property
    def compile_kwargs(self):
        """``jit_compile`` and ``steps_per_execution`` for ``model.compile``."""
        return {"jit_compile": self.jit_compile, "steps_per_execution": self.steps_per_execution}

    def callbacks(self, dataset=None, extra=(), n_samples=64):
        """The standard callbacks: stop on non-finite losses, atomic backup for
        resuming, TensorBoard scalars and sample grids, plus ``extra``."""
        import keras

        from kgan.callbacks import BackupAndRestore, SampleGrid, StopOnNonFinite

        logdir = self.logdir if self.is_chief else os.path.join(self.logdir, f".worker_tmp_{os.getpid()}")
        cbs = [StopOnNonFinite(os.path.join(logdir, "backup") if self.backup else None)]
        if self.backup:  # kept until finish() has written the model and the report
            cbs.append(BackupAndRestore(os.path.join(logdir, "backup"), delete_checkpoint=False))
        if self.is_chief:  # the model is on disk before any evaluation after fit
            cbs.append(_SaveAtTrainEnd(self))
        cbs.extend(extra)
        cbs.append(keras.callbacks.TensorBoard(logdir, write_graph=False, update_freq="epoch"))
        if self.samples and self.is_chief:
            from kgan.data.synthetic import NAMES as TWO_D_SETS

            two_d = dataset in TWO_D_SETS
            cbs.append(SampleGrid(logdir, n=2500 if two_d else n_samples, dataset=dataset if two_d else None))
        return cbs

    def step_timer(self):
        """A :class:`kgan.callbacks.StepTimer` whose timings are kept with the backup, so a
        resumed run reports the CPU time of the epochs trained before it was stopped."""
        from kgan.callbacks import StepTimer

        keep = self.backup and self.is_chief
        return StepTimer(os.path.join(self.logdir, "backup", "step_timer.json") if keep else None)

    def save_model(self, model):
        """Write ``<logdir>/model.keras`` atomically (chief only)."""
        if not self.is_chief:
            return
        os.makedirs(self.logdir, exist_ok=True)
        with atomic_path(os.path.join(self.logdir, "model.keras")) as tmp:
            model.save(tmp)
        counter = getattr(model, "step_counter", None)
        self._saved_step = int(counter.numpy()) if counter is not None else None

    def finish(self, model, report=None):
        """Save ``<logdir>/model.keras`` and ``<logdir>/report.json`` (atomically,
        on the chief only), print the report and return it."""
        report = dict(report or {})
        report.setdefault("recipe", self.recipe)
        report.setdefault("steps", int(model.step_counter.numpy()) if hasattr(model, "step_counter") else None)
        report.setdefault("seed", self.seed)
        report["wall_seconds"] = round(time.time() - self._t0, 1)
        if self.is_chief:
            os.makedirs(self.logdir, exist_ok=True)
            step = report.get("steps")
            if getattr(self, "_saved_step", None) != step or step is None:
                self.save_model(model)
            with atomic_path(os.path.join(self.logdir, "report.json")) as tmp:
                with open(tmp, "w") as f:
                    json.dump(report, f, indent=2, default=float)
            from kgan.rundir import remove_backup

            remove_backup(self.logdir)  # only now: a kill before this point resumes, it does not restart
            report["model_path"] = os.path.join(self.logdir, "model.keras")
        print(json.dumps(report, indent=2, default=float))
        return report


def _SaveAtTrainEnd(cfg):
    import keras

    class SaveAtTrainEnd(keras.callbacks.Callback):
        """Save ``model.keras`` as soon as ``fit`` ends, before the recipe evaluates the model."""

        def on_train_end(self, logs=None):
            cfg.save_model(self.model)

    return SaveAtTrainEnd()


class TrainingInterrupted(RuntimeError):
    """Ctrl-C during ``kgan train`` (the CLI prints how to resume and exits 130)."""


def add_train_arguments(parser, defaults=None):
    """The ``kgan train`` flags; ``defaults`` come from the recipe's DEFAULTS."""
    d = dict(RunConfig().__dict__)
    d.update(defaults or {})
    parser.add_argument("--steps", type=int, default=d["steps"], help="generator steps in total")
    parser.add_argument("--steps-per-epoch", type=int, default=d["steps_per_epoch"])
    parser.add_argument("--batch-size", type=int, default=d["batch_size"], help="global batch size")
    parser.add_argument("--logdir", default=None, help="run directory (default tensorboard_logs/RECIPE)")
    parser.add_argument("--strategy", default="auto", choices=STRATEGIES)
    parser.add_argument("--cpu-devices", type=int, default=0,
                        help="split the CPU into N logical devices (MirroredStrategy on CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-backup", action="store_true", help="do not back up for resuming")
    parser.add_argument("--jit-compile", action="store_true", help="compile train steps with XLA")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--steps-per-execution", type=int, default=d["steps_per_execution"])
    parser.add_argument("--no-samples", action="store_true", help="do not write sample grids")
    parser.add_argument("--overwrite", action="store_true",
                        help="train again in a --logdir that holds a finished run (its files are replaced), or "
                        "restart an unfinished one with other settings")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe-specific option (repeatable), e.g. --set loss=hinge")
    return parser


def parse_set(items, flag="--set"):
    """``["key=value", ...]`` -> ``{key: value}``, each value read as JSON when it parses (else a string)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"{flag} takes KEY=VALUE; received {item!r}.")
        key, value = item.split("=", 1)
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
        out[key.strip()] = value
    return out


def config_from_args(recipe_name, args):
    return RunConfig(
        recipe=recipe_name, steps=args.steps, steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size, logdir=args.logdir or "", strategy_name=args.strategy,
        seed=args.seed, backup=not args.no_backup, jit_compile=args.jit_compile,
        precision=args.precision, steps_per_execution=args.steps_per_execution,
        samples=not args.no_samples, extra=parse_set(args.set))


def train(recipe, argv=()):
    """Run a recipe with ``kgan train`` flags; returns its report."""
    module = load_recipe(recipe)
    name = getattr(module, "name", None) or os.path.splitext(os.path.basename(getattr(module, "__file__", recipe)))[0]
    description = getattr(module, "__doc__", None) or ""
    if getattr(module, "OPTIONS", None) and not hasattr(module, "settings"):  # a recipe file's declared options
        description += "\n\nOptions (--set KEY=VALUE):\n" + "\n".join(f"  {o.describe()}" for o in module.OPTIONS)
    parser = add_train_arguments(argparse.ArgumentParser(
        prog=f"kgan train {name}", description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter), getattr(module, "DEFAULTS", {}))
    args = parser.parse_args(list(argv))
    setup_devices(args.cpu_devices)
    cfg = config_from_args(name, args)
    if getattr(module, "OPTIONS", None) is not None:  # a recipe file that declares its options
        from kgan.experiments.options import resolve

        cfg.extra = resolve(module.OPTIONS, cfg.extra, where=f"kgan train {name} --set")
    if hasattr(module, "settings"):  # a table row: its options are checked before anything is written
        settings = module.settings(cfg)
    else:
        settings = {"recipe": name, "steps": cfg.steps, "batch_size": cfg.batch_size, "seed": cfg.seed,
                    "precision": cfg.precision, "options": dict(sorted(cfg.extra.items()))}
    settings = dict(settings, recipe=name)
    # MultiWorkerMirroredStrategy must exist before any TF op (recipes load data first); it also
    # tells which worker writes files, and so locks the folder.
    chief = cfg.is_chief if cfg.strategy_name == "multiworker" else True
    from kgan.rundir import RunDir

    guard = RunDir(cfg.logdir, settings, overwrite=args.overwrite) if chief else None
    try:
        if guard is not None:
            guard.__enter__()
        return _run(module, cfg)
    except KeyboardInterrupt:
        epoch = _backup_epoch(cfg.logdir)
        where = (f"from epoch {epoch + 1}" if epoch is not None else "from the start (no epoch had finished)")
        raise TrainingInterrupted(f"interrupted; rerun the same command to resume {where} "
                                  f"(--logdir {cfg.logdir}).") from None
    finally:
        if guard is not None:
            guard.release()


def _backup_epoch(logdir):
    try:
        with open(os.path.join(logdir, "backup", "training_metadata.json")) as f:
            return int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _run(module, cfg):
    import tensorflow as tf

    try:
        return _run_strategy(module, cfg)
    except tf.errors.InvalidArgumentError as e:  # a streamed image folder's corrupt file names no file
        from kgan.data.folder import explain_decode_error

        message = explain_decode_error(e)
        if message is None:
            raise
        raise ValueError(f"{message} Rerun the same command to resume from the last epoch's backup.") from None


def _run_strategy(module, cfg):
    if cfg.strategy_name != "multiworker":
        return module.main(cfg)
    import tensorflow as tf

    try:
        return module.main(cfg)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError) as e:
        detail = str(e).strip().splitlines()
        detail = next((line for line in detail if "aborted" in line.lower() or "peer" in line.lower()),
                      detail[0] if detail else "")
        raise WorkerLostError(
            f"Multi-worker training stopped: another worker died or became unreachable "
            f"({type(e).__name__}: {detail.strip()}). Restart every worker with the same command and "
            "its own TF_CONFIG; training resumes from the last epoch's backup.") from None


def cli(recipe_file):
    """Entry point for ``python recipes/NAME.py [flags]``."""
    from kgan.callbacks import NonFiniteLossError

    try:
        train(recipe_file, sys.argv[1:])
    except TrainingInterrupted as e:
        print(str(e), file=sys.stderr)
        sys.exit(130)
    except (ValueError, FileNotFoundError, NonFiniteLossError, WorkerLostError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
