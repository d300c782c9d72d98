"""`bench env`: what this machine runs bench with — the first thing to paste into a bug report.

Every probe is guarded: a broken install (torchaudio built for another torch fails at
import with an undefined symbol) must be reported, not crash the command that reports it.
"""

from __future__ import annotations

import glob
import importlib
import importlib.metadata as md
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The packages whose versions change results or break imports, in the order printed.
STACK = ("torch", "torchaudio", "torchvision", "timm", "numpy", "scipy", "scikit-learn", "soundfile",
         "safetensors", "optuna", "jinja2", "plotly", "rich", "librosa", "pandas")
# Imported (not only looked up) because a wrong binary match shows only at import time.
_IMPORTED = {"torch": "torch", "torchaudio": "torchaudio", "torchvision": "torchvision", "soundfile": "soundfile"}


@dataclass
class Environment:
    rows: list[tuple[str, str]] = field(default_factory=list)  # (what, value), in print order
    problems: list[str] = field(default_factory=list)

    def add(self, what: str, value: str) -> None:
        self.rows.append((what, value))

    def as_dict(self) -> dict:
        return {"rows": dict(self.rows), "problems": self.problems}


def pinned_versions() -> dict[str, str]:
    """`name==version` requirements of the installed bench distribution (the exact pins)."""
    try:
        requires = md.requires("bench") or []
    except md.PackageNotFoundError:
        return {}
    pins = {}
    for req in requires:
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*==\s*([^;,\s]+)\s*$", req)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


# Environment variables that change which CPU kernels run, and so the last digits of a result.
_THREAD_KNOBS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                 "CUBLAS_WORKSPACE_CONFIG")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"present, but `{' '.join(cmd)}` failed: {exc}"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "present"


def _packages(env: Environment) -> None:
    pins = pinned_versions()
    for name in STACK:
        version = _version(name)
        if version is None:
            env.add(name, "not installed")
            continue
        text = version
        pin = pins.get(name)
        if pin and version.split("+")[0] != pin:
            text += f"  (bench pins {pin})"
            env.problems.append(f"{name} {version} is installed but bench pins {name}=={pin}: "
                                f"reinstall with `pip install -e . -c constraints.txt`")
        if name in _IMPORTED:
            try:
                importlib.import_module(_IMPORTED[name])
            except Exception as exc:  # an ABI mismatch raises OSError or ImportError from deep inside
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                text += f"  IMPORT FAILED: {first}"
                env.problems.append(f"`import {_IMPORTED[name]}` fails: {first}")
        env.add(name, text)
    if "soundfile" in sys.modules:
        env.add("libsndfile", sys.modules["soundfile"].__libsndfile_version__)


def _torch(env: Environment) -> None:
    if "torch" not in sys.modules:
        return
    import torch

    env.add("torch threads", f"{torch.get_num_threads()} (intra-op), {torch.get_num_interop_threads()} (inter-op)")
    env.add("torch build", f"CUDA {torch.version.cuda or 'none'}, cuDNN "
                           f"{torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else 'none'}")
    if torch.cuda.is_available():
        names = [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
        env.add("devices", "; ".join(names) + " (device=auto uses cuda:0)")
    else:
        env.add("devices", "cpu only (no CUDA device visible; device=auto uses the CPU)")


def _system_tools(env: Environment) -> None:
    chromium = os.environ.get("BENCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("BENCH_CHROMEDRIVER") or shutil.which("chromedriver")
    env.add("chromium", _tool_version([chromium, "--version"]) + f" ({chromium})" if chromium
            else "not found (report browser tests skip; Debian: apt-get install chromium)")
    env.add("chromedriver", _tool_version([driver, "--version"]) + f" ({driver})" if driver
            else "not found (Debian: apt-get install chromium-driver)")
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or ([shutil.which("initdb")] if shutil.which("initdb") else [])
    env.add("postgresql", _tool_version([initdb[-1], "--version"]) + f" ({Path(initdb[-1]).parent})" if initdb
            else "not found (PostgreSQL tuning tests skip; Debian: apt-get install postgresql)")


def collect() -> Environment:
    import bench
    from bench.run.folders import code_version
    from bench.run.resolve import default_cache_dir

    env = Environment()
    env.add("bench", f"{code_version()} ({Path(bench.__file__).resolve().parent})")
    env.add("python", f"{platform.python_version()} ({sys.executable})")
    env.add("platform", f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}")
    knobs = [f"{k}={os.environ[k]}" for k in _THREAD_KNOBS if k in os.environ]
    env.add("thread settings", " ".join(knobs) or "none set")
    _packages(env)
    _torch(env)
    cache = default_cache_dir()
    source = "$BENCH_CACHE_DIR" if os.environ.get("BENCH_CACHE_DIR") else "default"
    env.add("cache folder", f"{cache} ({source}; {'exists' if cache.is_dir() else 'not created yet'})")
    _system_tools(env)
    return env
