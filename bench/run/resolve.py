"""From `task=… solution=… key=value …` to three typed, validated config objects.

Everything is checked here, before any data is read: the task and solution names
(did-you-mean), the preset, every key (did-you-mean) and every value's type and
range, that the solution supports the task's kind, and that the frontend and the
solution can take the features these settings make. Path settings become absolute,
so records and leaderboard rows name the same place from any folder.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import registry
from bench.core.config import (
    ConfigError,
    Section,
    apply_overrides,
    did_you_mean,
    hashed_dict,
    param,
    stable_hash,
    to_dict,
)
from bench.core.contracts import FeatureSpec, TaskInfo


def default_cache_dir() -> Path:
    env = os.environ.get("BENCH_CACHE_DIR")
    if env:
        return _absolute(Path(env))
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return _absolute(base / "bench")


def _absolute(path: Path) -> Path:
    # abspath, not resolve(): a symlinked folder keeps the name the user gave it
    return Path(os.path.abspath(path.expanduser()))


def absolute_paths(cfg: Any) -> None:
    """Make every Path setting of a built config absolute, relative to the current folder."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if isinstance(value, Path):
            setattr(cfg, f.name, _absolute(value))


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

    def feature_spec(self) -> FeatureSpec:
        """What the solution reads with these settings, known before any data or network exists."""
        return _unbuilt(self.task_cls, self.task, self.solution_cls, self.solution).feature_spec()


def _unbuilt(task_cls: type, task_cfg: Any, solution_cls: type, params: Any):
    task = task_cls(task_cfg)
    return solution_cls.unbuilt(params, TaskInfo(task.name, task.kind, task.audio))


def check_features(task_cls: type, task_cfg: Any, solution_cls: type, params: Any) -> FeatureSpec:
    """Refuse settings whose features the frontend cannot compute or the solution cannot take."""
    owner = f"solution {solution_cls.name} on task {task_cls.name}"
    return check_solution_input(_unbuilt(task_cls, task_cfg, solution_cls, params), owner)


def check_solution_input(solution: Any, owner: str) -> FeatureSpec:
    """The solution's feature spec, or a ConfigError naming the settings that break it."""
    from bench.data.frontend import (
        check_spec,  # imports torch: only once the names are known good
    )

    spec = solution.feature_spec()
    try:
        check_spec(spec)
    except ValueError as exc:
        raise ConfigError(f"{owner}: {exc}") from None
    need = solution.min_frames()
    if spec.n_frames < need:
        raise ConfigError(f"{owner}: {_too_few_frames(spec, need)}")
    return spec


def _too_few_frames(spec: FeatureSpec, need: int) -> str:
    # n_frames = n_samples // hop_length + 1, so `need` frames take (need - 1) hops
    seconds = math.ceil((need - 1) * spec.hop_length / spec.sample_rate * 1000) / 1000
    hop = spec.n_samples // (need - 1)
    fixes = f"raise clip_seconds to at least {seconds:g}" + (f" or lower hop_length to {hop} or less" if hop else "")
    return (f"clip_seconds={spec.clip_seconds:g} at sample_rate={spec.sample_rate} with"
            f" hop_length={spec.hop_length} gives {spec.n_frames} feature frame(s) per clip, and the"
            f" solution needs at least {need}; {fixes}")


def resolve(pairs: dict[str, str]) -> Resolved:
    pairs = dict(pairs)
    if "task" not in pairs:
        raise ConfigError(f"missing task=NAME; tasks: {', '.join(registry.tasks.names())}")
    if "solution" not in pairs:
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
    for cfg in (task_cfg, sol_params, runner_cfg):
        absolute_paths(cfg)
    check_features(task_cls, task_cfg, solution_cls, sol_params)
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
    for cfg in (task_cfg, runner_cfg):
        absolute_paths(cfg)
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
