"""`kgan bench --quick`: the results page (tables with published anchor rows, PNG plots,
progress lines, resumable run store) and its bad input."""
import json
import os

import pytest
from PIL import Image

from kgan import bench


def test_quick_bench_writes_the_results_page(tmp_path, capsys):
    from kgan.cli import main

    out = tmp_path / "page" / "results.md"
    argv = ["bench", "--quick", "--methods", "gan,mixup,acgan", "--protocols", "grid25,ring8,stacked,fashion_mnist",
            "--out", str(out), "--progress-seconds", "0"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    # 3 protocols x 2 unconditional methods + fashion_mnist x 3 methods (acgan is conditional)
    assert "kgan bench (quick): 9 runs" in printed
    assert "[9/9] fashion_mnist acgan seed 0: ok" in printed
    assert "steps/s, ETA" in printed
    page = out.read_text()
    assert "REDUCED, not the published protocols" in page
    for title in ("25 Gaussians (grid)", "8 Gaussians (ring)", "Stacked digits (1000 modes)", "Fashion-MNIST"):
        assert f"## {title}" in page
    assert "| kgan gan |" in page and "| kgan mixup |" in page and "| kgan acgan |" in page
    assert "| GDPP-GAN | 24.8 | 68.5 |" in page  # published anchor row (grid)
    assert "| GDPP-GAN | 8 | 71.7 |" in page  # (ring)
    assert "| PacDCGAN2 | 1000 | 0.06 |" in page
    assert "class acc." in page  # conditional methods get class consistency
    # acgan is class-conditional: only on Fashion-MNIST
    grid_section = page.split("## 25 Gaussians")[1].split("## ")[0]
    assert "kgan acgan" not in grid_section
    pngs = sorted(os.listdir(out.parent / "results"))
    assert {"grid25_samples.png", "grid25_modes.png", "ring8_samples.png", "stacked_samples.png",
            "fashion_mnist_samples.png", "fashion_mnist_fid.png"} <= set(pngs)
    for name in pngs:
        assert f"results/{name}" in page
        with Image.open(out.parent / "results" / name) as im:
            assert im.format == "PNG" and im.size[0] > 100
    runs = json.loads((out.parent / "results_runs.json").read_text())
    assert len(runs) == 9 and all(r["status"] == "ok" for r in runs)
    # --resume skips what is done and rewrites the page
    assert main(argv[:3] + ["gan", "--protocols", "grid25", "--out", str(out), "--resume"]) == 0
    assert "done earlier, skipped" in capsys.readouterr().out


def test_summary_and_formatting():
    p = bench.protocols_for("quick", ["grid25"])["grid25"]
    rows = [{"protocol": "grid25", "method": "gan", "seed": s, "steps": 4, "steps_done": 4,
             "train_seconds": 2.0, "status": "ok", "metrics": {"modes": m, "hq": h, "reverse_kl": 0.1}}
            for s, (m, h) in enumerate([(24, 0.5), (25, 0.7)])]
    summary = bench.summarise(rows, p)
    assert summary["gan"]["modes"][0] == pytest.approx(24.5)
    assert summary["gan"]["hq"][0] == pytest.approx(0.6)
    table, note = bench.table_markdown(p, summary)
    assert "| kgan gan | 24.5 ± 0.7 | 60.0 ± 14.1 |" in table  # sample std (ddof 1)
    assert "VEEGAN" in note
    assert bench.protocols_for("full", ["grid25"])["grid25"].steps == 25_000
    assert bench.protocols_for("full", ["grid25"])["grid25"].seeds == 5


@pytest.mark.parametrize("argv, message", [
    (["--quick", "--protocols", "cifar10"], "Unknown protocol 'cifar10'"),
    (["--quick", "--methods", "nope"], "Unknown method 'nope'"),
    (["--quick", "--seeds", "0"], "seeds"),
])
def test_bad_input(argv, message, capsys, tmp_path):
    from kgan.cli import main

    assert main(["bench", *argv, "--out", str(tmp_path / "r.md")]) == 2
    assert message in capsys.readouterr().err


def test_collect_builds_the_page_from_finished_runs(tmp_path, capsys):
    """`kgan bench --collect`: real `kgan train` runs become table rows (one per recipe, mean
    over seeds, the root named as source); a run reached through a symlink counts once."""
    from kgan.cli import main

    root = tmp_path / "bench_toy"
    for seed in (0, 1):
        assert main(["train", "grid25_gan", "--steps", "100", "--steps-per-epoch", "50", "--seed", str(seed),
                     "--logdir", str(root / "grid25_gan" / f"seed{seed}"), "--no-backup", "--no-samples"]) == 0
    (tmp_path / "other").mkdir()
    os.symlink(root / "grid25_gan", tmp_path / "other" / "grid25_gan")
    capsys.readouterr()
    out = tmp_path / "page" / "results.md"
    assert main(["bench", "--collect", str(root), str(tmp_path / "other"), "--out", str(out)]) == 0
    assert "from 2 finished runs under 2 root(s)" in capsys.readouterr().out
    page = out.read_text()
    assert "Produced by `kgan bench --collect" in page
    row = next(line for line in page.splitlines() if line.startswith("| kgan gan |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-2:] == ["2", "bench_toy, 100 steps"]
    runs = json.loads((out.parent / "results_runs.json").read_text())
    assert sorted(r["seed"] for r in runs) == [0, 1]
    assert {r["method"] for r in runs} == {"gan"} and all("modes" in r["metrics"] for r in runs)
    assert "## 8 Gaussians" not in page  # no runs, no section
    with Image.open(out.parent / "results" / "grid25_samples.png") as im:
        assert im.format == "PNG"
    assert main(["bench", "--collect", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["bench", "--collect", str(tmp_path / "page"), "--out", str(out)]) == 2
    assert "no finished runs" in capsys.readouterr().err
