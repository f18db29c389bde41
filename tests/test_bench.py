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
    assert "| kgan gan | 24.5 ± 0.5 | 60.0 ± 10.0 |" in table
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
