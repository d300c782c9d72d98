"""One run: data -> features -> fit per split -> metrics -> result record -> leaderboard, report.

Each split is fitted, scored and recorded by `bench.run.evaluate`, and the run's record
is assembled by `bench.run.assemble`. Every stage's output is written before the next starts. A run killed at any point
and started again with the same command finds its unfinished folder, skips the
splits already finished and resumes the interrupted fit from its last epoch.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.atomic import write_json
from bench.core.contracts import TaskData
from bench.protocols.splits import usable_splits
from bench.results import leaderboard
from bench.results.record import load_result
from bench.run import combine
from bench.run.assemble import (
    board_row,
    build_result,
    fill_unlabelled,
    skipped_unlabelled,
)
from bench.run.evaluate import evaluate_split
from bench.run.folders import (
    RESULT_JSON,
    find_resumable,
    mark_finished,
    new_run_dir,
    peak_memory,
    reset_peak_memory,
    resolve_device,
)
from bench.run.logs import log_to, stop_logging
from bench.run.prepare import data_manifest, prepare_features
from bench.run.resolve import Resolved
from bench.train.checkpoint import seed_everything

log = logging.getLogger("bench")


def run(res: Resolved, tuning: dict[str, Any] | None = None) -> Path:
    """`tuning` (study, trial, ...) marks a rerun of a study's best trial: kept in result.json, tagged on the leaderboard."""
    t_start = time.perf_counter()
    rc = res.runner
    device = resolve_device(rc.device)
    identity = res.identity()
    task = res.task_cls(res.task)
    # Read before any run folder exists: a layout error leaves no empty folder behind, and
    # the bytes of the data decide whether an unfinished run may be resumed.
    data = task.load(res.cache_dir, log)
    manifest = data_manifest(data, res.cache_dir)
    load_s = time.perf_counter() - t_start
    run_dir, not_resumed = find_resumable(rc.runs_dir, identity, manifest) if rc.resume else (None, None)
    resumed = run_dir is not None
    if run_dir is None:
        run_dir = new_run_dir(rc.runs_dir, res.task_cls.name, res.solution_cls.name, identity, manifest,
                              f"did not resume {not_resumed}" if not_resumed else None)
    handler = log_to(run_dir / "run.log")
    try:
        if not_resumed:
            log.warning("not resuming %s; starting a new run instead, leaving that folder as it is (it"
                        " resumes if its data come back)", not_resumed)
        log.info("%s run %s", "resuming" if resumed else "starting", run_dir)
        write_json(run_dir / "config.json", res.as_dict())
        return _execute(res, task, data, manifest, run_dir, device, t_start, load_s, tuning)
    finally:
        stop_logging(handler)


def _execute(res: Resolved, task, data: TaskData, manifest: dict[str, str], run_dir: Path, device: str,
             t_start: float, load_s: float, tuning: dict[str, Any] | None = None) -> Path:
    rc = res.runner
    timing: dict[str, float] = {"load_data": load_s}
    reset_peak_memory(device)
    seed_everything(rc.seed)
    for note in data.notes:
        log.warning("%s", note)
    info = task.info(data)
    spec = res.solution_cls(res.solution, info).feature_spec()

    t = time.perf_counter()
    prep = prepare_features(task, data, spec, res, manifest)
    timing["features"] = time.perf_counter() - t

    folds = []
    unlabelled_sum = None
    fit_seconds = predict_seconds = 0.0
    splits, warnings = usable_splits(task, data, prep.kept, rc.seed)
    for warning in warnings:
        log.warning("%s", warning)
    for k, split in enumerate(splits, start=1):
        log.info("split %s (%d of %d)", split.name, k, len(splits))
        got = evaluate_split(res, task, data, info, prep, split, run_dir / "folds" / split.name, device)
        folds.append(got.fold)
        fit_seconds += got.fit_seconds
        predict_seconds += got.predict_seconds
        unl = got.unlabelled
        if unl is not None:
            unlabelled_sum = unl if unlabelled_sum is None else unlabelled_sum + unl
    timing["fit"], timing["predict"] = fit_seconds, predict_seconds

    t = time.perf_counter()
    facts: dict[str, Any] = {}
    skipped = np.setdiff1d(np.arange(len(data.unlabelled)), prep.unlabelled_kept)
    if data.unlabelled:
        mean = unlabelled_sum / len(splits) if unlabelled_sum is not None else None
        facts = task.write_outputs(data, fill_unlabelled(mean, prep, data, info), run_dir,
                                   skipped=skipped.tolist())
    timing["outputs"] = time.perf_counter() - t
    for key, value in facts.get("extra", {}).items():
        log.info("%s = %s", key, f"{value:.4f}" if isinstance(value, float) else value)

    result = build_result(res, task, data, info, prep, folds, facts, run_dir, device, timing, t_start,
                          warnings, skipped_unlabelled(data, skipped, facts))
    result.tuning = tuning or None
    result.memory = peak_memory(device)
    write_json(run_dir / RESULT_JSON, result.to_json())
    mark_finished(run_dir)
    log.info("%s = %.4f%s over %d split(s)  (%s)", result.metric, result.score,
             f" ± {result.std:.4f}" if result.std is not None else "", result.n_folds, run_dir)
    ranked_dir = run_dir
    if result.partial:
        missing = combine.missing_folds(result)
        ranked_dir = combine.try_complete(rc.runs_dir, result)
        if ranked_dir is None:
            log.info("folds %s of %d are not done yet: this partial cross-validation stays off the"
                     " leaderboard; run folds=%s with the same settings to complete it",
                     ",".join(map(str, missing)), result.n_folds_total, ",".join(map(str, missing)))
    if ranked_dir is not None:
        ranked = load_result(ranked_dir)
        leaderboard.append(rc.leaderboard, board_row(ranked, res, ranked_dir))
    if rc.report:
        _render([run_dir] + ([ranked_dir] if ranked_dir not in (None, run_dir) else []), rc)
    return run_dir


def _render(run_dirs: list[Path], rc) -> None:
    """Reports are derived from the records; a rendering failure must not lose the run."""
    try:
        from bench.report.pages import run_page
        from bench.report.site import render_runs

        render_runs(run_dirs, rc.runs_dir, rc.reports_dir)
        log.info("report: %s", run_page(rc.reports_dir, run_dirs[0].name))
    except Exception:
        log.exception("rendering the report failed; the run's results are saved in %s", run_dirs[0])

