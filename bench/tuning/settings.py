"""The settings of `bench tune`, and splitting a command line between them and the run's.

`bench tune` takes every key `bench run` takes (they fix that setting for the whole
study) plus the keys below. All of them are checked together before any work, so an
unknown key gets a did-you-mean over the task's, the solution's, the runner's and
these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.core.config import ConfigError, Section, apply_overrides, fields_of, param
from bench.run.resolve import Resolved, RunnerConfig, resolve


@dataclass
class TuneConfig:
    trials: int = param(20, "finished (complete or pruned) trials the study should hold; those already in it count", low=1)
    timeout: str | None = param(None, "stop starting trials after this long in this process, e.g. 90m, 2h, 1h30m, 3600 (seconds)")
    study: str | None = param(None, "study name (none: TASK-SOLUTION, plus a hash of the fixed keys when there are any)")
    storage: str | None = param(None, "sqlite:///FILE, postgresql://USER:PASSWORD@HOST:PORT/DB or journal:FILE (none: STUDIES_DIR/STUDY.db)")
    studies_dir: Path = param(Path("studies"), "study records (STUDY.json) and the default SQLite storages are kept here")
    pruner: Literal["auto", "median", "wilcoxon", "none"] = param(
        "auto", "auto: median of earlier trials per epoch on one split, wilcoxon fold by fold for cross-validation")
    startup_trials: int = param(5, "finished trials before the median pruner may prune", low=0)
    warmup_steps: int | None = param(None, "steps of each trial that are never pruned (none: 0 for median, 2 folds for wilcoxon)", low=0)
    tune_folds: tuple[int, ...] = param((), "cross-validation: test folds whose training folds the objective uses (left out: the folds a run would do; nested: the inner folds)")
    nested: bool | None = param(None, "cross-validation: one study per outer test fold that never reads it, and those outer scores are the result (none: true for cross-validated tasks)")
    jobs: int = param(1, "worker processes this command starts here (more than one needs postgresql or journal storage)", low=1)
    heartbeat: int = param(10, "seconds between heartbeats of a running trial (sqlite, postgresql)", low=1)
    grace_period: int | None = param(None, "seconds without a heartbeat before a trial is marked failed and retried (none: 3 x heartbeat)", low=1)
    max_retry: int = param(2, "times a trial failed by a lost heartbeat is retried", low=0)
    max_failures: int = param(3, "trials failing in a row (an error, not a lost heartbeat) that stop this worker", low=1)
    rerun: bool = param(True, "when the study is complete, rerun the best parameters as an ordinary, leaderboard-ranked run")

    @property
    def grace(self) -> int:
        return self.grace_period or 3 * self.heartbeat

    def timeout_seconds(self) -> float | None:
        return parse_duration(self.timeout) if self.timeout else None


@dataclass
class TuneSetup:
    tune: TuneConfig
    base: Resolved  # the run every trial varies: task, solution, runner with the fixed keys
    run_pairs: dict[str, str]  # the command's keys that belong to the run (task and solution included)
    fixed: dict[str, str]  # run_pairs without task and solution: what the study holds fixed
    identity: dict[str, str]  # those of them that change results (not runs_dir, progress, ...)
    fixed_solution_keys: frozenset[str]  # solution parameters set by a key or the preset


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str) -> float:
    """'2h', '90m', '1h30m', '45s' or plain seconds -> seconds."""
    t = text.strip().lower()
    try:
        seconds = float(t)
    except ValueError:
        m = _DURATION.match(t)
        if not t or not m or not any(m.groups()):
            raise ConfigError(f"tune: 'timeout={text}' is not a duration; write e.g. 2h, 90m, 1h30m, 45s or 3600") from None
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = 3600 * h + 60 * mi + s
    if seconds <= 0:
        raise ConfigError(f"tune: 'timeout={text}' must be positive")
    return seconds


def split_pairs(pairs: dict[str, str]) -> TuneSetup:
    """Check every key against all four schemas at once, then separate tune keys from run keys."""
    probe = resolve({k: pairs[k] for k in ("task", "solution") if k in pairs})
    sections = [
        Section("task", f"task {probe.task_cls.name}", probe.task_cls.Config),
        Section("solution", f"solution {probe.solution_cls.name}", probe.solution_cls.Params),
        Section("runner", "runner", RunnerConfig),
        Section("tune", "tune", TuneConfig),
    ]
    rest = {k: v for k, v in pairs.items() if k not in ("task", "solution")}
    apply_overrides(sections, rest)
    tune = sections[3].build()

    def owner(raw: str) -> str | None:
        if "." in raw:
            return raw.split(".", 1)[0]
        return next((s.name for s in sections if raw in fields_of(s.schema)), None)

    run_pairs = {k: v for k, v in pairs.items() if k in ("task", "solution") or owner(k) != "tune"}
    base = resolve(run_pairs)
    fixed = {k: v for k, v in run_pairs.items() if k not in ("task", "solution")}
    by_name = {s.name: s for s in sections}

    def changes_results(raw: str) -> bool:  # preset changes task and solution settings
        key = raw.split(".", 1)[-1]
        return key == "preset" or fields_of(by_name[owner(raw)].schema)[key].metadata.get("hashed", True)

    identity = {k: v for k, v in fixed.items() if changes_results(k)}
    solution_keys = {k.split(".", 1)[-1] for k in fixed if owner(k) == "solution"}
    preset = base.runner.preset
    if preset:
        solution_keys |= set(base.solution_cls.presets.get(preset, {}))
    return TuneSetup(tune, base, run_pairs, fixed, identity, frozenset(solution_keys))
