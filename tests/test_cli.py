"""End to end through the real `bench` command on the tiny preset of the embedded data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.results import leaderboard

pytestmark = pytest.mark.slow


def _run_dir(proc) -> Path:
    return Path(proc.stdout.strip().splitlines()[-1])


def test_run_list_leaderboard_predict(cli, tmp_path):
    cnn = cli("run", "task=kaggle5", "solution=audiocnn", "preset=tiny", "progress=false", "seed=1")
    base = cli("run", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false")
    cnn_dir, base_dir = tmp_path / _run_dir(cnn), tmp_path / _run_dir(base)

    result = json.loads((cnn_dir / "result.json").read_text())
    assert result["task"] == "kaggle5" and result["solution"] == "audiocnn" and result["metric"] == "accuracy"
    # the weights kept are those of the epoch with the best validation accuracy, and they are what is scored
    history = result["folds"][0]["history"]
    assert result["n_folds"] == 1 and result["folds"][0]["best_epoch"] is not None
    assert result["score"] == pytest.approx(max(h["valid_accuracy"] for h in history))
    assert result["score"] == pytest.approx(history[result["folds"][0]["best_epoch"] - 1]["valid_accuracy"])
    assert result["config"]["runner"]["seed"] == 1 and result["config"]["solution"]["epochs"] == 3
    assert len(result["folds"][0]["history"]) == 3
    assert (cnn_dir / "folds" / "holdout" / "model" / "weights.safetensors").exists()
    assert (cnn_dir / "config.json").exists() and "split holdout" in (cnn_dir / "run.log").read_text()

    # the submission covers every test clip exactly once, with valid labels
    data_root = Path(result["data"]["root"])
    test_ids = sorted(p.name for p in (data_root / "test").glob("*.wav"))
    with open(cnn_dir / "submission.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["filename", "label"]
    assert sorted(r[0] for r in rows[1:]) == test_ids
    assert {r[1] for r in rows[1:]} <= set(result["classes"])
    answers = _labels(data_root / "answers.csv")
    assert result["extra"]["test_accuracy_hidden_labels"] == pytest.approx(
        np.mean([answers[name] == label for name, label in rows[1:]]))

    board = leaderboard.read(tmp_path / "leaderboard.csv")
    assert [r["solution"] for r in board.rows] == ["audiocnn", "baseline"]
    assert board.rows[0]["params"] == "epochs=3;batch_size=16;lr=0.001"

    page = tmp_path / "reports" / "runs" / f"{result['run_id']}.html"
    assert page.exists() and result["run_id"] in (tmp_path / "reports" / "index.html").read_text()
    # peak memory: torch alone takes more than 100 MiB; no GPU, so no device figure
    assert result["memory"]["host_peak_rss_mb"] > 100 and "cuda_peak_allocated_mb" not in result["memory"]
    shown_memory = f"{result['memory']['host_peak_rss_mb']:,.0f} MiB"
    assert "peak memory" in page.read_text() and shown_memory in page.read_text()

    shown = cli("leaderboard", "task=kaggle5").stdout
    scores = {r["solution"]: float(r["score"]) for r in board.rows}
    first = max(scores, key=scores.get)
    assert shown.index(first) < shown.index(min(scores, key=scores.get)) or scores["audiocnn"] == scores["baseline"]

    # the baseline beats a majority-class guess on the hidden labels, graded here from the files
    submitted = _labels(base_dir / "submission.csv")
    hidden = np.mean([answers[name] == label for name, label in submitted.items()])
    majority = max(np.unique(list(answers.values()), return_counts=True)[1]) / len(answers)
    assert hidden == pytest.approx(json.loads((base_dir / "result.json").read_text())["extra"]["test_accuracy_hidden_labels"])
    assert hidden > majority

    # `bench predict` gives a clip the run labelled right that label again, as its most probable class
    name = sorted(n for n, label in submitted.items() if answers[n] == label)[0]
    clip = data_root / "test" / name
    out = cli("predict", f"run={base_dir}", str(clip)).stdout.strip().splitlines()
    path, label, conf, dist = out[-1].split("\t")
    probs = {kv.split("=")[0]: float(kv.split("=")[1]) for kv in dist.split()}
    assert path == str(clip) and label == answers[name] and max(probs, key=probs.get) == label
    assert float(conf) == pytest.approx(probs[label], abs=1e-3)
    assert set(probs) == set(result["classes"]) and abs(sum(probs.values()) - 1) < 0.01


def _labels(path: Path) -> dict[str, str]:
    with open(path, newline="") as fh:
        return {row[0]: row[1] for row in list(csv.reader(fh))[1:]}


def test_bad_override_fails_before_any_work(cli, tmp_path):
    proc = cli("run", "task=kaggle5", "solution=audiocnn", "epoch=3", check=False)
    assert proc.returncode == 2
    assert "unknown key 'epoch'" in proc.stderr and "did you mean 'epochs'" in proc.stderr
    proc = cli("run", "task=kaggle5", "solution=audiocnn", "batch_size=big", check=False)
    assert proc.returncode == 2 and "'batch_size=big' is not valid" in proc.stderr
    assert not (tmp_path / "runs").exists()


def _write(path: Path, seconds: float, sr: int, subtype: str, channels: int, freq: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.normal(size=t.size)
    x = np.stack([x, 0.9 * x], axis=1) if channels == 2 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr, subtype=subtype)


def _competition(root: Path) -> None:
    """A real-layout folder whose files differ in rate, depth, channels and length."""
    formats = [(8000, "PCM_U8", 1), (44100, "PCM_24", 2), (22050, "FLOAT", 1), (96000, "PCM_16", 2), (16000, "PCM_16", 1)]
    for c, (cls, freq) in enumerate([("low", 300.0), ("high", 2500.0)]):
        for i in range(8):
            sr, sub, ch = formats[(i + c) % len(formats)]
            _write(root / "train" / cls / f"{cls}_{i}.wav", 0.6 + 0.2 * i, sr, sub, ch, freq, 10 * c + i)
    for i in range(4):
        sr, sub, ch = formats[i]
        _write(root / "test" / f"t{i}.wav", 1.0, sr, sub, ch, 300.0 if i % 2 else 2500.0, 100 + i)


def test_real_layout_with_mixed_formats_and_a_bad_file(cli, tmp_path):
    root = tmp_path / "competition"
    _competition(root)
    ok = cli("run", "task=kaggle5", "solution=baseline", f"data_dir={root}", "valid_fraction=0.25", "progress=false")
    result = json.loads((tmp_path / _run_dir(ok) / "result.json").read_text())
    assert result["classes"] == ["high", "low"] and result["data"]["synthetic"] is False
    assert set(result["data"]["summary"]["files"]["subtypes"]) == {"PCM_U8", "PCM_24", "FLOAT", "PCM_16"}
    assert result["score"] == 1.0  # pure tones an octave apart are easy
    rows = (tmp_path / _run_dir(ok) / "submission.csv").read_text().splitlines()
    assert sorted(rows[1:]) == ["t0.wav,high", "t1.wav,low", "t2.wav,high", "t3.wav,low"]

    bad = root / "train" / "low" / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    proc = cli("run", "task=kaggle5", "solution=baseline", f"data_dir={root}", "valid_fraction=0.25",
               "progress=false", check=False)
    assert proc.returncode == 1 and str(bad) in proc.stderr and "skip_bad=true" in proc.stderr
    skipped = cli("run", "task=kaggle5", "solution=baseline", f"data_dir={root}", "valid_fraction=0.25",
                  "progress=false", "skip_bad=true")
    result = json.loads((tmp_path / _run_dir(skipped) / "result.json").read_text())
    assert [b[0] for b in result["bad_files"]] == [str(bad)]


def test_layout_errors_name_the_folder(cli, tmp_path):
    root = tmp_path / "comp"
    (root / "train" / "only").mkdir(parents=True)
    proc = cli("run", "task=kaggle5", "solution=baseline", f"data_dir={root}", check=False)
    assert proc.returncode == 1 and f"{root / 'test'}: missing test folder" in proc.stderr


def test_data_fetch_is_wired_into_the_cli(cli, tmp_path):
    proc = cli("data", "fetch", "esc5", "--to", str(tmp_path / "data"), check=False)
    assert proc.returncode == 2 and "did you mean 'esc50'" in proc.stderr
    assert not (tmp_path / "data" / "ESC-50-master").exists()
