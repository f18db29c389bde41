"""Small shared helpers: argument checks and atomic file writes."""
import contextlib
import os
import tempfile


def check_positive_int(name, value, allow_zero=False):
    """Return ``value`` if it is an int > 0 (or >= 0), else raise a clear ValueError."""
    ok = isinstance(value, int) and not isinstance(value, bool) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        expected = "an integer >= 0" if allow_zero else "a positive integer"
        raise ValueError(f"`{name}` must be {expected}; received {name}={value!r}.")
    return value


def check_non_negative(name, value):
    """Return ``value`` as float if it is a finite number >= 0, else raise ValueError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number >= 0; received {name}={value!r}.") from None
    if not v >= 0 or v == float("inf"):
        raise ValueError(f"`{name}` must be a finite number >= 0; received {name}={value!r}.")
    return v


def check_probability(name, value):
    """Return ``value`` as float if it lies in [0, 1], else raise ValueError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number in [0, 1]; received {name}={value!r}.") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1]; received {name}={value!r}.")
    return v


def check_bool(name, value):
    """Return ``value`` if it is a bool, else raise TypeError naming the argument."""
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be True or False; received {name}={value!r}.")
    return value


def check_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {sorted(choices)}; received {name}={value!r}.")
    return value


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    Whatever is written to the yielded path appears at ``path`` only if the
    block finishes without an exception, so a crash never leaves a half-written
    file behind. The temporary name keeps the suffix (``.keras``, ``.png``...)
    because some writers check it.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    base = os.path.basename(path)
    stem, dot, suffix = base.partition(".")  # keep every suffix: x.weights.h5 -> .weights.h5
    suffix = f".{suffix}" if dot else ""
    fd, tmp = tempfile.mkstemp(prefix=f".{stem or base}.tmp", suffix=suffix, dir=directory)
    os.close(fd)
    os.unlink(tmp)  # writers such as keras' save() want to create the file themselves
    try:
        yield tmp
        if os.path.isdir(tmp):
            if os.path.isdir(path):
                import shutil
                shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            if os.path.isdir(tmp):
                import shutil
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.unlink(tmp)
