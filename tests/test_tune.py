"""`bench tune` and `bench study show` through the real CLI, on SQLite, with tiny presets."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from bench.core.config import ConfigError
from bench.results import leaderboard
from bench.tuning import study_record
from bench.tuning.settings import parse_duration
from bench.tuning.show import summarize

BASE = ("tune", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false", "report=false")


def trials_of(record: dict) -> dict[int, dict]:
    return {t["number"]: t for t in record["trials"]}


@pytest.fixture
def here(tmp_path, cache_dir, monkeypatch, capsys):
    """`bench ARGS` run by the CLI's own main in this process (no interpreter start-up): (code, output)."""
    from bench.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(cache_dir))

    def call(*args: str) -> tuple[int, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.err + out.out

    return call


def test_unknown_key_and_wrong_type_fail_at_once_with_did_you_mean(here):
    code, err = here(*BASE, "trails=3")
    assert code == 2 and "unknown key 'trails'" in err and "did you mean 'trials'" in err
    code, err = here(*BASE, "trials=many")
    assert code == 2 and "'trials=many' is not valid" in err
    code, err = here(*BASE, "C=0.1", "alpha=1")  # every searchable parameter fixed
    assert code == 2 and "nothing to tune" in err
    code, err = here(*BASE, "pruner=wilcoxon")
    assert code == 2 and "one validation split" in err
    code, err = here("study", "show", "study=s1", "tpo=3")
    assert code == 2 and "did you mean 'top'" in err


def test_bad_storage_urls_name_the_key(here, tmp_path):
    code, err = here(*BASE, "storage=postgres//nowhere")
    assert code == 2 and "storage=postgres//nowhere: not a storage URL" in err and "sqlite:///" in err
    code, err = here(*BASE, "storage=studies/x.db")
    assert code == 2 and "did you mean sqlite:///studies/x.db" in err
    code, err = here(*BASE, "storage=postgresql://u:topsecret@127.0.0.1:1/db")
    assert code == 2 and "storage=postgresql://u:***@127.0.0.1:1/db: cannot open the study storage" in err
    assert "topsecret" not in err
    assert not (tmp_path / "runs").exists()


def test_sqlite_refuses_several_workers_and_says_why(here, tmp_path):
    code, err = here(*BASE, "jobs=2")
    assert code == 2 and "SQLite is for one worker" in err and "postgresql://" in err
    assert not (tmp_path / "runs").exists()


def test_durations():
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90 and parse_duration("2.5") == 2.5
    with pytest.raises(ConfigError, match="timeout=soon"):
        parse_duration("soon")


def test_study_continues_reaches_the_count_once_and_reruns_the_best(cli, here, tmp_path):
    keys = (*BASE, "study=s1", "alpha=0.5")
    cli(*keys, "trials=2", "rerun=false")
    record_file = tmp_path / "studies" / "s1.json"
    first = study_record(record_file)
    assert [t["state"] for t in first["trials"]] == ["COMPLETE", "COMPLETE"] and first["best_run"] is None
    trial0 = tmp_path / first["trials"][0]["run_dir"] / "trial.json"
    before = trial0.read_text()
    assert not (tmp_path / "leaderboard.csv").exists()  # trials never reach the leaderboard

    out = cli(*keys, "trials=4").stdout  # continues: two more trials, not four
    rec = study_record(record_file)
    assert sorted(trials_of(rec)) == [0, 1, 2, 3]
    assert all(t["state"] == "COMPLETE" for t in rec["trials"])
    assert trial0.read_text() == before  # trial 0 was not run again
    assert len({t["run_dir"] for t in rec["trials"]}) == 4
    # the fixed key holds in every trial; only the searched parameter varies
    for t in rec["trials"]:
        assert set(t["params"]) == {"C"}
        config = json.loads((tmp_path / t["run_dir"] / "config.json").read_text())
        assert config["solution"]["alpha"] == 0.5 and config["solution"]["C"] == t["params"]["C"]
    assert rec["fixed"] == {"preset": "tiny", "alpha": "0.5"} and set(rec["space"]) == {"C"}
    assert rec["metric"] == "accuracy" and rec["direction"] == "max" and rec["task"] == "kaggle5"
    assert "validation" in rec["protocol"] and "test clips are never read" in rec["protocol"]

    # the tuned rerun: an ordinary run, tagged, scoring what the best trial scored
    rows = leaderboard.read(tmp_path / "leaderboard.csv").rows
    assert len(rows) == 1 and "tuned;study=s1" in rows[0]["tags"]
    assert rec["best_run"] == rows[0]["run_dir"] and rec["best_run"] in out
    result = json.loads((tmp_path / rec["best_run"] / "result.json").read_text())
    best = trials_of(rec)[rec["best_trial"]]
    assert result["tuning"]["study"] == "s1" and result["tuning"]["trial"] == best["number"]
    assert result["config"]["solution"]["C"] == best["params"]["C"]
    assert result["score"] == pytest.approx(best["value"]) == pytest.approx(rec["best_value"])
    # the trials scored the very clips the rerun validates on, none of the test clips (test_tune_nested
    # logs the rows themselves)
    split = rec["validation"]["splits"][0]
    fold = result["folds"][0]
    assert (split["n_train"], split["n_valid"]) == (fold["n_train"], fold["n_valid"]) and fold["n_test"] == 0
    assert all((s["n_train"], s["n_valid"]) == (fold["n_train"], fold["n_valid"])
               for t in rec["trials"] for s in json.loads((tmp_path / t["run_dir"] / "trial.json").read_text())["splits"])

    # asked again: nothing more to do; with reports on, the study page links the tuned run
    assert here(*(k for k in keys if k != "report=false"), "trials=4")[0] == 0
    page = (tmp_path / "reports" / "studies" / "s1.html").read_text(encoding="utf-8")
    assert Path(rec["best_run"]).name + ".html" in page
    again = study_record(record_file)
    assert len(again["trials"]) == 4 and len(leaderboard.read(tmp_path / "leaderboard.csv").rows) == 1

    code, err = here(*keys, "trials=4", "solution.alpha=2")  # same name, another question
    assert code == 2 and "study=s1" in err and "alpha" in err and "another study=NAME" in err

    code, shown = here("study", "show", "study=s1")
    assert code == 0 and "best trials" in shown and "4 complete" in shown and "importances" in shown
    assert f"{best['value']:.4f}" in shown and rec["best_run"] in shown
    summary = summarize(optuna.load_study(study_name="s1", storage=f"sqlite:///{tmp_path}/studies/s1.db"), "", 10)
    assert [r["number"] for r in summary.best][0] == best["number"] and summary.counts == {"COMPLETE": 4}
    assert [r["value"] for r in summary.best] == sorted((t["value"] for t in rec["trials"]), reverse=True)
    code, err = here("study", "show", "study=s2")
    assert code == 2 and "did you mean 's1'" in err


def test_epoch_reports_prune_unpromising_trials(cli, here, tmp_path):
    cli("tune", "task=kaggle5", "solution=audiocnn", "preset=tiny", "progress=false", "study=p",
        "trials=4", "startup_trials=1", "rerun=false")
    rec = study_record(tmp_path / "studies" / "p.json")
    states = [t["state"] for t in rec["trials"]]
    assert len(states) == 4 and set(states) <= {"COMPLETE", "PRUNED"} and "PRUNED" in states
    assert rec["pruner"] == "median"
    for t in rec["trials"]:
        steps = [int(s) for s in t["intermediate"]]
        assert steps == list(range(1, len(steps) + 1)) and steps  # one report per epoch
        assert len(steps) == 3 if t["state"] == "COMPLETE" else len(steps) <= 3
        if t["state"] == "PRUNED":
            assert json.loads((tmp_path / t["run_dir"] / "trial.json").read_text())["state"] == "PRUNED"
    code, shown = here("study", "show", "study=p")
    assert code == 0 and "PRUNED" in shown and "pruned, failed and unfinished trials" in shown


def test_cross_validation_tunes_inside_the_training_folds(cli, tmp_path):
    cli("tune", "task=esc50", "solution=baseline", "preset=tiny", "progress=false", "study=cv", "alpha=1",
        "trials=2", "rerun=false", "nested=false")
    rec = study_record(tmp_path / "studies" / "cv.json")
    assert rec["pruner"] == "wilcoxon" and "inside the training folds" in rec["protocol"]
    assert rec["validation"]["kind"] == "inside-training-folds" and not (tmp_path / "leaderboard.csv").exists()
    splits = rec["validation"]["splits"]
    assert [s["test_fold"] for s in splits] == [1, 2]  # the tiny preset's folds
    for s in splits:
        assert s["test_fold"] not in s["train_folds"] + s["valid_folds"] and s["n_valid"] > 0
    for t in rec["trials"]:
        assert t["state"] == "COMPLETE" and set(t["intermediate"]) == {"0", "1"}  # one step per fold
        assert t["value"] == pytest.approx(sum(t["intermediate"].values()) / 2)
        trial = json.loads((tmp_path / t["run_dir"] / "trial.json").read_text())
        assert [(s["split"], s["n_valid"]) for s in trial["splits"]] == [(f"fold{s['test_fold']}", s["n_valid"])
                                                                       for s in splits]
