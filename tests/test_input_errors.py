"""Mistakes in settings and damaged run folders end in a clear error naming the key or the file."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from bench.core.config import ConfigError
from bench.core.contracts import AudioSpec, TaskInfo, TaskKind
from bench.run.predict import load_run
from bench.run.resolve import resolve
from bench.train.checkpoint import CheckpointError


@pytest.mark.parametrize("setting,words", [
    ("f_max=20000", ["f_max=20000 Hz is above the Nyquist frequency 11025 Hz", "sample_rate=22050"]),
    ("clip_seconds=0.1", ["clip_seconds=0.1 at sample_rate=22050 with hop_length=512 gives 5", "needs at least 16",
                          "raise clip_seconds to at least 0.349 or lower hop_length to 147"]),
    ("n_mels=12", ["n_mels=12 must be a multiple of 8"]),
    ("data_dir=", ["task kaggle5: 'data_dir=' has an empty value", "leave the key out", "(none)"]),
    ("runs_dir=", ["runner: 'runs_dir=' has an empty value", "default ('runs')"]),
])
def test_bad_settings_stop_before_any_work(cli, tmp_path, setting, words):
    proc = cli("run", "task=kaggle5", "solution=audiocnn", "preset=tiny", "progress=false", setting, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr
    assert list(tmp_path.iterdir()) == [], "no run folder, leaderboard or report may be written"


def test_the_advised_clip_length_is_accepted():
    pairs = {"task": "kaggle5", "solution": "audiocnn"}
    with pytest.raises(ConfigError, match="at least 0.349"):
        resolve({**pairs, "clip_seconds": "0.1"})
    assert resolve({**pairs, "clip_seconds": "0.349"}).feature_spec().n_frames == 16
    assert resolve({**pairs, "clip_seconds": "0.1", "hop_length": "147"}).feature_spec().n_frames == 16


@pytest.fixture(scope="module")
def finished(tmp_path_factory, cache_dir) -> tuple[Path, Path]:
    """(work folder, run folder) of a tiny baseline run made with relative path settings."""
    work = tmp_path_factory.mktemp("finished")
    proc = run_cli("run", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false", "report=false",
                   "runs_dir=runs", "leaderboard=board.csv", cwd=work, cache=cache_dir)
    return work, work / proc.stdout.strip().splitlines()[-1]  # (printed absolute since paths resolve)


def test_records_and_leaderboard_rows_carry_absolute_paths(finished):
    work, run_dir = finished
    assert run_dir.parent == work / "runs"
    result = json.loads((run_dir / "result.json").read_text())
    runner = result["config"]["runner"]
    assert runner["runs_dir"] == str(work / "runs") and runner["leaderboard"] == str(work / "board.csv")
    assert Path(runner["reports_dir"]).is_absolute()
    with open(work / "board.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["run_dir"] == str(run_dir) and Path(row["data_root"]).is_absolute()


def _clip(finished) -> Path:
    result = json.loads((finished[1] / "result.json").read_text())
    return sorted((Path(result["data"]["root"]) / "test").glob("*.wav"))[0]


def _received(finished, tmp_path: Path, edit) -> Path:
    """A copy of the finished run folder whose result.json `edit` changed."""
    run = tmp_path / "received" / finished[1].name
    shutil.copytree(finished[1], run)
    result = json.loads((run / "result.json").read_text())
    edit(result)
    (run / "result.json").write_text(json.dumps(result))
    return run


def _refused(run: Path, *words: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_run(run)
    text = str(info.value)
    assert str(run / "result.json") in text
    for w in words:
        assert w in text
    return text


def test_predict_names_a_damaged_result_file(cli, tmp_path, finished):
    run = _received(finished, tmp_path, lambda r: None)
    text = (run / "result.json").read_text()
    (run / "result.json").write_text(text[: len(text) // 2])
    proc = cli("predict", f"run={run}", str(_clip(finished)), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{run / 'result.json'}: not valid JSON" in proc.stderr and "the run record is damaged" in proc.stderr


@pytest.mark.parametrize("edit,words", [
    (lambda r: r.pop("task_info"), ["'task_info' is missing"]),
    (lambda r: r["task_info"].pop("kind"), ["'task_info.kind' is missing"]),
    (lambda r: r.update(folds={}), ["'folds' is not a JSON list"]),
    (lambda r: r["folds"][0].update(name=7), ["'folds[0].name' is 7"]),
])
def test_predict_names_the_missing_key(tmp_path, finished, edit, words):
    _refused(_received(finished, tmp_path, edit), *words)


def test_predict_refuses_fold_names_that_leave_the_run_folder(tmp_path, finished):
    # a model is waiting outside: following the name would load it without a word
    outside = tmp_path / "outside"
    shutil.copytree(finished[1] / "folds" / "holdout" / "model", outside / "model")
    run = _received(finished, tmp_path, lambda r: r["folds"][0].update(name="../../../outside"))
    assert (run / "folds" / "../../../outside" / "model").resolve() == (outside / "model").resolve()
    _refused(run, "'folds[0].name' is '../../../outside'", "refused")


def test_predict_finds_source_runs_copied_beside_a_combined_run(tmp_path, finished):
    source = tmp_path / "received" / "source-run"
    shutil.copytree(finished[1], source)
    gone = f"/elsewhere/on/another/machine/{source.name}"
    run = _received(finished, tmp_path, lambda r: r["folds"][0].update(source_run=gone))
    shutil.rmtree(run / "folds")  # a combined run holds no models of its own
    assert len(load_run(run)[2]) == 1
    shutil.rmtree(source)
    _refused(run, f"was trained in run folder {gone}, which is not there", "copy them beside it")


def test_predict_names_weights_that_do_not_fit_the_record(cli, tmp_path, finished):
    run = _received(finished, tmp_path, lambda r: r["task_info"]["classes"].append("extra"))
    proc = cli("predict", f"run={run}", str(_clip(finished)), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    weights = run / "folds" / "holdout" / "model" / "linear.safetensors"
    assert f"{weights}: 5 outputs, the task has 6" in proc.stderr and "different runs" in proc.stderr


def test_torch_weights_of_another_shape_are_a_checkpoint_error(tmp_path):
    res = resolve({"task": "kaggle5", "solution": "audiocnn", "preset": "tiny"})
    info = TaskInfo("kaggle5", TaskKind.CLASSIFICATION, AudioSpec(22050, 1.5), ("a", "b", "c"))
    res.solution_cls(res.solution, info).save(tmp_path)
    other = res.solution_cls(res.solution, dataclasses.replace(info, classes=("a", "b", "c", "d")))
    with pytest.raises(CheckpointError, match=r"weights.safetensors does not fit solution audiocnn.*different runs"):
        other.load_state(tmp_path)


def test_predict_bad_file_advice_works_where_it_is_given(cli, tmp_path, finished):
    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    good = _clip(finished)
    proc = cli("predict", f"run={finished[1]}", str(good), str(bad), check=False)
    assert proc.returncode == 1 and f"{bad}: file is empty" in proc.stderr
    assert "pass skip_bad=true to `bench predict`" in proc.stderr

    followed = cli("predict", f"run={finished[1]}", "skip_bad=true", str(good), str(bad))
    assert [line.split("\t")[0] for line in followed.stdout.strip().splitlines()] == [str(good)]
    assert f"skipped {bad}: file is empty" in followed.stderr

    typo = cli("predict", f"run={finished[1]}", "skipbad=true", str(good), check=False)
    assert typo.returncode == 2 and "did you mean 'skip_bad'" in typo.stderr


def test_predict_refuses_an_empty_run_value(cli, finished):
    proc = cli("predict", "run=", str(_clip(finished)), check=False)
    assert proc.returncode == 2 and "'run=' has an empty value" in proc.stderr
