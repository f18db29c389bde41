"""The run directory of ``kgan train``: one process at a time, no lost or mixed runs.

:class:`RunDir` guards ``--logdir`` for the length of a run:

* **lock**: ``<logdir>/.lock`` holds the PID of the process using the folder; a second
  ``kgan train`` on the same folder is refused while that process lives. A lock
  left by a dead process is taken over (and said so);
* **a finished run is kept**: a folder with ``report.json`` is refused unless
  ``--overwrite`` is passed, which removes the old run's outputs first;
* **settings**: ``<logdir>/settings.json`` records the run's settings (recipe,
  batch size, seed, precision, the ``--set`` options). Resuming from a backup with
  other settings is refused with the list of differences (``--steps`` may change:
  it extends or shortens the run, and the new value is reported);
* **no half-written files**: temporary files left by a killed save
  (``.NAME.tmp*``) are removed on start.

The backup of :class:`kgan.callbacks.BackupAndRestore` is kept until the model and
the report are on disk (:meth:`kgan.run.RunConfig.finish` removes it), so a run
killed between the end of ``fit`` and the last write resumes instead of
restarting.
"""
import glob
import json
import os
import shutil
import socket

from kgan.utils import atomic_path

#: what a finished run leaves in its folder (removed by --overwrite)
OUTPUTS = ("model.keras", "report.json", "settings.json", "samples.png", "samples", "backup", "train",
           "validation")


class RunDirError(ValueError):
    """The run directory cannot be used as asked (locked, finished, other settings)."""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def settings_diff(old, new, ignore=("steps",)):
    """``["key: old -> new", ...]`` for the keys that differ (``ignore`` skipped)."""
    out = []
    for key in sorted(set(old) | set(new)):
        if key in ignore:
            continue
        if json.dumps(old.get(key), sort_keys=True, default=str) != json.dumps(new.get(key), sort_keys=True,
                                                                               default=str):
            out.append(f"{key}: {old.get(key, '(absent)')!r} -> {new.get(key, '(absent)')!r}")
    return out


class RunDir:
    """Context manager guarding ``logdir`` (see the module docstring)."""

    def __init__(self, logdir, settings, overwrite=False, echo=print):
        self.logdir = logdir
        self.settings = settings
        self.overwrite = overwrite
        self.echo = echo
        self.lock_path = os.path.join(logdir, ".lock")
        self._locked = False

    def __enter__(self):
        if os.path.exists(self.logdir) and not os.path.isdir(self.logdir):
            raise RunDirError(f"--logdir {self.logdir!r} is a file, not a folder: pass another --logdir.")
        try:
            os.makedirs(self.logdir, exist_ok=True)
            self._lock()
        except PermissionError:
            raise RunDirError(f"--logdir {self.logdir!r} cannot be written (permission denied): pass a "
                              "folder you can write to.") from None
        try:
            self._check()
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    # ------------------------------------------------------------ lock
    def _lock(self):
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    with open(self.lock_path) as f:
                        other = json.load(f)
                except (OSError, ValueError):
                    other = {}
                pid = other.get("pid")
                same_host = other.get("host", me["host"]) == me["host"]
                if isinstance(pid, int) and (not same_host or _alive(pid)):
                    raise RunDirError(
                        f"--logdir {self.logdir!r} is in use by another kgan train (PID {pid} on "
                        f"{other.get('host', 'this machine')}): wait for it to finish, or pass another --logdir. "
                        f"(If that process is gone, delete {self.lock_path}.)") from None
                self.echo(f"note: removing the stale lock of PID {pid} (no such process) in {self.logdir}")
                os.unlink(self.lock_path)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self._locked = True
            return
        raise RunDirError(f"Could not lock --logdir {self.logdir!r}.")

    def release(self):
        if self._locked:
            try:
                os.unlink(self.lock_path)
            except FileNotFoundError:
                pass
            self._locked = False

    # ------------------------------------------------------------ finished runs and settings
    def _check(self):
        for stale in glob.glob(os.path.join(self.logdir, ".*.tmp*")) + glob.glob(
                os.path.join(self.logdir, "backup", ".*tmp*")):
            self.echo(f"note: removing {stale}, left half-written by a process that was killed while saving")
            shutil.rmtree(stale) if os.path.isdir(stale) else os.unlink(stale)
        report = os.path.join(self.logdir, "report.json")
        settings_path = os.path.join(self.logdir, "settings.json")
        backup = os.path.join(self.logdir, "backup")
        if self.overwrite:
            removed = [n for n in OUTPUTS if os.path.exists(os.path.join(self.logdir, n))]
            for name in removed:
                path = os.path.join(self.logdir, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            if removed:
                self.echo(f"--overwrite: removed the previous run's {', '.join(removed)} in {self.logdir}")
        elif os.path.exists(report) and not os.path.isdir(backup):
            raise RunDirError(
                f"--logdir {self.logdir!r} holds a finished run (report.json, model.keras): its files are kept. "
                "Pass --overwrite to train it again from scratch, or another --logdir.")
        if os.path.isdir(backup) and os.path.exists(settings_path):
            with open(settings_path) as f:
                old = json.load(f)
            diff = settings_diff(old, self.settings)
            if diff:
                raise RunDirError(
                    f"--logdir {self.logdir!r} holds an unfinished run with other settings; resuming it with "
                    "these would mix two runs:\n  " + "\n  ".join(diff) + "\nRerun with the recorded settings "
                    "to resume, pass --overwrite to start again with the new ones, or use another --logdir.")
            if old.get("steps") != self.settings.get("steps"):
                self.echo(f"note: resuming with --steps {self.settings.get('steps')} "
                          f"(the run was started with {old.get('steps')})")
        with atomic_path(settings_path) as tmp:
            with open(tmp, "w") as f:
                json.dump(self.settings, f, indent=2, sort_keys=True, default=str)


def remove_backup(logdir):
    """Delete the run's backup once its model and report are written."""
    shutil.rmtree(os.path.join(logdir, "backup"), ignore_errors=True)
