"""Which kgan methods can be tuned, and how each is built.

A :class:`MethodSpec` names a model class in ``kgan.models``, the discriminator
heads and extra networks it needs, the recipes that configure it on a dataset,
and its search space: a tuple of :class:`Param` (learning rates, D steps and
each regulariser's weight). :data:`METHODS` maps a method name to its spec;
:func:`register_method` adds one (its class must already be in ``kgan.models``),
so a new method becomes tunable by name (``kgan tune METHOD``) with one call
(``kgan bench`` runs rows of :mod:`kgan.experiments`, not these specs)::

    kgan.tuning.register_method(kgan.tuning.MethodSpec(
        "mygan", model="MyGAN",
        params=kgan.tuning.COMMON_PARAMS + (Param("my_weight", "float", 0.0, 5.0),)))

How a trial's model is made (:func:`build_model`):

1. a *base* model of the method on the dataset, compiled with its defaults:
   the recipe's ``build(cfg)`` when the spec names a recipe for the dataset,
   else the generic builder (``kgan.nets`` MLP for 2D sets, DCGAN for images,
   with the spec's heads; the VEEGAN protocol's Adam settings for 2D sets,
   DCGAN's Adam(2e-4, 0.5) for images);
2. the hyperparameter values are applied through the model's own config
   round trip: ``target="init"`` values replace keys of ``get_config()`` (the
   model is re-created with ``from_config``), ``"compile"`` values replace keys
   of ``get_compile_config()``, ``"d_lr"``/``"g_lr"`` set the optimizers'
   learning rates. A key the model does not have is an error, so a search
   space can never silently do nothing.
"""
import dataclasses
import importlib
import math

from kgan.utils import check_choice

TARGETS = ("d_lr", "g_lr", "compile", "init")
KINDS = ("float", "int", "choice", "bool")


@dataclasses.dataclass(frozen=True)
class Param:
    """One tunable hyperparameter.

    Args:
        name: the hyperparameter's name in keras-tuner and TensorBoard.
        kind: ``"float"``, ``"int"``, ``"choice"`` or ``"bool"``.
        low, high: range of a float/int (inclusive).
        log: sample a float (or int) log-uniformly (``low`` must be > 0).
        values: the options of a ``"choice"``.
        target: what the value sets: ``"d_lr"`` / ``"g_lr"`` (the D / G
            optimizer's learning rate), ``"compile"`` (a key of the model's
            compile config, e.g. ``d_steps``, ``gp_weight``) or ``"init"`` (a
            constructor argument, a key of ``get_config()``).
        key: the config key set (defaults to ``name``). ``"a.b"`` sets ``b`` in the
            config of the object serialized under ``a`` (e.g. ``"entropy.sigma"``
            for the weight inside MaEMGAN's ``entropy`` loss).
        step: step of an int range (or of a linear float range), optional.
    """

    name: str
    kind: str = "float"
    low: object = None
    high: object = None
    log: bool = False
    values: tuple = ()
    target: str = "compile"
    key: str = ""
    step: object = None

    def __post_init__(self):
        check_choice("kind", self.kind, KINDS)
        check_choice("target", self.target, TARGETS)
        if self.kind in ("float", "int"):
            if self.low is None or self.high is None or not self.low <= self.high:
                raise ValueError(f"Param {self.name!r}: need low <= high; received low={self.low!r}, "
                                 f"high={self.high!r}.")
            if self.log and not self.low > 0:
                raise ValueError(f"Param {self.name!r}: log sampling needs low > 0; received low={self.low!r}.")
        if self.kind == "choice" and not self.values:
            raise ValueError(f"Param {self.name!r}: a choice needs `values`; received values={self.values!r}.")
        if not self.key:
            object.__setattr__(self, "key", self.name)

    def declare(self, hp, default=None):
        """Declare the parameter on a ``keras_tuner.HyperParameters`` and return its value.

        ``default`` (the base model's value) becomes the search's first point
        when it lies in the range (clipped into it otherwise).
        """
        if self.kind == "float":
            d = None if default is None else min(max(float(default), self.low), self.high)
            if d is not None and self.log and d <= 0:
                d = None
            return hp.Float(self.name, float(self.low), float(self.high),
                            sampling="log" if self.log else "linear", step=self.step, default=d)
        if self.kind == "int":
            d = None if default is None else int(min(max(int(default), self.low), self.high))
            return hp.Int(self.name, int(self.low), int(self.high), step=self.step or 1,
                          sampling="log" if self.log else "linear", default=d)
        if self.kind == "bool":
            return hp.Boolean(self.name, default=bool(default) if default is not None else False)
        d = default if default in self.values else None
        return hp.Choice(self.name, list(self.values), default=d)


#: Learning rates and D steps: tuned for every method.
COMMON_PARAMS = (
    Param("d_lr", "float", 1e-5, 1e-3, log=True, target="d_lr"),
    Param("g_lr", "float", 1e-5, 1e-2, log=True, target="g_lr"),
    Param("d_steps", "int", 1, 5, target="compile"),
)

#: The base GAN's regularisers: WGAN-GP (Gulrajani et al. 2017) and R1 (Mescheder et al. 2018).
GAN_PARAMS = COMMON_PARAMS + (
    Param("gp_weight", "float", 0.0, 10.0, target="compile"),
    Param("r1_weight", "float", 0.0, 10.0, target="compile"),
)


@dataclasses.dataclass
class MethodSpec:
    """How to build, tune and benchmark one method.

    Args:
        name: the method's name on the command line (``kgan tune NAME``).
        model: class name in ``kgan.models``.
        params: the search space (tuple of :class:`Param`).
        conditional: the model needs labels (``num_classes``); such methods run
            on labelled image sets only in ``kgan bench``.
        heads: discriminator heads the generic builder asks ``kgan.nets`` for.
        recipes: ``{dataset: recipe name}`` or ``{dataset: (recipe name, {--set
            options})}``; the recipe's ``build(cfg)`` makes the base model on
            that dataset (preferred over the generic builder).
        build_fn: optional ``build_fn(dataset, seed, compile_kwargs)`` returning a
            compiled model (for methods needing extra networks, e.g. an encoder),
            used when no recipe covers the dataset.
        init_kwargs: extra constructor arguments for the generic builder.
        description: one line for ``kgan tune --list`` and the results page.
    """

    name: str
    model: str
    params: tuple = COMMON_PARAMS
    conditional: bool = False
    heads: tuple = ("logit",)
    recipes: dict = dataclasses.field(default_factory=dict)
    build_fn: object = None
    init_kwargs: dict = dataclasses.field(default_factory=dict)
    description: str = ""

    def model_class(self):
        """The class ``kgan.models.<model>``."""
        models = importlib.import_module("kgan.models")
        cls = getattr(models, self.model, None)
        if cls is None:
            raise ValueError(f"Method {self.name!r}: kgan.models has no class {self.model!r}; `model` must "
                             "name a model class in kgan.models.")
        return cls

    def param(self, name):
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"Method {self.name!r} has no tunable parameter {name!r}; it has "
                         f"{[p.name for p in self.params]}.")


METHODS = {}


def register_method(spec, replace=False):
    """Add ``spec`` to :data:`METHODS` (``replace=True`` to overwrite)."""
    if not isinstance(spec, MethodSpec):
        raise TypeError(f"`spec` must be a MethodSpec; received {type(spec).__name__}.")
    if spec.name in METHODS and not replace:
        raise ValueError(f"Method {spec.name!r} is already registered; pass replace=True to overwrite it.")
    names = [p.name for p in spec.params]
    if len(set(names)) != len(names):
        raise ValueError(f"Method {spec.name!r} declares a parameter twice: {names}.")
    spec.model_class()  # the class must exist
    METHODS[spec.name] = spec
    return spec


def available_methods():
    """Names of the registered methods, in registration order."""
    return list(METHODS)


def get_method(name):
    """The :class:`MethodSpec` called ``name`` (case-insensitive), with a clear error."""
    key = str(name).lower()
    if key not in METHODS:
        raise ValueError(f"Unknown method {name!r}. Registered methods: {sorted(METHODS)}.")
    return METHODS[key]


def spec_for_model(model):
    """The registered spec whose class is ``type(model)`` (exact class first, then bases)."""
    for cls in type(model).__mro__:
        for spec in METHODS.values():
            if spec.model == cls.__name__ and spec.model_class() is cls:
                return spec
    raise ValueError(f"No registered method builds {type(model).__name__}; register one with "
                     "kgan.tuning.register_method(MethodSpec(...)).")


# ------------------------------------------------------------------ the methods
register_method(MethodSpec(
    "gan", model="GAN", params=GAN_PARAMS,
    description="plain GAN (non-saturating loss; WGAN-GP / R1 optional)"))


# ------------------------------------------------------------------ building
def _is_2d(dataset):
    from kgan.data.synthetic import NAMES

    return dataset in NAMES


def dataset_info(dataset):
    import kgan.data

    return kgan.data.info(dataset)


def generic_nets(spec, dataset, seed=0):
    """``(G, D, num_classes)`` for ``spec`` on ``dataset`` from ``kgan.nets``.

    2D sets: the VEEGAN MLPs (z 256). Images: DCGAN at the dataset's size
    (z 128). Conditional methods get ``num_classes`` from the dataset's labels.
    """
    import keras

    import kgan.nets

    info = dataset_info(dataset)
    num_classes = info.num_classes if spec.conditional else None
    if spec.conditional and not num_classes:
        raise ValueError(f"Method {spec.name!r} is class-conditional but dataset {dataset!r} has no labels.")
    keras.utils.set_random_seed(seed)
    heads = tuple(spec.heads)
    if info.kind == "2d":
        G = kgan.nets.mlp_generator(latent_dim=256, num_classes=num_classes)
        D = kgan.nets.mlp_discriminator(num_classes=num_classes, heads=heads)
    else:
        size, channels = info.shape[0], info.shape[-1]
        G, D = kgan.nets.build("dcgan", size, channels, latent_dim=128, num_classes=num_classes,
                               heads=heads)
    return G, D, num_classes


def default_optimizers(dataset):
    """``(d_optimizer, g_optimizer)``: VEEGAN's Adam for 2D sets, DCGAN's for images."""
    import keras

    if _is_2d(dataset):
        return (keras.optimizers.Adam(1e-4, beta_1=0.5, epsilon=1e-8),
                keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-8))
    return keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)


def generic_build(spec, dataset, seed=0, compile_kwargs=None):
    """A compiled model of ``spec`` on ``dataset`` from ``kgan.nets`` and default optimizers."""
    cls = spec.model_class()
    G, D, num_classes = generic_nets(spec, dataset, seed)
    kwargs = dict(spec.init_kwargs)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    kwargs.setdefault("ema_decay", None if _is_2d(dataset) else 0.999)
    model = cls(G, D, seed=seed, **kwargs)
    d_opt, g_opt = default_optimizers(dataset)
    model.compile(d_optimizer=d_opt, g_optimizer=g_opt, **(compile_kwargs or {}))
    return model


def recipe_config(recipe_name, seed=0, compile_kwargs=None, extra=None):
    """A ``RunConfig`` for calling a recipe's ``build(cfg)`` outside ``kgan train``."""
    from kgan.run import RunConfig

    ck = dict(compile_kwargs or {})
    cfg = RunConfig(recipe=recipe_name, seed=seed, jit_compile=bool(ck.get("jit_compile", False)),
                    steps_per_execution=int(ck.get("steps_per_execution", 1)), extra=dict(extra or {}))
    cfg._strategy = None
    return cfg


def build_base(spec, dataset, seed=0, compile_kwargs=None, recipe=None):
    """The base model of ``spec`` on ``dataset`` (compiled with its defaults).

    ``recipe``: a recipe name or path whose ``build(cfg)`` to use; by default the
    spec's recipe for ``dataset`` when the recipe exists, else ``spec.build_fn``,
    else :func:`generic_build`.
    """
    import keras

    from kgan.run import list_recipes, load_recipe

    entry = recipe or spec.recipes.get(dataset)
    if entry is None:  # the experiment table's row of this method on this dataset, if any
        from kgan.experiments import get_row

        entry = f"{dataset}_{spec.name}" if get_row(f"{dataset}_{spec.name}") is not None else None
    name, extra = (entry if isinstance(entry, tuple) else (entry, {}))
    if name is not None and (recipe is not None or name in list_recipes()):
        module = load_recipe(name)
        if hasattr(module, "build"):
            keras.utils.set_random_seed(seed)
            return module.build(recipe_config(name, seed, compile_kwargs, extra))
        if recipe is not None:
            raise ValueError(f"Recipe {recipe!r} has no build(cfg) function, which tuning needs.")
    if spec.build_fn is not None:
        keras.utils.set_random_seed(seed)
        return spec.build_fn(dataset, seed, compile_kwargs or {})
    return generic_build(spec, dataset, seed, compile_kwargs)


def current_values(model, spec):
    """The base model's value of every parameter of ``spec`` (None if unknown)."""
    from kgan.models.gan import unwrap_loss_scale

    out = {}
    comp = model.get_compile_config() or {}
    init = model.get_config()
    for p in spec.params:
        if p.target in ("d_lr", "g_lr"):
            opt = model.d_optimizer if p.target == "d_lr" else model.g_optimizer
            opt = unwrap_loss_scale(opt)
            try:
                out[p.name] = float(opt.learning_rate.numpy())
            except Exception:  # a schedule
                out[p.name] = None
        else:
            out[p.name] = _get_path(comp if p.target == "compile" else init, p.key)
    return out


def _get_path(config, key):
    """``config[key]``, or for ``"a.b"`` the ``b`` of the object serialized under ``a``."""
    head, _, rest = key.partition(".")
    value = config.get(head)
    if not rest:
        return value
    if isinstance(value, dict) and "config" in value:
        return _get_path(value["config"], rest)
    return None


def _set_path(config, key, value, where, model):
    head, _, rest = key.partition(".")
    if head not in config:
        raise ValueError(f"A parameter sets {key!r}, but {type(model).__name__}.{where}() has no "
                         f"{head!r} (it has {sorted(config)}).")
    if not rest:
        config[head] = value
        return
    inner = config[head]
    if not (isinstance(inner, dict) and isinstance(inner.get("config"), dict)):
        raise ValueError(f"A parameter sets {key!r}, but {head!r} of {type(model).__name__} is "
                         f"{inner!r}, not a configured object (is that term switched off?).")
    inner = dict(inner, config=dict(inner["config"]))
    _set_path(inner["config"], rest, value, f"{where}[{head!r}]", model)
    config[head] = inner


def _set_lr(serialized, lr):
    serialized = dict(serialized)
    serialized["config"] = dict(serialized["config"], learning_rate=float(lr))
    return serialized


def apply_values(model, spec, values, compile_kwargs=None):
    """Return a model of ``type(model)`` configured with ``values`` (``{param name: value}``).

    Constructor values re-create the model from its config (fresh weights);
    compile values and learning rates re-compile it. Must run inside the
    model's strategy scope.
    """
    from kgan.models.gan import deserialize_nested

    values = dict(values)
    unknown = set(values) - {p.name for p in spec.params}
    if unknown:
        raise ValueError(f"Method {spec.name!r} has no tunable parameter(s) {sorted(unknown)}; it has "
                         f"{[p.name for p in spec.params]}.")
    comp = dict(model.get_compile_config() or {})
    if not comp:
        raise ValueError("The base model must be compiled before hyperparameters are applied.")
    init_over = {}
    for p in spec.params:
        if p.name not in values:
            continue
        v = values[p.name]
        if p.target == "init":
            init_over[p.key] = v
        elif p.target == "compile":
            _set_path(comp, p.key, v, "get_compile_config", model)
        else:
            opt_key = "d_optimizer" if p.target == "d_lr" else "g_optimizer"
            comp[opt_key] = _set_lr(comp[opt_key], v)
    if init_over:
        config = model.get_config()
        for key, v in init_over.items():
            _set_path(config, key, v, "get_config", model)
        model = type(model).from_config(config)
    comp = deserialize_nested(comp, keys=("d_optimizer", "g_optimizer", "loss"))
    model.compile(**comp, **(compile_kwargs or {}))
    return model


def build_model(method, dataset, values=None, seed=0, compile_kwargs=None, recipe=None):
    """A compiled model of ``method`` (name or spec) on ``dataset`` with ``values`` applied."""
    spec = method if isinstance(method, MethodSpec) else get_method(method)
    base = build_base(spec, dataset, seed, compile_kwargs, recipe)
    if not values:
        return base
    return apply_values(base, spec, values, compile_kwargs)


def fmt_value(v):
    """Short text of a hyperparameter value for tables."""
    if isinstance(v, float):
        if v == 0 or (1e-3 <= abs(v) < 1e4):
            return f"{v:.4g}"
        return f"{v:.2e}"
    return str(v)


def is_finite(v):
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False
