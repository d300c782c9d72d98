"""The result record: records written before it was versioned still load, unchanged, and a newer one is refused.

The fixtures are result.json files as bench wrote them before `schema_version` existed:
`bench run task=kaggle5 solution=baseline preset=tiny`, `task=esc50 ... folds=1,2`, and
the combined record `folds=3,4,5` completed it into.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.core.config import ConfigError
from bench.report.records import load_records
from bench.results.compare import compare
from bench.results.record import (
    SCHEMA_VERSION,
    FoldResult,
    NewerSchema,
    RunResult,
    load_result,
)
from bench.run import combine

FIXTURES = Path(__file__).parent / "fixtures"
V0 = ["result_v0_kaggle5.json", "result_v0_esc50_folds12.json", "result_v0_esc50_combined.json"]


def _v0(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize("name", V0)
def test_old_records_load_and_write_back_unchanged(name):
    raw = _v0(name)
    rec = RunResult.from_json(raw, name)
    assert all(isinstance(f, FoldResult) for f in rec.folds) and rec.extras == {}
    assert rec.to_json() == {**raw, "schema_version": SCHEMA_VERSION}
    assert RunResult.from_json(rec.to_json()) == rec
    assert json.loads(json.dumps(rec.to_json())) == rec.to_json()  # plain JSON all the way down


def test_what_each_writer_adds_is_typed():
    combined = RunResult.from_json(_v0("result_v0_esc50_combined.json"))
    assert combined.combined_from and all(f.source_run for f in combined.folds)
    assert combined.wall_seconds is None and combined.tuning is None
    holdout = RunResult.from_json(_v0("result_v0_kaggle5.json"))
    assert holdout.folds[0].name == "holdout" and holdout.folds[0].confusion is not None
    # keys written only when they apply stay unwritten
    assert "tuning" not in holdout.to_json() and "source_run" not in holdout.folds[0].to_json()


def test_unknown_keys_and_missing_keys_survive_a_round_trip():
    raw = _v0("result_v0_kaggle5.json")
    raw["from_the_future"] = {"x": 1}
    raw["folds"][0]["also_new"] = [1, 2]
    del raw["warnings"]
    rec = RunResult.from_json(raw)
    assert rec.extras == {"from_the_future": {"x": 1}} and rec.folds[0].extras == {"also_new": [1, 2]}
    assert rec.warnings is None and "warnings" in rec.absent
    assert rec.to_json() == {**raw, "schema_version": SCHEMA_VERSION}  # absent stays absent, not null


def test_a_newer_schema_is_refused_naming_the_file(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    path = run / "result.json"
    path.write_text(json.dumps({**_v0("result_v0_kaggle5.json"), "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(NewerSchema, match=f"{path}: schema_version {SCHEMA_VERSION + 1} is newer") as err:
        load_result(run)
    assert isinstance(err.value, ConfigError)  # the CLI prints it as an error, not a traceback
    records, problems = load_records(tmp_path)  # the report lists it and renders the rest
    assert records == [] and problems == [str(err.value)]
    path.write_text(json.dumps({"schema_version": "one"}))
    with pytest.raises(ConfigError, match="is not a version number"):
        load_result(run)


def test_written_records_carry_the_version_and_readers_take_old_ones(tmp_path):
    for name in V0[1:]:
        d = tmp_path / "runs" / name.removesuffix(".json")
        d.mkdir(parents=True)
        (d / "result.json").write_text((FIXTURES / name).read_text())
        (d / "run.json").write_text(json.dumps({"identity": "x", "status": "finished"}))
    partial, done = (load_result(tmp_path / "runs" / n.removesuffix(".json")) for n in V0[1:])
    assert combine.missing_folds(partial) == [3, 4, 5]
    c = compare(done, partial)
    assert c.folds == ["fold1", "fold2"]
    records, problems = load_records(tmp_path / "runs")
    assert problems == [] and {r.run_id for r in records} == {partial.run_id, done.run_id}
