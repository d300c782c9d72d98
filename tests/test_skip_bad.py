"""skip_bad=true on a real competition folder: bad clips leave before the split, and skipped test files are said."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tasks.kaggle5 import read_layout, stratified_holdout

pytestmark = pytest.mark.slow

FREQ = {"high": 2500.0, "low": 300.0, "mid": 900.0, "solo": 5000.0}
ARGS = ("run", "task=kaggle5", "solution=baseline", "valid_fraction=0.25", "skip_bad=true", "progress=false")
JUNK = b"RIFF\x00\x00\x00\x00WAVEjunk"


def _tone(path: Path, freq: float, seed: int) -> None:
    t = np.arange(16000) / 16000
    noise = 0.05 * np.random.default_rng(seed).standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (0.5 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32), 16000)


@pytest.fixture
def competition(tmp_path) -> tuple[Path, Path]:
    """Three classes of five tones and one of a single tone; the mid clip the old split held out is broken."""
    root = tmp_path / "competition"
    for c, (cls, freq) in enumerate(FREQ.items()):
        for i in range(1 if cls == "solo" else 5):
            _tone(root / "train" / cls / f"{cls}_{i}.wav", freq, 10 * c + i)
    for i, cls in enumerate(["high", "low", "mid", "high"]):
        _tone(root / "test" / f"t{i}.wav", FREQ[cls], 100 + i)
    (root / "test" / "t_bad.wav").write_bytes(JUNK)
    # the clip a split over all files (bad ones included) would take as mid's only validation clip
    data = read_layout(root)
    _, valid = stratified_holdout(data.class_index(), 0.25, 0)
    victim = next(data.clips[i].path for i in valid if data.clips[i].label == "mid")
    victim.write_bytes(JUNK)
    return root, victim


def _result(cwd: Path, proc) -> tuple[Path, dict]:
    run_dir = cwd / proc.stdout.strip().splitlines()[-1]
    return run_dir, json.loads((run_dir / "result.json").read_text())


def test_bad_clips_leave_before_the_split_and_skipped_test_rows_are_said(cli, tmp_path, competition):
    root, victim = competition
    run_dir, result = _result(tmp_path, cli(*ARGS, f"data_dir={root}"))
    fold = result["folds"][0]
    classes = result["classes"]
    assert classes == ["high", "low", "mid", "solo"]
    # every class with clips to spare is in validation, mid too, though its held-out clip was the broken one
    per_class = np.array(fold["confusion"]).sum(axis=1)
    assert [int(per_class[classes.index(c)]) for c in ("high", "low", "mid")] == [1, 1, 1]
    assert fold["n_valid"] == 3 and fold["n_train"] == 4 + 4 + 3 + 1
    assert "leaving out 1 labelled clip(s) skipped as bad audio" in fold["validation_note"]

    # a class of one clip cannot be validated on: said in the log, the record and the fold's note
    log_text = (run_dir / "run.log").read_text()
    assert len(result["warnings"]) == 1 and "solo (1 usable clip(s))" in result["warnings"][0]
    assert "solo (1 usable clip(s))" in log_text and "solo (1 usable clip(s))" in fold["validation_note"]

    assert sorted(b[0] for b in result["bad_files"]) == sorted([str(root / "test" / "t_bad.wav"), str(victim)])
    skipped = result["skipped_unlabelled"]
    assert skipped["files"] == ["t_bad.wav"] and skipped["paths"] == [str(root / "test" / "t_bad.wav")]
    with open(run_dir / "submission.csv", newline="") as fh:
        rows = dict(list(csv.reader(fh))[1:])
    assert len(rows) == 5 and f"labelled {rows['t_bad.wav']!r}" in skipped["rows"]
    assert "prior" in skipped["rows"] and "not a prediction" in skipped["rows"]
    assert "1 unlabelled (test) file(s) were skipped as bad audio: t_bad.wav" in log_text

    page = (tmp_path / "reports" / "runs" / f"{run_dir.name}.html").read_text()
    assert 'id="skipped-test-files"' in page and "<code>t_bad.wav</code>" in page and "not a prediction" in page
    assert "left out before splitting" in page  # what became of the broken training clip

    omit_dir, omitted = _result(tmp_path, cli(*ARGS, f"data_dir={root}", "skipped_test_rows=omit"))
    with open(omit_dir / "submission.csv", newline="") as fh:
        ids = [r[0] for r in list(csv.reader(fh))[1:]]
    assert sorted(ids) == ["t0.wav", "t1.wav", "t2.wav", "t3.wav"]
    assert omitted["skipped_unlabelled"]["rows"] == "left out of submission.csv (skipped_test_rows=omit)"
    page = (tmp_path / "reports" / "runs" / f"{omit_dir.name}.html").read_text()
    assert "left out of submission.csv" in page


def test_a_wrong_skipped_test_rows_value_fails_before_any_work(cli, tmp_path, competition):
    root, _ = competition
    proc = cli(*ARGS, f"data_dir={root}", "skipped_test_rows=drop", check=False)
    assert proc.returncode != 0 and "skipped_test_rows" in proc.stderr and "omit" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_without_skip_bad_one_error_lists_the_bad_training_and_test_files(cli, tmp_path, competition):
    root, victim = competition
    args = [a for a in ARGS if a != "skip_bad=true"]
    proc = cli(*args, f"data_dir={root}", check=False)
    assert proc.returncode == 1, proc.stderr
    # a user fixes every bad file after one attempt, not one set per attempt
    assert "2 bad audio file(s)" in proc.stderr
    assert str(victim) in proc.stderr and str(root / "test" / "t_bad.wav") in proc.stderr
    assert "skip_bad=true" in proc.stderr and "Traceback" not in proc.stderr
