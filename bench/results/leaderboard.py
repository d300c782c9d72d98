"""leaderboard.csv: one row appended per finished run, never rewritten by a run.

Appends hold an exclusive lock on the file across the header check and the write,
so runs finishing at once neither duplicate the header nor interleave rows. A row
cut short by a crash (a torn last line) is detected on read and left out.

A file whose header predates a column keeps its header: a row is written in the
file's own columns (rewriting the file could lose a row a concurrent run is
appending), and a reader fills a missing data id in from the run's result.json.
Rankings compare runs on the same data only: `groups` splits a task's rows by data id.
"""

from __future__ import annotations

import csv
import fcntl
import io
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

log = logging.getLogger("bench.results.leaderboard")

COLUMNS = (
    "run_id", "time", "task", "solution", "metric", "direction", "score", "std", "n_folds",
    "config_hash", "params", "tags", "n_params", "macs", "code_version", "device",
    "wall_seconds", "run_dir", "data_id", "data_root",
)
DATA_COLUMNS = ("data_id", "data_root")
SYNTHETIC_TAG = "synthetic-data"
# A CV rerun of parameters tuned on every fold's neighbours (bench/tuning/nested.py): optimistic,
# so it is ranked apart from untuned and nested-tuned runs.
OPTIMISTIC_TAG = "tuned-non-nested"


@dataclass
class Board:
    rows: list[dict[str, str]] = field(default_factory=list)
    torn: list[str] = field(default_factory=list)  # raw lines that could not be read


def append(path: Path, row: dict[str, object]) -> None:
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown leaderboard columns: {sorted(unknown)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            header = COLUMNS
            prefix = b""
            if size == 0:
                prefix = _line(COLUMNS)
            else:
                fh.seek(0)
                header = tuple(next(csv.reader([fh.readline().decode()])))
                _warn_missing_columns(path, header, row)
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    prefix = b"\n"  # keep our row off a torn line left by a crash
            fh.seek(0, os.SEEK_END)
            fh.write(prefix + _line([_cell(row.get(c, "")) for c in header]))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _warn_missing_columns(path: Path, header: tuple[str, ...], row: dict[str, object]) -> None:
    missing = [c for c in COLUMNS if c not in header and row.get(c) not in (None, "")]
    if missing:
        log.warning("%s has an older header without %s: the row is written without %s (the file stays one"
                    " table; readers take them from the run's result.json); move the file aside to start"
                    " one with every column", path, ", ".join(missing), "them" if len(missing) > 1 else "it")


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def _line(cells: Iterable[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(list(cells))
    return buf.getvalue().encode()


def read(path: Path) -> Board:
    board = Board()
    if not path.exists():
        return board
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text:
        return board
    lines = text.split("\n")
    complete, last = lines[:-1], lines[-1]
    if last:  # no trailing newline: the last write was cut short
        board.torn.append(last)
    parsed = list(csv.reader(complete))
    if not parsed:
        return board
    header = parsed[0]
    for raw, cells in zip(complete[1:], parsed[1:]):
        if not cells:
            continue
        if len(cells) != len(header):
            board.torn.append(raw)
            continue
        board.rows.append(dict(zip(header, cells)))
    for r in board.rows:
        if not r.get("data_id"):
            r.update(_data_from_record(r.get("run_dir", ""), path.parent))
    if board.torn:
        log.warning("%s: %d unreadable line(s) left out (a run was cut off while writing?)", path, len(board.torn))
    return board


def _data_from_record(run_dir: str, base: Path) -> dict[str, str]:
    """The data id of a row written without one, from its run's result.json when that is there."""
    from bench.results.record import load_result

    if not run_dir:
        return {}
    for folder in dict.fromkeys([Path(run_dir), base / run_dir]):  # run_dir is as the run was given it
        try:
            data = load_result(folder).data or {}
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("data_id"):
            return {"data_id": str(data["data_id"]), "data_root": str(data.get("root") or "")}
    return {}


@dataclass
class Group:
    """The rows of one task on one data set, best first: a ranking of like with like."""

    task: str
    data_id: str  # "" for rows that record none (older rows whose run folder is gone)
    data_root: str
    synthetic: bool
    rows: list[dict[str, str]]
    optimistic: bool = False  # tuned without nesting: ranked apart

    def title(self) -> str:
        apart = (" — tuned without nested cross-validation: optimistic, ranked apart"
                 if self.optimistic else "")
        if not self.data_id:
            return f"{self.task} on data not recorded (rows from before leaderboard.csv had a data_id column){apart}"
        where = f"embedded synthetic data {Path(self.data_root).name}" if self.synthetic else (self.data_root or "?")
        return f"{self.task} on {where} (data id {self.data_id}){apart}"


def groups(rows: list[dict[str, str]], task: str | None = None) -> list[Group]:
    """Rows of one task (or all) split by task and data id, each group best first."""
    out: dict[tuple[str, str, bool], Group] = {}
    for r in ranked(rows, task):
        tags = (r.get("tags") or "").split(";")
        key = (r.get("task", ""), r.get("data_id", ""), OPTIMISTIC_TAG in tags)
        if key not in out:
            out[key] = Group(key[0], key[1], r.get("data_root", ""), SYNTHETIC_TAG in tags, [], key[2])
        out[key].rows.append(r)
    # within a task, the data most runs were made on first; unrecorded data last; optimistic after fair
    return sorted(out.values(), key=lambda g: (g.task, not g.data_id, g.optimistic, -len(g.rows), g.data_id))


def ranked(rows: list[dict[str, str]], task: str | None = None) -> list[dict[str, str]]:
    """Rows of one task (or all), grouped by task, best first by each row's direction.

    Runs on different data are not told apart here; `groups` does that."""

    def key(r: dict[str, str]):
        try:
            score = float(r["score"])
        except (KeyError, ValueError):
            return (r.get("task", ""), 1, 0.0)
        return (r.get("task", ""), 0, -score if r.get("direction", "max") == "max" else score)

    chosen = [r for r in rows if task is None or r.get("task") == task]
    return sorted(chosen, key=key)
