"""`bench data fetch NAME --to DIR`: download a real dataset, verify it, unpack it atomically.

Downloads go to DIR/.downloads/<file>.part and are resumed with HTTP Range requests,
both within a run (a broken connection is retried with backoff) and across runs (an
interrupted run leaves the .part for the next one). A finished .part is checked
against the published size and checksum before it is renamed to its final name; an
archive that is already there and checks out is not downloaded again.

Unpacking happens in a temporary folder inside DIR; members with absolute paths or
`..` are refused, the expected layout is checked, and only then is the dataset folder
moved into place with one `os.replace`. A failure at any point leaves no half dataset.

BENCH_FETCH_MIRROR=http://host:port/ (or a local folder) replaces the base URL of
every archive: the file is looked up there under its archive name.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from http.client import HTTPException
from pathlib import Path
from typing import Callable, Iterator

from bench.core.config import did_you_mean
from bench.core.progress import Progress
from bench.data.sources import DATASETS, Archive, Dataset, split_checksum

MIRROR_ENV = "BENCH_FETCH_MIRROR"
DOWNLOADS = ".downloads"
STAGING_PREFIX = ".tmp-unpack-"
OLD_PREFIX = ".tmp-old-"
RETRIES = 4  # consecutive failed attempts without progress before giving up
BACKOFF_S = 1.0  # first retry delay; doubles each time
TIMEOUT_S = 60.0  # a connection silent this long counts as broken
CHUNK = 1 << 20
USER_AGENT = "bench-data-fetch/1"

Say = Callable[[str], None]


class FetchError(RuntimeError):
    """A download, verification or unpack failed; the message says what to do."""


class _Broken(Exception):
    """A transfer stopped early in a way a retry may fix."""


def _say(msg: str) -> None:
    print(msg, flush=True)


# --- the command ---------------------------------------------------------------------


def fetch_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="bench data fetch",
        description="Download, verify and unpack a dataset from its publisher's archives.",
        epilog=f"{MIRROR_ENV}=URL_OR_FOLDER fetches every archive from there instead.",
    )
    parser.add_argument("name", metavar="NAME", help="dataset: " + ", ".join(DATASETS))
    parser.add_argument("--to", required=True, type=Path, metavar="DIR",
                        help="folder that receives the dataset folder (created if missing)")
    parser.add_argument("--keep-archives", action="store_true",
                        help=f"keep the downloaded archives in DIR/{DOWNLOADS} after unpacking")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--force", action="store_true",
                        help="unpack again even if the dataset folder already exists (replaces it)")
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return int(exc.code or 0)

    name = ns.name.lower()
    if name not in DATASETS:
        print(f"error: unknown dataset {ns.name!r}{did_you_mean(name, list(DATASETS))}; "
              f"choose one of: {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    try:
        fetch(name, ns.to, keep_archives=ns.keep_archives, force=ns.force,
              progress=not ns.no_progress)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted; what was downloaded stays in {ns.to / DOWNLOADS}: "
              "run the same command again to resume", file=sys.stderr)
        return 130
    return 0


def fetch(name: str, to: str | os.PathLike, *, keep_archives: bool = False, force: bool = False,
          progress: bool = True, say: Say = _say) -> Path:
    """Make DIR/<dataset folder> hold the dataset `name`; return that folder."""
    ds = DATASETS[name]
    to = Path(to).expanduser().resolve()
    dest = to / ds.folder
    if dest.exists() and not force:
        missing = [p for p in ds.expected if not (dest / p).exists()]
        say(f"{ds.title} is already at {dest}; nothing to do (--force unpacks it again).")
        if missing:
            say(f"warning: {dest} lacks {', '.join(missing)}; it may be incomplete or not "
                f"{ds.title}: move it away or use --force to replace it.")
        _next_steps(ds, dest, say)
        return dest
    try:
        to.mkdir(parents=True, exist_ok=True)
        downloads = to / DOWNLOADS
        downloads.mkdir(exist_ok=True)
    except OSError as exc:
        raise FetchError(f"cannot create {to / DOWNLOADS}: {exc}; choose a writable --to folder") from exc

    with _lock(downloads / f".lock-{ds.name}", ds, to):
        if _recover(ds, to, say) and not force:
            _next_steps(ds, dest, say)
            return dest
        _check_space(ds, downloads)
        paths = [(a, download(a, downloads, progress=progress, say=say)) for a in ds.archives]
        unpack(ds, paths, to, progress=progress, say=say)
        if not keep_archives:
            for _, path in paths:
                path.unlink(missing_ok=True)
    if not keep_archives:
        with contextlib.suppress(OSError):
            (downloads / f".lock-{ds.name}").unlink()
            downloads.rmdir()  # only if nothing else is left in it
    say(f"{ds.title} is ready at {dest}")
    if keep_archives:
        say(f"archives kept in {downloads}")
    _next_steps(ds, dest, say)
    return dest


def _next_steps(ds: Dataset, dest: Path, say: Say) -> None:
    say("next:")
    say(f"  bench data check task={ds.name} data_dir={dest}")
    say(f"  bench run task={ds.name} data_dir={dest}")


@contextlib.contextmanager
def _lock(path: Path, ds: Dataset, to: Path) -> Iterator[None]:
    """One fetch of a dataset per DIR at a time: two would write the same .part."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise FetchError(f"another `bench data fetch {ds.name}` is using {to} (lock {path}); "
                             "wait for it to finish, then run this again") from exc
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _recover(ds: Dataset, to: Path, say: Say) -> bool:
    """Clean up after a run killed while unpacking (we hold the lock: nobody else is).

    Returns True if the dataset folder was put back from an interrupted --force swap.
    """
    dest = to / ds.folder
    olds = sorted(to.glob(f"{OLD_PREFIX}{ds.folder}-*"))
    restored = False
    if olds and not dest.exists():
        # killed between the two renames of --force: the old copy is the only one
        os.replace(olds[0], dest)
        say(f"{ds.title} is back at {dest}: a --force run was interrupted while replacing it")
        olds, restored = olds[1:], True
    for stale in [*olds, *to.glob(f"{STAGING_PREFIX}{ds.folder}-*")]:
        shutil.rmtree(stale, ignore_errors=True)
    return restored


def _check_space(ds: Dataset, downloads: Path) -> None:
    need = 0
    for a in ds.archives:
        if a.size is None or (downloads / a.filename).exists():
            continue
        part = downloads / (a.filename + ".part")
        need += a.size - (part.stat().st_size if part.exists() else 0)
    free = shutil.disk_usage(downloads).free
    if need > free:
        raise FetchError(f"{ds.title} needs {_gb(need)} more for its archives (and about as much "
                         f"again to unpack) but {downloads} has {_gb(free)} free; free some space "
                         "or choose another --to folder")


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


# --- download and verify -------------------------------------------------------------


def source_url(a: Archive) -> str:
    """The archive's URL, or its place on the mirror named by BENCH_FETCH_MIRROR."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if not mirror:
        return a.url
    if _is_local(mirror):
        return str(_local_path(mirror) / a.filename)
    return mirror.rstrip("/") + "/" + urllib.parse.quote(a.filename)


def download(a: Archive, downloads: Path, *, progress: bool = True, say: Say = _say) -> Path:
    """Return DIR/.downloads/<file>, downloaded (or resumed) and verified."""
    url = source_url(a)
    final = downloads / a.filename
    part = downloads / (a.filename + ".part")
    if final.exists():
        problem = _verify(final, a, url, progress, say)
        if problem is None:
            say(f"{a.filename}: already downloaded and verified")
            return final
        say(f"{a.filename}: the copy in {downloads} is not the published file ({problem}); "
            "downloading it again")
        final.unlink()
    if part.exists() and part.stat().st_size:
        say(f"resuming {a.filename} from byte {part.stat().st_size:,} ({url})")
    else:
        say(f"downloading {a.filename} from {url}")
    _transfer(url, part, a.size, a.filename, progress, say)
    problem = _verify(part, a, url, progress, say)
    if problem is not None:
        part.unlink(missing_ok=True)
        hint = f" {a.note}" if a.note else ""
        raise FetchError(f"{problem}. The file was deleted. Run the command again to download it "
                         "afresh; if this happens again, the source has changed or something on "
                         f"the way alters it.{hint}")
    os.replace(part, final)
    return final


def _verify(path: Path, a: Archive, url: str, progress: bool, say: Say) -> str | None:
    """None if `path` is the published file (as far as published values tell); else why not."""
    actual_size = path.stat().st_size
    if a.size is not None and actual_size != a.size:
        return f"{url}: size mismatch: expected {a.size:,} bytes, got {actual_size:,} bytes ({path})"
    if a.checksum is None:
        digest = hash_file(path, "sha256", progress)
        say(f"{a.filename}: sha256 {digest}. This could not be verified: no checksum is published "
            f"for {url}. Compare it with a copy you trust.")
        return None
    algo, expected = split_checksum(a.checksum)
    actual = hash_file(path, algo, progress)
    if actual != expected:
        return f"{url}: checksum mismatch: expected {algo} {expected}, got {algo} {actual} ({path})"
    return None


def hash_file(path: Path, algo: str, progress: bool = False) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh, Progress(path.stat().st_size, f"checking {path.name}",
                                          enabled=progress) as bar:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            bar.advance(len(chunk))
    return h.hexdigest()


def _is_local(url: str) -> bool:
    scheme = urllib.parse.urlparse(url).scheme
    return scheme in ("", "file") or len(scheme) == 1  # len 1: a Windows drive letter


def _local_path(url: str) -> Path:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    return Path(url).expanduser()


def _transfer(url: str, part: Path, size: int | None, label: str, progress: bool, say: Say) -> None:
    """Bring `part` to the full file, resuming what is there; retry broken connections."""
    if _is_local(url):
        _copy_local(_local_path(url), part, label, progress)
        return
    failures = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have > size:
            say(f"{part} is longer than the published {size:,} bytes; starting again from zero")
            part.unlink()
            have = 0
        if size is not None and have == size and part.exists():
            return  # complete already (an earlier run stopped just before the rename)
        try:
            _request(url, part, have, size, label, progress, say)
            return
        except _Broken as exc:
            now = part.stat().st_size if part.exists() else 0
            failures = 1 if now > have else failures + 1  # progress resets the count
            if failures > RETRIES:
                raise FetchError(
                    f"downloading {url} failed {failures} times in a row ({exc}); {part} keeps the "
                    f"{now:,} bytes received: run the same command again to resume, or set "
                    f"{MIRROR_ENV} to a mirror") from None
            delay = BACKOFF_S * 2 ** (failures - 1)
            say(f"{label}: {exc}; retrying in {delay:g} s from byte {now:,} "
                f"(retry {failures} of {RETRIES})")
            time.sleep(delay)


def _request(url: str, part: Path, have: int, size: int | None, label: str, progress: bool,
             say: Say) -> None:
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            total = _content_range(exc.headers.get("Content-Range", ""))[2]
            if total == have:
                return  # the .part already holds the whole file
            part.unlink()
            raise _Broken("the server refused to resume; starting again from zero") from None
        if exc.code in (408, 425, 429) or exc.code >= 500:
            raise _Broken(f"HTTP {exc.code} {exc.reason}") from None
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}. Check the address"
                         + (f" and {MIRROR_ENV}" if os.environ.get(MIRROR_ENV) else "")
                         + "; the publisher may have moved the file.") from None
    except (urllib.error.URLError, OSError, HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Broken(f"cannot connect ({reason})") from None

    with resp:
        status = resp.status
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if status == 206:
            start, _, total = _content_range(resp.headers.get("Content-Range", ""))
            if start != have:
                part.unlink()
                raise _Broken(f"the server resumed at byte {start} instead of {have}; starting again")
        else:
            if have:
                say(f"{label}: the server ignored the resume request; starting again from zero")
            have = 0
            total = length
        if size is not None and total is not None and total != size:
            raise FetchError(f"{url}: the server sends {total:,} bytes but the published size is "
                             f"{size:,}: it is not the published file. Check the address"
                             + (f" and {MIRROR_ENV}" if os.environ.get(MIRROR_ENV) else "") + ".")
        received = 0
        with open(part, "ab" if have else "wb") as fh, \
                Progress(total or size or 0, f"{label}", enabled=progress) as bar:
            if have:
                bar.advance(have)
            try:
                while chunk := resp.read(CHUNK):
                    fh.write(chunk)
                    received += len(chunk)
                    bar.advance(len(chunk), _mb(have + received, total or size))
            except (OSError, HTTPException, ValueError) as exc:
                raise _Broken(f"connection broken after {have + received:,} bytes ({exc!r})") from None
            finally:
                fh.flush()
                os.fsync(fh.fileno())
    if length is not None and received < length:
        raise _Broken(f"connection closed after {have + received:,} of {have + length:,} bytes")
    if size is not None and have + received < size:
        raise _Broken(f"connection closed after {have + received:,} of {size:,} bytes")


def _content_range(value: str) -> tuple[int | None, int | None, int | None]:
    """'bytes 10-99/100' -> (10, 99, 100); 'bytes */100' -> (None, None, 100)."""
    m = re.match(r"\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)", value or "")
    if not m:
        return None, None, None
    start, end, total = m.groups()
    as_int = lambda s: int(s) if s and s.isdigit() else None  # noqa: E731
    return as_int(start), as_int(end), as_int(total)


def _mb(done: int, total: int | None) -> str:
    return f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB" if total else f"{done / 1e6:,.0f} MB"


def _copy_local(src: Path, part: Path, label: str, progress: bool) -> None:
    if not src.is_file():
        raise FetchError(f"{src} does not exist (or is not a file); check the path"
                         + (f" and {MIRROR_ENV}" if os.environ.get(MIRROR_ENV) else ""))
    total = src.stat().st_size
    have = part.stat().st_size if part.exists() else 0
    if have > total:
        have = 0
    with open(src, "rb") as fin, open(part, "ab" if have else "wb") as fout, \
            Progress(total, label, enabled=progress) as bar:
        fin.seek(have)
        bar.advance(have)
        while chunk := fin.read(CHUNK):
            fout.write(chunk)
            bar.advance(len(chunk), _mb(fout.tell(), total))
        fout.flush()
        os.fsync(fout.fileno())


# --- unpack --------------------------------------------------------------------------


def unpack(ds: Dataset, archives: list[tuple[Archive, Path]], to: Path, *, progress: bool = True,
           say: Say = _say) -> Path:
    """Unpack every archive into one temporary tree in `to`, check it, move it into place."""
    dest = to / ds.folder
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{ds.folder}-", dir=to))
    try:
        for a, path in archives:
            target = staging / a.unpack_into if a.unpack_into else staging
            target.mkdir(parents=True, exist_ok=True)
            say(f"unpacking {path.name}")
            _extract(path, target, source_url(a), progress)
        root = staging / ds.folder
        missing = [p for p in ds.expected if not (root / p).exists()]
        if missing:
            found = sorted(p.name for p in staging.iterdir())
            raise FetchError(
                f"the archives of {ds.title} do not hold the expected layout: {ds.folder}/ lacks "
                f"{', '.join(missing)} (their top level has: {', '.join(found) or 'nothing'}). "
                f"They are not the publisher's files; delete {to / DOWNLOADS} and fetch again, "
                "or check the sources in bench/data/sources.py")
        if dest.exists():  # --force: swap, keeping the old copy until the new one is in place
            old = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{ds.folder}-", dir=to))
            old.rmdir()
            os.replace(dest, old)
            try:
                os.replace(root, dest)
            except OSError:
                os.replace(old, dest)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(root, dest)
    except OSError as exc:
        raise FetchError(f"cannot unpack {ds.title} into {to}: {exc}; {dest} is as it was before. "
                         "Check free space and permissions, then run the command again") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _extract(path: Path, target: Path, url: str, progress: bool) -> None:
    damaged = (f"; the archive is damaged: delete {path} and run the command again to "
               f"download it afresh from {url}")
    try:
        if zipfile.is_zipfile(path):
            _extract_zip(path, target, url, progress)
        else:
            _extract_tar(path, target, url, progress)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        if isinstance(exc, getattr(tarfile, "FilterError", ())):
            raise FetchError(f"{path}: refusing member {exc.tarinfo.name!r} ({exc}); the archive "
                             f"is not safe to unpack (from {url})") from None
        raise FetchError(f"cannot unpack {path}: {exc}{damaged}") from None


def _check_member(name: str, path: Path, url: str) -> None:
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in norm.split("/"):
        raise FetchError(f"{path}: refusing member {name!r}: an absolute path or '..' would write "
                         f"outside the dataset folder. This is not the publisher's archive "
                         f"(from {url}); delete it and check the source")


def _extract_zip(path: Path, target: Path, url: str, progress: bool) -> None:
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        for info in members:
            _check_member(info.filename, path, url)
        with Progress(len(members), f"unpacking {path.name}", enabled=progress) as bar:
            for info in members:
                zf.extract(info, target)
                bar.advance(1)


def _extract_tar(path: Path, target: Path, url: str, progress: bool) -> None:
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    # stream: a second pass over a 6 GB tar.gz would double the time; a bad member found
    # late only costs the temporary tree, which is removed.
    with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as tf, \
            Progress(path.stat().st_size, f"unpacking {path.name}", enabled=progress) as bar:
        for member in tf:
            bar.advance(raw.tell() - bar.done)  # compressed bytes read so far
            _check_member(member.name, path, url)
            if member.issym() or member.islnk():
                _check_member(member.linkname, path, url)
            if not safe and not (member.isfile() or member.isdir()):
                continue  # old Python without tar filters: only plain files and folders
            tf.extract(member, target, **safe)
