"""Typed options of a protocol or a method: what ``kgan train ROW --set KEY=VALUE`` accepts, and the
search ranges (:class:`Param`) ``kgan tune ROW`` samples them from.

An :class:`Option` has a name, a type, a default, a one-line help and an allowed
range or set of choices. ``--set`` values arrive as text; :meth:`Option.parse`
turns them into the option's type and checks them, so ``--set dlr=1e-3`` (an
unknown key), ``--set d_lr=-1`` (out of range) and ``--set diffaugment=Flase``
(not a bool) are errors that name the option, the value and what was
expected, before anything trains.
"""
import dataclasses
import difflib
import math

TYPES = (float, int, bool, str)
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclasses.dataclass(frozen=True)
class Option:
    """One setting of a protocol or method.

    Args:
        name: the ``--set`` key.
        type: ``float``, ``int``, ``bool`` or ``str``.
        default: the value when not set (of ``type``, or None with ``allow_none``).
        help: one line for ``kgan train ROW --help``.
        low, high: inclusive range of a number (None: unbounded on that side).
        low_open: the range excludes ``low`` (e.g. a learning rate > 0).
        choices: the allowed values of a ``str`` option.
        allow_none: ``--set KEY=none`` gives None.
        omit_default: leave the option out of a run's recorded settings (:meth:`Row.settings`) while it
            has its default value. For an option added after benchmark runs were recorded: their records,
            keyed by the settings, stay valid, and a run that sets the option is recorded apart.
    """

    name: str
    type: type
    default: object
    help: str
    low: object = None
    high: object = None
    low_open: bool = False
    choices: tuple = ()
    allow_none: bool = False
    omit_default: bool = False

    def __post_init__(self):
        if self.type not in TYPES:
            raise TypeError(f"Option {self.name!r}: type must be one of {[t.__name__ for t in TYPES]}; "
                            f"received {self.type!r}.")
        if self.default is not None or not self.allow_none:
            object.__setattr__(self, "default", self.parse(self.default, "the option's default"))

    def describe(self):
        """``name (type, default X; range or choices): help`` for help texts."""
        allowed = ""
        if self.choices:
            allowed = f"; one of {', '.join(map(str, self.choices))}"
        elif self.low is not None or self.high is not None:
            lo = "(" if self.low_open else "["
            allowed = (f"; in {lo}{'-inf' if self.low is None else self.low}, "
                       f"{'inf' if self.high is None else self.high}]")
        if self.allow_none:
            allowed += "; or none"
        return f"{self.name} ({self.type.__name__}, default {self.default!r}{allowed}): {self.help}"

    def parse(self, value, where="--set"):
        """``value`` (text from the command line or a Python value) as this option's type, checked."""
        bad = lambda expected: ValueError(  # noqa: E731
            f"{where}: option {self.name}={value!r} is not valid: expected {expected} "
            f"({self.describe()}).")
        if isinstance(value, str) and self.allow_none and value.strip().lower() in ("none", "null"):
            return None
        if isinstance(value, str) and self.type is not str:
            text = value.strip()
            if self.type is bool:
                if text.lower() in _TRUE:
                    return True
                if text.lower() in _FALSE:
                    return False
                raise bad("true or false")
            try:
                value = int(text) if self.type is int else float(text)
            except ValueError:
                raise bad(f"a number ({self.type.__name__})") from None
        if value is None:
            if self.allow_none:
                return None
            raise bad(f"a {self.type.__name__}")
        if self.type is bool:
            if not isinstance(value, bool):
                raise bad("true or false")
            return value
        if self.type is str:
            if not isinstance(value, str):
                raise bad("text")
            if self.choices and value not in self.choices:
                raise bad(f"one of {list(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(f"a number ({self.type.__name__})")
        if self.type is int:
            if float(value) != int(value):
                raise bad("a whole number")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise bad("a finite number")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise bad(f"a value {'>' if self.low_open else '>='} {self.low}")
        if self.high is not None and value > self.high:
            raise bad(f"a value <= {self.high}")
        return value


def check_unique(options, where):
    """Raise ValueError if two options share a name."""
    names = [o.name for o in options]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{where}: option(s) {dup} are declared twice.")


def resolve(options, given, where="--set"):
    """All options' values: ``given`` (``{name: text or value}``) parsed over the defaults.

    An unknown key is an error that lists the known ones (and the closest match).
    """
    by_name = {o.name: o for o in options}
    unknown = [k for k in given if k not in by_name]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(by_name), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{where}: unknown option {key!r}.{hint} Known options: "
                         f"{', '.join(sorted(by_name)) or 'none'}.")
    out = {o.name: o.default for o in options}
    for key, value in given.items():
        out[key] = by_name[key].parse(value, where)
    return out


KINDS = ("float", "int", "choice", "bool")
_KIND_TYPE = {"float": float, "int": int, "bool": bool}


@dataclasses.dataclass(frozen=True)
class Param:
    """The search range of one option, for ``kgan tune`` (keras-tuner).

    A trial of a search is a set of option values, so a ``Param`` names the
    :class:`Option` it sets (``name``) and says how keras-tuner samples it;
    ``kgan train ROW --set NAME=VALUE`` then reproduces any trial.

    Args:
        name: the option it sets (also the hyperparameter's name in keras-tuner and TensorBoard).
        kind: ``"float"``, ``"int"``, ``"choice"`` or ``"bool"`` (the option's type).
        low, high: inclusive range of a float / int.
        log: sample log-uniformly (``low`` must be > 0).
        values: the values of a ``"choice"``.
        step: step of an int range (or of a linear float range), optional.
    """

    name: str
    kind: str = "float"
    low: object = None
    high: object = None
    log: bool = False
    values: tuple = ()
    step: object = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name!r}: kind={self.kind!r} is not valid; expected one of "
                             f"{list(KINDS)}.")
        if self.kind in ("float", "int"):
            if self.low is None or self.high is None or not self.low <= self.high:
                raise ValueError(f"Param {self.name!r}: need low <= high; received low={self.low!r}, "
                                 f"high={self.high!r}.")
            if self.log and not self.low > 0:
                raise ValueError(f"Param {self.name!r}: log sampling needs low > 0; received low={self.low!r}.")
        if self.kind == "choice" and not self.values:
            raise ValueError(f"Param {self.name!r}: a choice needs `values`; received values={self.values!r}.")
        object.__setattr__(self, "values", tuple(self.values))

    def describe(self):
        """``name kind range`` for ``kgan tune --list``."""
        if self.kind in ("float", "int"):
            rng = f"[{self.low:g}, {self.high:g}]{' log' if self.log else ''}"
        elif self.kind == "choice":
            rng = "{" + ", ".join(map(str, self.values)) + "}"
        else:
            rng = "{false, true}"
        return f"{self.name} ({self.kind}) {rng}"

    def check(self, options, where):
        """Raise ValueError unless ``options`` (Option tuple) has this param's option, of its type, with
        every value of the range allowed."""
        by_name = {o.name: o for o in options}
        option = by_name.get(self.name)
        if option is None:
            close = difflib.get_close_matches(self.name, list(by_name), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{where}: search parameter {self.name!r} sets no option of it.{hint} Its options: "
                             f"{', '.join(sorted(by_name)) or 'none'}.")
        want = _KIND_TYPE.get(self.kind)
        if want is not None and option.type is not want:
            raise ValueError(f"{where}: search parameter {self.name!r} is a {self.kind}, but option "
                             f"{option.describe()} is a {option.type.__name__}.")
        ends = (self.low, self.high) if self.kind in ("float", "int") else self.values
        for value in ends:
            option.parse(value, f"{where}: search parameter {self.name!r}")
        return option

    def declare(self, hp, default=None):
        """Declare the parameter on a ``keras_tuner.HyperParameters`` and return its value.

        ``default`` (the option's value without the search) is the search's first point when it lies in
        the range (clipped into it otherwise).
        """
        if self.kind == "float":
            d = None if default is None else min(max(float(default), self.low), self.high)
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


def check_search(params, options, where):
    """Check a search space against the options it sets (see :meth:`Param.check`); two params may not
    share a name."""
    names = [p.name for p in params]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{where}: search parameter(s) {dup} are declared twice.")
    for p in params:
        p.check(options, where)
    return tuple(params)
