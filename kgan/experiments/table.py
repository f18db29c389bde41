"""The table of rows: every method on every protocol it applies to, as a runnable recipe.

A row is named ``<protocol>_<method>`` (``grid25_gan``, ``ring8_mdgan``,
``fashion_mnist_reacgan``, ...). ``kgan train ROW``, ``kgan list``, ``kgan tune``
and the benchmark runner (``kgan bench``) all read this one table, so a
protocol or method is defined once. A row behaves like a recipe module: it has
``DEFAULTS`` (the ``kgan train`` flag defaults), ``DATASET``, ``build(cfg)``
(the compiled model) and ``main(cfg)`` (train, evaluate, save).
"""
import json
import math

from kgan.experiments import options as _options
from kgan.experiments.methods import METHODS
from kgan.experiments.protocols import PROTOCOLS


class Row:
    """One method on one protocol (see the module docstring)."""

    def __init__(self, protocol, method):
        self.protocol, self.method = protocol, method
        self.name = f"{protocol.name}_{method.name}"
        merged = {o.name: o for o in protocol.options}
        merged.update({o.name: o for o in method.options})  # a method's declaration wins
        self.options = tuple(merged.values())
        self.DEFAULTS = protocol.run_defaults
        self.DATASET = protocol.dataset
        self.__file__ = f"<kgan.experiments row {self.name}>"
        self.__doc__ = self.describe()

    # -------------------------------------------------------------- text
    def summary(self):
        """One line: the method on the protocol."""
        return f"{self.method.description or self.method.name} on {self.protocol.title}"

    def describe(self):
        """The help text of ``kgan train ROW --help``."""
        lines = [f"{self.name}: {self.summary()}.", "", self.protocol.describe()]
        if self.method.paper:
            lines += ["", f"Method: {self.method.paper}."]
        lines += ["", "Options (--set KEY=VALUE):"]
        lines += [f"  {o.describe()}" for o in self.options]
        return "\n".join(lines)

    # -------------------------------------------------------------- settings
    def resolve(self, given):
        """The run's option values: ``given`` (``--set`` text or values) over the defaults, checked."""
        return _options.resolve(self.options, dict(given or {}), where=f"kgan train {self.name} --set")

    def settings(self, cfg, o=None):
        """What identifies a run: the row, its schedule, seed and every option's value."""
        o = self.resolve(cfg.extra) if o is None else o
        omit = {x.name: x.default for x in self.options if x.omit_default}
        recorded = {k: v for k, v in o.items() if not (k in omit and v == omit[k])}
        return {"row": self.name, "steps": cfg.steps, "batch_size": cfg.batch_size, "seed": cfg.seed,
                "precision": cfg.precision, "options": dict(sorted(recorded.items())),
                "version": f"protocol {self.protocol.version}, method {self.method.version}"}

    def search(self, names=None):
        """The row's search space for ``kgan tune``: the method's :class:`~kgan.experiments.options.Param`
        tuple (or the ones called ``names``), each checked against the row's options."""
        where = f"row {self.name}"
        space = _options.check_search(tuple(getattr(self.method, "search", ())), self.options, where)
        if names is None:
            return space
        by_name = {p.name: p for p in space}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"{where}: {unknown[0]!r} is not one of its search parameters "
                             f"({', '.join(by_name) or 'none: its method declares no search space'}).")
        return tuple(by_name[n] for n in names)

    # -------------------------------------------------------------- the recipe interface
    def num_classes(self):
        return self.protocol.info().num_classes if self.method.conditional else None

    def build(self, cfg, o=None):
        """The compiled model of this row for ``cfg`` (call inside the strategy's scope)."""
        import keras

        o = self.resolve(cfg.extra) if o is None else o
        keras.utils.set_random_seed(cfg.seed)
        model = self.method.build(self.protocol, o, cfg.seed, self.num_classes(), cfg.steps)
        return self.method.compile(model, self.protocol, o, cfg.compile_kwargs)

    def main(self, cfg):
        """Train on the protocol's data, evaluate, and save ``model.keras`` and ``report.json``."""
        o = self.resolve(cfg.extra)
        if o.get("eval_every"):
            cfg.steps_per_epoch = math.gcd(min(o["eval_every"], cfg.steps), cfg.steps)
            cfg.steps_per_execution = math.gcd(cfg.steps_per_execution, cfg.steps_per_epoch)
        data = self.protocol.data(o, cfg.batch_size, labels=self.method.conditional, seed=cfg.seed)
        with cfg.strategy.scope():
            model = self.build(cfg, o)
        timer = cfg.step_timer()
        extra = [timer] + (self.protocol.callbacks(o, cfg.seed) if hasattr(self.protocol, "callbacks") else [])
        hist = model.fit(data, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
                         callbacks=cfg.callbacks(dataset=self.protocol.dataset, extra=extra), verbose=cfg.verbose)
        report = {"row": self.name, "protocol": self.protocol.name, "method": self.method.name,
                  "model": type(model).__name__}
        if "fid" in hist.history:
            report["fd_curve"] = [[cfg.steps_per_epoch * (i + 1), float(v)] for i, v in enumerate(hist.history["fid"])]
        report.update(timer.report())
        report.update(self.protocol.evaluate(model, o, cfg.seed, logdir=cfg.logdir if cfg.is_chief else None))
        report["settings"] = self.settings(cfg, o)
        return cfg.finish(model, report)


def table_rows(protocols, methods, row_cls):
    """``{row name: row_cls(p, m)}`` for every protocol ``p`` and method ``m`` that applies to it."""
    out = {}
    for p in protocols.values():
        for m in methods.values():
            if m.applies_to(p):
                row = row_cls(p, m)
                out[row.name] = row
    return out


def gan_rows():
    """``{row name: Row}`` for every registered GAN protocol and method that applies to it."""
    return table_rows(PROTOCOLS, METHODS, Row)


def settings_diff(old, new):
    """Human-readable differences between two run settings (``[]`` when equal)."""
    out = []
    flat = lambda s: {**{k: v for k, v in s.items() if k != "options"},  # noqa: E731
                      **{f"--set {k}": v for k, v in s.get("options", {}).items()}}
    a, b = flat(old), flat(new)
    for key in sorted(set(a) | set(b)):
        if json.dumps(a.get(key)) != json.dumps(b.get(key)):
            out.append(f"{key}: {a.get(key, '(absent)')!r} -> {b.get(key, '(absent)')!r}")
    return out
