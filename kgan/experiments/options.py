"""Typed options of a protocol or a method: what ``kgan train ROW --set KEY=VALUE`` accepts.

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
