"""The run records behind the front page: every runs/*/result.json, grouped per task.

The records are the source of truth for the leaderboard page (leaderboard.csv is an
append-only log of the same facts, and may be missing, torn or edited). A record
that cannot be read is reported and left out; it never stops the site from being
written.

A leaderboard compares runs on the same data: the records are grouped by task and
by data identity (the data id of the clips' contents; the data folder for an older
record without one), and each board says which data it is for.

Tags: the run `bench tune` makes of a study's best trial has a `tuning` block
({"study": NAME, "trial": N, ...}) and is tagged `tuned` and `study=NAME`, as in the
leaderboard's `tags` column. Tags are also read from the record's `tags` (a list, or a
';'-joined string) and from `config.runner.tags`, whichever the record has.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report.figures import finite
from bench.report.fmt import as_dict
from bench.results.leaderboard import OPTIMISTIC_TAG
from bench.results.record import RecordError, load_result

log = logging.getLogger("bench.report")

RESULT_JSON = "result.json"
# Folders, switches and fold subsets: they say where and how a run was made, not what.
_NOT_SETTINGS = frozenset({"runs_dir", "reports_dir", "leaderboard", "cache_dir", "workers", "resume",
                           "progress", "report", "preset", "folds", "tags", "studies_dir", "device", "amp"})
SYNTHETIC_PREFIX = "synthetic_"  # the tasks' settings of their embedded data generator


@dataclass(frozen=True)
class Tags:
    all: list[str]
    tuned: bool
    study: str | None


@dataclass
class RunRecord:
    run_id: str
    run_dir: Path
    task: str
    solution: str
    metric: str
    direction: str  # "max" or "min"
    score: float | None
    std: float | None
    n_folds: int
    n_folds_total: int
    partial: bool  # a fold subset of a cross-validation: not on the leaderboard
    fold_scores: dict[str, float]  # fold name -> score, in the record's order
    finished: str
    device: str
    wall_seconds: float | None
    n_params: int | None
    macs: int | None  # multiply-accumulates per clip
    code_version: str
    config_hash: str
    combined_from: list[str]
    tags: Tags
    settings: dict[str, Any]  # "section.key" -> value, from the resolved config
    data_id: str = ""  # hash of the clips' contents; "" in records from before it was kept
    data_root: str = ""
    synthetic: bool = False  # the task's embedded synthetic data

    @property
    def optimistic(self) -> bool:
        """Tuned without nesting on a cross-validated task: its parameters saw the test folds' neighbours."""
        return OPTIMISTIC_TAG in self.tags.all

    @property
    def data_key(self) -> str:
        return self.data_id or (f"folder:{self.data_root}" if self.data_root else "")


@dataclass
class TaskBoard:
    task: str
    metric: str
    direction: str
    ranked: list[RunRecord]  # on the leaderboard, best first
    others: list[RunRecord]  # partial cross-validations, newest first
    optimistic: list[RunRecord]  # CV reruns tuned without nesting, best first, ranked apart
    best: list[RunRecord]  # best ranked run of each solution, best first
    varying: list[str] = field(default_factory=list)  # settings that differ between the task's runs
    data_id: str = ""  # which data every run of the board scored on (see RunRecord)
    data_root: str = ""
    synthetic: bool = False

    @property
    def data_text(self) -> str:
        """Which data the board ranks runs on, for its heading."""
        if not (self.data_id or self.data_root):
            return "data not recorded"
        name = Path(self.data_root).name if self.data_root else ""
        where = f"embedded synthetic data {name}".rstrip() if self.synthetic else (self.data_root or "data")
        return f"{where} (data id {self.data_id})" if self.data_id else f"{where} (no data id recorded)"


def run_tags(result: dict[str, Any]) -> Tags:
    raw: list[str] = []
    for source in (result.get("tags"), as_dict(as_dict(result.get("config")).get("runner")).get("tags")):
        if isinstance(source, str):
            raw += source.split(";")
        elif isinstance(source, (list, tuple)):
            raw += [str(t) for t in source]
    tuning = as_dict(result.get("tuning"))
    if tuning.get("study"):
        raw += ["tuned", str(tuning.get("tag") or "tuned"), f"study={tuning['study']}"]
    tags = list(dict.fromkeys(t.strip() for t in raw if t and t.strip()))
    study = next((t.split("=", 1)[1] for t in tags if t.startswith("study=") and len(t) > 6), None)
    return Tags(tags, "tuned" in tags or study is not None, study)


def load_records(runs_dir: Path) -> tuple[list[RunRecord], list[str]]:
    """Every finished run under `runs_dir`, and one line per record that could not be read."""
    records, problems = [], []
    for path in sorted(Path(runs_dir).glob(f"*/{RESULT_JSON}")):
        try:
            # the pages tolerate any shape below the top level, so they read the plain form
            records.append(record(load_result(path.parent).to_json(), path.parent))
        except (OSError, ValueError, TypeError) as exc:
            problems.append(problem(path, exc))
            log.warning("left out of the report: %s", problems[-1])
    return records, problems


def problem(path: Path, exc: Exception) -> str:
    """One line naming the record and what is wrong with it, the same from every reader (so it is listed once)."""
    return str(exc) if isinstance(exc, RecordError) else f"{path}: {exc}"


def record(result: dict[str, Any], run_dir: Path) -> RunRecord:
    folds = [f for f in result.get("folds") or [] if isinstance(f, dict)]
    fold_scores = {str(f.get("name") or f"fold {i + 1}"): finite(f.get("score")) for i, f in enumerate(folds)}
    n_folds = int(result.get("n_folds") or len(folds))
    complexity = as_dict(result.get("complexity"))
    data = as_dict(result.get("data"))
    synthetic = bool(data["synthetic"]) if "synthetic" in data else \
        not as_dict(as_dict(result.get("config")).get("task")).get("data_dir")
    return RunRecord(
        run_id=str(result.get("run_id") or run_dir.name), run_dir=run_dir,
        task=str(result.get("task") or "?"), solution=str(result.get("solution") or "?"),
        metric=str(result.get("metric") or "score"), direction=str(result.get("direction") or "max"),
        score=finite(result.get("score")), std=finite(result.get("std")),
        n_folds=n_folds, n_folds_total=int(result.get("n_folds_total") or n_folds),
        partial=bool(result.get("partial")),
        fold_scores={k: v for k, v in fold_scores.items() if v is not None},
        finished=str(result.get("finished") or ""), device=str(result.get("device") or ""),
        wall_seconds=finite(result.get("wall_seconds")),
        n_params=int(complexity["params"]) if finite(complexity.get("params")) is not None else None,
        macs=int(complexity["macs"]) if finite(complexity.get("macs")) is not None else None,
        code_version=str(result.get("code_version") or ""), config_hash=str(result.get("config_hash") or ""),
        combined_from=[Path(str(s)).name for s in result.get("combined_from") or []],
        tags=run_tags(result), settings=_settings(result.get("config"), synthetic),
        data_id=str(data.get("data_id") or ""), data_root=str(data.get("root") or ""), synthetic=synthetic,
    )


def _settings(config: Any, synthetic: bool) -> dict[str, Any]:
    # A run on the user's data never used the embedded generator's settings (`synthetic_*`).
    return {f"{section}.{key}": value
            for section, values in as_dict(config).items()
            for key, value in as_dict(values).items()
            if key not in _NOT_SETTINGS and (synthetic or not key.startswith(SYNTHETIC_PREFIX))}


def boards(records: list[RunRecord]) -> list[TaskBoard]:
    """Records grouped per task (by name) and data, each leaderboard best first by its direction.

    Runs on different data are not ranked together: a task gets a board per data set,
    the one with the most runs first. Runs of one task with different metrics are not
    comparable: they are kept apart by sorting on the metric name first. Runs without
    a score go last.
    """
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for rec in records:
        groups.setdefault((rec.task, rec.data_key), []).append(rec)
    out = []
    for (task, _), runs in sorted(groups.items(), key=lambda kv: (kv[0][0], not kv[0][1], -len(kv[1]), kv[0][1])):
        ranked = sorted((r for r in runs if not r.partial and not r.optimistic), key=_rank_key)
        optimistic = sorted((r for r in runs if not r.partial and r.optimistic), key=_rank_key)
        others = sorted((r for r in runs if r.partial), key=lambda r: r.finished, reverse=True)
        first = (ranked or optimistic or others)[0]
        out.append(TaskBoard(task, first.metric, first.direction, ranked, others, optimistic,
                             _best_per_solution(ranked), _varying(runs),
                             first.data_id, first.data_root, first.synthetic))
    return out


def _rank_key(rec: RunRecord) -> tuple[str, bool, float, str]:
    sign = 1.0 if rec.direction == "min" else -1.0
    return (rec.metric, rec.score is None, sign * rec.score if rec.score is not None else 0.0, rec.run_id)


def _best_per_solution(ranked: list[RunRecord]) -> list[RunRecord]:
    best: dict[str, RunRecord] = {}
    for rec in ranked:  # already best first, so the first run seen per solution wins
        if rec.score is not None and rec.metric == ranked[0].metric:
            best.setdefault(rec.solution, rec)
    return list(best.values())


def _varying(runs: list[RunRecord]) -> list[str]:
    """Settings whose value is not the same in every run of the task (missing counts as a value).

    A solution's settings are compared only between runs of that solution: another
    solution lacking them is not a difference worth a column of text.
    """
    keys = list(dict.fromkeys(k for r in runs for k in r.settings))
    by_solution: dict[str, list[RunRecord]] = {}
    for r in runs:
        by_solution.setdefault(r.solution, []).append(r)

    def differs(key: str, group: list[RunRecord]) -> bool:
        return len({json.dumps(r.settings.get(key), sort_keys=True, default=str) for r in group}) > 1

    return [k for k in keys
            if (any(differs(k, g) for g in by_solution.values()) if k.startswith("solution.") else differs(k, runs))]


def settings_text(rec: RunRecord, keys: list[str]) -> str:
    """`key=value` for the given settings; the section is dropped where the key alone is unique."""
    short = [k.split(".", 1)[-1] for k in keys]
    parts = []
    for key, name in zip(keys, short):
        if key in rec.settings:
            label = name if short.count(name) == 1 else key
            value = rec.settings[key]
            parts.append(f"{label}={value if isinstance(value, str) else json.dumps(value)}")
    return " · ".join(parts)
