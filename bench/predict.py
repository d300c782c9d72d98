"""Predict with a finished run's saved models: every split's model, probabilities averaged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import registry
from bench.config import ConfigError, from_dict
from bench.contracts import FitContext, TaskInfo, TaskKind
from bench.features import extract
from bench.rundir import RESULT_JSON, resolve_device


@dataclass
class Prediction:
    path: str
    outputs: np.ndarray  # probabilities (classification) or values (regression)


def load_run(run_dir: Path):
    result_path = run_dir / RESULT_JSON
    if not result_path.exists():
        hint = "it has not finished; run the same `bench run` command again to finish it" if (run_dir / "run.json").exists() else "is this a run folder?"
        raise ConfigError(f"{run_dir}: no {RESULT_JSON} ({hint})")
    result = json.loads(result_path.read_text())
    cls = registry.solutions.get(result["solution"])
    params = from_dict(f"solution {cls.name}", cls.Params, result["config"]["solution"])
    info = TaskInfo.from_dict(result["task_info"])
    models = []
    for fold in result["folds"]:
        sol = cls(params, info)
        source = Path(fold.get("source_run") or run_dir)  # combined runs point at their sources
        sol.load_state(source / "folds" / fold["name"] / "model")
        models.append(sol)
    return result, info, models


def predict_files(run_dir: Path, files: list[Path], device: str = "auto") -> tuple[TaskInfo, list[Prediction]]:
    _, info, models = load_run(run_dir)
    spec = models[0].feature_spec()
    got = extract(files, spec, None, workers=1, progress=False, label="clips")
    ctx = FitContext(workdir=run_dir, device=resolve_device(device), progress=False)
    outputs = np.mean([m.predict(got.x, ctx) for m in models], axis=0)
    return info, [Prediction(str(files[i]), outputs[j]) for j, i in enumerate(got.kept)]


def is_classification(info: TaskInfo) -> bool:
    return info.kind is not TaskKind.REGRESSION
