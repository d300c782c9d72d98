"""One run: data -> features -> fit per split -> metrics -> result record -> leaderboard, report.

Every stage's output is written before the next starts. A run killed at any point
and started again with the same command finds its unfinished folder, skips the
splits already finished and resumes the interrupted fit from its last epoch.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import combine, leaderboard
from bench.atomic import write_json
from bench.cache import FeatureCache
from bench.checkpoint import seed_everything
from bench.config import stable_hash
from bench.contracts import FitContext, Split, TaskData, TaskKind
from bench.datacheck import describe
from bench.features import extract, raise_bad_files
from bench.metrics import confusion
from bench.protocol import usable_splits
from bench.record import FoldResult, RunResult, load_result
from bench.resolve import Resolved
from bench.rundir import (RESULT_JSON, RUN_JSON, code_version, describe_device, find_resumable,
                          manifest_id, mark_finished, new_run_dir, now_iso, resolve_device)

log = logging.getLogger("bench")

FOLD_JSON = "fold.json"


@dataclass
class Prepared:
    """Features of the labelled and unlabelled clips, with bad files already dropped."""

    x: np.ndarray
    y: np.ndarray
    row_of: np.ndarray  # clip index -> row in x, or -1 for a skipped bad file
    x_unlabelled: np.ndarray
    unlabelled_kept: np.ndarray
    bad: list[tuple[str, str]] = field(default_factory=list)
    data_id: str = ""
    cache_hits: int = 0
    cache_misses: int = 0


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
        logging.getLogger("bench").removeHandler(handler)
        handler.close()


def _execute(res: Resolved, task, data: TaskData, manifest: dict[str, str], run_dir: Path, device: str,
             t_start: float, load_s: float, tuning: dict[str, Any] | None = None) -> Path:
    rc = res.runner
    timing: dict[str, float] = {"load_data": load_s}
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
    splits, warnings = usable_splits(task, data, np.flatnonzero(prep.row_of >= 0), rc.seed)
    for warning in warnings:
        log.warning("%s", warning)
    for k, split in enumerate(splits, start=1):
        log.info("split %s (%d of %d)", split.name, k, len(splits))
        fold, unl, sec = _run_split(res, task, data, info, prep, split, run_dir, device)
        folds.append(fold)
        fit_seconds += sec["fit"]
        predict_seconds += sec["predict"]
        if unl is not None:
            unlabelled_sum = unl if unlabelled_sum is None else unlabelled_sum + unl
    timing["fit"], timing["predict"] = fit_seconds, predict_seconds

    t = time.perf_counter()
    facts: dict[str, Any] = {}
    skipped = np.setdiff1d(np.arange(len(data.unlabelled)), prep.unlabelled_kept)
    if data.unlabelled:
        mean = unlabelled_sum / len(splits) if unlabelled_sum is not None else None
        facts = task.write_outputs(data, _fill_unlabelled(mean, prep, data, info.n_outputs), run_dir,
                                   skipped=skipped.tolist())
    timing["outputs"] = time.perf_counter() - t
    for key, value in facts.get("extra", {}).items():
        log.info("%s = %s", key, f"{value:.4f}" if isinstance(value, float) else value)

    result = _result(res, task, data, info, prep, folds, facts, run_dir, device, timing, t_start,
                     warnings, _skipped_unlabelled(data, skipped, facts))
    result.tuning = tuning or None
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
        leaderboard.append(rc.leaderboard, _board_row(ranked, res, ranked_dir))
    if rc.report:
        _render([run_dir] + ([ranked_dir] if ranked_dir not in (None, run_dir) else []), rc)
    return run_dir


def data_manifest(data: TaskData, cache_dir: Path) -> dict[str, str]:
    """Clip id -> content hash of every labelled and unlabelled file: what the data id is made of."""
    cache = FeatureCache(cache_dir / "features")
    manifest = {}
    try:
        for c in data.clips + data.unlabelled:
            if c.path.exists():
                try:
                    manifest[c.id or str(c.path)] = cache.content_hash(c.path)
                except OSError as exc:
                    # decoding reports it as a bad file; here it only has to differ from readable bytes
                    manifest[c.id or str(c.path)] = f"unreadable: {exc.strerror}"
    finally:
        cache.close()
    return manifest


def prepare_features(task, data: TaskData, spec, res: Resolved, manifest: dict[str, str] | None = None) -> Prepared:
    """Every clip's features through the cache, once per run; bad files skipped or raised per `skip_bad`."""
    rc = res.runner
    if manifest is None:
        manifest = data_manifest(data, res.cache_dir)
    cache = FeatureCache(res.cache_dir / "features")
    try:
        paths = [c.path for c in data.clips]
        # both sets are read before refusing, so one error lists every bad file, test files too
        got = extract(paths, spec, cache, workers=rc.workers, skip_bad=True,
                      progress=rc.progress, label="labelled clips")
        unl = extract([c.path for c in data.unlabelled], spec, cache, workers=rc.workers,
                      skip_bad=True, progress=rc.progress, label="unlabelled clips")
    finally:
        cache.close()
    if (got.bad or unl.bad) and not rc.skip_bad:
        raise_bad_files(got.bad + unl.bad)
    row_of = np.full(len(data.clips), -1, dtype=np.int64)
    row_of[got.kept] = np.arange(len(got.kept))
    y = task.targets(data)[got.kept]
    bad = got.bad + unl.bad
    for path, reason in bad:
        log.warning("skipped bad file %s: %s", path, reason)
    return Prepared(got.x, y, row_of, unl.x, unl.kept, bad, manifest_id(manifest),
                    got.hits + unl.hits, got.misses + unl.misses)


def feature_rows(prep: Prepared, idx: np.ndarray) -> np.ndarray:
    """Feature rows of the clips at `idx`, leaving out clips skipped as bad files."""
    rows = prep.row_of[idx]
    return rows[rows >= 0]


def _run_split(res, task, data, info, prep: Prepared, split: Split, run_dir: Path, device: str):
    fold_dir = run_dir / "folds" / split.name
    done = fold_dir / FOLD_JSON
    if done.exists():
        log.info("split %s already finished; reusing its result", split.name)
        saved = json.loads(done.read_text())
        outputs = saved.pop("unlabelled_outputs", None)
        unl = np.array(outputs, dtype=np.float32) if outputs else None
        return FoldResult.from_json(saved), unl, {"fit": 0.0, "predict": 0.0}

    rc = res.runner
    train, valid, test = (feature_rows(prep, s) for s in (split.train, split.valid, split.test))
    ctx = FitContext(workdir=fold_dir / "train", device=device, amp=rc.amp, seed=rc.seed,
                     log=log, progress=rc.progress)
    solution = res.solution_cls(res.solution, info)
    t = time.perf_counter()
    fit = solution.fit(prep.x[train], prep.y[train], prep.x[valid], prep.y[valid], ctx)
    solution.save(fold_dir / "model")
    fit_s = time.perf_counter() - t

    t = time.perf_counter()
    scored = test if len(test) else valid
    outputs = solution.predict(prep.x[scored], ctx)
    metrics = task.score(prep.y[scored], outputs, data)
    unl = solution.predict(prep.x_unlabelled, ctx) if len(prep.x_unlabelled) else None
    predict_s = time.perf_counter() - t

    fold = FoldResult(
        name=split.name, scored_on="test" if len(test) else "valid",
        score=metrics[task.metric.primary], metrics=metrics,
        history=fit.history, best_epoch=fit.best_epoch, resumed_from=fit.resumed_from,
        n_train=int(len(train)), n_valid=int(len(valid)), n_test=int(len(test)),
        validation_note=split.validation_note, complexity=solution.complexity(),
        notes=fit.notes, fit_seconds=fit_s,
        confusion=confusion(prep.y[scored], outputs.argmax(1), len(data.classes)).tolist()
        if task.kind is TaskKind.CLASSIFICATION else None,
    )
    write_json(done, {**fold.to_json(), "unlabelled_outputs": unl.tolist() if unl is not None else None})
    log.info("split %s: %s=%.4f", split.name, task.metric.primary, fold.score)
    return fold, unl, {"fit": fit_s, "predict": predict_s}


def _fill_unlabelled(outputs: np.ndarray | None, prep: Prepared, data: TaskData, n_outputs: int) -> np.ndarray:
    """Outputs for every unlabelled clip; a skipped bad clip gets the training-class prior.

    `outputs` is None when every unlabelled clip was skipped.
    """
    full = np.zeros((len(data.unlabelled), n_outputs), dtype=np.float32)
    prior = np.bincount(prep.y, minlength=n_outputs).astype(np.float32)
    full[:] = prior / max(prior.sum(), 1)
    if outputs is not None:
        full[prep.unlabelled_kept] = outputs
    return full


def _skipped_unlabelled(data: TaskData, skipped: np.ndarray, facts: dict) -> dict | None:
    """For the record: which unlabelled files were skipped as bad audio and what the task wrote for them."""
    if not len(skipped):
        return None
    files = [data.unlabelled[i].id or str(data.unlabelled[i].path) for i in skipped]
    rows = facts.get("skipped_rows") or "the task writes no per-file output for them"
    log.warning("%d unlabelled (test) file(s) were skipped as bad audio: %s; %s", len(files),
                ", ".join(files[:10]) + (f", … ({len(files) - 10} more)" if len(files) > 10 else ""), rows)
    return {"files": files, "paths": [str(data.unlabelled[i].path) for i in skipped], "rows": rows}


def _result(res, task, data, info, prep, folds: list[FoldResult], facts, run_dir, device, timing, t_start,
            warnings: list[str], skipped_unlabelled: dict | None) -> RunResult:
    n_total = getattr(task, "n_folds", None)
    return RunResult(
        run_id=run_dir.name,
        created=json.loads((run_dir / RUN_JSON).read_text()).get("created"),
        finished=now_iso(), status="finished",
        task=task.name, task_kind=task.kind.value, solution=res.solution_cls.name,
        metric=task.metric.primary, direction=task.metric.direction,
        **combine.aggregate(folds),
        n_folds_total=n_total or len(folds),
        partial=bool(n_total) and len(folds) < n_total,
        classes=list(data.classes), targets=list(data.targets),
        task_info=info.to_dict(), folds=folds,
        config=res.as_dict(), config_hash=stable_hash({**res.hashed(), "data": prep.data_id}, 12),
        code_version=code_version(), device=describe_device(device),
        wall_seconds=time.perf_counter() - t_start, timing=timing,
        data={
            "root": str(data.root), "synthetic": data.synthetic, "data_id": prep.data_id,
            "n_clips": len(data.clips), "n_unlabelled": len(data.unlabelled),
            "summary": describe(data),
            "notes": data.notes,
        },
        cache={"hits": prep.cache_hits, "misses": prep.cache_misses},
        bad_files=[list(b) for b in prep.bad],
        complexity=folds[0].complexity or {},
        # facts about the fits a reader must not miss, e.g. random-init (no pretrained weights)
        tags=sorted({t for f in folds for t in (f.notes or {}).get("tags", [])}),
        artifacts=facts.get("artifacts", {}), extra=facts.get("extra", {}),
        warnings=warnings, skipped_unlabelled=skipped_unlabelled,
    )


def _board_row(result: RunResult, res: Resolved, run_dir: Path) -> dict:
    from bench.config import fields_of

    key_params = ";".join(
        f"{k}={result.config['solution'][k]}"
        for k, f in fields_of(res.solution_cls.Params).items() if f.metadata.get("key")
    )
    tuning, complexity = result.tuning, result.complexity
    return {
        "run_id": result.run_id, "time": result.finished, "task": result.task,
        "solution": result.solution, "metric": result.metric, "direction": result.direction,
        "score": result.score, "std": result.std, "n_folds": result.n_folds,
        "config_hash": result.config_hash, "params": key_params,
        "tags": ";".join(
            t for t in ("synthetic-data" if result.data["synthetic"] else "",
                        f"combined-from-{len(result.combined_from)}-runs" if result.combined_from else "",
                        f"{tuning.get('tag', 'tuned')};study={tuning['study']}" if tuning else "",
                        *(result.tags or []))
            if t
        ),
        "n_params": int(complexity.get("params", 0)) or "",
        "macs": int(complexity.get("macs", 0)) or "",
        "code_version": result.code_version, "device": result.device,
        "wall_seconds": round(result.wall_seconds, 1) if result.wall_seconds else "",
        "run_dir": str(run_dir),
        # a ranking compares runs on the same data: this is what it groups by
        "data_id": result.data.get("data_id", ""), "data_root": result.data.get("root", ""),
    }


def _render(run_dirs: list[Path], rc) -> None:
    """Reports are derived from the records; a rendering failure must not lose the run."""
    try:
        from bench.report.pages import run_page
        from bench.report.site import render_runs

        render_runs(run_dirs, rc.runs_dir, rc.reports_dir)
        log.info("report: %s", run_page(rc.reports_dir, run_dirs[0].name))
    except Exception:
        log.exception("rendering the report failed; the run's results are saved in %s", run_dirs[0])


def log_to(path: Path) -> logging.Handler:
    """Copy bench's log into `path` (run.log) until the handler is removed."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("bench")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
