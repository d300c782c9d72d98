"""`bench data check` refuses exactly the files `bench run` refuses, and lists every one of them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def _wav(path: Path, frames: int, seed: int, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), 0.3 * np.random.default_rng(seed).normal(size=frames).astype(np.float32), SR, **kw)
    return path


def _competition(root: Path) -> None:
    for c, cls in enumerate(("a", "b")):
        for i in range(4):
            _wav(root / "train" / cls / f"{cls}{i}.wav", SR, 10 * c + i)
    for i in range(2):
        _wav(root / "test" / f"t{i}.wav", SR, 100 + i)


def _bad_files(folder: Path) -> dict[str, str]:
    """One file of every kind of bad input, name -> a word its reason must contain."""
    good = _wav(folder / "source.wav", SR, 7).read_bytes()
    (folder / "source.wav").unlink()
    rng = np.random.default_rng(0)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "random.wav").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (folder / "cut_header.wav").write_bytes(good[:20])
    (folder / "cut_data.wav").write_bytes(good[: len(good) * 2 // 3])
    x = 0.3 * rng.normal(size=SR).astype(np.float32)
    x[5] = np.nan
    sf.write(str(folder / "nan.wav"), x, SR, subtype="FLOAT")
    _wav(folder / "short.wav", 500, 3)  # decodes, but is less than one FFT window
    sf.write(str(folder / "header_only.wav"), np.zeros((0, 1), np.float32), SR)
    (folder / "dangling.wav").symlink_to(folder / "nowhere.wav")
    return {"empty.wav": "empty", "random.wav": "not a readable", "cut_header.wav": "not a readable",
            "cut_data.wav": "truncated", "nan.wav": "NaN", "short.wav": "too short",
            "header_only.wav": "no audio frames", "dangling.wav": "does not exist"}


def test_check_lists_every_bad_file_that_run_refuses(cli, tmp_path):
    root = tmp_path / "comp"
    _competition(root)
    bad = _bad_files(root / "train" / "a")
    proc = cli("data", "check", "task=kaggle5", f"data_dir={root}", "progress=false", check=False)
    assert proc.returncode == 1, proc.stdout
    listed = dict(re.findall(r"^  (/\S+): (.*)$", proc.stderr, re.M))
    assert {Path(p).name for p in listed} == set(bad), proc.stderr
    for path, reason in listed.items():
        assert bad[Path(path).name] in reason, (path, reason)
    assert f"{len(bad)} problem(s)" in proc.stderr
    assert "per-file checks: the default features" in proc.stdout and "n_fft=1024 at 22050 Hz" in proc.stdout

    run = cli("run", "task=kaggle5", "solution=baseline", f"data_dir={root}", "progress=false",
              "report=false", check=False)
    assert run.returncode == 1
    refused = set(re.findall(r"^  (/\S+): ", run.stderr, re.M))
    assert refused == set(listed), "data check and run must refuse the same files"


def test_check_uses_the_named_solutions_features(cli, tmp_path):
    root = tmp_path / "comp"
    _competition(root)
    _wav(root / "train" / "b" / "brief.wav", 1500, 5)  # one window of 1024, not of 2048
    ok = cli("data", "check", "task=kaggle5", f"data_dir={root}", "progress=false")
    assert "no problems found" in ok.stdout

    proc = cli("data", "check", "task=kaggle5", f"data_dir={root}", "solution=audiocnn", "n_fft=2048",
               "progress=false", check=False)
    assert proc.returncode == 1
    assert "per-file checks: solution audiocnn's features: logmel, n_fft=2048" in proc.stdout
    assert f"{root / 'train' / 'b' / 'brief.wav'}: too short: 1500 frames" in proc.stderr
    assert "1 problem(s)" in proc.stderr


def test_check_refuses_bad_solution_settings_before_reading(cli, tmp_path):
    root = tmp_path / "comp"
    _competition(root)
    proc = cli("data", "check", "task=kaggle5", f"data_dir={root}", "solution=audiocnn", "f_max=20000",
               check=False)
    assert proc.returncode == 2 and "f_max=20000 Hz is above the Nyquist frequency" in proc.stderr
    assert "dataset:" not in proc.stdout and "Traceback" not in proc.stderr


def test_layout_problems_say_the_files_were_not_read(cli, tmp_path):
    root = tmp_path / "comp"
    (root / "train" / "only").mkdir(parents=True)
    proc = cli("data", "check", "task=kaggle5", f"data_dir={root}", check=False)
    assert proc.returncode == 1 and f"{root / 'test'}: missing test folder" in proc.stderr
    assert "the audio files were not read: fix the layout problems" in proc.stderr
