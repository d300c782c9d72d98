"""Kill a run mid-training with SIGKILL; the same command resumes and ends as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

ARGS = ["run", "task=kaggle5", "solution=audiocnn", "preset=tiny", "epochs=8", "patience=20",
        "progress=false", "report=false", "device=cpu"]


def _env(cache):
    return {**os.environ, "BENCH_CACHE_DIR": str(cache)}


def _checkpoint_epoch(cwd: Path) -> int:
    log = list(cwd.glob("runs/*/run.log"))
    if not log:
        return 0
    return log[0].read_text().count(" train_loss=")


def test_kill_and_resume_equals_uninterrupted(tmp_path, cache_dir):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir()
    killed.mkdir()
    subprocess.run([sys.executable, "-m", "bench", *ARGS], cwd=clean, env=_env(cache_dir), check=True,
                   capture_output=True)

    proc = subprocess.Popen([sys.executable, "-m", "bench", *ARGS], cwd=killed, env=_env(cache_dir),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _checkpoint_epoch(killed) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run_dirs = list((killed / "runs").iterdir())
    assert len(run_dirs) == 1 and not (run_dirs[0] / "result.json").exists()

    again = subprocess.run([sys.executable, "-m", "bench", *ARGS], cwd=killed, env=_env(cache_dir),
                           capture_output=True, text=True, check=True)
    assert Path(again.stdout.strip().splitlines()[-1]).name == run_dirs[0].name  # the same folder
    assert "resuming from the checkpoint of epoch" in (run_dirs[0] / "run.log").read_text()

    a = json.loads(next(clean.glob("runs/*/result.json")).read_text())
    b = json.loads((run_dirs[0] / "result.json").read_text())
    assert b["folds"][0]["resumed_from"] >= 3
    assert a["score"] == b["score"] and a["metrics"] == b["metrics"]
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]
    assert strip(a["folds"][0]["history"]) == strip(b["folds"][0]["history"])
    wa = load_file(next(clean.glob("runs/*/folds/holdout/model/weights.safetensors")))
    wb = load_file(str(run_dirs[0] / "folds/holdout/model/weights.safetensors"))
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    clean_run = next((clean / "runs").iterdir())
    assert (clean_run / "submission.csv").read_text() == (run_dirs[0] / "submission.csv").read_text()

    # a finished run is never resumed: the same command makes a new folder
    subprocess.run([sys.executable, "-m", "bench", *ARGS], cwd=killed, env=_env(cache_dir), check=True, capture_output=True)
    assert len(list((killed / "runs").iterdir())) == 2
