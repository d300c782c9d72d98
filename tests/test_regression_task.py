"""A regression task defined in this file alone runs through bench end to end.

`ToneTask` is what a plugin author would write: a deterministic generator of real WAV
files (a tone whose pitch and loudness are the two targets, over noise), a holdout
split, and the task's metric by name (`ccc`). Nothing in bench knows it: a subprocess
finds it as an installed plugin (a two-line module registering it, with a dist-info
entry point, as tests/test_registry.py installs one), and the real `bench run`, `bench
tune` and `bench report` take it from there. What this proves: the task's own metric
reaches the training loop (every epoch reports `valid_ccc`, the best epoch is chosen by
it), tuning prunes on it, and the regression kind's residuals reach the record and the
report page.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bench.core.atomic import atomic_dir
from bench.core.config import param
from bench.core.contracts import (
    Clip,
    LayoutError,
    MetricSpec,
    Split,
    Task,
    TaskData,
    TaskKind,
)

TARGETS = ("pitch", "loudness")
SYNTH_VERSION = 1
TASK = "tone_regression"


@dataclass
class ToneConfig:
    data_dir: Path | None = param(None, "folder with clips.csv and its WAVs (none: generated tones)", hashed=False)
    sample_rate: int = param(16000, "rate every clip is resampled to, Hz", low=1000)
    clip_seconds: float = param(0.6, "clips are zero-padded or cut to this length, s", low=0.1)
    synthetic_clips: int = param(60, "generated data: clips", low=10)
    synthetic_seed: int = param(0, "generated data: generator seed")


def generate(root: Path, n: int, seed: int, sample_rate: int = 16000, seconds: float = 0.6) -> None:
    """Write `n` tones and clips.csv at `root`, atomically; the same arguments give the same bytes.

    pitch p in [0, 1] is 200 * 8**p Hz (three octaves); loudness l in [0, 1] is -30 + 24 l dB
    below full scale. The noise floor is fixed, so loud tones also stand out more.
    """
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    with atomic_dir(root) as tmp, open(tmp / "clips.csv", "w", newline="") as fh:
        rows = csv.writer(fh)
        rows.writerow(["file", *TARGETS])
        for i in range(n):
            pitch, loudness = rng.uniform(0, 1, size=2)
            tone = 10 ** ((-30 + 24 * loudness) / 20) * np.sin(2 * np.pi * 200 * 8 ** pitch * t + rng.uniform(0, 6.3))
            audio = tone + 0.003 * rng.standard_normal(len(t))
            sf.write(tmp / f"tone{i:03d}.wav", audio.astype(np.float32), sample_rate, subtype="PCM_16")
            rows.writerow([f"tone{i:03d}.wav", f"{pitch:.6f}", f"{loudness:.6f}"])


def read(root: Path) -> TaskData:
    index = root / "clips.csv"
    if not index.is_file():
        raise LayoutError(f"{index}: missing (expected clips.csv with columns file,{','.join(TARGETS)})")
    with open(index, newline="") as fh:
        rows = list(csv.DictReader(fh))
    clips = [Clip(path=root / r["file"], target=tuple(float(r[t]) for t in TARGETS), id=r["file"]) for r in rows]
    return TaskData(root=root, clips=clips, targets=TARGETS)


class ToneTask(Task):
    kind = TaskKind.REGRESSION
    description = "pitch and loudness of a noisy tone (a regression task living in one test file)"
    metric = MetricSpec("ccc", "max", ("rmse",))
    Config = ToneConfig

    def load(self, cache_dir: Path, log: logging.Logger) -> TaskData:
        c = self.config
        if c.data_dir is not None:
            return read(Path(c.data_dir))
        root = cache_dir / "datasets" / f"tone-v{SYNTH_VERSION}-n{c.synthetic_clips}-s{c.synthetic_seed}"
        if not root.exists():
            log.info("writing the generated tone dataset to %s", root)
            try:
                generate(root, c.synthetic_clips, c.synthetic_seed)
            except FileExistsError:
                pass  # another run wrote it first
        data = read(root)
        data.synthetic = True
        return data

    def splits(self, data: TaskData, seed: int) -> list[Split]:
        order = np.random.default_rng(seed).permutation(len(data.clips))
        n_test = n_valid = len(order) // 5
        test, valid, train = order[:n_test], order[n_test:n_test + n_valid], order[n_test + n_valid:]
        note = f"random 20% of the clips (seed {seed}) for early stopping and the best epoch; another 20% scored"
        return [Split("holdout", np.sort(train), np.sort(valid), np.sort(test), note)]


# ---------------------------------------------------------------- the plugin and the CLI

@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> dict[str, str]:
    """Environment for a `bench` subprocess that finds ToneTask as an installed plugin."""
    site = tmp_path_factory.mktemp("tone-site")
    (site / "tone_plugin.py").write_text(textwrap.dedent(f'''
        from bench.core.registry import register_task
        from test_regression_task import ToneTask

        register_task("{TASK}")(ToneTask)
    '''))
    dist = site / "tone_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tone-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[bench.tasks]\n{TASK} = tone_plugin\n")
    path = [str(site), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in path if p)}


@pytest.fixture
def bench(cli, plugin):
    def call(*args: str):
        return cli(*args, env_extra=plugin)

    return call


def only_run(runs: Path, solution: str) -> dict:
    found = [json.loads(p.read_text()) for p in runs.glob(f"*{solution}*/result.json")]
    assert len(found) == 1, f"expected one {solution} run under {runs}, found {len(found)}"
    return found[0]


def test_generator_is_deterministic_and_writes_real_wavs(tmp_path):
    import soundfile as sf

    generate(tmp_path / "a", 12, seed=3)
    generate(tmp_path / "b", 12, seed=3)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(files) == 13 and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    info = sf.info(tmp_path / "a" / "tone000.wav")
    assert (info.samplerate, info.frames, info.subtype) == (16000, 9600, "PCM_16")
    data = read(tmp_path / "a")
    assert data.target_matrix().shape == (12, 2) and 0 <= data.target_matrix().min() <= data.target_matrix().max() <= 1


def test_regression_task_runs_tunes_and_reports_through_the_cli(bench, tmp_path):
    epochs = 6
    bench("run", f"task={TASK}", "solution=audiocnn", "preset=tiny", f"epochs={epochs}", "progress=false", "report=false")
    bench("run", f"task={TASK}", "solution=baseline", "progress=false", "report=false")
    cnn, base = only_run(tmp_path / "runs", "audiocnn"), only_run(tmp_path / "runs", "baseline")

    for result in (cnn, base):
        assert (result["metric"], result["direction"], result["task_kind"]) == ("ccc", "max", "regression")
        assert set(result["metrics"]) == {"ccc", "rmse"} and result["score"] == result["metrics"]["ccc"]
        (fold,) = result["folds"]
        assert fold["scored_on"] == "test" and fold["n_test"] == 12
        assert set(fold["residuals"]) == set(TARGETS) and result["targets"] == list(TARGETS)
        assert all(len(fold["residuals"][t]["true"]) == len(fold["residuals"][t]["pred"]) == 12 for t in TARGETS)
        assert "confusion" not in fold

    history = cnn["folds"][0]["history"]
    assert len(history) == epochs and all("valid_ccc" in row for row in history)
    ccc = [row["valid_ccc"] for row in history]
    assert len(set(ccc)) > 1, "valid_ccc did not change over the epochs: nothing was selected by it"
    # the best epoch is the first with the highest validation CCC (on this data it is also the
    # lowest-loss one; tests/test_train_metric.py has fits where the two differ)
    assert cnn["folds"][0]["best_epoch"] == history[int(np.argmax(ccc))]["epoch"]

    # many short trials against a median that is there from the second one: some fall below it
    bench("tune", f"task={TASK}", "solution=audiocnn", "preset=tiny", "epochs=4", "trials=8", "study=tone",
          "pruner=median", "startup_trials=1", "warmup_steps=0", "rerun=false", "progress=false", "report=false")
    import optuna

    study = optuna.load_study(study_name="tone", storage=f"sqlite:///{tmp_path / 'studies' / 'tone.db'}")
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.PRUNED in states, f"no trial was pruned: {states}"
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert finished and all(len(t.intermediate_values) == 4 for t in finished)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert all(0 < len(t.intermediate_values) < 4 for t in pruned)
    # what the pruner saw is each epoch's validation CCC, as the trial's own history has it
    trial = finished[0]
    rows = _trial_history(Path(trial.user_attrs["run_dir"]))
    assert [row["valid_ccc"] for row in rows] == [trial.intermediate_values[e] for e in sorted(trial.intermediate_values)]
    assert sorted(trial.intermediate_values) == [row["epoch"] for row in rows]

    bench("report")
    page = tmp_path / "reports" / "runs" / f"{cnn['run_id']}.html"
    html = page.read_text(encoding="utf-8")
    figures = json.loads(re.search(r'<script type="application/json" id="figures">(.*?)</script>', html, re.S).group(1))
    pitch = figures["fig-residuals-0"]
    assert pitch["layout"]["title"]["text"].startswith("pitch: predicted against true<br>")
    assert "12 clips · RMSE" in pitch["layout"]["title"]["text"]
    assert pitch["data"][0]["x"] == cnn["folds"][0]["residuals"]["pitch"]["true"]
    assert "fig-residuals-1" in figures and 'id="residuals"' in html
    curves = [f["layout"]["title"]["text"] for k, f in figures.items() if k.startswith("fig-curve")]
    assert curves[:2] == ["loss per epoch", "ccc per epoch"]
    assert (tmp_path / "reports" / "runs" / f"{base['run_id']}.html").is_file()
    assert (tmp_path / "reports" / "studies" / "tone.html").is_file()


def _trial_history(trial_dir: Path) -> list[dict]:
    """The per-epoch rows a trial's fit recorded (in the split's record under the trial's folder)."""
    for path in sorted(trial_dir.rglob("*.json")):
        record = json.loads(path.read_text())
        for rec in [record, *(record.get("splits") or [])] if isinstance(record, dict) else []:
            if isinstance(rec, dict) and rec.get("history"):
                return rec["history"]
    raise AssertionError(f"no per-epoch history recorded under {trial_dir}")
