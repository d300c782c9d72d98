"""Predict with a finished run's saved models: every split's model, probabilities averaged.

Run folders are often received from elsewhere, so result.json is read as untrusted:
a damaged record is an error naming the file and the key, and a fold name that
would lead out of the run folder is refused, not followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import registry
from bench.core.config import ConfigError, from_dict, to_dict
from bench.core.contracts import FitContext, TaskInfo
from bench.data.features import extract
from bench.results.record import (
    FoldResult,
    NewerSchema,
    RecordError,
    RunResult,
    load_result,
)
from bench.run.folders import RESULT_JSON, RUN_JSON, resolve_device

DAMAGED = "the run record is damaged: copy the run folder again, or rerun the `bench run` command that made it"


@dataclass
class Prediction:
    path: str
    outputs: np.ndarray  # what the run's kind predicts: probabilities, values (`Kind.describe` prints them)


@dataclass
class Predicted:
    info: TaskInfo
    predictions: list[Prediction]
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) skipped with skip_bad


def read_result(run_dir: Path) -> RunResult:
    try:
        return load_result(run_dir)
    except NewerSchema:
        raise
    except RecordError as exc:
        # a missing file is not damage: the message already says what to do
        raise (exc if not (run_dir / RESULT_JSON).exists() else ConfigError(f"{exc}; {DAMAGED}")) from None


def load_run(run_dir: Path):
    result_path = run_dir / RESULT_JSON
    result = read_result(run_dir)

    def broken(key: str, what: str) -> ConfigError:
        return ConfigError(f"{result_path}: '{key}' {what}; {DAMAGED}")

    for key, kind in (("solution", str), ("config", dict), ("task_info", dict), ("folds", list)):
        if key in result.absent:
            raise broken(key, "is missing")
        if not isinstance(getattr(result, key), kind):
            raise broken(key, f"is not a {'string' if kind is str else 'JSON ' + ('object' if kind is dict else 'list')}")
    if not isinstance(result.config.get("solution"), dict):
        raise broken("config.solution", "is missing")
    if not result.folds:
        raise broken("folds", "is empty")
    cls = registry.solutions.get(result.solution)
    try:
        params = from_dict(f"solution {cls.name}", cls.Params, result.config["solution"])
    except ConfigError as exc:
        raise ConfigError(f"{result_path}: {exc}") from None
    try:
        info = TaskInfo.from_dict(result.task_info)
    except KeyError as exc:
        raise broken(f"task_info.{exc.args[0]}", "is missing") from None
    except (TypeError, ValueError) as exc:
        raise broken("task_info", f"is not valid ({exc})") from None
    models = []
    for i, fold in enumerate(result.folds):
        sol = cls(_fold_params(params, fold, cls, f"folds[{i}]", broken), info)
        sol.load_state(_model_dir(run_dir, fold, f"folds[{i}]", broken))
        models.append(sol)
    return result, info, models


def _fold_params(params: Any, fold: Any, cls: type, where: str, broken) -> Any:
    """A nested-tuned run fits each fold with its own parameters (fold.params): its model has their shape."""
    own = fold.params if isinstance(fold, FoldResult) else None
    if not own:
        return params
    if not isinstance(own, dict):
        raise broken(f"{where}.params", "is not a JSON object")
    merged = {**to_dict(params), **own}
    try:
        return from_dict(f"solution {cls.name}", cls.Params, merged)
    except ConfigError as exc:
        raise broken(f"{where}.params", f"does not fit solution {cls.name} ({exc})") from None


def _model_dir(run_dir: Path, fold: Any, where: str, broken) -> Path:
    if not isinstance(fold, FoldResult):
        raise broken(where, "is not a JSON object")
    name = fold.name
    # one plain folder name: anything else could point the loader anywhere on this machine
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or ":" in name:
        raise broken(f"{where}.name", f"is {name!r}, not the name of a folder under folds/ (refused)")
    source = _source_run(run_dir, fold.source_run, where, broken)
    folds = (source / "folds").resolve()
    model = (folds / name / "model").resolve()
    if not model.is_relative_to(folds):
        raise broken(f"{where}.name", f"{name!r} leads out of {folds} (refused)")
    return model


def _source_run(run_dir: Path, source: Any, where: str, broken) -> Path:
    """The run folder that trained a fold: this one, or (combined runs) the fold's own run."""
    if source is None:
        return run_dir
    if not isinstance(source, str) or not source:
        raise broken(f"{where}.source_run", "is not a folder path")
    # a combined run copied with its source runs beside it finds them under their own names
    for candidate in (Path(source), run_dir.parent / Path(source).name):
        if (candidate / RUN_JSON).is_file():
            return candidate
    raise ConfigError(
        f"{run_dir / RESULT_JSON}: {where} was trained in run folder {source}, which is not there (nor"
        f" beside {run_dir}); a combined run needs the run folders it was combined from: copy them beside it"
    )


def predict_files(run_dir: Path, files: list[Path], device: str = "auto", skip_bad: bool = False) -> Predicted:
    _, info, models = load_run(run_dir)
    # folds tuned apart (nested tuning) may differ in their features: extract once per distinct spec
    by_spec: dict[Any, list] = {}
    for m in models:
        by_spec.setdefault(m.feature_spec(), []).append(m)
    ctx = FitContext(workdir=run_dir, device=resolve_device(device), progress=False)
    per_file: dict[int, list[np.ndarray]] = {}
    bad: dict[str, str] = {}
    for spec, group in by_spec.items():
        got = extract(files, spec, None, workers=1, skip_bad=skip_bad, progress=False, label="clips",
                      bad_hint="fix or remove them, or pass skip_bad=true to `bench predict` to predict the others")
        bad.update(got.bad)
        if len(got.kept):
            for m in group:
                for i, out in zip(got.kept, m.predict(got.x, ctx)):
                    per_file.setdefault(int(i), []).append(out)
    kept = [i for i in range(len(files)) if len(per_file.get(i, ())) == len(models) and str(files[i]) not in bad]
    return Predicted(info, [Prediction(str(files[i]), np.mean(per_file[i], axis=0)) for i in kept], list(bad.items()))

