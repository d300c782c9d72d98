"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Temporary files and folders are named `.tmp-<name>.<host>-<pid>.<random>` beside
their target (host: the host name and pid namespace), so a later writer can tell
whose they are: one left by a process of this host that is gone (killed mid-write)
is removed the first time a process writes into that folder; one of a live process
is left alone, and one of another host or container sharing the folder is removed
only once it is older than STALE_SECONDS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

TMP_PREFIX = ".tmp-"
# A temporary whose owner cannot be checked (another host, or named before owners
# were recorded) is only taken for abandoned after this long; writes take minutes.
STALE_SECONDS = 3600
_OWNED = re.compile(r"^\.tmp-.+\.(?P<host>[A-Za-z0-9-]*)-(?P<pid>[0-9]+)\.[a-z0-9_]{8}$")
_UNOWNED = re.compile(r"^\.tmp-.+\.[a-z0-9_]{8}$")  # mkstemp's 8 random characters
_cleaned: set[Path] = set()
_lock = threading.Lock()


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    The temporary file lives in the same folder so that `os.replace` is a rename on
    one file system, which POSIX makes atomic. The file gets the mode a plain
    `open(path, "w")` would give it (the old file's, or the umask's), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_strays(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            # after the block: a writer may have replaced the file rather than written into it
            os.fchmod(fh.fileno(), _file_mode(path))
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _prefix(path: Path) -> str:
    return f"{TMP_PREFIX}{path.name}.{_host()}-{os.getpid()}."


def _host() -> str:
    # A process id means something only on its own host and in its own pid namespace
    # (the folder may be shared with another machine or container).
    host = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname().split(".")[0])[:32]
    try:
        namespace = re.sub(r"[^0-9]", "", os.readlink("/proc/self/ns/pid"))
    except OSError:
        namespace = ""
    return f"{host}-{namespace}" if namespace else host


def umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _lock:  # os.umask can only be read by setting it
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _file_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)  # replacing a file keeps its mode, as writing into it would
    except OSError:
        return 0o666 & ~umask()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy and torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling folder; rename it to `path` only if the block succeeds.

    An interrupted or failed writer leaves no half-written folder at `path`. Raises
    FileExistsError if `path` exists (before or, from a concurrent writer, after).
    The folder gets the umask's mode, as `mkdir` would give it, not mkdtemp's 0700.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_strays(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), dir=path.parent))
    os.chmod(tmp, 0o777 & ~umask())
    try:
        yield tmp
        os.rename(tmp, path)  # fails if a concurrent writer got there first
    except OSError as exc:
        if path.exists():
            raise FileExistsError(path) from exc
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def clean_strays(folder: str | os.PathLike) -> list[Path]:
    """Remove the abandoned temporaries of atomic writes in `folder`, once per process.

    Returns what was removed. A temporary of a live writer is never touched.
    """
    folder = Path(folder)
    key = folder.resolve()
    with _lock:
        if key in _cleaned:
            return []
        _cleaned.add(key)
    removed = []
    try:
        entries = [p for p in folder.iterdir() if p.name.startswith(TMP_PREFIX)]
    except OSError:
        return removed
    for p in entries:
        if _abandoned(p):
            try:
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                removed.append(p)
            except FileNotFoundError:
                pass  # another process cleaned it first
            except OSError:
                pass  # not ours to remove (permissions); it does no harm where it is
    return removed


def _abandoned(p: Path) -> bool:
    owned = _OWNED.match(p.name)
    if owned and owned["host"] == _host():
        return not _alive(int(owned["pid"]))
    if owned or _UNOWNED.match(p.name):
        try:
            return time.time() - p.lstat().st_mtime > STALE_SECONDS
        except OSError:
            return False
    return False  # not named by this module (a download's staging folder, say)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # PermissionError: another user's live process
    return True
