"""benchmarks/gpu_check.sh, the one command a lent GPU machine runs, works end to end: here as a dry run
on the CPU (tiny models, a few clips, one fold), so that a session lent a GPU spends its minutes measuring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def test_the_gpu_check_runs_every_step_and_writes_its_figures_to_one_file(tmp_path, cache_dir):
    env = {**os.environ, "BENCH_CACHE_DIR": str(cache_dir), "PYTHON": sys.executable}
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--dry-run",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600, env=env)
    report = (tmp_path / "out" / "gpu_check.txt").read_text()
    assert proc.returncode == 0, report + proc.stderr[-2000:]
    for step in ("env", "cuda_tests", "train_throughput", "feature_extraction", "gan_throughput", "esc50_gan_cgan",
                 "urbansound_audiocnn"):
        assert f"== {step}:" in report and f"({step}: exit 0," in report, step
        assert (tmp_path / "out" / f"{step}.log").is_file()
    # the figures a README reports: samples/s of both paths for both solutions, files/s, the run's wall time
    assert report.count("samples/s") == 4 and "of seed-style" in report
    assert "files/s" in report and "real\t" in report or "real " in report
    assert "0 step(s) failed" in report
    assert Path(REPO / "gpu-check").exists() is False  # --out was honoured
