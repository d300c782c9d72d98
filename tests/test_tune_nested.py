"""What tuning reads: nested cross-validation never shows a study its outer test fold.

`readspy` is the baseline solution plus a log of every feature row handed to its
fit and predict (a SHA-1 per row, in WORKDIR/reads.jsonl). The rows the tuned run
scores a fold on are the clips of that fold; the tests look for them among the rows
each study's trials were given.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bench.core import registry
from bench.results import leaderboard
from bench.tuning import study_record
from solutions.baseline import Baseline

FOLDS = (1, 2, 3, 4, 5)
ESC50 = ("tune", "task=esc50", "solution=readspy", "preset=tiny", "progress=false", "report=false", "alpha=1",
         "trials=2", f"folds={','.join(map(str, FOLDS))}")


def _log(ctx, op: str, *arrays: np.ndarray) -> None:
    rows = [hashlib.sha1(np.ascontiguousarray(r).tobytes()).hexdigest() for a in arrays if a is not None for r in a]
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    with open(ctx.workdir / "reads.jsonl", "a") as fh:
        fh.write(json.dumps({"op": op, "rows": rows}) + "\n")


class ReadSpy(Baseline):
    description = "baseline that logs the feature rows it is given (tests only)"

    def fit(self, x_train, y_train, x_valid, y_valid, ctx):
        _log(ctx, "fit", x_train, x_valid)
        return super().fit(x_train, y_train, x_valid, y_valid, ctx)

    def predict(self, x, ctx):
        _log(ctx, "predict", x)
        return super().predict(x, ctx)


@pytest.fixture
def here(tmp_path, cache_dir, monkeypatch, capsys):
    """`bench ARGS` by the CLI's own main in this process, where `readspy` is registered: (code, output)."""
    from bench.cli import main

    registry.solutions.discover()
    ReadSpy.name = "readspy"
    monkeypatch.setitem(registry.solutions._items, "readspy", ReadSpy)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(cache_dir))

    def call(*args: str) -> tuple[int, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert code == 0, out.err + out.out
        return code, out.out

    return call


def reads(folder: Path, op: str | None = None) -> set[str]:
    """Every row hash logged under `folder` (by `op` only, if given)."""
    got: set[str] = set()
    for path in folder.rglob("reads.jsonl"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if op is None or entry["op"] == op:
                got |= set(entry["rows"])
    return got


def test_nested_studies_never_read_their_outer_test_fold(here, tmp_path):
    _, out = here(*ESC50, "study=nest")
    run_dir = Path(out.strip().splitlines()[-1])
    result = json.loads((run_dir / "result.json").read_text())
    assert result["tuning"]["nested"] and [f["name"] for f in result["folds"]] == [f"fold{k}" for k in FOLDS]

    studied = {k: reads(tmp_path / "runs" / "tune-nest" / f"outer{k}") for k in FOLDS}
    for k, fold in zip(FOLDS, result["folds"]):
        scored = reads(run_dir / "folds" / f"fold{k}", "predict")  # the outer test fold's clips
        trained = reads(run_dir / "folds" / f"fold{k}", "fit")
        assert len(scored) == fold["n_test"] > 0 and not scored & trained
        assert not scored & studied[k], f"a clip of outer fold {k} reached its own study"
        # the log does see these clips where they may be read: in the other outer folds' studies
        assert scored <= set().union(*(studied[j] for j in FOLDS if j != k))
        assert studied[k] <= trained  # the study for fold k saw only what the fold-k fit trains on

        rec = study_record(tmp_path / "studies" / f"nest.outer{k}.json")
        assert rec["validation"]["kind"] == "nested" and rec["validation"]["outer_fold"] == k
        assert [s["test_fold"] for s in rec["validation"]["splits"]] == [j for j in FOLDS if j != k]
        assert all(k not in s["train_folds"] + s["valid_folds"] for s in rec["validation"]["splits"])
        assert len(rec["trials"]) == 2 and rec["best_run"] == str(run_dir)
        # each outer fold is fitted with its own study's best parameters
        assert fold["params"] == rec["best_params"] and fold["tuned_by"]["trial"] == rec["best_trial"]

    rows = leaderboard.read(tmp_path / "leaderboard.csv").rows
    assert len(rows) == 1 and rows[0]["run_dir"] == str(run_dir)
    tags = rows[0]["tags"].split(";")
    assert "tuned-nested" in tags and "study=nest" in tags and "tuned" not in tags
    assert float(rows[0]["score"]) == pytest.approx(np.mean([f["score"] for f in result["folds"]]))
    assert rows[0]["params"] == "n_mfcc=20;C=per-outer-fold"

    here(*ESC50, "study=nest")  # asked again: the same best trials are not scored twice
    assert len(leaderboard.read(tmp_path / "leaderboard.csv").rows) == 1


def test_the_non_nested_rerun_is_tagged_and_its_study_did_read_the_test_folds(here, tmp_path):
    _, out = here(*ESC50, "study=flat", "nested=false")
    run_dir = Path(out.strip().splitlines()[-1])
    studied = reads(tmp_path / "runs" / "tune-flat")
    for k in FOLDS:
        scored = reads(run_dir / "folds" / f"fold{k}", "predict")
        assert scored and scored <= studied  # why this score is optimistic: the study saw every test fold
    rows = leaderboard.read(tmp_path / "leaderboard.csv").rows
    tags = rows[0]["tags"].split(";")
    assert len(rows) == 1 and "tuned-non-nested" in tags and "study=flat" in tags and "tuned-nested" not in tags
    assert study_record(tmp_path / "studies" / "flat.json")["validation"]["kind"] == "inside-training-folds"


def test_one_split_tuning_never_reads_the_unlabelled_test_clips(here, tmp_path):
    _, out = here("tune", "task=kaggle5", "solution=readspy", "preset=tiny", "progress=false", "report=false",
                  "alpha=1", "trials=2", "study=k5")
    run_dir = Path(out.strip().splitlines()[-1])
    trained = reads(run_dir, "fit")
    submitted = reads(run_dir, "predict") - trained  # the rerun also predicts the test clips for submission
    with open(run_dir / "submission.csv", newline="") as fh:
        assert len(submitted) == sum(1 for _ in csv.reader(fh)) - 1 > 0
    studied = reads(tmp_path / "runs" / "tune-k5")
    assert studied and not studied & submitted and studied <= trained
    rows = leaderboard.read(tmp_path / "leaderboard.csv").rows
    assert "tuned;study=k5" in rows[0]["tags"]
    with pytest.raises(AssertionError, match="one validation split"):
        here("tune", "task=kaggle5", "solution=readspy", "preset=tiny", "progress=false", "report=false",
             "trials=1", "study=k5n", "nested=true")
