"""Nested cross-validation: what `bench tune` ranks for a cross-validated task.

Tuning on every fold and rerunning the winner on the same folds scores parameters
that were chosen by looking at each test fold's clips (they sat in the other folds'
training and validation sets). Nested tuning runs one study per outer test fold K
(`STUDY.outerK`), whose objective never reads fold K, then fits study K's best
parameters on the folds other than K, exactly as `bench run folds=K` would, and
scores fold K. The outer-fold scores make one run record, tagged `tuned-nested`;
the non-nested rerun (`nested=false`) is tagged `tuned-non-nested`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from bench.core.atomic import write_json
from bench.core.config import fields_of, stable_hash
from bench.protocols.splits import usable_splits
from bench.results import leaderboard
from bench.results.record import RunResult
from bench.run.assemble import board_row, build_result, skipped_unlabelled

# the runner's own split evaluation, so an outer fold is fitted and scored exactly as `bench run folds=K` does it
from bench.run.evaluate import evaluate_split
from bench.run.folders import (
    RESULT_JSON,
    find_resumable,
    mark_finished,
    new_run_dir,
    resolve_device,
)
from bench.run.logs import log_to, stop_logging
from bench.run.prepare import Prepared, data_manifest, prepare_features
from bench.run.resolve import Resolved
from bench.train.checkpoint import seed_everything

log = logging.getLogger("bench")

TAG = "tuned-nested"
NON_NESTED_TAG = "tuned-non-nested"


def outer_folds(base: Resolved) -> list[int]:
    """The folds a `bench run` with these keys would score: each is one outer fold."""
    return list(base.task.folds) or list(range(1, base.task_cls.n_folds + 1))


def study_name(name: str, outer: int) -> str:
    return f"{name}.outer{outer}"


def nested_run(base: Resolved, studies: dict[int, optuna.Study], name: str, storage_shown: str,
               records: dict[int, Path]) -> Path:
    """Fit each outer fold with its own study's best parameters, score it, and write one record."""
    t_start = time.perf_counter()
    outer = [{"fold": k, "study": s.study_name, "trial": s.best_trial.number, "value": s.best_value,
              "params": s.best_trial.params, "record": str(records[k])} for k, s in sorted(studies.items())]
    rc = base.runner
    task = base.task_cls(base.task)
    data = task.load(base.cache_dir, log)
    manifest = data_manifest(data, base.cache_dir)
    # the run is these parameters on these folds: the same best trials resume the same folder
    identity = stable_hash({"base": base.identity(), "nested": [(o["fold"], o["params"]) for o in outer]}, 16)
    run_dir, not_resumed = find_resumable(rc.runs_dir, identity, manifest) if rc.resume else (None, None)
    if run_dir is None:
        run_dir = new_run_dir(rc.runs_dir, base.task_cls.name, base.solution_cls.name, identity, manifest,
                              f"did not resume {not_resumed}" if not_resumed else None)
    handler = log_to(run_dir / "run.log")
    try:
        log.info("nested tuning %s: scoring each outer fold with the parameters of its own study (%s)",
                 name, run_dir)
        write_json(run_dir / "config.json", base.as_dict())
        result = _score_outer_folds(base, task, data, manifest, outer, run_dir, t_start)
        result.tuning = {"tag": TAG, "nested": True, "study": name, "storage": storage_shown, "outer": outer}
        # not the config hash of an untuned run with the searched keys at their defaults
        result.config_hash = stable_hash({"base": result.config_hash, "nested": identity}, 12)
        write_json(run_dir / RESULT_JSON, result.to_json())
        mark_finished(run_dir)
    finally:
        stop_logging(handler)
    log.info("nested %s = %.4f%s over outer folds %s (%s)", result.metric, result.score,
             f" ± {result.std:.4f}" if result.std is not None else "",
             ",".join(str(o["fold"]) for o in outer), run_dir)
    if result.partial:
        log.info("outer folds %s are %d of the task's %d: a partial cross-validation stays off the leaderboard",
                 ",".join(str(o["fold"]) for o in outer), len(outer), result.n_folds_total)
    else:
        row = board_row(result, base, run_dir)
        searched = set().union(*(o["params"] for o in outer))
        row["params"] = ";".join(f"{k}=per-outer-fold" if k in searched else f"{k}={result.config['solution'][k]}"
                                 for k, f in fields_of(base.solution_cls.Params).items() if f.metadata.get("key"))
        leaderboard.append(rc.leaderboard, row)
    return run_dir


def _score_outer_folds(base: Resolved, task, data, manifest: dict[str, str], outer: list[dict[str, Any]],
                       run_dir: Path, t_start: float) -> RunResult:
    seed_everything(base.runner.seed)
    device = resolve_device(base.runner.device)
    info = task.info(data)
    preps: dict[Any, Prepared] = {}

    def features(res: Resolved) -> Prepared:
        spec = res.solution_cls(res.solution, info).feature_spec()
        if spec not in preps:
            preps[spec] = prepare_features(task, data, spec, res, manifest)
        return preps[spec]

    tuned = [dataclasses.replace(base, solution=dataclasses.replace(base.solution, **o["params"])) for o in outer]
    splits, warnings = usable_splits(task, data, features(tuned[0]).kept, base.runner.seed)
    for warning in warnings:
        log.warning("%s", warning)
    by_name = {s.name: s for s in splits}
    folds, fit_seconds = [], 0.0
    for o, res in zip(outer, tuned):
        log.info("outer fold %d: parameters of %s trial %d (inner validation %.4f)",
                 o["fold"], o["study"], o["trial"], o["value"])
        split = by_name[f"fold{o['fold']}"]
        got = evaluate_split(res, task, data, info, features(res), split, run_dir / "folds" / split.name, device)
        folds.append(got.fold.updated(params=o["params"], tuned_by={k: o[k] for k in ("study", "trial", "value")}))
        fit_seconds += got.fit_seconds
    prep = features(tuned[0])
    skipped = np.setdiff1d(np.arange(len(data.unlabelled)), prep.unlabelled_kept)
    return build_result(base, task, data, info, prep, folds, {}, run_dir, device, {"fit": fit_seconds},
                        t_start, warnings, skipped_unlabelled(data, skipped, {}))
