"""Benchmark pages: per-suite tables with per-seed values, differences from the baseline, pictures.

Each suite's page is generated; hand-written reading lives next to it in
``<suite>.notes.md`` and is appended, never overwritten. The statistics:

* mean ± sample standard deviation (ddof 1) over seeds, with the per-seed values;
* the difference of each entry's mean from its baseline's (the same protocol's
  plain GAN, or the plain classifier on classification protocols) with a 95% Welch confidence interval and Welch's t-test p-value
  (``scipy.stats.ttest_ind(equal_var=False)``). A difference is called real
  when p < 0.05; with 3-5 seeds only large effects can be, and the page says so.
"""
import math
import os
import statistics

from kgan.bench.published import PUBLISHED
from kgan.bench.suites import METRICS


def values(records, metric):
    """The finite values of ``metric`` in the ok records (scaled)."""
    m = METRICS[metric]
    out = []
    for r in records:
        if r.get("status") != "ok":
            continue
        v = r["report"].get(m.key)
        if v is not None and isinstance(v, (int, float)) and math.isfinite(v):
            out.append(m.scale * float(v))
    return out


def mean_sd(v):
    if not v:
        return math.nan, math.nan
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else math.nan)


def welch(a, b):
    """``(mean(a) - mean(b), ci_low, ci_high, p)`` (95% Welch interval and t-test); NaNs when undefined."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return (statistics.mean(a) - statistics.mean(b) if a and b else math.nan), math.nan, math.nan, math.nan
    d = statistics.mean(a) - statistics.mean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return d, d, d, (1.0 if d == 0 else 0.0)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    t = stats.t.ppf(0.975, df)
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return d, d - t * se, d + t * se, p


def holm(pvalues):
    """Holm's step-down adjustment of ``pvalues`` (family-wise error over all of them), in their order."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    out, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        out[i] = running
    return out


def family_line(tests):
    """One sentence on the table's comparisons as a family: ``tests`` are ``(entry, metric, d, p)``."""
    tests = [t for t in tests if not math.isnan(t[3])]
    if not tests:
        return ""
    flagged = sum(p < 0.05 and d != 0 for _, _, d, p in tests)
    kept = [(e, m, d, q) for (e, m, d, _), q in zip(tests, holm([t[3] for t in tests])) if q < 0.05 and d != 0]
    verb = "is" if flagged == 1 else "are"
    text = (f"This table makes {len(tests)} comparisons with the baseline; at p < 0.05 about "
            f"{0.05 * len(tests):.1f} would be flagged by chance alone, and {flagged} {verb}. ")
    if kept:
        text += "Still below 0.05 after Holm's correction for all of them: " + "; ".join(
            f"`{e}` {METRICS[m].label} ({'better' if (d > 0) == (METRICS[m].better == 'max') else 'worse'}, "
            f"adjusted p={q:.2g})" for e, m, d, q in kept) + "."
    else:
        text += "None stays below 0.05 after Holm's correction for all of them."
    return text


def _fmt(metric, v):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else METRICS[metric].fmt.format(v)


def cell(metric, v, seeds=True):
    mean, sd = mean_sd(v)
    if not v:
        return "–"
    text = _fmt(metric, mean) + ("" if math.isnan(sd) else f" ± {_fmt(metric, sd)}")
    if seeds and len(v) > 1:
        text += " <sub>[" + ", ".join(_fmt(metric, x) for x in v) + "]</sub>"
    return text


def diff_cell(metric, v, base, test=None):
    """``+1.2 [-0.3, 2.7] p=0.09`` with the verdict in bold when p < 0.05; ``test`` is
    ``welch(v, base)`` when the caller has it already."""
    if not v or not base:
        return "–"
    d, lo, hi, p = test or welch(v, base)
    if math.isnan(p):
        return f"{d:+.3g}"
    better = (d > 0) == (METRICS[metric].better == "max")
    text = f"{d:+.3g} [{lo:+.3g}, {hi:+.3g}] p={p:.2g}"
    if p < 0.05 and d != 0:
        text = f"**{text} {'better' if better else 'worse'}**"
    return text


def _cpu(records):
    v = [r["report"].get("cpu_s_per_1k_steps") for r in records if r.get("status") == "ok"]
    v = [x for x in v if isinstance(x, (int, float))]
    return f"{statistics.median(v):.1f}" if v else "–"


def _baseline_label(suite, entries):
    for e in entries:
        if suite.baseline(e) is None:
            return e.label
    return "none"


def worst_seeds(suite, results, jobs_by_entry):
    """``{entry: job}``: each entry's worst finished seed by the suite's first metric, where that is not
    seed 0 (whose picture the page shows anyway) and the entry has two or more finished seeds."""
    metric = METRICS[suite.metrics[0]]
    out = {}
    for e, jobs in jobs_by_entry.items():
        scored = [(values([results[j.key]], suite.metrics[0]), j) for j in jobs if j.key in results]
        scored = [(v[0], j) for v, j in scored if v]
        if len(scored) < 2:
            continue
        value, job = (min if metric.better == "max" else max)(scored, key=lambda t: (t[0], t[1].seed))
        if job.seed != 0 and value != next((v for v, j in scored if j.seed == 0), None):
            out[e] = job
    return out


def published_for(suite, dataset):
    """The published rows (``(note, rows)`` of :data:`PUBLISHED`) shown under ``dataset``'s table: the
    first of ``suite.published`` that is ``dataset`` or a family it belongs to (``"stacked"`` for
    ``"stacked_fashion_mnist"``); None when there is none."""
    for key in suite.published:
        if dataset == key or dataset.startswith(key + "_"):
            return PUBLISHED[key]
    return None


def _picture_grid(cells, width=4):
    lines = ["| " + " | ".join([""] * width) + " |", "|" + "---|" * width]
    for i in range(0, len(cells), width):
        chunk = cells[i:i + width] + [""] * (width - len(cells[i:i + width]))
        lines.append("| " + " | ".join(chunk) + " |")
    return lines


def suite_page(suite, results, jobs_by_entry, command, image_rel, notes="", worst=None):
    """The markdown page of ``suite`` from ``results`` ({job key: record}); ``worst`` ({entry: job}, see
    :func:`worst_seeds`) adds the pictures of each entry's worst seed."""
    lines = [f"# {suite.title}", "", f"Generated by `{command}` from the run records in "
             "`benchmarks/runs/`; finished runs are reused, and a run is retrained only when its settings "
             "change.", ""]
    if suite.about:
        lines += [suite.about, ""]
    if suite.reading:
        lines += [f"What the figures mean: [{suite.reading}](../{suite.reading}).", ""]
    protocols = []
    for e in suite.entries:
        p = e.experiment.protocol
        if p not in protocols:
            protocols.append(p)
    for p in protocols:
        entries = [e for e in suite.entries if e.experiment.protocol is p]
        lines += [f"## {p.title}", "", p.describe(), "",
                  f"{suite.seeds} seeds, {suite.steps:,} steps. Mean ± sd over seeds, per-seed values in "
                  f"brackets; Δ is the difference from the baseline's mean (`{_baseline_label(suite, entries)}`) "
                  "with its 95% Welch interval and p-value (bold: p < 0.05).", ""]
        head = ["entry", "runs"]
        for m in suite.metrics:
            head += [METRICS[m].label, f"Δ {METRICS[m].label}"]
        head += ["CPU s / 1k steps"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        family = []
        for e in entries:
            recs = [results[j.key] for j in jobs_by_entry[e] if j.key in results]
            base = suite.baseline(e)
            base_recs = [results[j.key] for j in jobs_by_entry.get(base, []) if j.key in results] if base else []
            ok = sum(r.get("status") == "ok" for r in recs)
            bad = len(recs) - ok
            runs = f"{ok}/{suite.seeds}" + (f" ({bad} diverged)" if bad else "")
            row = [f"`{e.label}`", runs]
            for m in suite.metrics:
                v = values(recs, m)
                if base is None:
                    row += [cell(m, v), "(baseline)"]
                    continue
                bv = values(base_recs, m)
                test = welch(v, bv) if v and bv else None
                row += [cell(m, v), diff_cell(m, v, bv, test)]
                if test:
                    family.append((e.label, m, test[0], test[3]))
            row.append(_cpu(recs))
            lines.append("| " + " | ".join(row) + " |")
        if family_line(family):
            lines += ["", family_line(family)]
        pub = published_for(suite, p.dataset)
        if pub:
            note, rows = pub
            cols = [m for m in suite.metrics if any(m in r for _, r in rows)]
            lines += ["", f"Published ({note}):", "", "| model | " + " | ".join(METRICS[m].label for m in cols)
                      + " |", "|---|" + "---|" * len(cols)]
            lines += [f"| {name} | " + " | ".join(str(r.get(m, "–")) for m in cols) + " |" for name, r in rows]
        pics = [(e, j) for e in entries for j in jobs_by_entry[e] if j.seed == 0 and j.key in results]
        if pics:
            lines += ["", "Seed 0 of each entry:", ""]
            lines += _picture_grid([f"![{e.label}]({image_rel}/{j.picture_name()})<br>`{e.label}`" for e, j in pics])
        bad = [(e, worst[e]) for e in entries if worst and e in worst]
        if bad:
            m = METRICS[suite.metrics[0]]
            lines += ["", f"The worst seed of each entry by {m.label} (where it is not seed 0):", ""]
            lines += _picture_grid([
                f"![{e.label} seed {j.seed}]({image_rel}/{j.picture_name()})<br>`{e.label}` seed {j.seed}: "
                f"{_fmt(suite.metrics[0], values([results[j.key]], suite.metrics[0])[0])}" for e, j in bad])
        lines.append("")
    missing = [f"{e.label} seed {j.seed}" for e in suite.entries for j in jobs_by_entry[e] if j.key not in results]
    if missing:
        lines += [f"**Not finished yet ({len(missing)} runs):** " + ", ".join(missing[:20])
                  + (" ..." if len(missing) > 20 else ""), ""]
    if notes:
        lines += [notes.rstrip(), ""]
    return "\n".join(lines)


def results_page(sections, command):
    """docs/results.md: each suite's headline table (means only), with links to the suite pages."""
    lines = ["# kgan results", "", f"Generated by `{command}`. Each section links to its full page (per-seed "
             "values, intervals, pictures, the protocol).", ""]
    for suite, results, jobs_by_entry, page_rel in sections:
        lines += [f"## [{suite.title}]({page_rel})", ""]
        if suite.reading:
            lines += [f"What the figures mean, and the comparison with precise BatchNorm statistics: "
                      f"[{suite.reading}]({suite.reading}).", ""]
        head = ["entry", "runs"] + [METRICS[m].label for m in suite.metrics] + ["CPU s / 1k steps"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for e in suite.entries:
            recs = [results[j.key] for j in jobs_by_entry[e] if j.key in results]
            if not recs:
                continue
            runs = f"{sum(r.get('status') == 'ok' for r in recs)}/{suite.seeds}"
            row = [f"`{e.label}`", runs] + [cell(m, values(recs, m), seeds=False) for m in suite.metrics] \
                + [_cpu(recs)]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def read_notes(path):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return f.read()
    return ""


def prune_pictures(images, docs, extra=()):
    """Delete the worst-seed pictures (``*-seed<k>.png``) in ``images`` that no Markdown file under
    ``docs`` (nor any file in ``extra``, e.g. the README) names any more: a later seed that became an
    entry's worst replaces the earlier one on the page, and its picture is left behind. Seed 0's
    pictures are never deleted. Returns the names deleted."""
    if not os.path.isdir(images):
        return []
    texts = []
    for root, _, files in os.walk(docs):
        texts += [os.path.join(root, f) for f in files if f.endswith(".md")]
    text = ""
    for path in [*texts, *extra]:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                text += f.read()
    stale = sorted(n for n in os.listdir(images)
                   if n.endswith(".png") and "-seed" in n.rsplit("steps", 1)[-1] and n not in text)
    for name in stale:
        os.remove(os.path.join(images, name))
    return stale
