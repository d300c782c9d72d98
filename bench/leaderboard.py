"""leaderboard.csv: one row appended per finished run, never rewritten by a run.

Appends hold an exclusive lock on the file across the header check and the write,
so runs finishing at once neither duplicate the header nor interleave rows. A row
cut short by a crash (a torn last line) is detected on read and left out.
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

log = logging.getLogger("bench.leaderboard")

COLUMNS = (
    "run_id", "time", "task", "solution", "metric", "direction", "score", "std", "n_folds",
    "config_hash", "params", "tags", "n_params", "macs", "code_version", "device",
    "wall_seconds", "run_dir",
)


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
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    prefix = b"\n"  # keep our row off a torn line left by a crash
            fh.seek(0, os.SEEK_END)
            fh.write(prefix + _line([_cell(row.get(c, "")) for c in header]))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


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
    if board.torn:
        log.warning("%s: %d unreadable line(s) left out (a run was cut off while writing?)", path, len(board.torn))
    return board


def ranked(rows: list[dict[str, str]], task: str | None = None) -> list[dict[str, str]]:
    """Rows of one task (or all), grouped by task, best first by each row's direction."""

    def key(r: dict[str, str]):
        try:
            score = float(r["score"])
        except (KeyError, ValueError):
            return (r.get("task", ""), 1, 0.0)
        return (r.get("task", ""), 0, -score if r.get("direction", "max") == "max" else score)

    chosen = [r for r in rows if task is None or r.get("task") == task]
    return sorted(chosen, key=key)
