"""Paired comparison on known inputs, and fold-subset records combining into one cross-validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.core.config import ConfigError
from bench.results.compare import compare, paired_t, wilcoxon_p
from bench.run import combine


def _result(run_id, scores, task="esc50", config_hash="h1", n_total=5, finished="2026-11-22T10:00:00+00:00"):
    folds = [{"name": name, "score": s, "metrics": {"accuracy": s}} for name, s in scores.items()]
    return {"run_id": run_id, "task": task, "solution": "audiocnn", "metric": "accuracy", "direction": "max",
            "config_hash": config_hash, "n_folds_total": n_total, "folds": folds, "finished": finished,
            **combine.aggregate(folds), "partial": len(folds) < n_total}


def _save(runs: Path, result: dict) -> Path:
    d = runs / result["run_id"]
    d.mkdir(parents=True)
    (d / "result.json").write_text(json.dumps(result))
    (d / "run.json").write_text(json.dumps({"identity": "x", "status": "finished"}))
    return d


def test_paired_t_matches_the_textbook_formula():
    a = [0.80, 0.82, 0.79, 0.85, 0.81]
    b = [0.75, 0.80, 0.74, 0.80, 0.78]
    d = [x - y for x, y in zip(a, b)]  # 0.05 0.02 0.05 0.05 0.03: mean 0.04, sd 0.014142
    t, p = paired_t(a, b)
    assert t == pytest.approx(0.04 / (math.sqrt(sum((x - 0.04) ** 2 for x in d) / 4) / math.sqrt(5)))
    assert t == pytest.approx(6.3245553, rel=1e-6)
    assert p == pytest.approx(0.0031982, rel=1e-4)  # two-sided, df = 4
    # all five differences positive: the exact signed-rank p is 2 / 2**5
    assert wilcoxon_p(a, b) == pytest.approx(0.0625)
    assert paired_t([0.5], [0.4]) == (None, None)
    assert paired_t([0.5, 0.6], [0.4, 0.5]) == (None, None)  # no spread in the differences


def test_compare_pairs_folds_by_name_and_refuses_other_tasks():
    a = _result("a", {"fold1": 0.8, "fold2": 0.7, "fold3": 0.9})
    b = _result("b", {"fold2": 0.6, "fold1": 0.75, "fold4": 0.1})
    c = compare(a, b)
    assert c.folds == ["fold1", "fold2"] and c.a == [0.8, 0.7] and c.b == [0.75, 0.6]
    assert c.mean_diff == pytest.approx(0.075)
    with pytest.raises(ConfigError, match="different tasks"):
        compare(a, _result("z", {"fold1": 0.5}, task="urbansound"))


def test_fold_subsets_combine_into_one_complete_cross_validation(tmp_path):
    runs = tmp_path / "runs"
    first = _result("r1", {"fold1": 0.6, "fold4": 0.7}, finished="2026-11-22T10:00:00+00:00")
    _save(runs, first)
    assert combine.missing_folds(first) == [2, 3, 5]
    assert combine.try_complete(runs, first) is None  # folds 2, 3, 5 still missing
    _save(runs, _result("other-config", {"fold2": 0.1, "fold3": 0.1, "fold5": 0.1}, config_hash="h2"))
    assert combine.try_complete(runs, first) is None  # other settings never fill in
    second = _result("r2", {"fold2": 0.8, "fold3": 0.9, "fold5": 0.5}, finished="2026-11-22T11:00:00+00:00")
    r2 = _save(runs, second)
    combined_dir = combine.try_complete(runs, second)
    assert combined_dir is not None
    combined = json.loads((combined_dir / "result.json").read_text())
    assert [f["name"] for f in combined["folds"]] == ["fold1", "fold2", "fold3", "fold4", "fold5"]
    assert combined["fold_scores"] == [0.6, 0.8, 0.9, 0.7, 0.5]
    assert combined["score"] == pytest.approx(0.7) and combined["std"] == pytest.approx(math.sqrt(0.025))
    assert combined["partial"] is False and combined["n_folds"] == 5
    assert combined["combined_from"] == sorted([str(runs / "r1"), str(r2)])
    assert {f["source_run"] for f in combined["folds"][1:3]} == {str(r2)}


def test_differences_equal_up_to_rounding_have_no_spread():
    # 0.9 - 0.8, 0.8 - 0.7, ... are 0.1 only up to round-off: the old guard gave t = 3.6e15, p = 4.7e-47
    a, b = [0.9, 0.8, 0.7, 0.6], [0.8, 0.7, 0.6, 0.5]
    assert paired_t(a, b) == (None, None)
    assert wilcoxon_p(a, b) == pytest.approx(0.125)  # four positive differences: 2 / 2**4
    # one more clip right per ESC-10 fold (40 clips): equal differences of 1/40 (the old p was 3.7e-60)
    esc_b = [31 / 40, 35 / 40, 29 / 40, 33 / 40, 27 / 40]
    esc_a = [(k * 40 + 1) / 40 for k in esc_b]
    assert paired_t(esc_a, esc_b) == (None, None)
    # a real spread, however small next to the scores, is still tested
    t, p = paired_t([0.9, 0.8, 0.7], [0.8, 0.7001, 0.6])
    assert t is not None and 0 < p < 1


def _with_data(result: dict, data_id: str, root: str) -> dict:
    return {**result, "data": {"data_id": data_id, "root": root, "synthetic": False}}


def test_bench_compare_says_whether_the_data_match_and_why_there_is_no_t(tmp_path, cli):
    runs = tmp_path / "runs"
    a = _save(runs, _with_data(_result("a", _cv(0.9, 0.8, 0.7, 0.6)), "d1", "/data/one"))
    b = _save(runs, _with_data(_result("b", _cv(0.8, 0.7, 0.6, 0.5)), "d1", "/data/one"))
    c = _save(runs, _with_data(_result("c", _cv(0.5, 0.9, 0.6, 0.7)), "d2", "/data/two"))
    same = cli("compare", str(a), str(b))
    assert "data: same data (data id d1)" in same.stdout and "warning" not in same.stderr
    assert "paired t-test: not defined: A − B is +0.1000 on every fold (equal up to rounding" in same.stdout
    assert "t = " not in same.stdout
    other = cli("compare", str(a), str(c))
    assert "data: different data: A used data id d1 (/data/one), B used data id d2 (/data/two)" in other.stdout
    assert "warning: the two runs used different data" in other.stderr
    assert "paired t-test over 4 folds: t = " in other.stdout


def _cv(*scores: float) -> dict[str, float]:
    return {f"fold{i}": s for i, s in enumerate(scores, 1)}
