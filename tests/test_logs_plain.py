"""Off a terminal (CI, a pipe, a file) bench logs plain lines: not padded, not wrapped,
so a path can be copied or grepped whole, and each fact said once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from conftest import REPO


def test_a_long_path_stays_on_one_unpadded_line(cli, tmp_path):
    runs = tmp_path / ("a-folder-name-long-enough-that-a-console-would-wrap-it-" * 4) / "runs"
    proc = cli("run", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false", "report=false",
               f"runs_dir={runs}")
    run_dir = proc.stdout.strip().splitlines()[-1]
    assert len(run_dir) > 200  # longer than the 200 columns tests give a console (conftest)
    lines = proc.stderr.splitlines()
    assert f"starting run {run_dir}" in lines
    assert [line for line in lines if line != line.rstrip()] == []  # no padding to a console width
    assert all(run_dir in line for line in lines if str(tmp_path) in line)  # no path cut across lines


def test_a_progress_line_does_not_repeat_what_the_epoch_line_said(tmp_path):
    script = textwrap.dedent("""
        import logging
        from bench.cli import _setup_logging
        from bench.core.progress import Progress

        _setup_logging()
        log = logging.getLogger("bench")
        with Progress(3, "epochs") as bar:
            metrics = "train_loss=0.512 valid_accuracy=0.875"
            log.info("epoch=1 %s", metrics)  # as training logs each epoch
            bar.advance(1, metrics)
        log.warning("something odd")
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert sum("train_loss=0.512" in line for line in lines) == 1, lines
    assert lines[0] == "epoch=1 train_loss=0.512 valid_accuracy=0.875"
    assert lines[1].startswith("epochs: 1/3 (33%) after ")
    assert lines[2] == "warning: something odd"
