"""The benchmark runner: real `kgan train` processes, records reused across invocations and
suites, refusal of a record made with other settings, CPU time recorded, pages generated."""
import json
import os
import subprocess
import sys

import pytest

from kgan.bench import Suite, jobs_for, main, pages
from kgan.bench.runner import Job, MismatchError, Runner
from kgan.bench.suites import Entry

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _suite(name="tiny"):
    return Suite(name, "tiny 2D suite", entries=(Entry("grid25_gan"), Entry("grid25_mixup"),
                                                  Entry("grid25_gan", "orthogonal", (("init", "orthogonal"),))),
                 seeds=1, steps=40, metrics=("modes", "hq", "reverse_kl"))


def test_runner_trains_records_reuses_and_refuses(tmp_path):
    suite = _suite()
    lines = []
    runner = Runner(str(tmp_path / "runs"), str(tmp_path / "logs"), str(tmp_path / "img"), jobs=2,
                    echo=lines.append)
    by_entry = jobs_for(suite)
    jobs = [j for js in by_entry.values() for j in js]
    results = runner.run(jobs)
    assert runner.trained == 3 and runner.failed == 0 and len(results) == 3, lines
    for job in jobs:
        record = json.loads(open(runner.record_path(job)).read())
        assert record["status"] == "ok" and record["settings"]["steps"] == 40
        report = record["report"]
        assert report["steps"] == 40 and 0 <= report["modes"] <= 25
        assert report["cpu_s_per_1k_steps"] > 0 and report["train_cpu_seconds"] > 0  # CPU time recorded
        assert record["command"].startswith("kgan train grid25_")
        assert os.path.exists(os.path.join(runner.images, job.picture_name()))
    ortho = by_entry[suite.entries[2]][0]
    assert json.loads(open(runner.record_path(ortho)).read())["settings"]["options"]["init"] == "orthogonal"
    assert runner.record_path(ortho) != runner.record_path(by_entry[suite.entries[0]][0])

    # a second invocation (and another suite asking for the same run) reuses, trains nothing
    again = Runner(runner.records, runner.logs, runner.images, echo=lines.append)
    same = Job(Entry("grid25_gan", "glorot", (("init", "glorot"),)), 0, 40)  # = the default's options
    assert again.record_path(same) == runner.record_path(by_entry[suite.entries[0]][0])
    assert len(again.run(jobs + [same])) == 3 and again.reused == 4 and again.trained == 0

    # a record made under other settings (here: another protocol version) is refused, naming the change
    path = runner.record_path(jobs[0])
    record = json.loads(open(path).read())
    record["settings"]["version"] = "protocol 0, method 1"
    with open(path, "w") as f:
        json.dump(record, f)
    with pytest.raises(MismatchError, match=r"version: 'protocol 0, method 1' -> 'protocol 1, method 1'"):
        Runner(runner.records, runner.logs, runner.images, echo=lines.append).run(jobs)
    assert json.loads(open(path).read())["settings"]["version"] == "protocol 0, method 1"  # left as it was

    # the page: one row per entry with per-seed values, the baseline, the CPU column and the pictures
    results = {j.key: json.loads(open(runner.record_path(j)).read()) for j in jobs}
    text = pages.suite_page(suite, results, by_entry, "kgan bench tiny", "img")
    assert "| `grid25_gan` | 1/1 |" in text and "(baseline)" in text and "`grid25_gan [orthogonal]`" in text
    assert "CPU s / 1k steps" in text and f"img/{jobs[1].picture_name()}" in text
    assert "Published" not in text  # the suite lists no published rows
    # the results page's headline table says how many seeds each mean holds
    summary = pages.results_page([(suite, results, by_entry, "bench/tiny.md")], "kgan bench --all")
    assert "| entry | runs |" in summary and "| `grid25_gan` | 1/1 |" in summary


def test_a_run_that_diverges_is_recorded_as_diverged_and_not_retrained(tmp_path):
    from kgan.callbacks import EXIT_DIVERGED

    absurd = Entry("grid25_gan", "absurd lr", (("d_lr", 1e38), ("g_lr", 1e38)))  # NaN within 10 steps
    suite = Suite("tiny_div", "a diverging run", entries=(absurd,), seeds=1, steps=40, metrics=("modes",))
    lines = []
    runner = Runner(str(tmp_path / "runs"), str(tmp_path / "logs"), str(tmp_path / "img"), jobs=1,
                    echo=lines.append)
    (job,) = jobs_for(suite)[absurd]
    proc = subprocess.run([sys.executable, "-m", "kgan.cli", *job.argv(str(tmp_path / "direct"))],
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == EXIT_DIVERGED and "error: Training diverged:" in proc.stderr, proc.stderr[-2000:]
    results = runner.run([job])
    assert runner.trained == 1 and runner.failed == 0, lines
    record = json.loads(open(runner.record_path(job)).read())
    assert record["status"] == "diverged" and "Training diverged" in record["log_tail"]
    again = Runner(runner.records, runner.logs, runner.images, echo=lines.append)
    assert len(again.run([job])) == 1 and again.reused == 1 and again.trained == 0  # a result, not retried
    text = pages.suite_page(suite, results, jobs_for(suite), "kgan bench tiny_div", "img")
    assert "0/1 (1 diverged)" in text


def test_cli_collects_a_real_run_into_the_pages(tmp_path, monkeypatch):
    from kgan.bench import suites

    one = Suite("tiny", "one entry", entries=(Entry("grid25_mixup"),), seeds=1, steps=40, metrics=("modes", "hq"))
    monkeypatch.setitem(suites.SUITES, "tiny", one)
    monkeypatch.chdir(tmp_path)
    assert main(["tiny", "--jobs", "1", "--seeds", "1"]) == 0  # trains 1 tiny run
    page = (tmp_path / "docs" / "bench" / "tiny_1seeds.md").read_text()
    assert "| `grid25_mixup` | 1/1 |" in page and "Not finished" not in page
    # --collect-only trains nothing and writes the same table
    assert main(["tiny", "--collect-only", "--seeds", "1"]) == 0
    assert "| `grid25_mixup` | 1/1 |" in (tmp_path / "docs" / "bench" / "tiny_1seeds.md").read_text()
    assert main(["--list"]) == 0
    with pytest.raises(SystemExit):
        main(["nope"])


def test_welch_interval_and_verdicts():
    d, lo, hi, p = pages.welch([10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
    assert d == 9.0 and lo < 9.0 < hi and p < 0.01
    assert "better" in pages.diff_cell("modes", [10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
    assert "worse" in pages.diff_cell("reverse_kl", [10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
    assert "**" not in pages.diff_cell("modes", [1.0, 3.0, 2.0], [2.0, 1.0, 3.0])  # no real difference
    assert pages.cell("hq", [50.0, 60.0]) == "55.0 ± 7.1 <sub>[50.0, 60.0]</sub>"


def test_run_all_is_the_one_command():
    out = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "run_all.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "kgan bench" in out


def _trainers_in(folder):
    """pids of live processes whose command line names ``folder``."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if folder in cmd and "kgan.cli" in cmd and state != "Z":
            out.append(int(pid))
    return out


def test_a_resumed_run_appends_to_its_log_and_is_judged_by_its_own_output(tmp_path):
    lines = []
    runner = Runner(str(tmp_path / "runs"), str(tmp_path / "logs"), str(tmp_path / "img"), jobs=1,
                    echo=lines.append)
    job = Job(Entry("grid25_gan"), 0, 40)
    logdir = os.path.join(runner.logs, job.relpath())
    os.makedirs(os.path.join(logdir, "backup"))  # what a stopped run leaves (here with no epoch in it)
    with open(os.path.join(logdir, "train.log"), "w") as f:  # the stopped process's log, with a stale mark
        f.write("Epoch 1/2\nerror: Training diverged: an earlier attempt\n")
    runner.run([job])
    assert runner.trained == 1 and runner.failed == 0, lines
    assert json.loads(open(runner.record_path(job)).read())["status"] == "ok"  # not the old attempt's mark
    log = open(os.path.join(logdir, "train.log")).read()
    assert log.startswith("Epoch 1/2\nerror: Training diverged") and "==== kgan bench: resuming from" in log
    assert "modes" in log.split("==== kgan bench: resuming from")[1]  # the new process's output follows


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_runner_takes_its_training_processes_with_it(tmp_path):
    import signal
    import time

    logs = str(tmp_path / "logs")
    script = (
        "import sys\n"
        "from kgan.bench.runner import Job, Runner\n"
        "from kgan.bench.suites import Entry\n"
        f"Runner({str(tmp_path / 'runs')!r}, {logs!r}, {str(tmp_path / 'img')!r}, jobs=1)"
        ".run([Job(Entry('grid25_gan'), 0, 1_000_000)])\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=str(tmp_path))
    deadline = time.time() + 120
    while not _trainers_in(logs) and time.time() < deadline:
        time.sleep(0.5)
    assert _trainers_in(logs), "the runner never started its training process"
    parent.send_signal(signal.SIGKILL)  # no finally, no cleanup: only the kernel's parent-death signal
    parent.wait()
    deadline = time.time() + 60
    while _trainers_in(logs) and time.time() < deadline:
        time.sleep(0.5)
    assert not _trainers_in(logs), "the training process outlived its runner"


def test_an_entry_with_a_budget_trains_that_multiple_of_the_suites_steps():
    matched = Entry("grid25_gan", "2x steps", budget=2.0)
    suite = Suite("tiny_budget", "budget", entries=(Entry("grid25_gan"), matched), seeds=1, steps=40,
                  metrics=("modes",))
    plain, longer = jobs_for(suite)[suite.entries[0]][0], jobs_for(suite)[matched][0]
    assert (plain.steps, longer.steps) == (40, 80)
    assert "--steps" in longer.argv("x") and longer.argv("x")[longer.argv("x").index("--steps") + 1] == "80"
    assert "80steps" in longer.relpath() and longer.options_id() == plain.options_id()
    assert jobs_for(suite, steps=10)[matched][0].steps == 20  # an override of the suite's steps scales too


def test_a_variant_name_with_a_comma_is_refused():
    with pytest.raises(ValueError, match=r"variant='a, b'"):
        Entry("grid25_gan", "a, b")


def test_holm_adjustment_and_the_family_line():
    from kgan.bench.pages import family_line, holm

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5] and holm([0.6, 0.9]) == [1.0, 1.0]
    # FD: lower is better; one strong difference survives, a lone p = 0.04 among four does not
    line = family_line([("a", "fid", -4.0, 0.001), ("b", "fid", 1.0, 0.04), ("c", "fid", 0.5, 0.5),
                        ("d", "fid", 0.1, float("nan")), ("e", "fid", 0.2, 0.9)])
    assert "makes 4 comparisons" in line and "and 2 are" in line
    assert "`a` FD (domain) (better, adjusted p=0.004)" in line and "`b`" not in line
    assert "None stays" in family_line([("b", "fid", 1.0, 0.04), ("c", "fid", 0.5, 0.03)])


def test_the_page_shows_each_entrys_worst_seed_from_the_runs_own_picture(tmp_path):
    suite = Suite("tiny_worst", "worst seeds", entries=(Entry("grid25_gan"), Entry("grid25_mixup")), seeds=3,
                  steps=40, metrics=("modes",))
    by_entry = jobs_for(suite)
    modes = {"grid25_gan": [20, 9, 12], "grid25_mixup": [7, 15, 7]}  # mixup's worst ties with seed 0
    results = {j.key: {"status": "ok", "report": {"modes": modes[e.row][j.seed]}}
               for e, jobs in by_entry.items() for j in jobs}
    worst = pages.worst_seeds(suite, results, by_entry)
    assert [(e.row, j.seed) for e, j in worst.items()] == [("grid25_gan", 1)]

    runner = Runner(str(tmp_path / "runs"), str(tmp_path / "logs"), str(tmp_path / "img"), jobs=1)
    job = worst[suite.entries[0]]
    assert not runner.copy_picture(job)  # no log folder: nothing to show
    os.makedirs(tmp_path / "logs" / job.relpath())
    (tmp_path / "logs" / job.relpath() / "samples.png").write_bytes(b"png")
    assert runner.copy_picture(job) and job.picture_name().endswith("-seed1.png")
    assert (tmp_path / "img" / job.picture_name()).read_bytes() == b"png"
    text = pages.suite_page(suite, results, by_entry, "kgan bench tiny_worst", "img", worst=worst)
    assert "The worst seed of each entry by modes" in text
    assert f"(img/{job.picture_name()})<br>`grid25_gan` seed 1: 9" in text and "grid25_mixup seed" not in text


def test_prune_deletes_only_worst_seed_pictures_no_page_names(tmp_path):
    img = tmp_path / "docs" / "bench" / "img"
    img.mkdir(parents=True)
    names = ["grid25_gan-ab12-40steps.png", "grid25_gan-ab12-40steps-seed1.png",
             "grid25_gan-ab12-40steps-seed2.png", "grid25_mixup-cd34-40steps-seed3.png"]
    for n in names:
        (img / n).write_bytes(b"png")
    (tmp_path / "docs" / "bench" / "tiny.md").write_text(f"![w](img/{names[2]})\n")
    (tmp_path / "README.md").write_text(f"![w](docs/bench/img/{names[3]})\n")
    stale = pages.prune_pictures(str(img), str(tmp_path / "docs"), extra=(str(tmp_path / "README.md"),))
    assert stale == [names[1]]  # seed 0's is kept though no page names it; named ones are kept
    assert sorted(os.listdir(img)) == sorted(n for n in names if n != names[1])
    assert pages.prune_pictures(str(tmp_path / "nowhere"), str(tmp_path / "docs")) == []


def test_every_suites_published_rows_appear_under_one_of_its_tables():
    from kgan.bench.published import PUBLISHED
    from kgan.bench.suites import SUITES

    for suite in SUITES.values():
        datasets = {e.experiment.protocol.dataset for e in suite.entries}
        for key in suite.published:
            assert key in PUBLISHED, (suite.name, key)
            assert any(pages.published_for(suite, d) is PUBLISHED[key] for d in datasets), (suite.name, key)
    stacked = SUITES["stacked_fashion"]
    assert pages.published_for(stacked, "stacked_fashion_mnist")[1][0][0] == "DCGAN (VEEGAN setting)"
    assert pages.published_for(stacked, "fashion_mnist") is None
