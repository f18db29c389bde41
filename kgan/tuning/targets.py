"""What ``kgan tune`` searches: a row of the experiment table, or a recipe file with ``build(cfg)``.

A trial is a set of option values. For a row (``grid25_maem``) the search
space is the row's method's ``search`` (:mod:`kgan.experiments.methods`), each
:class:`~kgan.experiments.options.Param` the range of one of the row's options;
the trial's model is the row's own build with the trial's values as its
options, exactly what ``kgan train ROW --set NAME=VALUE ...`` builds, so any
trial is reproduced by the command :meth:`Target.command` gives. A method name
with a dataset (``kgan tune maem --dataset grid25``) is the row ``grid25_maem``.

A recipe file (``recipes/*.py`` with ``DATASET``, ``OPTIONS`` and
``build(cfg)``) is searched over its own ``SEARCH`` tuple of ``Param`` when it
declares one, else over the search parameters of the table's method(s) of its
model class that set one of the recipe's options.
"""
import dataclasses
import math
import os
import shlex

from kgan.experiments.options import check_search, resolve

#: The dataset of ``kgan tune METHOD`` without ``--dataset`` (labelled image set for conditional methods).
DEFAULT_DATASET, DEFAULT_CONDITIONAL_DATASET = "grid25", "fashion_mnist"


@dataclasses.dataclass
class Target:
    """A row or recipe to search (see the module docstring); made by :func:`get_target`.

    Attributes:
        name: the row or recipe name (``kgan train NAME``).
        dataset: its dataset (``kgan.data``).
        options: the Option tuple a trial's values are resolved against.
        space: the search space (tuple of Param), checked against ``options``.
        defaults: the ``kgan train`` flag defaults (``batch_size``, ``steps_per_execution``, ...).
        row: the :class:`kgan.experiments.Row`, or None for a recipe file.
        module: the recipe module (a row for rows).
        path: what ``kgan train`` is given to run it (the row's name, or the recipe's path).
    """

    name: str
    dataset: str
    options: tuple
    space: tuple
    defaults: dict
    row: object = None
    module: object = None
    path: str = ""

    def params(self, names=None):
        """The Params to tune: all, or those called ``names`` (an unknown one is an error)."""
        if names is None:
            return self.space
        by_name = {p.name: p for p in self.space}
        for n in names:
            if n not in by_name:
                known = {o.name for o in self.options}
                what = ("an option, but not one of its search parameters" if n in known else "not an option")
                raise ValueError(f"--params: {n!r} is {what} of {self.name}; its search parameters: "
                                 f"{', '.join(by_name) or 'none'}.")
        return tuple(by_name[n] for n in names)

    def resolve(self, values):
        """The trial's option values: ``values`` (``{option: value or text}``) over the defaults, checked."""
        where = f"kgan tune {self.name}"
        if self.row is not None:
            return resolve(self.row.options, dict(values), where=where)
        return resolve(self.options, dict(values), where=where)

    def config(self, o, steps, steps_per_epoch, batch_size, seed, compile_kwargs=None):
        """The ``RunConfig`` of a trial (``extra`` = the resolved options)."""
        from kgan.run import RunConfig

        ck = dict(compile_kwargs or {})
        return RunConfig(recipe=self.name, steps=steps, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                         seed=seed, jit_compile=bool(ck.get("jit_compile", False)),
                         steps_per_execution=int(ck.get("steps_per_execution", 1)), extra=dict(o))

    def build(self, o, cfg):
        """The compiled model of option values ``o`` (the row's or the recipe's own build)."""
        import keras

        if self.row is not None:
            return self.row.build(cfg, o)
        keras.utils.set_random_seed(cfg.seed)
        return self.module.build(cfg)

    def data(self, o, batch_size, labels, seed):
        """The training stream of a trial (``d_steps`` batches per generator step)."""
        if self.row is not None:
            return self.row.protocol.data(o, batch_size, labels=labels, seed=seed)
        import kgan.data

        return kgan.data.load(self.dataset, batch_size=batch_size * int(o.get("d_steps", 1)), labels=labels,
                              seed=seed)

    def sets(self, values):
        """``{option: value}`` of ``values`` that differ from the options' defaults (the ``--set`` flags)."""
        o = self.resolve(values)
        defaults = {x.name: x.default for x in (self.row.options if self.row is not None else self.options)}
        return {k: o[k] for k in values if o[k] != defaults.get(k)}

    def command(self, values, steps, steps_per_epoch, batch_size, seed, precision="float32"):
        """The ``kgan train`` command that trains a trial's model again (same options, steps, batch, seed)."""
        words = ["kgan", "train", self.path or self.name, "--steps", str(steps), "--steps-per-epoch",
                 str(math.gcd(min(steps_per_epoch, steps), steps)), "--batch-size", str(batch_size),
                 "--seed", str(seed)]
        if precision != "float32":
            words += ["--precision", precision]
        for k, v in sorted(self.sets(values).items()):
            words += ["--set", f"{k}={_text(v)}"]
        return " ".join(shlex.quote(w) for w in words)


def _text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return "none" if v is None else str(v)


def get_target(target, dataset=None):
    """The :class:`Target` of ``target``: a row name (``grid25_maem``) or :class:`kgan.experiments.Row`,
    a method name (with ``dataset``: the row ``<dataset>_<method>``), or a recipe file's name or path."""
    from kgan.experiments import METHODS, Row, get_row, rows

    row = target if isinstance(target, Row) else None
    if row is None:
        if not isinstance(target, str) or not target:
            raise ValueError(f"kgan tune needs a row, method or recipe name; received {target!r}.")
        is_path = target.endswith(".py") or os.sep in target
        row = None if is_path else get_row(target)
        if row is None and not is_path and target.lower() in METHODS:
            method = METHODS[target.lower()]
            dataset = dataset or (DEFAULT_CONDITIONAL_DATASET if method.conditional else DEFAULT_DATASET)
            row = get_row(f"{dataset}_{method.name}")
            if row is None:
                on = sorted(n[:-len(method.name) - 1] for n, r in rows().items() if r.method is method)
                raise ValueError(f"--dataset {dataset!r}: method {method.name!r} has no row on it (no "
                                 f"{dataset}_{method.name}); it runs on {', '.join(on)}.")
            dataset = None
        elif row is None:
            return _recipe_target(target, dataset, is_path)
    if dataset is not None:
        raise ValueError(f"--dataset {dataset!r} is for a method name; the row {row.name} runs on "
                         f"{row.protocol.dataset}.")
    space = row.search()
    if not space:
        raise ValueError(f"Row {row.name} has no search space (its method {row.method.name!r} declares "
                         "search=()), so kgan tune cannot search it.")
    return Target(row.name, row.protocol.dataset, row.options, space, dict(row.DEFAULTS), row=row, module=row,
                  path=row.name)


def _recipe_target(target, dataset, is_path):
    from kgan.experiments import METHODS
    from kgan.run import list_recipes, load_recipe

    if not is_path and target not in list_recipes():
        raise ValueError(f"kgan tune: {target!r} is not a row, a method or a recipe. Rows: `kgan list`; "
                         f"methods: {', '.join(METHODS)}.")
    module = load_recipe(target)
    name = os.path.splitext(os.path.basename(target))[0]
    missing = [a for a in ("build", "DATASET", "OPTIONS") if not hasattr(module, a)]
    if missing:
        raise ValueError(f"Recipe {target!r} has no {', '.join(missing)}; kgan tune needs build(cfg), DATASET "
                         "and OPTIONS (a trial's values are the recipe's options).")
    options = tuple(module.OPTIONS)
    where = f"recipe {name}"
    if hasattr(module, "SEARCH"):
        space = check_search(tuple(module.SEARCH), options, where)
    else:  # the table's search parameters of the recipe's model class that set an option of the recipe
        o = resolve(options, {}, where=where)
        probe = Target(name, module.DATASET, options, (), {}, module=module)
        cls = type(probe.build(o, probe.config(o, 1, 1, 1, 0)))
        built = {m.model for m in METHODS.values()}
        model = next((c.__name__ for c in cls.__mro__ if c.__name__ in built), None)  # nearest in the MRO
        have = {x.name for x in options}
        space = {}
        for m in METHODS.values():
            if m.model == model:
                space.update({p.name: p for p in m.search if p.name in have and p.name not in space})
        space = check_search(tuple(space.values()), options, where)
        if not space:
            raise ValueError(f"Recipe {target!r} ({cls.__name__}) has no option that a search parameter of the "
                             "table's methods sets; declare SEARCH = (Param(...), ...) over its OPTIONS.")
    defaults = dict(getattr(module, "DEFAULTS", {}) or {})
    return Target(name, dataset or module.DATASET, options, space, defaults, module=module,
                  path=target if is_path else name)


def build_model(target, dataset=None, values=None, seed=0, compile_kwargs=None, steps=1000):
    """The compiled model a trial with ``values`` (``{option: value}``) trains: the row's (or recipe's)
    own build with those options (``target``, ``dataset``: as :func:`get_target`).

    A method name with a ``dataset`` that is a protocol the method has no row on (a conditional method on
    a 2D protocol, whose mode labels are its classes) is built by the same builders, for speed and
    precision checks of every model class on the small networks; ``kgan tune`` searches table rows only.
    """
    from kgan.experiments import METHODS, PROTOCOLS, Row, get_row

    if (isinstance(target, str) and target.lower() in METHODS and dataset in PROTOCOLS
            and get_row(f"{dataset}_{target.lower()}") is None):
        row = Row(PROTOCOLS[dataset], METHODS[target.lower()])
        t = Target(row.name, row.protocol.dataset, row.options, (), dict(row.DEFAULTS), row=row, module=row,
                   path=row.name)
    else:
        t = get_target(target, dataset)
    o = t.resolve(values or {})
    cfg = t.config(o, steps, steps, t.defaults.get("batch_size", 64), seed, compile_kwargs)
    return t.build(o, cfg)


def available_methods():
    """The table's GAN methods that have a search space (``kgan tune METHOD``), in registration order."""
    from kgan.experiments import METHODS

    return [name for name, m in METHODS.items() if m.search]
