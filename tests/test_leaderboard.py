"""The leaderboard loses nothing: concurrent appends, torn lines, ordering by direction."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from bench.results import leaderboard


def _append(path: str, i: int, barrier) -> None:
    barrier.wait()
    leaderboard.append(Path(path), {"run_id": f"run-{i:02d}", "task": "t", "score": i / 100, "direction": "max",
                                    "params": "a=1;b=2", "device": "cpu (2 threads, 2 cores)"})


def test_sixteen_processes_at_once_leave_one_header_and_sixteen_rows(tmp_path):
    path = tmp_path / "leaderboard.csv"
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(16)
    procs = [ctx.Process(target=_append, args=(str(path), i, barrier)) for i in range(16)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(leaderboard.COLUMNS)
    assert sum(line.startswith("run_id,") for line in lines) == 1
    board = leaderboard.read(path)
    assert sorted(r["run_id"] for r in board.rows) == [f"run-{i:02d}" for i in range(16)]
    assert board.torn == []


def test_torn_last_line_is_detected_and_next_append_is_clean(tmp_path):
    path = tmp_path / "leaderboard.csv"
    leaderboard.append(path, {"run_id": "good", "task": "t", "score": 0.5})
    with open(path, "a") as fh:
        fh.write("torn-run,2026-11-22,t,sol")  # a writer died mid-row
    board = leaderboard.read(path)
    assert [r["run_id"] for r in board.rows] == ["good"]
    assert board.torn == ["torn-run,2026-11-22,t,sol"]
    leaderboard.append(path, {"run_id": "after", "task": "t", "score": 0.7})
    board = leaderboard.read(path)
    assert [r["run_id"] for r in board.rows] == ["good", "after"]
    assert len(board.torn) == 1


def test_ranked_follows_each_tasks_direction():
    rows = [
        {"run_id": "a", "task": "acc", "score": "0.5", "direction": "max"},
        {"run_id": "b", "task": "acc", "score": "0.9", "direction": "max"},
        {"run_id": "c", "task": "fad", "score": "7.0", "direction": "min"},
        {"run_id": "d", "task": "fad", "score": "3.0", "direction": "min"},
        {"run_id": "e", "task": "acc", "score": "", "direction": "max"},
    ]
    assert [r["run_id"] for r in leaderboard.ranked(rows)] == ["b", "a", "e", "d", "c"]
    assert [r["run_id"] for r in leaderboard.ranked(rows, "fad")] == ["d", "c"]


def test_unknown_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown leaderboard columns"):
        leaderboard.append(tmp_path / "l.csv", {"run_id": "x", "acuracy": 1})
