"""A run killed mid-training resumes only on the same data bytes; changed data starts a new run and says why."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from bench.run.folders import manifest_id
from bench.run.prepare import data_manifest

pytestmark = pytest.mark.slow

COMMON = ["solution=audiocnn", "preset=tiny", "epochs=6", "patience=20", "progress=false", "report=false",
          "device=cpu"]


def _env(cache: Path) -> dict:
    return {**os.environ, "BENCH_CACHE_DIR": str(cache)}


def _epochs_logged(run_dir: Path) -> int:
    log = run_dir / "run.log"
    return log.read_text().count(" train_loss=") if log.exists() else 0


def _start_and_kill(args: list[str], cwd: Path, cache: Path, until) -> None:
    """Start `bench run`, SIGKILL it once `until(runs_dir)` holds; the run must still be unfinished then."""
    proc = subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=cwd, env=_env(cache),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not until(cwd / "runs") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _finish(args: list[str], cwd: Path, cache: Path) -> tuple[Path, str]:
    proc = subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=_env(cache),
                          capture_output=True, text=True, check=True)
    return cwd / proc.stdout.strip().splitlines()[-1], proc.stdout + proc.stderr


def _only_run(cwd: Path) -> Path:
    (run_dir,) = (cwd / "runs").iterdir()
    return run_dir


def _rewrite(path: Path) -> None:
    """New bytes under the old name: the same sound, quieter."""
    x, sr = sf.read(str(path))
    sf.write(str(path), 0.5 * x, sr)


def _current_data_id(task_args: list[str], cache: Path) -> str:
    from bench.run.resolve import resolve

    res = resolve(dict(a.split("=", 1) for a in task_args + COMMON))
    return manifest_id(data_manifest(res.task_cls(res.task).load(cache, logging.getLogger("test")), cache))


def _killed_after_two_epochs(args: list[str], tmp_path: Path, cache: Path) -> tuple[Path, Path]:
    """(working folder, the run folder) of a run SIGKILLed once it logged two epochs."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    _start_and_kill(args, cwd, cache, lambda runs: runs.is_dir() and any(
        _epochs_logged(d) >= 2 for d in runs.iterdir()))
    return cwd, _only_run(cwd)


def test_kaggle5_resumes_on_the_same_data_and_starts_anew_on_changed_data(tmp_path, cache_dir):
    from tasks.kaggle5.synth import generate

    data = tmp_path / "competition"
    generate(data, n_train_per_class=8, n_test=4, seed=3, max_seconds=1.5)
    task_args = ["task=kaggle5", f"data_dir={data}"]
    args = ["run", *task_args, *COMMON]
    cwd, first = _killed_after_two_epochs(args, tmp_path, cache_dir)

    # unchanged data: the same folder continues from its checkpoint
    before = _epochs_logged(first)
    _start_and_kill(args, cwd, cache_dir, lambda runs: _epochs_logged(first) > before)
    assert _only_run(cwd) == first
    assert "resuming from the checkpoint of epoch" in (first / "run.log").read_text()

    train = sorted((data / "train").glob("*/*.wav"))
    for p in train[:2]:
        p.unlink()
    for p in train[2:4]:
        _rewrite(p)
    (train[4].parent / "extra.wav").write_bytes(train[4].read_bytes())
    first_meta = (first / "run.json").read_text()

    run_dir, out = _finish(args, cwd, cache_dir)
    assert run_dir != first, "changed data must not resume the old run"
    reason = "it was started on other data"
    assert "not resuming" in out and reason in out and "1 added" in out and "2 removed" in out and "2 changed" in out
    assert f"{first}: {reason}" in (run_dir / "run.log").read_text()
    assert first.name in json.loads((run_dir / "run.json").read_text())["started_because"]
    # the old folder is left as it was, checkpoint and all
    assert (first / "run.json").read_text() == first_meta and not (first / "result.json").exists()
    assert (first / "folds" / "holdout" / "train").is_dir()

    result = json.loads((run_dir / "result.json").read_text())
    fold = result["folds"][0]
    assert fold["resumed_from"] is None and len(fold["history"]) == 6
    assert fold["n_train"] + fold["n_valid"] == len(list((data / "train").glob("*/*.wav")))
    assert result["data"]["data_id"] == _current_data_id(task_args, cache_dir)
    assert result["data"]["data_id"] != json.loads(first_meta)["data_id"]


def test_fold_subset_of_a_cross_validation_starts_anew_when_a_clip_changes(tmp_path, cache_dir):
    from tasks.esc50.synth import generate

    data = tmp_path / "ESC-50-master"
    generate(data, sources=1, takes=2, seed=5, seconds=1.0)
    task_args = ["task=esc50", f"data_dir={data}", "folds=2"]
    args = ["run", *task_args, *COMMON]
    cwd, first = _killed_after_two_epochs(args, tmp_path, cache_dir)

    victim = sorted((data / "audio").glob("1-*.wav"))[0]  # fold 1: training data of test fold 2
    _rewrite(victim)
    run_dir, out = _finish(args, cwd, cache_dir)
    assert run_dir != first and "1 changed" in out and victim.name in out
    result = json.loads((run_dir / "result.json").read_text())
    assert [f["name"] for f in result["folds"]] == ["fold2"] and result["folds"][0]["resumed_from"] is None
    assert result["data"]["data_id"] == _current_data_id(task_args, cache_dir)
    assert not (first / "result.json").exists()
