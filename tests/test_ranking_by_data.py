"""A ranking compares runs on the same data: leaderboard rows carry the data id, `bench
leaderboard` prints a table per task and data set, and a leaderboard.csv written before
the data columns existed still reads and still takes appends without being rewritten."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from bench.results import leaderboard

OLD_HEADER = ("run_id,time,task,solution,metric,direction,score,std,n_folds,config_hash,params,tags,"
              "n_params,macs,code_version,device,wall_seconds,run_dir")


def _record(folder: Path, data_id: str, root: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({"data": {"data_id": data_id, "root": root, "synthetic": False}}))
    return folder


def test_run_rows_carry_the_data_id_and_the_leaderboard_ranks_per_data(cli, tmp_path):
    out = cli("run", "task=kaggle5", "solution=baseline", "preset=tiny", "progress=false", "report=false")
    run_dir = tmp_path / out.stdout.strip().splitlines()[-1]
    data = json.loads((run_dir / "result.json").read_text())["data"]
    path = tmp_path / "leaderboard.csv"
    [row] = leaderboard.read(path).rows
    assert row["data_id"] == data["data_id"] and len(data["data_id"]) == 16
    assert row["data_root"] == data["root"] and "synthetic-data" in row["tags"]
    # a much better score on other data, and one whose data is not known: neither outranks the run
    leaderboard.append(path, {"run_id": "on-my-data", "task": "kaggle5", "solution": "audiocnn", "score": 0.99,
                              "direction": "max", "data_id": "feedbeef00000000", "data_root": "/data/mine"})
    leaderboard.append(path, {"run_id": "unknown-data", "task": "kaggle5", "score": 0.98, "direction": "max"})
    shown = cli("leaderboard", "task=kaggle5").stdout
    titles = [line.strip() for line in shown.splitlines() if line.strip().startswith("kaggle5 on ")]
    assert len(titles) == 3, shown
    assert titles[0].startswith(f"kaggle5 on embedded synthetic data {Path(data['root']).name} (data id {data['data_id']})")
    assert titles[1].startswith("kaggle5 on /data/mine (data id feedbeef00000000)")
    assert titles[2].startswith("kaggle5 on data not recorded")
    tables = shown.split("kaggle5 on ")[1:]
    assert run_dir.name[:20] in tables[0] and "on-my-data" not in tables[0] and "unknown-data" not in tables[0]
    assert "on-my-data" in tables[1] and "unknown-data" in tables[2]
    assert all("│ 1 " in t for t in tables)  # every table ranks from 1


def test_an_old_header_is_kept_and_a_row_appended_to_it_stays_readable(tmp_path, caplog):
    path = tmp_path / "leaderboard.csv"
    kept = _record(tmp_path / "runs" / "old-run", "0123456789abcdef", "/data/old")
    path.write_text(f"{OLD_HEADER}\nold-run,2026-11-22T11:16:45+00:00,kaggle5,baseline,accuracy,max,0.66,,1,bb80,"
                    f"C=1.0,,405,,0.1.0,cpu,29,{kept}\n"
                    "gone-run,2026-11-22T11:20:00+00:00,kaggle5,baseline,accuracy,max,0.70,,1,bb81,C=1.0,,405,,"
                    "0.1.0,cpu,29,runs/gone-run\n")
    new_dir = _record(tmp_path / "runs" / "new-run", "fedcba9876543210", "/data/new")
    with caplog.at_level(logging.WARNING, logger="bench.results.leaderboard"):
        leaderboard.append(path, {"run_id": "new-run", "task": "kaggle5", "score": 0.8, "direction": "max",
                                  "run_dir": str(new_dir), "data_id": "fedcba9876543210", "data_root": "/data/new"})
    assert "older header without data_id, data_root" in caplog.text
    lines = path.read_text().splitlines()
    assert lines[0] == OLD_HEADER and len(lines) == 4  # not rewritten, one table
    assert {len(cells) for cells in csv.reader(lines)} == {len(OLD_HEADER.split(","))}
    board = leaderboard.read(path)
    assert board.torn == [] and [r["run_id"] for r in board.rows] == ["old-run", "gone-run", "new-run"]
    by_id = {r["run_id"]: r for r in board.rows}
    assert by_id["old-run"]["data_id"] == "0123456789abcdef"  # from its run's result.json
    assert by_id["new-run"]["data_id"] == "fedcba9876543210"
    assert not by_id["gone-run"].get("data_id")
    groups = leaderboard.groups(board.rows)
    assert [[r["run_id"] for r in g.rows] for g in groups] == [["old-run"], ["new-run"], ["gone-run"]]
    assert groups[-1].title().startswith("kaggle5 on data not recorded")
    assert groups[0].title() == "kaggle5 on /data/old (data id 0123456789abcdef)"


def _cv_result(run_id: str, score: float, tags: list[str], tuning: dict | None = None) -> dict:
    return {"run_id": run_id, "task": "esc50", "solution": "baseline", "metric": "accuracy", "direction": "max",
            "score": score, "n_folds": 5, "n_folds_total": 5, "folds": [], "tags": tags,
            **({"tuning": tuning} if tuning else {}),
            "data": {"data_id": "0123456789abcdef", "root": "/data/ESC-50-master", "synthetic": False}}


def test_tuned_without_nesting_is_ranked_apart_on_the_leaderboard_and_the_index(tmp_path):
    from bench.report.records import boards, load_records

    path = tmp_path / "leaderboard.csv"
    base = {"task": "esc50", "direction": "max", "data_id": "0123456789abcdef", "data_root": "/data/ESC-50-master"}
    leaderboard.append(path, {**base, "run_id": "plain", "score": 0.70, "tags": ""})
    leaderboard.append(path, {**base, "run_id": "nested", "score": 0.72, "tags": "tuned-nested;study=s1"})
    leaderboard.append(path, {**base, "run_id": "optimistic", "score": 0.90, "tags": "tuned-non-nested;study=s2"})
    fair, apart = leaderboard.groups(leaderboard.read(path).rows, "esc50")
    # the optimistic row scores highest but does not outrank the fair ones: it has a table of its own
    assert [r["run_id"] for r in fair.rows] == ["nested", "plain"] and not fair.optimistic
    assert [r["run_id"] for r in apart.rows] == ["optimistic"] and "ranked apart" in apart.title()

    for rid, score, tags, tuning in (("plain", 0.70, [], None),
                                     ("nested", 0.72, [], {"study": "s1", "tag": "tuned-nested"}),
                                     ("optimistic", 0.90, [], {"study": "s2", "tag": "tuned-non-nested"})):
        folder = tmp_path / "runs" / rid
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(_cv_result(rid, score, tags, tuning)))
    records, problems = load_records(tmp_path / "runs")
    [board] = boards(records)
    assert problems == [] and [r.run_id for r in board.ranked] == ["nested", "plain"]
    assert [r.run_id for r in board.optimistic] == ["optimistic"]
