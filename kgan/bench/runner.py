"""Launch, reuse and record benchmark runs.

Each run is one ``kgan train ROW --seed S --steps N --set ...`` process (one
TF thread each by default, ``jobs`` at a time). A finished run leaves a record,
``<records>/<row>/<options id>/<steps>steps/seed<S>.json`` (settings, report,
command, CPU time), meant to be committed: the next invocation, on any
machine, reuses it instead of training again. The options id is a hash of the
run's resolved options, so a run asked for by two suites (or under two variant
names) is trained once, and a changed option or default makes new runs
instead of mixing with old ones. A record found at a run's path whose other
settings differ (the protocol's or method's version, the batch size, the
precision) is refused with the list of differences: the code changed under
it, so delete it, or pass ``replace_mismatched=True`` to train it again. The
run's seed-0 sample picture is copied to
``<images>/<row>-<options id>-<steps>steps.png`` (other seeds' with ``-seed<k>``;
the pages show each entry's worst seed too), so pictures of two budgets or
settings never overwrite each other.
"""
import dataclasses
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import types

from kgan.callbacks.core import EXIT_DIVERGED
from kgan.experiments import settings_diff
from kgan.utils import atomic_path

DIVERGED_MARK = "Training diverged:"  # StopOnNonFinite's message (also in logs of older kgan versions)


def _die_with_parent():
    """In the child before ``exec``: ask Linux to send it SIGTERM when the runner dies (prctl
    PR_SET_PDEATHSIG); elsewhere nothing (the runner's ``finally`` still stops its children)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class MismatchError(RuntimeError):
    """A finished run's recorded settings differ from what is asked now."""


@dataclasses.dataclass
class Job:
    """One (entry, seed) of a suite at its budget."""

    entry: object
    seed: int
    steps: int

    @property
    def key(self):
        """The run's identity: row, resolved options, steps, seed (not the variant's name)."""
        return (self.entry.row, self.options_id(), self.steps, self.seed)

    def options_id(self):
        """8 hex digits naming the run's resolved options: runs with the same options share a record
        whichever suite or variant name asks for them."""
        what = self.settings()["options"]
        if self.entry.precision != "float32":  # float32 runs keep the id of their options alone
            what = {"options": what, "precision": self.entry.precision}
        text = json.dumps(what, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:8]

    def relpath(self):
        return os.path.join(self.entry.row, self.options_id(), f"{self.steps}steps", f"seed{self.seed}")

    def settings(self):
        """The settings the run must have (the row's resolved options, schedule, precision and seed)."""
        row = self.entry.experiment
        cfg = types.SimpleNamespace(steps=self.steps, batch_size=row.protocol.batch_size, seed=self.seed,
                                    precision=self.entry.precision, extra=dict(self.entry.sets))
        return row.settings(cfg)

    def argv(self, logdir):
        out = ["train", self.entry.row, "--seed", str(self.seed), "--steps", str(self.steps), "--logdir", logdir,
               "--no-samples"]  # the runner owns the folder; an unfinished run in it resumes
        if self.entry.precision != "float32":
            out += ["--precision", self.entry.precision]
        for k, v in self.entry.sets:
            out += ["--set", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
        return out

    def picture_name(self):
        """The run's sample picture in the pages' image folder (seed 0 without a seed tag)."""
        tag = "" if self.seed == 0 else f"-seed{self.seed}"
        return f"{self.entry.row}-{self.options_id()}-{self.steps}steps{tag}.png"


class Runner:
    """Runs jobs, reusing and recording them (see the module docstring).

    Args:
        records: folder of the committed run records.
        logs: folder of the run directories (models, event files; not committed).
        images: folder the pictures of the pages are copied to (seed 0's, and each entry's worst seed's).
        jobs: training processes at a time.
        threads: TF intra- and inter-op threads per process.
        replace_mismatched: retrain runs whose record's settings differ (else refuse).
        echo: print function for progress lines.
    """

    def __init__(self, records, logs, images, jobs=2, threads=1, replace_mismatched=False, echo=print):
        self.records, self.logs, self.images = records, logs, images
        self.jobs, self.threads = jobs, threads
        self.replace_mismatched = replace_mismatched
        self.echo = echo
        self.reused = self.trained = self.failed = 0

    # -------------------------------------------------------------- records
    def record_path(self, job):
        return os.path.join(self.records, job.relpath() + ".json")

    def load(self, job):
        """The job's record if it exists and matches; None if absent; MismatchError if it differs."""
        path = self.record_path(job)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            record = json.load(f)
        diff = settings_diff(record.get("settings", {}), job.settings())
        if diff:
            if self.replace_mismatched:
                return None
            raise MismatchError(
                f"{path} is a finished run of {job.entry.label} seed {job.seed} with other settings than "
                f"asked now:\n  " + "\n  ".join(diff) + "\nDelete that record to train the run again with the "
                "new settings (or pass --replace-mismatched); its results are not mixed with the new ones.")
        return record

    def check_all(self, jobs):
        """Raise MismatchError for the first mismatched record, before anything trains."""
        for job in jobs:
            self.load(job)

    def _write_record(self, job, report, status, command, log_tail=""):
        settings = job.settings()
        if status == "ok":
            diff = settings_diff(report.get("settings", {}), settings)
            if diff:
                raise MismatchError(f"The run of {job.entry.label} seed {job.seed} reported other settings than "
                                    f"asked: {diff}")
        record = {"settings": settings, "status": status, "command": command,
                  "report": {k: v for k, v in report.items() if k not in ("settings", "model_path")}}
        if log_tail:
            record["log_tail"] = log_tail
        with atomic_path(self.record_path(job)) as tmp:
            with open(tmp, "w") as f:
                json.dump(record, f, indent=1, default=float)
        return record

    # -------------------------------------------------------------- running
    def command(self, job):
        """The command that reproduces the run, from a checkout (the default log folder, whatever
        ``logs`` this runner writes to, so records name no path of the machine that ran them)."""
        return "kgan " + shlex.join(job.argv(os.path.join("tensorboard_logs", "bench", job.relpath())))

    def _adopt(self, job):
        """A finished run in the job's folder whose record was never written (the runner was stopped
        between the two): record it instead of training again. Returns the record or None."""
        logdir = os.path.join(self.logs, job.relpath())
        report_path = os.path.join(logdir, "report.json")
        if not os.path.exists(report_path) or os.path.isdir(os.path.join(logdir, "backup")):
            return None
        with open(report_path) as f:
            report = json.load(f)
        if settings_diff(report.get("settings", {}), job.settings()):
            return None
        return self._write_record(job, report, "ok", self.command(job))

    def _launch(self, job):
        logdir = os.path.join(self.logs, job.relpath())
        os.makedirs(logdir, exist_ok=True)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(self.threads),
                   TF_NUM_INTEROP_THREADS=str(self.threads))
        # a file, not a pipe: a chatty run cannot block. A run resuming from its backup appends, so the
        # log keeps the epochs of the process that was stopped.
        resuming = os.path.isdir(os.path.join(logdir, "backup"))
        log = open(os.path.join(logdir, "train.log"), "a" if resuming else "w")
        if resuming:
            log.write(f"\n==== kgan bench: resuming from {os.path.join(logdir, 'backup')} ====\n")
            log.flush()
        offset = log.tell()
        proc = subprocess.Popen([sys.executable, "-m", "kgan.cli", *job.argv(logdir)], env=env, stdout=log,
                                stderr=subprocess.STDOUT, text=True, preexec_fn=_die_with_parent)
        log.close()
        proc.log_offset = offset  # _finish judges the run by what this process wrote
        return proc, logdir, time.time()

    def copy_picture(self, job, overwrite=False):
        """Copy the run's ``samples.png`` (if its log folder still holds it) to the image folder as
        ``job.picture_name()`` (replacing one there only with ``overwrite``: a fresh run's); True when
        the picture is there afterwards."""
        target = os.path.join(self.images, job.picture_name())
        picture = os.path.join(self.logs, job.relpath(), "samples.png")
        if (overwrite or not os.path.exists(target)) and os.path.exists(picture):
            os.makedirs(self.images, exist_ok=True)
            with atomic_path(target) as tmp:
                shutil.copyfile(picture, tmp)
        return os.path.exists(target)

    def _finish(self, job, proc, logdir):
        with open(os.path.join(logdir, "train.log"), errors="replace") as f:
            f.seek(getattr(proc, "log_offset", 0))
            log = f.read()
        tail = log[-3000:]
        report_path = os.path.join(logdir, "report.json")
        if proc.returncode == 0 and os.path.exists(report_path):
            with open(report_path) as f:
                report = json.load(f)
            record = self._write_record(job, report, "ok", self.command(job))
            if job.seed == 0:
                self.copy_picture(job, overwrite=True)
            return record
        if proc.returncode == EXIT_DIVERGED or DIVERGED_MARK in log:
            return self._write_record(job, {}, "diverged", self.command(job), tail)
        self.echo(f"FAILED {job.entry.label} seed {job.seed} (exit {proc.returncode}); log {logdir}/train.log:\n"
                  f"{tail}")
        return None

    def run(self, jobs):
        """Run (or reuse) every job; returns ``{job.key: record}`` of the finished ones.

        The training processes end with the runner: stopped by an exception or Ctrl-C, it
        terminates them (their last backups stay, and the next invocation resumes from them), and
        on Linux each is also sent SIGTERM by the kernel if the runner is killed outright. A
        leftover trainer would otherwise go on writing into a run folder that the next invocation
        trains into again.
        """
        running = []
        try:
            return self._run(jobs, running)
        finally:
            for _, proc, _, _ in running:
                if proc.poll() is None:
                    proc.terminate()
            for _, proc, _, _ in running:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _run(self, jobs, running):
        self.check_all(jobs)
        results, queue = {}, []
        for job in jobs:
            record = self.load(job)
            if record is None:
                record = self._adopt(job)
            if record is not None:
                results[job.key] = record
                self.reused += 1
            elif job.key not in [j.key for j in queue]:
                queue.append(job)
        total, t0 = len(queue), time.time()
        if total:
            self.echo(f"{self.reused} run(s) reused, {total} to train, {self.jobs} at a time.")
        done = 0
        while queue or running:
            while queue and len(running) < self.jobs:
                job = queue.pop(0)
                running.append((job, *self._launch(job)))
            time.sleep(1.0)
            for item in list(running):
                job, proc, logdir, started = item
                if proc.poll() is None:
                    continue
                running.remove(item)
                done += 1
                record = self._finish(job, proc, logdir)
                if record is None:
                    self.failed += 1
                    continue
                self.trained += 1
                results[job.key] = record
                self.echo(f"[{done}/{total}, {time.time() - t0:.0f}s] {job.entry.label} seed {job.seed}: "
                          f"{record['status']} {summary_line(record)} ({time.time() - started:.0f}s)")
        return results


def summary_line(record):
    """A few headline numbers of a record, for progress lines."""
    r = record.get("report", {})
    parts = []
    if "modes" in r:
        parts.append(f"modes {r['modes']:g}/{r.get('num_modes', '?')}")
    if "hq_fraction" in r:
        parts.append(f"HQ {100 * r['hq_fraction']:.1f}%")
    if "fid" in r:
        parts.append(f"FD {r['fid']:.1f}")
    if "kl" in r:
        parts.append(f"KL {r['kl']:.3f}")
    if "acc" in r:
        parts.append(f"acc {r['acc']:.3f}")
    if "auroc_msp_mean" in r:
        parts.append(f"AUROC(MSP) {r['auroc_msp_mean']:.3f}")
    if "cpu_s_per_1k_steps" in r:
        parts.append(f"{r['cpu_s_per_1k_steps']:.1f} CPU s/1k steps")
    return ", ".join(parts)
