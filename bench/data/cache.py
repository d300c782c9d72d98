"""The feature cache: one SQLite file holding every computed feature matrix.

Key = (hash of the audio bytes, hash of the canonical JSON of every frontend
parameter plus the feature-code version). A file's content hash is remembered by
(path, size, mtime_ns, ctime_ns, inode) so unchanged files are not re-read; a touched
file is hashed again and, if its bytes are the same, still hits. The shortcut is only
trusted once the file's timestamps are older than the moment they were recorded by
more than the timestamp granularity (git's "racily clean" rule): a file rewritten
within the same clock tick as it was hashed is hashed again rather than trusted.

Each blob carries a checksum: an entry that fails it is recomputed, never trusted. A
cache file that SQLite reports as damaged (not a database, malformed), whether on
opening or in the middle of a run, is moved aside and rebuilt empty.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from bench.core.config import stable_hash
from bench.core.contracts import FeatureSpec
from bench.data.frontend import FEATURE_VERSION

log = logging.getLogger("bench.data.cache")

T = TypeVar("T")

# A stat shortcut recorded less than this long after the file's last change is not
# trusted: a second change within the same timestamp tick would be invisible.
_RACY_NS = 2_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    ino INTEGER, recorded_ns INTEGER, content TEXT, checksum TEXT);
CREATE TABLE IF NOT EXISTS features (
    content TEXT, spec TEXT, shape TEXT, checksum TEXT, data BLOB,
    PRIMARY KEY (content, spec));
"""

# sqlite result codes that mean the file itself is damaged
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def spec_key(spec: FeatureSpec) -> str:
    return stable_hash({"spec": dataclasses.asdict(spec), "version": FEATURE_VERSION}, 16)


def hash_file(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _row_checksum(*fields: object) -> str:
    return _checksum("\x1f".join(map(str, fields)).encode())


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    msg = str(exc).lower()
    return "malformed" in msg or "not a database" in msg


class FeatureCache:
    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "features.sqlite"
        self.rebuilt = 0  # entries found damaged and recomputed, for the run record
        self.moved_aside: list[Path] = []  # damaged cache files set aside this session
        self._db = self._open()

    # -- opening and recovery ------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        db = None
        try:
            db = self._connect()
            db.execute("SELECT count(*) FROM features").fetchone()
            db.execute("SELECT count(*) FROM file_hashes").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                if db is not None:
                    db.close()
                raise
            if db is not None:
                _close_quietly(db)
            self._move_aside(exc)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except BaseException:
            _close_quietly(db)
            raise
        return db

    def _move_aside(self, exc: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.time_ns()}")
        log.warning(
            "feature cache %s is damaged (%s); moved to %s and rebuilt", self.path, exc, aside
        )
        if self.path.exists():
            os.replace(self.path, aside)
        # the journal files belong to the damaged database: keep them with it, so a
        # fresh database never replays a stale write-ahead log
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        self.moved_aside.append(aside)

    def _rebuild(self, exc: Exception) -> None:
        _close_quietly(self._db)
        self._move_aside(exc)
        self._db = self._connect()

    def _guard(self, op: Callable[[sqlite3.Connection], T], on_damage: Callable[[], T]) -> T:
        """Run `op`; if SQLite finds the file damaged, rebuild it and call `on_damage`."""
        try:
            return op(self._db)
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            self._rebuild(exc)
            return on_damage()

    def close(self) -> None:
        self._db.close()

    # -- content hashes ------------------------------------------------------------

    def content_hash(self, path: Path) -> str:
        path = Path(path).resolve()
        now = time.time_ns()
        st = path.stat()
        row = self._guard(
            lambda db: db.execute(
                "SELECT size, mtime_ns, ctime_ns, ino, recorded_ns, content, checksum"
                " FROM file_hashes WHERE path=?",
                (str(path),),
            ).fetchone(),
            lambda: None,
        )
        if row is not None and self._trusted(path, st, row):
            return row[5]
        content = hash_file(path)
        fields = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, now, content)
        sql = "INSERT OR REPLACE INTO file_hashes VALUES (?,?,?,?,?,?,?,?)"
        values = (*fields, _row_checksum(*fields))
        self._guard(lambda db: db.execute(sql, values), lambda: self._db.execute(sql, values))
        return content

    @staticmethod
    def _trusted(path: Path, st: os.stat_result, row: tuple) -> bool:
        size, mtime_ns, ctime_ns, ino, recorded_ns, content, checksum = row
        if (size, mtime_ns, ctime_ns, ino) != (
            st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino
        ):
            return False
        fields = (str(path), size, mtime_ns, ctime_ns, ino, recorded_ns, content)
        if checksum != _row_checksum(*fields):
            return False
        # racily clean: changed in the same tick as it was recorded, so a later
        # change in that tick would leave the same stat; hash again
        return recorded_ns - max(mtime_ns, ctime_ns) > _RACY_NS

    # -- feature entries -----------------------------------------------------------

    def get(
        self, content: str, spec: str, shape: tuple[int, ...] | None = None
    ) -> np.ndarray | None:
        """The cached array, or None on a miss or a damaged entry (counted in `rebuilt`).

        With `shape`, an entry of any other shape is treated as damaged too.
        """
        row = self._guard(
            lambda db: db.execute(
                "SELECT shape, checksum, data FROM features WHERE content=? AND spec=?",
                (content, spec),
            ).fetchone(),
            lambda: None,
        )
        if row is None:
            return None
        try:
            stored = tuple(int(s) for s in row[0].split(",")) if row[0] else ()
            data = bytes(row[2])
            ok = (
                _checksum(data) == row[1]
                and len(data) == 4 * int(np.prod(stored))
                and (shape is None or stored == tuple(shape))
            )
        except (AttributeError, TypeError, ValueError):
            ok = False
        if not ok:
            log.warning("feature cache entry %s/%s is damaged; recomputing", content, spec)
            self.rebuilt += 1
            return None
        return np.frombuffer(data, dtype=np.float32).reshape(stored)

    def put_many(self, items: list[tuple[str, str, np.ndarray]]) -> None:
        rows = []
        for content, spec, arr in items:
            data = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
            rows.append((content, spec, ",".join(map(str, arr.shape)), _checksum(data), data))
        self._guard(lambda db: self._write(db, rows), lambda: self._write(self._db, rows))

    @staticmethod
    def _write(db: sqlite3.Connection, rows: list[tuple]) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO features VALUES (?,?,?,?,?)", rows)
            db.execute("COMMIT")
        except BaseException:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise


def _close_quietly(db: sqlite3.Connection) -> None:
    try:
        db.close()
    except sqlite3.Error:
        pass
