"""Cross-validated tasks through the real CLI: fold subsets that combine, kill-and-resume mid-fold,
the paired comparison and the dataset check."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.results import leaderboard

pytestmark = pytest.mark.slow

TINY = ["task=esc50", "preset=tiny", "progress=false", "report=false"]


def _run_dir(proc) -> Path:
    return Path(proc.stdout.strip().splitlines()[-1])


def test_fold_subsets_complete_one_cross_validation(cli, tmp_path):
    first = cli("run", *TINY, "solution=baseline", "folds=1,4")
    partial = json.loads((tmp_path / _run_dir(first) / "result.json").read_text())
    assert partial["partial"] is True and [f["name"] for f in partial["folds"]] == ["fold1", "fold4"]
    assert all(f["scored_on"] == "test" for f in partial["folds"])
    assert "folds=2,3,5" in first.stderr  # says how to complete it
    assert leaderboard.read(tmp_path / "leaderboard.csv").rows == []  # a partial CV is not a result

    cli("run", *TINY, "solution=baseline", "folds=2,3,5")
    rows = leaderboard.read(tmp_path / "leaderboard.csv").rows
    assert len(rows) == 1 and rows[0]["n_folds"] == "5" and "combined-from-2-runs" in rows[0]["tags"]
    combined = json.loads((Path(rows[0]["run_dir"]) / "result.json").read_text()) if Path(rows[0]["run_dir"]).is_absolute() \
        else json.loads((tmp_path / rows[0]["run_dir"] / "result.json").read_text())
    assert [f["name"] for f in combined["folds"]] == [f"fold{k}" for k in range(1, 6)]

    # the same settings over all folds in one go give the same fold scores
    full = cli("run", *TINY, "solution=baseline", "folds=1,2,3,4,5")
    whole = json.loads((tmp_path / _run_dir(full) / "result.json").read_text())
    assert whole["fold_scores"] == combined["fold_scores"] and whole["config_hash"] == combined["config_hash"]

    # the combined record predicts through its source runs' models
    clip = next(Path(whole["data"]["root"]).glob("audio/*.wav"))
    out = cli("predict", f"run={tmp_path / rows[0]['run_dir']}", str(clip)).stdout.strip().splitlines()[-1]
    assert out.split("\t")[1] in whole["classes"]

    cmp = cli("compare", str(tmp_path / _run_dir(full)), str(tmp_path / rows[0]["run_dir"])).stdout
    assert "fold5" in cmp and "paired t-test: not defined" in cmp  # identical scores: no spread


def _log_text(cwd: Path) -> str:
    logs = list(cwd.glob("runs/*/run.log"))
    return logs[0].read_text() if logs else ""


def test_kill_mid_fold_and_resume_equals_uninterrupted(tmp_path, cache_dir):
    args = [sys.executable, "-m", "bench", "run", *TINY, "solution=audiocnn", "epochs=6", "patience=20",
            "device=cpu", "folds=1,2"]
    env = {**os.environ, "BENCH_CACHE_DIR": str(cache_dir)}
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir()
    killed.mkdir()
    subprocess.run(args, cwd=clean, env=env, check=True, capture_output=True)

    proc = subprocess.Popen(args, cwd=killed, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        text = _log_text(killed)
        if "split fold2" in text and text.split("split fold2")[1].count(" train_loss=") >= 2:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(args, cwd=killed, env=env, check=True, capture_output=True)
    log = _log_text(killed)
    assert "split fold1 already finished" in log and "resuming from the checkpoint of epoch" in log

    a = json.loads(next(clean.glob("runs/*/result.json")).read_text())
    b = json.loads(next(killed.glob("runs/*/result.json")).read_text())
    assert a["fold_scores"] == b["fold_scores"] and a["metrics"] == b["metrics"]
    strip = lambda folds: [[{k: v for k, v in r.items() if k != "seconds"} for r in f["history"]] for f in folds]
    assert strip(a["folds"]) == strip(b["folds"])


def test_data_check_reports_a_clean_and_a_broken_dataset(cli, tmp_path, cache_dir):
    ok = cli("data", "check", "task=esc50", "preset=tiny", "progress=false")
    assert "no problems found" in ok.stdout and '"clips_per_fold"' in ok.stdout
    root = Path(ok.stdout.splitlines()[0].split(": ", 1)[1])
    broken = tmp_path / "ESC-50-master"
    shutil.copytree(root, broken)
    victim = sorted((broken / "audio").glob("*.wav"))[0]
    victim.unlink()
    (broken / "audio" / "5-999999-A-0.wav").write_bytes(b"RIFFjunk")
    bad = cli("data", "check", "task=esc50", f"data_dir={broken}", "progress=false", check=False)
    assert bad.returncode == 1
    assert victim.name in bad.stderr and "5-999999-A-0.wav" in bad.stderr
