"""The result record: what a finished run wrote to result.json, typed and versioned.

Written by the runner, the fold combiner and nested tuning; read by compare, predict,
the leaderboard row and the report. Run folders are copied between machines and bench
versions, so reading is lenient about shape (a damaged record is the reader's to
judge, key by key) and strict about one thing: a record of a newer schema than this
bench knows is refused, naming the file, rather than half understood.

Records written before `schema_version` existed are version 0 and read unchanged.
A key a record lacks reads as None and is left out again by `to_json`, so a reader
can tell "absent" from "null" (`absent`), and keys this bench does not know are kept
in `extras`: loading and writing a record loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bench.core.config import ConfigError

RUN_JSON = "run.json"  # identity, data id and status: a run folder writes it first
RESULT_JSON = "result.json"  # written last, when the run has finished

SCHEMA_VERSION = 1


class RecordError(ConfigError):
    """A result.json that cannot be read as a run record."""


class NewerSchema(RecordError):
    """Written by a newer bench: not damaged, so no reader should call it that."""


def _known(cls) -> list[str]:
    return [f.name for f in fields(cls) if f.name not in ("extras", "absent")]


def _from(cls, data: dict[str, Any], **converted: Any):
    names = _known(cls)
    values = {k: converted.get(k, data.get(k)) for k in names}
    return cls(**values, extras={k: v for k, v in data.items() if k not in names},
               absent=frozenset(k for k in names if k not in data))


def _to(obj, optional: frozenset[str], **converted: Any) -> dict[str, Any]:
    out = {}
    for name in _known(type(obj)):
        value = converted.get(name, getattr(obj, name))
        # written only when they apply (a confusion matrix for classification, a tuning block for a tuned run)
        if name in obj.absent or (value is None and name in optional):
            continue
        out[name] = value
    return {**out, **obj.extras}


def _updated(obj, changes: dict[str, Any]):
    """A copy with `changes`, which count as present even where the original lacked them."""
    return replace(obj, **changes, absent=obj.absent - set(changes))


@dataclass
class FoldResult:
    """One split's fit and score (a cross-validation fold, or the holdout split)."""

    name: str
    scored_on: str  # "test", or "valid" when the split has no labelled test clips
    score: float
    metrics: dict[str, float]
    history: Any  # the solution's per-epoch curves
    best_epoch: int | None
    resumed_from: int | None
    n_train: int
    n_valid: int
    n_test: int
    validation_note: str | None
    complexity: dict[str, Any]
    notes: dict[str, Any]
    fit_seconds: float
    # the kind's per-split extras (bench.core.kinds: Kind.split_extras), each where it applies
    confusion: list[list[int]] | None = None  # classification: rows true, columns predicted
    residuals: dict[str, Any] | None = None  # regression: per target, true and predicted values
    per_class: dict[str, Any] | None = None  # generation: per class, the default metrics
    assessment: dict[str, Any] | None = None  # Task.assess's facts (generation: score records, generated clips)
    source_run: str | None = None  # a combined record: the run folder that trained this fold
    params: dict[str, Any] | None = None  # nested tuning: this fold's own parameters
    tuned_by: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    absent: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    _OPTIONAL = frozenset({"confusion", "residuals", "per_class", "assessment", "source_run", "params", "tuned_by"})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FoldResult:
        return _from(cls, data)

    def to_json(self) -> dict[str, Any]:
        return _to(self, self._OPTIONAL)

    def updated(self, **changes: Any) -> FoldResult:
        return _updated(self, changes)


@dataclass
class RunResult:
    """A finished run: its folds, aggregate scores, resolved config, code and data identity."""

    run_id: str
    created: str | None
    finished: str
    status: str
    task: str
    task_kind: str
    solution: str
    metric: str
    direction: str  # "max" or "min"
    score: float
    std: float | None  # None with one fold
    n_folds: int
    fold_scores: list[float]
    metrics: dict[str, float]
    n_folds_total: int
    partial: bool  # a fold subset of a cross-validation: kept off the leaderboard
    classes: list[str]
    targets: list[str]
    task_info: dict[str, Any]
    # a damaged record keeps whatever its `folds` held, for the reader to refuse by name
    folds: list[FoldResult]
    config: dict[str, Any]
    config_hash: str
    code_version: str
    device: str
    wall_seconds: float | None  # None for a combined record: its folds ran apart
    timing: dict[str, float]
    data: dict[str, Any]
    cache: dict[str, int]
    bad_files: list[list[str]]
    complexity: dict[str, Any]
    tags: list[str]
    artifacts: dict[str, str]
    extra: dict[str, Any]
    warnings: list[str]
    skipped_unlabelled: dict[str, Any] | None
    tuning: dict[str, Any] | None = None
    combined_from: list[str] | None = None
    # peak memory in MiB: host_peak_rss_mb (this process), workers_peak_rss_mb (feature workers),
    # cuda_peak_allocated_mb; None for a combined record (its folds ran apart)
    memory: dict[str, float] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    absent: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    _OPTIONAL = frozenset({"tuning", "combined_from", "memory"})

    @classmethod
    def from_json(cls, data: Any, source: Path | str = "result record") -> RunResult:
        """Read a record of this or an older schema; `source` names the file in errors."""
        if not isinstance(data, dict):
            raise RecordError(f"{source}: not a run record (a JSON object)")
        version = data.get("schema_version", 0)
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise RecordError(f"{source}: schema_version {version!r} is not a version number")
        if version > SCHEMA_VERSION:
            raise NewerSchema(f"{source}: schema_version {version} is newer than this bench reads"
                              f" (up to {SCHEMA_VERSION}); upgrade bench to read this run")
        body = {k: v for k, v in data.items() if k != "schema_version"}
        folds = body.get("folds")
        if isinstance(folds, list):
            folds = [FoldResult.from_json(f) if isinstance(f, dict) else f for f in folds]
        return _from(cls, body, folds=folds)

    def to_json(self) -> dict[str, Any]:
        folds = self.folds
        if isinstance(folds, list):
            folds = [f.to_json() if isinstance(f, FoldResult) else f for f in folds]
        return {"schema_version": SCHEMA_VERSION, **_to(self, self._OPTIONAL, folds=folds)}

    def updated(self, **changes: Any) -> RunResult:
        return _updated(self, changes)


def as_result(result: RunResult | dict[str, Any]) -> RunResult:
    return result if isinstance(result, RunResult) else RunResult.from_json(result)


def load_result(run_dir: Path) -> RunResult:
    """The record in `run_dir`; every error names the file and what to do."""
    path = Path(run_dir) / RESULT_JSON
    if not path.exists():
        hint = ("it has not finished; run the same `bench run` command again to finish it"
                if (Path(run_dir) / RUN_JSON).exists() else "is this a finished run folder?")
        raise RecordError(f"{run_dir}: no {RESULT_JSON} ({hint})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: not valid JSON ({exc})") from None
    return RunResult.from_json(data, path)
