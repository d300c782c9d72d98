"""One split evaluation: `bench run`, nested tuning and every tuning trial fit and score a split the same way."""

from __future__ import annotations

import ast
import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import optuna
import pytest
from test_skip_bad import competition  # noqa: F401  (fixture: a competition folder with bad clips)

import bench
from bench.core import kinds
from bench.protocols.splits import usable_splits
from bench.run.evaluate import FOLD_JSON, evaluate_split
from bench.run.folders import resolve_device
from bench.run.prepare import prepare_features
from bench.run.resolve import resolve
from bench.tuning.objective import SPLIT_JSON, TRIAL_JSON, Objective
from bench.tuning.space import search_space

ROOT = Path(bench.__file__).parent


def _imports_from(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


@pytest.mark.parametrize("rel", ["run/runner.py", "tuning/objective.py", "tuning/nested.py"])
def test_the_runner_and_tuning_call_the_same_split_evaluation(rel):
    names = _imports_from(ROOT / rel)
    assert "bench.run.evaluate.evaluate_split" in names
    if rel.startswith("tuning/"):
        assert not any(n.startswith("bench.run.runner") for n in names), f"bench/{rel} imports runner internals"


def _setup(cache_dir: Path, tmp_path: Path, *extra: str):
    pairs = dict(e.split("=", 1) for e in extra) or {"preset": "tiny"}
    res = resolve({"task": "kaggle5", "solution": "baseline", "progress": "false", "cache_dir": str(cache_dir),
                   "runs_dir": str(tmp_path / "runs"), **pairs})
    task = res.task_cls(res.task)
    data = task.load(res.cache_dir, logging.getLogger("bench"))
    info = task.info(data)
    prep = prepare_features(task, data, res.feature_spec(), res)
    splits, _ = usable_splits(task, data, prep.kept, res.runner.seed)
    return res, task, data, info, prep, splits


def test_a_split_is_fitted_scored_recorded_and_reused(cache_dir, tmp_path):
    res, task, data, info, prep, splits = _setup(cache_dir, tmp_path)
    split, fold_dir = splits[0], tmp_path / "fold"
    first = evaluate_split(res, task, data, info, prep, split, fold_dir, "cpu")
    fold = first.fold
    assert not first.reused and first.fit_seconds > 0 and fold.scored_on == "valid"
    assert fold.score == fold.metrics["accuracy"] and set(fold.metrics) == {"accuracy", "macro_f1"}
    # the kind's extras: rows of the confusion matrix are the true classes of the scored clips
    confusion = np.array(fold.confusion)
    assert confusion.shape == (len(info.classes),) * 2 and confusion.sum() == fold.n_valid == len(split.valid)
    assert np.trace(confusion) / confusion.sum() == pytest.approx(fold.score)
    assert first.unlabelled.shape == (len(data.unlabelled), info.n_outputs)
    assert (fold_dir / "model").is_dir()
    saved = json.loads((fold_dir / FOLD_JSON).read_text())
    assert saved["confusion"] == fold.confusion and len(saved["unlabelled_outputs"]) == len(data.unlabelled)

    stamp = (fold_dir / FOLD_JSON).stat().st_mtime_ns
    again = evaluate_split(res, task, data, info, prep, split, fold_dir, "cpu")
    assert again.reused and again.fit_seconds == 0.0 and again.predict_seconds == 0.0
    assert again.fold == fold and np.allclose(again.unlabelled, first.unlabelled)
    assert (fold_dir / FOLD_JSON).stat().st_mtime_ns == stamp  # read back, not fitted and written again


def test_skipped_unlabelled_clips_get_the_kinds_fill(cache_dir, tmp_path):
    from bench.run.assemble import fill_unlabelled

    res, task, data, info, prep, _ = _setup(cache_dir, tmp_path)
    kept = prep.unlabelled_kept[1:]  # as if the first unlabelled clip had been skipped
    prep.unlabelled_kept = kept
    outputs = np.full((len(kept), info.n_outputs), 0.5, dtype=np.float32)
    full = fill_unlabelled(outputs, prep, data, info)
    prior = np.bincount(prep.y, minlength=info.n_outputs) / len(prep.y)
    assert np.allclose(full[0], prior) and np.allclose(full[1:], 0.5)
    assert np.allclose(full[0], kinds.of(info).fill_skipped(prep.y, 1, info.n_outputs)[0])


def test_a_trial_scores_what_the_split_evaluation_scores_and_splits_leave_bad_clips_out(
        cache_dir, tmp_path, competition):  # noqa: F811
    root, victim = competition
    keys = ("valid_fraction=0.25", "skip_bad=true", f"data_dir={root}")
    res, task, data, info, prep, splits = _setup(cache_dir, tmp_path, *keys)
    space = search_space("solution baseline", res.solution_cls.Params, frozenset({"alpha"}))
    objective = Objective(res, space, (), tmp_path / "tune", target=1)
    # drawn over the clips that decoded, as `bench run` draws them: mid keeps a validation clip
    assert [(s.train.tolist(), s.valid.tolist()) for s in objective.splits] == \
           [(s.train.tolist(), s.valid.tolist()) for s in splits]
    bad = next(i for i, c in enumerate(data.clips) if c.path == victim)
    assert bad not in np.concatenate([objective.splits[0].train, objective.splits[0].valid])
    assert objective.validation()["splits"][0]["n_valid"] == 3

    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    trial_dir = Path(trial.user_attrs["run_dir"])
    split = objective.splits[0]
    rec = json.loads((trial_dir / "folds" / split.name / SPLIT_JSON).read_text())
    assert set(rec) == {"split", "score", "metrics", "n_train", "n_valid", "best_epoch", "history"}
    assert rec["n_valid"] == 3 and rec["split"] == split.name
    assert json.loads((trial_dir / TRIAL_JSON).read_text())["splits"] == [rec]
    assert not (trial_dir / "folds" / split.name / "model").exists()  # trials keep no models

    # the same parameters through the split evaluation the runner uses score the same
    tuned = dataclasses.replace(res, solution=dataclasses.replace(res.solution, **trial.params))
    direct = evaluate_split(tuned, task, data, info, prep, split, tmp_path / "direct", resolve_device("cpu"),
                            score_on="valid", predict_unlabelled=False)
    assert direct.unlabelled is None
    assert direct.fold.score == pytest.approx(rec["score"]) == pytest.approx(trial.value)
    assert direct.fold.metrics == pytest.approx(rec["metrics"])
