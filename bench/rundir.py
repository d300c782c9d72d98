"""Run folders: naming, finding an unfinished one to resume, the code version, the device."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import bench
from bench.atomic import write_json
from bench.config import ConfigError

RUN_JSON = "run.json"  # identity and status, written first
RESULT_JSON = "result.json"  # written last, when the run has finished


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def find_unfinished(runs_dir: Path, identity: str) -> Path | None:
    """The newest run folder with this identity that has no result yet."""
    if not runs_dir.is_dir():
        return None
    candidates = []
    for d in runs_dir.iterdir():
        meta = d / RUN_JSON
        if not meta.is_file() or (d / RESULT_JSON).exists():
            continue
        try:
            info = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if info.get("identity") == identity:
            candidates.append((info.get("created", ""), d))
    return max(candidates)[1] if candidates else None


def new_run_dir(runs_dir: Path, task: str, solution: str, identity: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{task}-{solution}-{identity[:8]}"
    for n in range(1000):
        d = runs_dir / (base if n == 0 else f"{base}-{n}")
        try:
            d.mkdir(parents=True)
        except FileExistsError:
            continue
        write_json(d / RUN_JSON, {"identity": identity, "created": now_iso(), "status": "running"})
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


def describe_device(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({torch.get_num_threads()} threads, {os.cpu_count()} cores)"
