"""From `task=… solution=… key=value …` to three typed, validated config objects.

Everything is checked here, before any data is read: the task and solution names
(did-you-mean), the preset, every key (did-you-mean) and every value's type and
range, and that the solution supports the task's kind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import registry
from bench.config import (ConfigError, Section, apply_overrides, did_you_mean, hashed_dict,
                          param, stable_hash, to_dict)


def default_cache_dir() -> Path:
    env = os.environ.get("BENCH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "bench"


@dataclass
class RunnerConfig:
    seed: int = param(0, "seed of every random number generator")
    device: str = param("auto", "auto (CUDA when present), cpu, cuda or cuda:N")
    amp: bool = param(True, "mixed precision (bfloat16 autocast) on CUDA; ignored on the CPU")
    runs_dir: Path = param(Path("runs"), "one new folder per run is made here", hashed=False)
    reports_dir: Path = param(Path("reports"), "HTML reports are written here", hashed=False)
    leaderboard: Path = param(Path("leaderboard.csv"), "CSV that each finished run appends a row to", hashed=False)
    cache_dir: Path | None = param(None, "feature cache and embedded datasets (none: $BENCH_CACHE_DIR or ~/.cache/bench)", hashed=False)
    workers: int = param(0, "feature-extraction processes (0: one per core)", low=0, hashed=False)
    skip_bad: bool = param(False, "skip unreadable audio files (listed in the report) instead of failing")
    resume: bool = param(True, "continue an unfinished run of the same config instead of starting anew", hashed=False)
    progress: bool = param(True, "show progress bars", hashed=False)
    report: bool = param(True, "render the HTML report when the run ends", hashed=False)
    preset: str | None = param(None, "named bundle of overrides, e.g. tiny for a smoke test", hashed=False)

    def __post_init__(self) -> None:
        ok = self.device in ("auto", "cpu", "cuda") or (
            self.device.startswith("cuda:") and self.device[5:].isdigit()
        )
        if not ok:
            raise ConfigError(
                f"runner: 'device' must be auto, cpu, cuda or cuda:N, got {self.device!r}"
                f"{did_you_mean(self.device, ['auto', 'cpu', 'cuda'])}"
            )


@dataclass
class Resolved:
    task_cls: type
    solution_cls: type
    task: Any
    solution: Any
    runner: RunnerConfig

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {"task": to_dict(self.task), "solution": to_dict(self.solution), "runner": to_dict(self.runner)}

    def hashed(self) -> dict[str, Any]:
        return {
            "task": self.task_cls.name,
            "solution": self.solution_cls.name,
            "task_config": hashed_dict(self.task),
            "solution_params": hashed_dict(self.solution),
            "runner": hashed_dict(self.runner),
        }

    def identity(self) -> str:
        """Same command, same data folder -> same identity; used to find a run to resume."""
        material = self.hashed()
        data_dir = getattr(self.task, "data_dir", None)
        material["data_dir"] = str(Path(data_dir).resolve()) if data_dir else None
        # folds are left out of the config hash (fold-subset runs combine into one
        # cross-validation) but a run of folds=1 must not resume a run of folds=2
        material["folds"] = list(getattr(self.task, "folds", ()) or ())
        return stable_hash(material, 16)

    @property
    def cache_dir(self) -> Path:
        return self.runner.cache_dir or default_cache_dir()


def resolve(pairs: dict[str, str], *, need_solution: bool = True) -> Resolved:
    pairs = dict(pairs)
    if "task" not in pairs:
        raise ConfigError(f"missing task=NAME; tasks: {', '.join(registry.tasks.names())}")
    if need_solution and "solution" not in pairs:
        raise ConfigError(f"missing solution=NAME; solutions: {', '.join(registry.solutions.names())}")
    try:
        task_cls = registry.tasks.get(pairs.pop("task"))
        solution_cls = registry.solutions.get(pairs.pop("solution"))
    except registry.RegistryError as exc:
        raise ConfigError(str(exc)) from None
    if task_cls.kind not in solution_cls.kinds:
        raise ConfigError(
            f"solution {solution_cls.name} does not support {task_cls.kind} tasks such as"
            f" {task_cls.name}; it supports {', '.join(sorted(k.value for k in solution_cls.kinds))}"
        )
    sections = [
        Section("task", f"task {task_cls.name}", task_cls.Config),
        Section("solution", f"solution {solution_cls.name}", solution_cls.Params),
        Section("runner", "runner", RunnerConfig),
    ]
    _apply_preset(sections, pairs.get("preset"), task_cls, solution_cls)
    apply_overrides(sections, pairs)
    task_cfg, sol_params, runner_cfg = (s.build() for s in sections)
    return Resolved(task_cls, solution_cls, task_cfg, sol_params, runner_cfg)


def resolve_task(pairs: dict[str, str]) -> tuple[type, Any, RunnerConfig]:
    """The task's config and the runner's, for commands that train nothing (data check)."""
    pairs = dict(pairs)
    if "task" not in pairs:
        raise ConfigError(f"missing task=NAME; tasks: {', '.join(registry.tasks.names())}")
    try:
        task_cls = registry.tasks.get(pairs.pop("task"))
    except registry.RegistryError as exc:
        raise ConfigError(str(exc)) from None
    sections = [Section("task", f"task {task_cls.name}", task_cls.Config), Section("runner", "runner", RunnerConfig)]
    _apply_preset(sections, pairs.get("preset"), task_cls, None)
    apply_overrides(sections, pairs)
    task_cfg, runner_cfg = (s.build() for s in sections)
    return task_cls, task_cfg, runner_cfg


def _apply_preset(sections: list[Section], preset: str | None, task_cls: type, solution_cls: type | None) -> None:
    """Preset values go in first, so that explicit keys given with them win."""
    if not preset:
        return
    owners = [task_cls] + ([solution_cls] if solution_cls else [])
    known = set().union(*(o.presets for o in owners))
    if preset not in known:
        raise ConfigError(
            f"unknown preset '{preset}'{did_you_mean(preset, sorted(known))}; presets of"
            f" {' and '.join(o.name for o in owners)}: {', '.join(sorted(known)) or 'none'}"
        )
    for section, owner in zip(sections, owners):
        apply_overrides([section], owner.presets.get(preset, {}), source=f"preset {preset}")
