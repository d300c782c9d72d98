"""Run folders: naming, finding an unfinished one to resume, the code version, the device."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import bench
from bench.core.atomic import write_json
from bench.core.config import ConfigError, stable_hash
from bench.results.record import RESULT_JSON, RUN_JSON

DATA_JSON = "data.json"  # the content hash of every clip the run was started on


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def find_resumable(runs_dir: Path, identity: str, manifest: dict[str, str]) -> tuple[Path | None, str | None]:
    """The newest unfinished run of this identity started on these exact data bytes.

    The identity covers the config and the data folder's path, not its content; a
    checkpoint trained on other bytes must not be continued. When no folder fits,
    the second value says why the newest unfinished one of this identity does not.
    """
    found = _unfinished(runs_dir, identity)
    data_id = manifest_id(manifest)
    for _, d, info in found:
        if info.get("data_id") == data_id:
            return d, None
    if not found:
        return None, None
    _, newest, info = found[0]
    return None, f"{newest}: it was started on other data ({describe_change(newest, info, manifest)})"


def _unfinished(runs_dir: Path, identity: str) -> list[tuple[str, Path, dict]]:
    """(created, folder, run.json) of unfinished runs with this identity, newest first."""
    if not runs_dir.is_dir():
        return []
    found = []
    for d in runs_dir.iterdir():
        meta = d / RUN_JSON
        if not meta.is_file() or (d / RESULT_JSON).exists():
            continue
        try:
            info = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if info.get("identity") == identity:
            found.append((info.get("created", ""), d, info))
    return sorted(found, key=lambda t: (t[0], t[1].name), reverse=True)


def manifest_id(manifest: dict[str, str]) -> str:
    """The data id: a hash over every clip's id and content hash."""
    return stable_hash(sorted(manifest.items()), 16)


def describe_change(run_dir: Path, info: dict, manifest: dict[str, str]) -> str:
    """What differs between the data a run was started on and `manifest`, in counts and examples."""
    if not info.get("data_id"):
        return "its run.json records no data id (it was made by an older bench), so its data cannot be checked"
    try:
        old = json.loads((run_dir / DATA_JSON).read_text())["files"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return f"data id {info['data_id']} then, {manifest_id(manifest)} now ({run_dir / DATA_JSON} is unreadable)"
    added = sorted(set(manifest) - set(old))
    removed = sorted(set(old) - set(manifest))
    changed = sorted(k for k in set(old) & set(manifest) if old[k] != manifest[k])
    parts = [f"{len(v)} {what} ({', '.join(v[:3])}{', …' if len(v) > 3 else ''})"
             for what, v in (("added", added), ("removed", removed), ("changed", changed)) if v]
    return (f"data id {info['data_id']} then, {manifest_id(manifest)} now; files "
            + ("; ".join(parts) or "the same (the id formula differs)"))


def new_run_dir(runs_dir: Path, task: str, solution: str, identity: str,
                manifest: dict[str, str] | None = None, started_because: str | None = None) -> Path:
    """A fresh run folder; `manifest` (clip id -> content hash) ties it to its data bytes."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{task}-{solution}-{identity[:8]}"
    for n in range(1000):
        d = runs_dir / (base if n == 0 else f"{base}-{n}")
        try:
            d.mkdir(parents=True)
        except FileExistsError:
            continue
        meta = {"identity": identity, "created": now_iso(), "status": "running"}
        if manifest is not None:
            # written before run.json names its id, so a folder whose run.json has one also has its files
            write_json(d / DATA_JSON, {"data_id": manifest_id(manifest), "files": manifest})
            meta["data_id"] = manifest_id(manifest)
        if started_because:
            meta["started_because"] = started_because
        write_json(d / RUN_JSON, meta)
        return d
    raise RuntimeError(f"could not make a run folder under {runs_dir}")


def mark_finished(run_dir: Path) -> None:
    meta = json.loads((run_dir / RUN_JSON).read_text())
    write_json(run_dir / RUN_JSON, {**meta, "status": "finished", "finished": now_iso()})


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus the git commit of the source tree, '-dirty' if edited."""
    version = bench.__version__
    src = Path(bench.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "--short=10", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no", "--", "bench", "tasks", "solutions"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{sha}{'-dirty' if dirty else ''}" if sha else version


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device={name} but no CUDA device is visible here; use device=cpu or device=auto")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={name} but only {torch.cuda.device_count()} CUDA device(s) are visible")
    return name


def reset_peak_memory(device: str) -> None:
    """Start the device's peak-memory count at this run (the host's peak is the process's, from its start)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(torch.device(device))


def peak_memory(device: str) -> dict[str, float]:
    """Peak resident memory of this process and of the worker processes it has waited for, in MiB, and on
    CUDA the peak memory torch allocated on the device since `reset_peak_memory`."""
    import resource
    import sys

    import torch

    kib = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    mib = lambda v: round(v * kib / 2**20, 1)  # noqa: E731
    out = {"host_peak_rss_mb": mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)}
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if workers:
        out["workers_peak_rss_mb"] = mib(workers)
    if device.startswith("cuda") and torch.cuda.is_initialized():
        out["cuda_peak_allocated_mb"] = round(torch.cuda.max_memory_allocated(torch.device(device)) / 2**20, 1)
    return out


def describe_device(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({torch.get_num_threads()} threads, {os.cpu_count()} cores)"
