"""`STUDIES_DIR/STUDY.json`: a plain-data record of a study, for the report and for people.

The storage (SQLite, PostgreSQL, journal) is the source of truth; this file is
rewritten atomically from it after every trial and when the study ends, so a report
can be made without optuna or a database connection.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna

from bench.core.atomic import write_json
from bench.run.folders import now_iso

# study user attributes that describe the study (set when it is created)
META_KEYS = ("task", "solution", "metric", "direction", "fixed", "space")


def record_path(studies_dir: Path, study: str) -> Path:
    return studies_dir / f"{study}.json"


def study_record(path: str | Path) -> dict[str, Any]:
    """Load a study record written by `bench tune`; the error names the file."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such study record; `bench tune ... study=NAME` writes STUDIES_DIR/NAME.json") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a study record ({exc})") from None
    if not isinstance(record, dict) or "trials" not in record or "study" not in record:
        raise ValueError(f"{path}: not a study record (no 'study' or 'trials')")
    return record


def trial_row(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    row = {
        "number": t.number,
        "state": t.state.name,
        "value": _finite(t.value) if t.values else None,
        "params": t.params,
        "run_dir": t.user_attrs.get("run_dir"),
        "intermediate": {str(step): _finite(v) for step, v in sorted(t.intermediate_values.items())},
        "started": t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None,
        "finished": t.datetime_complete.isoformat(timespec="seconds") if t.datetime_complete else None,
    }
    retry_of = t.system_attrs.get("failed_trial")  # set on retries by RetryFailedTrialCallback
    if retry_of is not None:
        row["retry_of"] = retry_of
    if "surplus" in t.user_attrs:
        row["note"] = t.user_attrs["surplus"]
    return row


def build_record(study: optuna.Study, storage_shown: str) -> dict[str, Any]:
    attrs = study.user_attrs
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    try:
        best = study.best_trial
    except ValueError:
        best = None
    return {
        "study": study.study_name,
        "storage": storage_shown,
        **{k: attrs.get(k) for k in META_KEYS},
        "protocol": attrs.get("protocol"),
        "validation": attrs.get("validation"),
        "requested_trials": attrs.get("requested_trials"),
        "pruner": attrs.get("pruner"),
        "counts": counts,
        "best_trial": best.number if best else None,
        "best_value": _finite(best.value) if best else None,
        "best_params": best.params if best else None,
        "best_run": attrs.get("tuned_run") if best and attrs.get("tuned_for_trial") == best.number else None,
        "trials": [trial_row(t) for t in trials],
        "updated": now_iso(),
    }


def write_record(study: optuna.Study, studies_dir: Path, storage_shown: str) -> Path:
    path = record_path(studies_dir, study.study_name)
    write_json(path, build_record(study, storage_shown))
    return path


def _finite(v: float | None) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None
